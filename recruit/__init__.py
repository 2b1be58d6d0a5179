"""The recruit Django project: settings, URLs, the Celery app and the embedded PostgreSQL backend."""

from .celery import app as celery_app

__all__ = ["celery_app"]
