"""Routes of the mock OpenAI API, mounted at /mock-openai/v1/ when settings.MOCK_OPENAI_API is true (the views
still refuse every request unless MOCK_OPENAI_API_KEY is set too, and then all but those bearing that key)."""

from django.urls import path, re_path

from . import control_views, views

urlpatterns = [
    path("files", views.files),
    path("files/<str:file_id>", views.file_detail),
    path("files/<str:file_id>/content", views.file_content),
    path("batches", views.batches),
    path("batches/<str:batch_id>", views.batch_detail),
    path("batches/<str:batch_id>/cancel", views.batch_cancel),
    path("mock/script", control_views.script),
    path("mock/clock", control_views.clock),
    path("mock/clock/freeze", control_views.clock_freeze),
    path("mock/clock/advance", control_views.clock_advance),
    path("mock/clock/resume", control_views.clock_resume),
    re_path(r"^(?P<unmatched>.*)$", views.not_found),
]
