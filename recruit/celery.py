"""The Celery application; its configuration is the CELERY_* names in recruit.settings."""

import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recruit.settings")

app = Celery("recruit")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _create_filesystem_broker_folders(**_kwargs):
    """kombu's filesystem transport expects its folders to exist; create them so a bare machine works."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
