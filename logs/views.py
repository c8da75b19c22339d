"""`POST /api/logs/`: PROTOCOL.md, "Frontend logs"."""

from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from logs.parsers import BoundedJSONParser
from logs.recorder import record
from logs.schema import frontend_log_schema
from logs.serializers import validated_entries
from logs.throttling import AnonLogThrottle, UserLogThrottle


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
        entries = validated_entries(self.body(request))
        user = request.user if request.user.is_authenticated else None
        outcome = record(entries, user=user, user_agent=request.headers.get("User-Agent", ""))
        return Response(
            {"accepted": outcome.accepted, "dropped": outcome.dropped},
            status=status.HTTP_202_ACCEPTED,
        )

    @staticmethod
    def body(request):
        """The parsed body. DRF reads a body sent without Content-Type as
        empty; this endpoint takes it as JSON, so `curl -d` works and a
        body that is not JSON gets a 400 that says so. Any other type than
        JSON still gets DRF's 415."""
        if request.content_type or request.stream is None:
            return request.data
        return BoundedJSONParser().parse(request.stream, parser_context={"request": request})
