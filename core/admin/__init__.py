"""The operator's admin: every model registered read-mostly, plus the pipeline dashboard.

Importing the modules registers their ModelAdmins on the default site (Django's autodiscovery imports
this package). The dashboard lives in ``core.admin.dashboard`` and is routed by ``core.admin.urls``.
"""

from django.contrib import admin

from core.admin import batches, cvs, matches  # noqa: F401  (registration happens on import)

admin.site.site_header = "recruit administration"
admin.site.site_title = "recruit admin"
admin.site.index_title = "Pipeline administration"
# Adds the dashboard link above the app list (core/templates/admin/recruit_index.html).
admin.site.index_template = "admin/recruit_index.html"
