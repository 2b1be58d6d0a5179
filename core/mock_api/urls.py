"""Filled in by the mock HTTP API work (issue 3)."""

urlpatterns = []
