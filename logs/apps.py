from django.apps import AppConfig


class LogsConfig(AppConfig):
    """Frontend logs: the `POST /api/logs/` endpoint, its admin and its
    system checks."""

    name = "logs"
    verbose_name = "Frontend logs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from logs import checks  # noqa: F401  (registration)
