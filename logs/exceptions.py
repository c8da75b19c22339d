"""The errors `POST /api/logs/` answers with, beyond DRF's own."""

from rest_framework import status
from rest_framework.exceptions import APIException


class PayloadTooLarge(APIException):
    """413: the request asks more of the server than one may (`reason`);
    smaller ones get through, and the message says so."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, reason, code):
        super().__init__(f"{reason}; send fewer or smaller entries per request.", code)
