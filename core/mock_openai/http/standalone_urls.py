"""URLconf of `manage.py serve_mock_openai`: only the mock OpenAI API, at /v1/ as OpenAI serves it, so an
SDK needs nothing but OPENAI_BASE_URL=http://host:port/v1 and the key."""

from django.urls import include, path

urlpatterns = [path("v1/", include("core.mock_openai.http.urls"))]
