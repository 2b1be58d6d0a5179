"""The operator's admin: every model registered read-mostly, plus the pipeline dashboard.

Importing the modules registers their ModelAdmins on the default site (Django's autodiscovery imports
this package). The dashboard lives in ``core.admin.dashboard`` and is routed by ``core.admin.urls``.
"""

from django.contrib import admin

from core.admin import batches, cvs, jobs, matches  # noqa: F401  (registration happens on import)

admin.site.site_header = "recruit administration"
admin.site.site_title = "recruit admin"
admin.site.index_title = "Pipeline administration"
# There is no public site to view: Django's default "View site" link ("/") is a 404.
admin.site.site_url = None
# The navigation sidebar repeats the index's model list and takes 300 px of a 1366 px laptop screen,
# which the change lists need (tests/test_admin_browser.py checks that each one fits).
admin.site.enable_nav_sidebar = False
# Adds the dashboard link above the app list (core/templates/admin/recruit_index.html).
admin.site.index_template = "admin/recruit_index.html"
