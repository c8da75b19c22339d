"""The dashboard page (`/`): the sessions the user may see, rendered into
the session selector; everything live comes over the page's one WebSocket
(streams/static/streams/ws-client.js)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from trading.models import TradingSession


def visible_sessions(user):
    """The same rule as TradingSession.visible_to: owners see theirs, staff all."""
    sessions = TradingSession.objects.select_related("owner").order_by("id")
    return sessions if user.is_staff else sessions.filter(owner=user)


@login_required
def dashboard(request):
    return render(request, "trading/dashboard.html", {"sessions": visible_sessions(request.user)})
