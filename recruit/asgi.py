import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruit.settings")

from recruit.checks import require_secret_key_for_http  # noqa: E402

require_secret_key_for_http()
application = get_asgi_application()
