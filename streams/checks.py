"""System checks for the streams setup."""

from django.conf import settings
from django.core.checks import Warning, register

IN_MEMORY = "channels.layers.InMemoryChannelLayer"


@register()
def in_memory_layer_in_production(app_configs, **kwargs):
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND")
    if backend == IN_MEMORY and not settings.DEBUG:
        return [
            Warning(
                "The in-memory channel layer is in use with DEBUG off.",
                hint=(
                    "It cannot carry events between server processes: only one "
                    "daphne process can serve the dashboard, a separate "
                    "coordinator's events reach no one, and manage.py commands "
                    "reach it only through the local relay. Set REDIS_URL."
                ),
                id="streams.W001",
            )
        ]
    return []
