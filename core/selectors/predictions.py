"""What a prediction's explanation status means to a reader.

Only each CV's top ``EXPLAIN_TOP_N`` predictions are ever sent to be explained; the rest stay
"pending" in the database forever, which a list would show as work on its way. They are
"not requested".
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

from core.models import ExplanationStatus

NOT_REQUESTED = "not requested"


def explanation_state(prediction) -> str:
    """The stored status, or "not requested" for a pending prediction below the explained top N."""
    if prediction.explanation_status == ExplanationStatus.PENDING and prediction.rank > settings.EXPLAIN_TOP_N:
        return NOT_REQUESTED
    return prediction.explanation_status


def not_requested() -> Q:
    """The predictions ``explanation_state`` calls not requested, as a filter."""
    return Q(explanation_status=ExplanationStatus.PENDING, rank__gt=settings.EXPLAIN_TOP_N)
