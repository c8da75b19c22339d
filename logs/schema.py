"""The OpenAPI description of `POST /api/logs/` (drf-spectacular), kept
apart from the view: what the view cannot say by itself is that its body is
one entry or a batch, and that its errors come from the parser, the
throttles and DRF's authentication."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers

from logs.parsers import MAX_BODY_BYTES
from logs.serializers import MAX_ENTRIES, BatchSerializer, EntrySerializer

# DRF's shape for every error but a validation one.
ERROR_DETAIL = inline_serializer("ErrorDetail", {"detail": serializers.CharField()})


frontend_log_schema = extend_schema(
    operation_id="frontend_logs_create",
    summary="Store browser log entries",
    description=(
        'One entry, or `{"entries": [...]}` with at most '
        f"{MAX_ENTRIES}. DEBUG and INFO are counted as dropped and never "
        "stored; WARN and above are stored and written to the frontend "
        "error log. A request is taken whole or not at all. Anonymous "
        "clients are welcome at a stricter rate; a session-authenticated "
        "request must carry the CSRF token."
    ),
    request=PolymorphicProxySerializer(
        component_name="FrontendLogBody",
        serializers=[EntrySerializer, BatchSerializer],
        resource_type_field_name=None,
    ),
    responses={
        202: inline_serializer(
            "FrontendLogAccepted",
            {"accepted": serializers.IntegerField(), "dropped": serializers.IntegerField()},
        ),
        400: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="Not JSON, or an entry that breaks a rule: an error per field, "
            'e.g. `{"entries": {"3": {"level": ["..."]}}}`. Nothing was stored.',
        ),
        401: OpenApiResponse(
            ERROR_DETAIL, description="An `Authorization: Token` that is not valid."
        ),
        413: OpenApiResponse(ERROR_DETAIL, description=f"The body is over {MAX_BODY_BYTES} bytes."),
        415: OpenApiResponse(ERROR_DETAIL, description="Sent as anything but `application/json`."),
        429: OpenApiResponse(
            ERROR_DETAIL,
            description="Too many requests from this address (anonymous) "
            "or this user; `Retry-After` says when to try again.",
        ),
    },
    parameters=[
        OpenApiParameter(
            "Retry-After",
            OpenApiTypes.INT,
            OpenApiParameter.HEADER,
            response=[429],
            description="Seconds to wait.",
        ),
    ],
    tags=["logs"],
)
