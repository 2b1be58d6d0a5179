"""URLconf for tests that serve the mock OpenAI API whatever MOCK_OPENAI_API says."""

from django.urls import include, path

urlpatterns = [path("mock-openai/v1/", include("core.mock_openai.http.urls"))]
