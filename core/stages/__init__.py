"""The pipeline's batch kinds, one module each: what each stage sends and how it keeps the answer.

``register_stages`` puts them in the engine's registry in the order the pipeline runs them; every
list of stages (progress bars, the dashboard, the runner, the Celery schedule, operator actions)
reads that registry, so a new kind is one module here and one line below.
"""

from core.batches.registry import register


def register_stages() -> None:
    from core.stages.candidate_explanation import CandidateExplanationKind
    from core.stages.cv_embedding import CvEmbeddingKind
    from core.stages.explanation import ExplanationKind
    from core.stages.job_embedding import JobEmbeddingKind
    from core.stages.parse import CvParseKind

    for spec in (CvParseKind(), CvEmbeddingKind(), JobEmbeddingKind(), ExplanationKind(), CandidateExplanationKind()):
        register(spec)
