"""What the server keeps of the browser's logs: WARNING and above only."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class FrontendLogEntry(models.Model):
    """One browser log entry kept by `POST /api/logs/` (see logs.recorder)."""

    class Level(models.TextChoices):
        WARNING = "WARNING"
        ERROR = "ERROR"
        CRITICAL = "CRITICAL"

    level = models.CharField(max_length=8, choices=Level.choices, db_index=True)
    message = models.TextField()
    # Identical messages collapsed by the browser within a short window.
    count = models.PositiveIntegerField(default=1)
    source = models.CharField(max_length=100, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    context = models.JSONField(default=dict, blank=True)
    client_timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "frontend log entry"
        verbose_name_plural = "frontend log entries"

    def __str__(self):
        return f"{self.level} {self.message[:80]}"
