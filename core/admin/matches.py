"""Admin for jobs and predictions (a CV's ranked matches and their written explanations)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F, TextField
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import display
from core.admin.base import RecruitModelAdmin
from core.models import Job, Prediction

TOP_PREDICTIONS_SHOWN = 25


def cv_name_expression():
    """The candidate's name from the parsed resume, else the CV's source name, computed in SQL.

    (``KT()`` cannot follow the foreign key to the CV, so the key path is spelled out.)
    """
    name = KeyTextTransform("name", KeyTransform("basics", "cv__parsed"))
    return Coalesce(name, F("cv__source_name"), output_field=TextField())


def predictions_of_job_url(job_id: int) -> str:
    return f"{reverse('admin:core_prediction_changelist')}?job={job_id}"


@admin.register(Job)
class JobAdmin(RecruitModelAdmin):
    list_display = ["title", "company", "location", "external_id", "embedding_badge", "is_active", "matches"]
    list_filter = ["embedding_status", "is_active"]
    search_fields = ["title", "company", "location", "=external_id"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    readonly_fields = ["embedding_badge", "skill_list"]
    fieldsets = [
        (None, {"fields": ["title", "company", "location", "external_id", "is_active", "skill_list", "description"]}),
        ("Embedding", {"fields": ["embedding_badge", "embedding_attempts", "embedding_error", "embedded_at"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    def changelist_queryset(self, queryset):
        return queryset.defer("description", "embedding")

    @admin.display(description="embedding", ordering="embedding_status")
    def embedding_badge(self, obj):
        return display.badge(obj.embedding_status, obj.get_embedding_status_display())

    @admin.display(description="skills")
    def skill_list(self, obj):
        return ", ".join(str(skill) for skill in obj.skills or []) or "-"

    @admin.display(description="matches")
    def matches(self, obj):
        return format_html('<a href="{}">predictions</a>', predictions_of_job_url(obj.pk))

    def detail_context(self, request, obj: Job) -> dict:
        # The (job, -score) index serves this without sorting the job's predictions.
        top = (
            obj.predictions.select_related("cv")
            .only("job", "score", "rank", "explanation_status", "cv", "cv__source_name")
            .annotate(cv_name=cv_name_expression())
            .order_by("-score")[:TOP_PREDICTIONS_SHOWN]
        )
        return {"job": obj, "top_predictions": top, "all_predictions_url": predictions_of_job_url(obj.pk)}


class ScoreRangeFilter(admin.SimpleListFilter):
    title = "score"
    parameter_name = "score"
    RANGES = {
        "0.8-": (0.8, None, "0.80 and above"),
        "0.6-0.8": (0.6, 0.8, "0.60 to 0.80"),
        "0.4-0.6": (0.4, 0.6, "0.40 to 0.60"),
        "-0.4": (None, 0.4, "below 0.40"),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (_low, _high, label) in self.RANGES.items()]

    def queryset(self, request, queryset):
        bounds = self.RANGES.get(self.value())
        if bounds is None:
            return queryset
        low, high, _label = bounds
        if low is not None:
            queryset = queryset.filter(score__gte=low)
        if high is not None:
            queryset = queryset.filter(score__lt=high)
        return queryset


class JobFilter(admin.SimpleListFilter):
    """A text box, not a list: there can be tens of thousands of jobs. Takes a job id or external id."""

    title = "job"
    parameter_name = "job"
    template = "admin/core/input_filter.html"

    def lookups(self, request, model_admin):
        return []

    def has_output(self):
        return True

    def queryset(self, request, queryset):
        value = (self.value() or "").strip()
        if not value:
            return queryset
        if value.isdigit():
            return queryset.filter(job_id=int(value))
        return queryset.filter(job__external_id=value)

    def choices(self, changelist):
        yield {
            "value": self.value() or "",
            "preserved": [(key, value) for key, value in changelist.params.items() if key != self.parameter_name],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


@admin.register(Prediction)
class PredictionAdmin(RecruitModelAdmin):
    list_display = ["cv_link", "job_link", "rank", "score_bar", "explanation_badge", "explanation_excerpt"]
    list_filter = ["explanation_status", ScoreRangeFilter, JobFilter]
    search_fields = ["job__title", "=job__external_id", "cv__source_name", "cv__parsed__basics__name"]
    ordering = ["-pk"]
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ["score_bar", "explanation_badge"]
    fieldsets = [
        (None, {"fields": ["cv", "job", "rank", "score_bar"]}),
        ("Explanation", {"fields": ["explanation_badge", "explanation", "explanation_attempts", "explanation_error"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    def changelist_queryset(self, queryset):
        return (
            queryset.select_related("cv", "job")
            .only("score", "rank", "explanation", "explanation_status", "cv", "cv__source_name", "job",
                  "job__title", "job__company")
            .annotate(cv_name=cv_name_expression())
        )

    @admin.display(description="CV", ordering="cv_name")
    def cv_link(self, obj):
        return display.admin_link("cv", obj.cv_id, getattr(obj, "cv_name", None) or obj.cv.display_name)

    @admin.display(description="job", ordering="job__title")
    def job_link(self, obj):
        return display.admin_link("job", obj.job_id, str(obj.job))

    @admin.display(description="score", ordering="score")
    def score_bar(self, obj):
        return format_html(
            '<span class="rc-progress rc-score-bar"><span class="rc-progress-ok" style="width:{}%"></span></span>'
            '<span class="rc-progress-text">{}</span>',
            display.percent(max(obj.score, 0.0), 1.0),
            f"{obj.score:.3f}",
        )

    @admin.display(description="explanation", ordering="explanation_status")
    def explanation_badge(self, obj):
        return display.badge(obj.explanation_status, obj.get_explanation_status_display())

    @admin.display(description="explanation text")
    def explanation_excerpt(self, obj):
        return Truncator(obj.explanation).chars(140) if obj.explanation else "-"
