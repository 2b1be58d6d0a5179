"""Start-up checks for processes that serve HTTP."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def require_secret_key_for_http() -> None:
    """A served site signs sessions with SECRET_KEY: in production it must come from the environment,
    not from the per-checkout development key file."""
    if not settings.DEBUG and not settings.SECRET_KEY_FROM_ENV:
        raise ImproperlyConfigured(
            "Environment variable SECRET_KEY is required to serve HTTP with DEBUG off "
            "(set SECRET_KEY, or DEBUG=true for development)"
        )
