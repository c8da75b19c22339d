from django.apps import AppConfig


class TradingConfig(AppConfig):
    """Registers trading's streams and ORM signal receivers once apps are loaded."""

    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from trading.instances import receivers, streams  # noqa: F401  (registration)
        from trading.market import streams as market_streams  # noqa: F401
