from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Recruiting"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from core.stages import register_stages

        register_stages()
