"""Admin for predictions: each CV's ranked jobs, labelled from evidence, and their written explanations."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Case, Q, TextField, Value, When
from django.db.models.functions import Left
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import display
from core.admin.base import RecruitModelAdmin
from core.matching.candidates import RAW_TEXT_CHARS
from core.models import Prediction
from core.operations.score_bands import current_bands
from core.selectors.match_labels import band_ranges, match_evidence
from core.selectors.predictions import NOT_REQUESTED, explanation_state


def predictions_of_job_url(job_id: int) -> str:
    return f"{reverse('admin:core_prediction_changelist')}?job={job_id}"


class ScoreBandFilter(admin.SimpleListFilter):
    """The same bands the labels use, calibrated for the backend (core.operations.score_bands)."""

    title = "score band"
    parameter_name = "band"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (_low, _high, label) in band_ranges(current_bands()).items()]

    def queryset(self, request, queryset):
        bounds = band_ranges(current_bands()).get(self.value())
        if bounds is None:
            return queryset
        low, high, _label = bounds
        if low is not None:
            queryset = queryset.filter(score__gte=low)
        if high is not None:
            queryset = queryset.filter(score__lt=high)
        return queryset


class JobFilter(admin.SimpleListFilter):
    """A text box, not a list: there can be tens of thousands of jobs. Takes a job id, an external id or
    words of the title."""

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
        return queryset.filter(Q(job__external_id=value) | Q(job__title__icontains=value))

    def choices(self, changelist):
        yield {
            "value": self.value() or "",
            "preserved": [(key, value) for key, value in changelist.params.items() if key != self.parameter_name],
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


@admin.register(Prediction)
class PredictionAdmin(RecruitModelAdmin):
    list_display = ["cv_link", "job_link", "rank", "score_bar", "label", "explanation_badge", "explanation_excerpt"]
    list_filter = ["explanation_status", ScoreBandFilter, JobFilter]
    search_fields = ["job__title", "=job__external_id", "cv__source_name", "cv__parsed__basics__name"]
    # Best first: with the job filter, this is the job's ranking, read from the (job, -score) index.
    ordering = ["-score", "pk"]
    show_facets = admin.ShowFacets.NEVER
    readonly_fields = ["score_bar", "label", "explanation_badge"]
    fieldsets = [
        (None, {"fields": ["cv", "job", "rank", "score_bar", "label"]}),
        ("Explanation", {"fields": ["explanation_badge", "explanation", "explanation_attempts", "explanation_error"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    def changelist_queryset(self, queryset):
        return (
            queryset.select_related("cv", "job")
            .only(
                "score",
                "rank",
                "explanation",
                "explanation_status",
                "cv",
                "cv__source_name",
                "cv__parsed",
                "job",
                "job__title",
                "job__company",
                "job__skills",
            )
            .annotate(
                cv_name=display.cv_name_expression(),
                # An unparsed CV's skills are looked for in its text (the label's evidence).
                cv_text=Case(
                    When(cv__parsed__isnull=True, then=Left("cv__raw_text", RAW_TEXT_CHARS)),
                    default=Value(""),
                    output_field=TextField(),
                ),
            )
        )

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        bands = current_bands()
        for prediction in changelist.result_list:
            prediction.bands = bands
        return changelist

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

    @admin.display(description="match")
    def label(self, obj):
        bands = obj.bands if hasattr(obj, "bands") else current_bands()
        raw_text = obj.cv_text if hasattr(obj, "cv_text") else obj.cv.raw_text
        evidence = match_evidence(obj.score, obj.job.title, obj.job.skills, obj.cv.parsed, raw_text, bands)
        return display.match_label(evidence)

    @admin.display(description="explanation", ordering="explanation_status")
    def explanation_badge(self, obj):
        state = explanation_state(obj)
        return display.badge(state, state if state == NOT_REQUESTED else obj.get_explanation_status_display())

    @admin.display(description="explanation text")
    def explanation_excerpt(self, obj):
        return Truncator(obj.explanation).chars(140) if obj.explanation else "-"
