"""Staff-only pages beside the admin, included under ``admin/`` before ``admin.site.urls``."""

from django.contrib import admin
from django.urls import path

from core.admin.dashboard import dashboard_view

urlpatterns = [
    path("dashboard/", admin.site.admin_view(dashboard_view), name="recruit-dashboard"),
]
