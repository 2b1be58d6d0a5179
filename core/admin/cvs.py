"""Admin for CVs: who they are (from the parsed resume), where they are in the pipeline, their best match."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import F, OuterRef, Subquery, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import display
from core.admin.base import RecruitModelAdmin
from core.admin.batches import ITEM_COLUMNS
from core.models import CV, Prediction
from core.operations import rows as operations
from core.selectors.predictions import explanation_state

HISTORY_SHOWN = 20


def cvs(count: int) -> str:
    return f"{count} CV" if count == 1 else f"{count} CVs"


class MatchedFilter(admin.SimpleListFilter):
    title = "matched"
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return [("yes", "Matched"), ("no", "Not matched yet")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(last_matched_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(last_matched_at__isnull=True)
        return queryset


@admin.register(CV)
class CVAdmin(RecruitModelAdmin):
    # Five columns that fit a 1366 px screen: who, where in the pipeline, best match, what went wrong, when.
    list_display = ["name", "pipeline", "best_match", "last_error", "created_at"]
    list_filter = ["parse_status", "embedding_status", MatchedFilter]
    search_fields = ["source_name", "parsed__basics__name", "parsed__basics__email", "=content_hash"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    actions = ["reparse", "reembed", "rematch"]
    object_operations = {"reparse": "Re-parse", "reembed": "Re-embed", "rematch": "Re-match"}
    readonly_fields = ["name", "email", "parse_badge", "embedding_badge", "embedding_summary"]
    fieldsets = [
        (None, {"fields": ["name", "email", "source_name", "content_hash", "created_at", "updated_at"]}),
        ("Parse", {"fields": ["parse_badge", "parse_attempts", "parse_error"]}),
        (
            "Embedding",
            {
                "fields": [
                    "embedding_badge",
                    "embedding_attempts",
                    "embedding_error",
                    "embedding_summary",
                    "embedded_at",
                ]
            },
        ),
        ("Matching", {"fields": ["last_matched_at"]}),
    ]

    def changelist_queryset(self, queryset):
        # One row per CV: name and email read from the JSON in SQL (so they sort), the best match as three
        # index lookups on (cv, ...) predictions; the raw text and the vector are never loaded. The resume
        # itself is, because the row's checkbox is labelled with str(cv), which reads the name from it.
        best = Prediction.objects.filter(cv=OuterRef("pk")).order_by("rank")
        return queryset.defer("raw_text", "embedding").annotate(
            cv_name=Coalesce(KT("parsed__basics__name"), F("source_name"), output_field=TextField()),
            cv_email=KT("parsed__basics__email"),
            best_job_id=Subquery(best.values("job_id")[:1]),
            best_job_title=Subquery(best.values("job__title")[:1]),
            best_score=Subquery(best.values("score")[:1]),
        )

    @admin.display(description="name", ordering="cv_name")
    def name(self, obj):
        name = getattr(obj, "cv_name", None) or obj.display_name
        if not hasattr(obj, "cv_email"):
            return name
        return format_html(
            '{}<br><span class="rc-quiet">{} · {}</span>', name, obj.cv_email or "no email", obj.source_name
        )

    @admin.display(description="parse / embedding", ordering="parse_status")
    def pipeline(self, obj):
        return format_html("{} {}", self.parse_badge(obj), self.embedding_badge(obj))

    @admin.display(description="last error")
    def last_error(self, obj):
        """The error of the stage that failed last (parse before embedding), cut short; the page has it all."""
        error = obj.embedding_error or obj.parse_error
        if not error:
            return "-"
        return format_html('<span class="rc-error-text" title="{}">{}</span>', error, Truncator(error).chars(90))

    @admin.display(description="email")
    def email(self, obj):
        if hasattr(obj, "cv_email"):
            return obj.cv_email or "-"
        return ((obj.parsed or {}).get("basics") or {}).get("email") or "-"

    @admin.display(description="parse", ordering="parse_status")
    def parse_badge(self, obj):
        return display.badge(obj.parse_status, obj.get_parse_status_display())

    @admin.display(description="embedding", ordering="embedding_status")
    def embedding_badge(self, obj):
        return display.badge(obj.embedding_status, obj.get_embedding_status_display())

    @admin.display(description="best match", ordering="best_score")
    def best_match(self, obj):
        if getattr(obj, "best_job_id", None) is None:
            return "-"
        return format_html(
            '{} <span class="rc-score">{}</span>',
            display.admin_link("job", obj.best_job_id, obj.best_job_title),
            f"{obj.best_score:.3f}",
        )

    @admin.display(description="embedding")
    def embedding_summary(self, obj):
        if obj.embedding is None:
            return "-"
        return f"{len(obj.embedding)} dimensions"

    def detail_context(self, request, obj: CV) -> dict:
        predictions = (
            obj.predictions.select_related("job")
            .only(
                "cv",
                "score",
                "rank",
                "explanation",
                "explanation_status",
                "explanation_error",
                "job",
                "job__title",
                "job__company",
                "job__location",
            )
            .order_by("rank")
        )
        history = (
            obj.batch_items.select_related("batch")
            .only(
                *ITEM_COLUMNS,
                "batch",
                "batch__provider_batch_id",
                "batch__kind",
            )
            .order_by("-pk")[:HISTORY_SHOWN]
        )
        predictions = list(predictions)
        for prediction in predictions:
            prediction.state = explanation_state(prediction)
        return {"cv": obj, "resume": obj.parsed, "predictions": predictions, "history": history}

    # --- operations --------------------------------------------------------------------------------
    def _report(self, request, changed: int, done: str) -> None:
        # In-flight requests for these CVs are superseded: their answers will not be applied.
        self.message_user(request, f"{cvs(changed)} {done}.", messages.SUCCESS if changed else messages.INFO)

    @admin.action(description="Re-parse (then embed and match again)", permissions=["operate"])
    def reparse(self, request, queryset):
        changed = operations.reparse_cvs(queryset)
        self._report(request, changed, "will be parsed again by the next parse batch")

    @admin.action(description="Re-embed", permissions=["operate"])
    def reembed(self, request, queryset):
        self._report(request, operations.reembed_cvs(queryset), "will be embedded again by the next batch")

    @admin.action(description="Re-match", permissions=["operate"])
    def rematch(self, request, queryset):
        changed = operations.rematch_cvs(queryset)
        self.message_user(request, f"{cvs(changed)} will be ranked against the jobs again by the next match run.")
