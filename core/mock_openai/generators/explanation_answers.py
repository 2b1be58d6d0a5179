"""Chat requests no other generator claims, answered with an explanation of the candidate/job match in
the prompt (shared and missing skills, the score), as text or, when JSON is asked for, as a document."""

from .chat_completions import ChatGenerator
from .heuristics.match_explanation import explanation_payload, explanation_text


class ExplanationAnswers(ChatGenerator):
    def reply(self, prompt: str, *, wants_json: bool) -> str | dict:
        return explanation_payload(prompt) if wants_json else explanation_text(prompt)
