"""What every recruit admin shares: read-only pages, lean change lists and operations as POST buttons.

The pipeline owns these rows: an edit or a delete in the admin would bypass its state machine (a CV
set to "parsed" without a parse, a BatchJob deleted with its items), so pages are view-only and state
changes go through operations (``core.operations``), exposed as admin actions. The same
actions back the buttons on a detail page, through ``operate_view``, which takes POST only (the admin
wraps it in CSRF protection) and requires the model's change permission.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse


class RecruitModelAdmin(admin.ModelAdmin):
    """View-only pages, no COUNT(*) of the whole table, and a lean queryset for the change list."""

    show_full_result_count = False
    list_per_page = 50
    # Action names (methods on the admin) a detail page offers as buttons: {name: button label}.
    object_operations: dict[str, str] = {}

    class Media:
        css = {"all": ["core/admin.css"]}

    # --- read-mostly --------------------------------------------------------------------------------
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        """Running an operation needs the permission an edit would: the model's change permission."""
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    # --- change lists ------------------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        request.recruit_changelist = True
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if getattr(request, "recruit_changelist", False):
            queryset = self.changelist_queryset(queryset)
        return queryset

    def changelist_queryset(self, queryset):
        """The change list's rows: select_related, annotations and deferred heavy columns go here.

        Only the change list (and its actions) use it; detail pages load the whole row.
        """
        return queryset

    # --- operations on one object ------------------------------------------------------------------
    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        operate = self.admin_site.admin_view(self.operate_view)
        return [
            path("<int:object_id>/operate/<slug:operation>/", operate, name="{}_{}_operate".format(*info)),
            *super().get_urls(),
        ]

    def operate_view(self, request, object_id: int, operation: str):
        """Run one of ``object_operations`` on one object, then go back to its page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if operation not in self.object_operations:
            raise Http404(f"unknown operation {operation!r}")
        actions = self.get_actions(request)
        if operation not in actions:
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=object_id)
        if not queryset.exists():
            raise Http404(f"no {self.opts.verbose_name} with id {object_id}")
        func, _name, _description = actions[operation]
        response = func(self, request, queryset)
        if response is not None:  # an intermediate page: a confirmation that posts back here
            return response
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[object_id]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["recruit_operations"] = self.operations_for(request, obj)
            context.update(self.detail_context(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def detail_context(self, request, obj) -> dict:
        """Extra context for the detail page's own sections (timeline, items, predictions, ...)."""
        return {}

    def operations_for(self, request, obj) -> list[dict]:
        """The buttons the detail page shows: the operations this user may run that apply to ``obj``."""
        if not self.object_operations or not self.has_operate_permission(request):
            return []
        info = self.opts.app_label, self.opts.model_name
        return [
            {"name": name, "label": label, "url": reverse("admin:{}_{}_operate".format(*info), args=[obj.pk, name])}
            for name, label in self.object_operations.items()
            if self.operation_applies(name, obj)
        ]

    def operation_applies(self, name: str, obj) -> bool:
        """Whether the button makes sense for this object now (a finished batch cannot be cancelled)."""
        return True
