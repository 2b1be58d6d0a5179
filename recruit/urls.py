from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    # The pipeline dashboard (staff only), before the admin's own catch-all.
    path("admin/", include("core.admin.urls")),
    path("admin/", admin.site.urls),
]

# The mock OpenAI API (a development tool) is mounted only when asked for with MOCK_OPENAI_API=true; its views
# then still refuse every request unless MOCK_OPENAI_API_KEY is set, and all but those bearing that key.
if settings.MOCK_OPENAI_API:
    urlpatterns.append(path("mock-openai/v1/", include("core.mock_openai.http.urls")))
