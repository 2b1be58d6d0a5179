"""Batch kind ``cv_embedding``: a CV becomes a vector, from its parsed profile (or its text)."""

from __future__ import annotations

from django.db.models import Q

from core.models import CV, BatchKind, EmbeddingStatus, ParseStatus
from core.stages.embedding import EmbeddingKind
from core.stages.profile_text import cv_text


class CvEmbeddingKind(EmbeddingKind):
    kind = BatchKind.CV_EMBEDDING
    label = "embed CVs"
    item_field = "cv"
    model = CV

    def pending(self):
        # Embedding waits for parsing to finish; a CV whose parse gave up is embedded from its raw text.
        return (
            CV.objects.filter(embedding_status=EmbeddingStatus.PENDING)
            .filter(Q(parse_status=ParseStatus.PARSED) | Q(parse_status=ParseStatus.FAILED))
            .only("pk", "parsed", "raw_text", "embedding_attempts", "embedding_version")
            .order_by("pk")
        )

    def custom_id(self, row) -> str:
        return f"cv-{row.pk}"

    def text(self, row) -> str:
        return cv_text(row)
