from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # The pipeline dashboard (staff only), before the admin's own catch-all.
    path("admin/", include("core.admin.urls")),
    path("admin/", admin.site.urls),
]

if settings.MOCK_OPENAI_API:
    urlpatterns.append(path("mock-openai/v1/", include("core.mock_openai.http.urls")))
