"""Batch kind ``job_embedding``: an active job posting becomes a vector."""

from __future__ import annotations

from core.models import BatchKind, EmbeddingStatus, Job
from core.stages.embedding import EmbeddingKind
from core.stages.profile_text import job_text


class JobEmbeddingKind(EmbeddingKind):
    kind = BatchKind.JOB_EMBEDDING
    label = "embed jobs"
    item_field = "job"
    model = Job

    def scope(self):
        return Job.objects.filter(is_active=True)

    def pending(self):
        return (
            self.scope()
            .filter(embedding_status=EmbeddingStatus.PENDING)
            .only(
                "pk", "title", "company", "location", "skills", "description", "embedding_attempts", "embedding_version"
            )
            .order_by("pk")
        )

    def custom_id(self, row) -> str:
        return f"job-{row.pk}"

    def text(self, row) -> str:
        return job_text(row)
