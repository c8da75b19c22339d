"""The dashboard page (`/`): the sessions the user may see, rendered into
the session selector; everything live comes over the page's one WebSocket
(streams/static/streams/ws-client.js)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from trading.models import TradingSession


@login_required
def dashboard(request):
    sessions = (
        TradingSession.objects.visible_to(request.user).select_related("owner").order_by("id")
    )
    return render(request, "trading/dashboard.html", {"sessions": sessions})
