"""Admin for jobs: the recruiter's question, "who should we interview?", answered at the top of the page.

The list shows, per job, how many CVs score in the good band or above and the best score (one index
search per job of the page, in one statement); the page ranks every embedded CV for the job
(core.selectors.candidates), filtered as the recruiter asks, with the evidence behind each label and,
for the top N, an explanation asked through the batch pipeline.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from core.admin import display
from core.admin.base import RecruitModelAdmin
from core.admin.matches import predictions_of_job_url
from core.matching.candidates import CandidateFilters, candidate_summaries
from core.models import Job
from core.operations.candidates import request_candidate_explanations
from core.operations.score_bands import current_bands
from core.selectors.candidates import ranked_candidates

CANDIDATES_SHOWN = 20


def candidate_filters(params) -> tuple[CandidateFilters, list[str]]:
    """The job page's filter form (GET ``min_score``, ``location``, ``skills``), and what was wrong in it:
    a bad field is named and ignored, the others still apply."""
    errors = []
    min_score = -1.0
    raw = (params.get("min_score") or "").strip()
    if raw:
        try:
            min_score = float(raw)
        except ValueError:
            errors.append(f"minimum score {raw!r} is not a number")
        else:
            if not -1.0 <= min_score <= 1.0:  # also NaN
                errors.append(f"minimum score {raw!r} is not between -1 and 1")
                min_score = -1.0
    location = (params.get("location") or "").strip()
    if "\x00" in location:
        errors.append("location contains a NUL character")
        location = ""
    skills = tuple(skill.strip() for skill in (params.get("skills") or "").split(",") if skill.strip())
    if any("\x00" in skill for skill in skills):
        errors.append("skills contain a NUL character")
        skills = ()
    return CandidateFilters(min_score=min_score, location=location, skills=skills), errors


@admin.register(Job)
class JobAdmin(RecruitModelAdmin):
    list_display = ["title_and_company", "location", "embedding_badge", "candidates", "top_score", "matches"]
    list_filter = ["embedding_status", "is_active"]
    search_fields = ["title", "company", "location", "=external_id"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    actions = ["explain_candidates"]
    object_operations = {"explain_candidates": f"Explain the top {settings.EXPLAIN_TOP_N} candidates"}
    readonly_fields = ["embedding_badge", "skill_list"]
    fieldsets = [
        (None, {"fields": ["title", "company", "location", "external_id", "is_active", "skill_list", "description"]}),
        ("Embedding", {"fields": ["embedding_badge", "embedding_attempts", "embedding_error", "embedded_at"]}),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    def changelist_queryset(self, queryset):
        return queryset.defer("description", "embedding")

    def get_changelist_instance(self, request):
        """The page's candidate counts and top scores in one statement, kept on the page's rows."""
        changelist = super().get_changelist_instance(request)
        bands = current_bands()
        summaries = candidate_summaries([job.pk for job in changelist.result_list], bands.good_from if bands else 1.0)
        for job in changelist.result_list:
            job.candidate_summary = summaries.get(job.pk)
            job.bands_known = bands is not None
        return changelist

    @admin.display(description="job", ordering="title")
    def title_and_company(self, obj):
        return format_html(
            '{}<br><span class="rc-quiet">{} · {}</span>', obj.title, obj.company or "-", obj.external_id
        )

    @admin.display(description="embedding", ordering="embedding_status")
    def embedding_badge(self, obj):
        return display.badge(obj.embedding_status, obj.get_embedding_status_display())

    @admin.display(description="good candidates")
    def candidates(self, obj):
        summary = getattr(obj, "candidate_summary", None)
        if summary is None:
            return "-"
        if not obj.bands_known:
            return format_html(
                '<span title="{}">uncalibrated</span>', "too few matches to calibrate the score bands yet"
            )
        return summary.count_text

    @admin.display(description="top score")
    def top_score(self, obj):
        summary = getattr(obj, "candidate_summary", None)
        return f"{summary.top_score:.3f}" if summary and summary.top_score is not None else "-"

    @admin.display(description="skills")
    def skill_list(self, obj):
        return ", ".join(str(skill) for skill in obj.skills or []) or "-"

    @admin.display(description="matches")
    def matches(self, obj):
        return format_html('<a href="{}">predictions</a>', predictions_of_job_url(obj.pk))

    def detail_context(self, request, obj: Job) -> dict:
        filters, errors = candidate_filters(request.GET)
        for error in errors:
            messages.error(request, f"Candidate filter ignored: {error}.")
        bands = current_bands()
        ranked = ranked_candidates(obj, CANDIDATES_SHOWN, filters, bands) if obj.embedding is not None else []
        return {
            "job": obj,
            "candidates": ranked,
            "candidate_filters": filters,
            "candidate_filter_skills": ", ".join(filters.skills),
            "candidate_min_score": request.GET.get("min_score", ""),
            "score_bands": bands,
            "explained_top": settings.EXPLAIN_TOP_N,
            "all_predictions_url": predictions_of_job_url(obj.pk),
        }

    @admin.action(description="Explain the top candidates (batch pipeline)", permissions=["operate"])
    def explain_candidates(self, request, queryset):
        requested = renewed = unchanged = 0
        for job in queryset.exclude(embedding=None).only("pk"):
            report = request_candidate_explanations(job.pk, settings.EXPLAIN_TOP_N)
            requested, renewed, unchanged = (
                requested + report.requested,
                renewed + report.renewed,
                unchanged + report.unchanged,
            )
        if requested or renewed:
            self.message_user(
                request,
                f"{requested + renewed} candidate explanation(s) will be sent with the next batch"
                f" ({unchanged} already asked for).",
                messages.SUCCESS,
            )
        else:
            self.message_user(request, f"Nothing to ask: {unchanged} explanation(s) already asked for.", messages.INFO)
