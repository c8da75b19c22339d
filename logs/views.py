"""`POST /api/logs/`: PROTOCOL.md, "Frontend logs"."""

from django.utils.http import parse_header_parameters
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from logs.budget import CPUBudget
from logs.parsers import BoundedJSONParser
from logs.recorder import record
from logs.schema import frontend_log_schema
from logs.serializers import validated_entries
from logs.throttling import AnonLogThrottle, UserLogThrottle
from logs.workers import serve

UTF8_NAMES = frozenset({"utf-8", "utf8"})


class FrontendLogView(APIView):
    """Takes browser log entries; keeps WARNING and above.

    Anonymous clients are welcome (the login page logs too) at a stricter
    rate. A session-authenticated POST must carry the CSRF token (DRF's
    SessionAuthentication enforces it); a token-authenticated one need not.
    """

    # Token first: a bad token gets 401 with WWW-Authenticate, not 403.
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [AnonLogThrottle, UserLogThrottle]
    parser_classes = [BoundedJSONParser]

    @frontend_log_schema
    def post(self, request):
        budget = CPUBudget()
        self.require_json(request)
        data = request.data  # parsed here: its decoding is inside the budget
        budget.check()
        entries = validated_entries(data, budget)
        user = request.user if request.user.is_authenticated else None
        outcome = record(
            entries, budget=budget, user=user, user_agent=request.headers.get("User-Agent", "")
        )
        return Response(
            {"accepted": outcome.accepted, "dropped": outcome.dropped},
            status=status.HTTP_202_ACCEPTED,
        )

    @staticmethod
    def require_json(request):
        """415 for anything but `application/json` in UTF-8, a missing
        Content-Type included. A page on another site can POST here without
        asking (a form, `fetch` with `no-cors`) only with a CORS-safelisted
        type, never JSON; DRF alone would also read a body sent as
        `application/*` or `*/*`, or none at all, as empty data. JSON has no
        other encoding (RFC 8259), so a `charset` other than UTF-8 is
        refused rather than decoded with whatever codec it names."""
        media_type, params = parse_header_parameters(request.content_type)
        if media_type != "application/json":
            sent = request.content_type or "untyped"
            raise UnsupportedMediaType(
                request.content_type, detail=f"Send the body as application/json, not {sent}."
            )
        charset = params.get("charset", "utf-8")
        if charset.lower() not in UTF8_NAMES:
            raise UnsupportedMediaType(
                request.content_type,
                detail=f"Send the JSON body as UTF-8 (no charset, or charset=utf-8), not {charset[:40]}.",
            )


_drf_view = FrontendLogView.as_view()


def _rendered(request):
    return _drf_view(request).render()


# CSRF is DRF's to check (SessionAuthentication), as for any DRF view.
@csrf_exempt
async def frontend_logs(request):
    """FrontendLogView, served off the thread Django would give it under
    ASGI (logs.workers): DRF keeps every rule of the endpoint, the workers
    keep a log flood from crowding out the rest of the site. The response
    is rendered on the worker too, so the request's own thread only
    relays."""
    return await serve(_rendered, request)


# What the view is, for those who look (drf-spectacular lists DRF views by
# their `cls`, as `as_view()` sets it).
frontend_logs.cls = FrontendLogView
frontend_logs.initkwargs = _drf_view.initkwargs
