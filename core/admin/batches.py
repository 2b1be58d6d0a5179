"""Admin for BatchJob (with its operations, timeline, items and file downloads) and BatchItem."""

from __future__ import annotations

from datetime import UTC, datetime

import openai
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from core.admin import display
from core.admin.base import RecruitModelAdmin
from core.admin.downloads import FILE_FIELDS, stream_batch_file
from core.admin.item_pages import STATUS_ORDER, FailedFirstItems
from core.batches.events import log_batch_event
from core.batches.poll import PROVIDER_TIMESTAMPS
from core.models import BatchItem, BatchJob, ItemStatus
from core.operations import batches as operations
from core.services.batch_service import BatchService
from core.services.provider_errors import provider_error_message

ITEMS_PER_PAGE = 50
# What an item list shows of each item (the row it served is named by ``with_row_names``).
ITEM_COLUMNS = (
    "custom_id",
    "status",
    "attempt",
    "error_code",
    "error_message",
    "finished_at",
    "cv",
    "job",
    "prediction",
    "candidate",
)
ERRORS_SHOWN = 200
OUR_TIMESTAMPS = {
    "created_at": "created here",
    "submitted_at": "submitted",
    "completed_at": "reached a final status",
    "last_polled_at": "last polled",
    "ingested_at": "results ingested",
}
# Provider timestamps have whole seconds, ours microseconds: events in the same second are shown in
# the order they must have happened.
TIMELINE_ORDER = [
    "created here",
    "created",
    "submitted",
    "in progress",
    "finalizing",
    "cancelling",
    "completed",
    "failed",
    "expired",
    "cancelled",
    "reached a final status",
    "last polled",
    "results ingested",
    "expires",
]


def timeline(batch: BatchJob) -> list[dict]:
    """Every timestamp the batch has, ours and the provider's, oldest first."""
    events = [
        {"at": getattr(batch, field), "event": label, "source": "recruit"}
        for field, label in OUR_TIMESTAMPS.items()
        if getattr(batch, field) is not None
    ]
    for name in PROVIDER_TIMESTAMPS:
        seconds = (batch.provider_timestamps or {}).get(name)
        if seconds is not None:
            label = name.removesuffix("_at").replace("_", " ")
            events.append({"at": datetime.fromtimestamp(seconds, tz=UTC), "event": label, "source": "provider"})
    start = batch.created_at.replace(microsecond=0)
    events.sort(key=lambda event: (event["at"].replace(microsecond=0), TIMELINE_ORDER.index(event["event"])))
    for event in events:
        event["after"] = display.age(start, event["at"]) if event["at"] >= start else "-"
    return events


@admin.register(BatchJob)
class BatchJobAdmin(RecruitModelAdmin):
    # Eight narrow columns: the whole list fits a 1366 px screen (tests/test_admin_browser.py).
    list_display = ["batch_name", "status_badge", "progress", "created", "duration", "size", "cost"]
    list_display_links = ["batch_name"]
    list_filter = ["kind", "status", "backend"]
    search_fields = ["=provider_batch_id", "=input_file_id", "=output_file_id", "=error_file_id"]
    date_hierarchy = "created_at"
    ordering = ["-pk"]
    actions = ["poll_now", "cancel_batches", "retry_failed_items", "reingest"]
    object_operations = {
        "poll_now": "Poll now",
        "cancel_batches": "Cancel",
        "retry_failed_items": "Retry failed items",
        "reingest": "Re-ingest",
    }
    # Each action is one of the operations in core.operations.batches, which says when it applies.
    operation_names = {
        "poll_now": "poll",
        "cancel_batches": "cancel",
        "retry_failed_items": "retry_failed",
        "reingest": "reingest",
    }
    readonly_fields = ["status_badge", "progress", "cost", "age"]
    fieldsets = [
        (None, {"fields": ["provider_batch_id", "kind", "backend", "endpoint", "model", "status_badge", "progress"]}),
        ("Files", {"fields": ["input_file_id", "output_file_id", "error_file_id", "input_bytes"]}),
        ("Polling", {"fields": ["poll_error", "poll_failures", "next_poll_at", "lost_at"]}),
        ("Tokens and cost", {"fields": ["estimated_input_tokens", "input_tokens", "output_tokens", "cost"]}),
        ("Provider metadata", {"fields": ["metadata"], "classes": ["collapse"]}),
    ]

    def changelist_queryset(self, queryset):
        # The JSON columns can be large (thousands of validation errors) and no column shows them.
        return queryset.defer("errors", "metadata", "provider_timestamps")

    @admin.display(description="batch", ordering="pk")
    def batch_name(self, obj):
        return format_html(
            '<span class="rc-batch-id" title="{}">{}</span><br><span class="rc-quiet">{} · {} · {}</span>',
            obj.provider_batch_id,
            display.short_id(obj.provider_batch_id),
            obj.get_kind_display(),
            obj.get_backend_display(),
            obj.model,
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return display.batch_status(obj)

    @admin.display(description="completed / failed / total")
    def progress(self, obj):
        return display.progress_bar(obj.completed, obj.failed, obj.total)

    @admin.display(description="created", ordering="created_at")
    def created(self, obj):
        return format_html(
            '<span class="rc-nowrap">{}</span><br><span class="rc-quiet">{} ago</span>',
            obj.created_at.strftime("%Y-%m-%d %H:%M"),
            display.age(obj.created_at),
        )

    @admin.display(description="took", ordering="completed_at")
    def duration(self, obj):
        return display.age(obj.created_at, obj.completed_at) if obj.completed_at else "running"

    @admin.display(description="input", ordering="input_bytes")
    def size(self, obj):
        tokens = obj.input_tokens if obj.input_tokens is not None else obj.estimated_input_tokens
        return format_html(
            '<span class="rc-nowrap">{}</span><br><span class="rc-quiet rc-nowrap">{} tokens</span>',
            display.size(obj.input_bytes),
            display.quantity(tokens),
        )

    @admin.display(description="age", ordering="created_at")
    def age(self, obj):
        return display.age(obj.created_at)

    @admin.display(description="estimated cost", ordering="estimated_cost")
    def cost(self, obj):
        return display.money(obj.estimated_cost)

    # --- detail page -------------------------------------------------------------------------------
    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [
            path("<int:object_id>/files/<slug:which>/", download, name="core_batchjob_download"),
            *super().get_urls(),
        ]

    def download_view(self, request, object_id: int, which: str):
        """Stream the input, output or error file the batch references (and nothing else)."""
        batch = get_object_or_404(BatchJob, pk=object_id)
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        return stream_batch_file(batch, which)

    def detail_context(self, request, batch: BatchJob) -> dict:
        counts = dict.fromkeys(ItemStatus.values, 0)
        counts.update(batch.items.order_by().values_list("status").annotate(n=Count("pk")))
        status_filter = request.GET.get("items_status")
        if status_filter not in ItemStatus.values:
            status_filter = ""
        items = with_row_names(batch.items.only("batch", *ITEM_COLUMNS))
        statuses = [status_filter] if status_filter else STATUS_ORDER
        page = Paginator(FailedFirstItems(items, counts, statuses), ITEMS_PER_PAGE).get_page(
            request.GET.get("items_page")
        )
        return {
            "batch": batch,
            "timeline": timeline(batch),
            "batch_errors": (batch.errors or [])[:ERRORS_SHOWN],
            "batch_error_count": len(batch.errors or []),
            "items_page": page,
            "items_status": status_filter,
            "item_counts": [(status, ItemStatus(status).label, counts[status]) for status in STATUS_ORDER],
            "downloads": [
                {
                    "which": which,
                    "file_id": getattr(batch, field),
                    "url": reverse("admin:core_batchjob_download", args=[batch.pk, which]),
                }
                for which, field in FILE_FIELDS.items()
                if getattr(batch, field)
            ],
        }

    def operation_applies(self, name: str, obj: BatchJob) -> bool:
        return operations.refusal(self.operation_names[name], obj) is None

    # --- operations --------------------------------------------------------------------------------
    def _audit(self, request, batch: BatchJob, action: str, outcome: str) -> None:
        """Who did what to which batch: the batch's admin history and one structured log line."""
        self.log_change(request, batch, f"{action}: {outcome}")
        log_batch_event("admin_operation", batch, action=action, user=request.user.get_username(), outcome=outcome)

    def _call_provider(self, request, batch: BatchJob, action: str, operation):
        """(True, ``operation(batch, service)``), or (False, None) after telling the operator why the
        provider (or its configuration) refused: one message per batch, the others go on."""
        try:
            return True, operation(batch, BatchService.on_backend(batch.backend))
        except (openai.APIError, ImproperlyConfigured) as exc:
            self.message_user(request, f"{batch}: {action} failed: {provider_error_message(exc)}", messages.ERROR)
            return False, None

    @admin.action(description="Poll now (and ingest if finished)", permissions=["operate"])
    def poll_now(self, request, queryset):
        # Read before polling: a batch this poll finishes and ingests was not "already ingested".
        already = list(queryset.filter(ingested_at__isnull=False).values_list("provider_batch_id", flat=True)[:20])
        for batch in queryset.filter(ingested_at__isnull=True).order_by("pk"):
            ok, report = self._call_provider(request, batch, "poll", operations.poll_now)
            if not ok:
                continue
            batch.refresh_from_db()
            if report is not None and not report.skipped:
                outcome = f"{batch.status}; ingested {report.describe()}"
                level = messages.SUCCESS
            else:
                outcome = f"{batch.status} ({batch.completed} completed, {batch.failed} failed of {batch.total})"
                level = messages.INFO
            self._audit(request, batch, "poll now", outcome)
            self.message_user(request, f"{batch}: {outcome}", level)
        if already:
            self.message_user(request, f"Already ingested, nothing to poll: {', '.join(already)}", messages.INFO)

    @admin.action(description="Cancel", permissions=["operate"])
    def cancel_batches(self, request, queryset):
        if request.POST.get("confirmed") != "yes":
            return self._confirm_cancel(request, queryset)
        for batch in self._applicable(request, queryset, "cancel", messages.INFO):
            ok, batch = self._call_provider(request, batch, "cancel", operations.cancel)
            if not ok:
                continue
            outcome = f"now {batch.status}; unfinished items go back to pending when it is ingested"
            self._audit(request, batch, "cancel", outcome)
            self.message_user(request, f"{batch}: {outcome}", messages.SUCCESS)

    def _confirm_cancel(self, request, queryset):
        """A cancelled batch cannot be resumed: its unfinished requests are sent again in a new batch,
        which starts its 24 hours over. So Cancel asks first, naming what would be given up."""
        batches = [batch for batch in queryset.order_by("pk") if operations.refusal("cancel", batch) is None]
        if not batches:
            for batch in queryset.order_by("pk"):
                self.message_user(request, f"{batch}: {operations.refusal('cancel', batch)}", messages.INFO)
            return None
        for batch in batches:
            batch.age = display.age(batch.created_at)
        single = len(batches) == 1
        context = {
            **self.admin_site.each_context(request),
            "title": "Cancel this batch?" if single else f"Cancel these {len(batches)} batches?",
            "question": "The provider will stop working on:",
            "consequence": "Finished results are kept; unfinished requests go back to pending and are sent in a "
            "new batch, which takes up to 24 hours again.",
            "batches": batches,
            "action": "cancel_batches",
            "confirm_label": "Yes, cancel" if single else f"Yes, cancel {len(batches)} batches",
            "back_url": reverse("admin:core_batchjob_change", args=[batches[0].pk])
            if single
            else reverse("admin:core_batchjob_changelist"),
            "opts": self.opts,
        }
        return TemplateResponse(request, "admin/core/confirm_operation.html", context)

    @admin.action(description="Retry failed items", permissions=["operate"])
    def retry_failed_items(self, request, queryset):
        for batch in queryset.order_by("pk"):
            moved = operations.retry_batch_failures(batch)
            if moved:
                outcome = f"{moved} rows sent back to pending with fresh attempts; the next submit batches them"
                self._audit(request, batch, "retry failed items", outcome)
                self.message_user(request, f"{batch}: {outcome}", messages.SUCCESS)
            else:
                self.message_user(
                    request,
                    f"{batch}: no rows to retry (its failed items' rows are pending again or done)",
                    messages.INFO,
                )

    @admin.action(description="Re-ingest results (idempotent)", permissions=["operate"])
    def reingest(self, request, queryset):
        for batch in self._applicable(request, queryset, "reingest", messages.WARNING):
            ok, report = self._call_provider(request, batch, "re-ingest", operations.reingest)
            if not ok:
                continue
            outcome = (
                f"applied {report.describe()}"
                if report.applied
                else "nothing new to apply, every result was already ingested"
            )
            self._audit(request, batch, "re-ingest", outcome)
            self.message_user(request, f"{batch}: {outcome}", messages.SUCCESS if report.applied else messages.INFO)

    def _applicable(self, request, queryset, operation: str, refused_level: int):
        """The selected batches ``operation`` applies to; each of the others gets a message saying why not."""
        for batch in queryset.order_by("pk"):
            refusal = operations.refusal(operation, batch)
            if refusal is None:
                yield batch
            else:
                self.message_user(request, f"{batch}: {refusal}", refused_level)


def with_row_names(items):
    """Items with what each served named in the same query: a CV's name, a job's title, a match's both."""
    return items.annotate(
        cv_name=display.cv_name_expression("cv"),
        job_title=F("job__title"),
        match_cv=display.cv_name_expression("prediction__cv"),
        match_job=F("prediction__job__title"),
        candidate_cv=display.cv_name_expression("candidate__cv"),
        candidate_job=F("candidate__job__title"),
    )


@admin.register(BatchItem)
class BatchItemAdmin(RecruitModelAdmin):
    list_display = ["item", "batch_link", "status_badge", "attempt", "error", "row", "finished"]
    list_display_links = ["item"]
    list_filter = ["status", "batch__kind"]
    # Matched exactly, by get_search_results below; listed so the change list shows its search box.
    search_fields = ["custom_id", "batch__provider_batch_id", "error_code"]
    search_help_text = "An item's custom id, its batch's provider id (batch_...) or an error code, exactly."
    ordering = ["-pk"]
    readonly_fields = ["batch_link", "status_badge", "row"]
    fields = [
        "custom_id",
        "batch_link",
        "status_badge",
        "attempt",
        "error_code",
        "error_message",
        "row",
        "created_at",
        "finished_at",
    ]

    def get_search_results(self, request, queryset, search_term):
        """Exact matches: a provider batch id is one index lookup, where icontains would scan every item."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.startswith("batch_"):
            return queryset.filter(batch__in=BatchJob.objects.filter(provider_batch_id=term).values("pk")), False
        return queryset.filter(Q(custom_id=term) | Q(error_code=term)), False

    def changelist_queryset(self, queryset):
        return with_row_names(
            queryset.select_related("batch").only(
                *ITEM_COLUMNS,
                "batch",
                "batch__provider_batch_id",
                "batch__kind",
            )
        )

    @admin.display(description="item", ordering="pk")
    def item(self, obj):
        return format_html('{}<br><span class="rc-quiet">{}</span>', obj.custom_id, obj.batch.get_kind_display())

    @admin.display(description="batch", ordering="batch")
    def batch_link(self, obj):
        return format_html(
            '<span class="rc-batch-id" title="{}">{}</span>',
            obj.batch.provider_batch_id,
            display.admin_link("batchjob", obj.batch_id, display.short_id(obj.batch.provider_batch_id)),
        )

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return display.badge(obj.status, obj.get_status_display())

    @admin.display(description="error")
    def error(self, obj):
        if not obj.error_code and not obj.error_message:
            return "-"
        return format_html(
            '<span class="rc-error-text">{}</span>', Truncator(f"{obj.error_code}: {obj.error_message}").chars(120)
        )

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, obj):
        return obj.finished_at.strftime("%Y-%m-%d %H:%M:%S") if obj.finished_at else "-"

    @admin.display(description="for")
    def row(self, obj):
        """The CV, job, match or candidate this request served, by name (ids only on the detail page)."""
        if obj.cv_id:
            return display.admin_link("cv", obj.cv_id, getattr(obj, "cv_name", None) or f"CV {obj.cv_id}")
        if obj.job_id:
            return display.admin_link("job", obj.job_id, getattr(obj, "job_title", None) or f"job {obj.job_id}")
        if obj.prediction_id:
            text = f"{obj.match_cv} → {obj.match_job}" if hasattr(obj, "match_cv") else f"match {obj.prediction_id}"
            return display.admin_link("prediction", obj.prediction_id, text)
        if obj.candidate_id:
            if hasattr(obj, "candidate_cv"):
                return f"{obj.candidate_cv}, candidate for {obj.candidate_job}"
            return f"candidate {obj.candidate_id}"
        return "-"
