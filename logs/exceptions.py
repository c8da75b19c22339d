"""The errors `POST /api/logs/` answers with, beyond DRF's own."""

from rest_framework import status
from rest_framework.exceptions import APIException


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit):
        super().__init__(
            f"The request body is over {limit} bytes; send fewer or smaller entries per request."
        )


class TooCostly(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_costly"

    def __init__(self, limit_ms):
        super().__init__(
            f"Checking this request took over {limit_ms} ms of CPU; "
            "send fewer or smaller entries per request."
        )
