from django.apps import AppConfig


class StreamsConfig(AppConfig):
    """Wires the system checks and the logout hook of the streams protocol."""

    name = "streams"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from streams import checks, receivers  # noqa: F401  (registration)
