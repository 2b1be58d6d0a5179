"""URLconf for tests that mount the mock OpenAI API whatever MOCK_OPENAI_API said at startup (the views still
read MOCK_OPENAI_API and MOCK_OPENAI_API_KEY on every request, so a test switches them in `settings`)."""

from django.urls import include, path

urlpatterns = [path("mock-openai/v1/", include("core.mock_openai.http.urls"))]
