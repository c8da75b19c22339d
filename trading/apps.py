from django.apps import AppConfig


class TradingConfig(AppConfig):
    """Registers trading's streams and ORM signal handlers once apps are loaded."""

    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from trading import (  # noqa: F401  (registration)
            market_streams, signals, signals_conditions, streams,
        )
