import gc

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Recruiting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.stages import register_stages

        register_stages()
        # What is loaded by now (Django, the apps, their modules) lives as long as the process: the cyclic
        # collector need not walk it again at each full collection. Unfrozen, those walks took 2.7 s of
        # CPU in a 10,000-CV pipeline run (docs/BENCHMARKS.md); forked mock workers inherit it frozen.
        gc.collect()  # whatever startup left as garbage goes now: frozen, it would stay for good
        gc.freeze()
