"""Protocol errors: each maps to one `code` of PROTOCOL.md's error table.

Raised anywhere below the consumer (params parsing, authorization, snapshot)
and turned into an `error` message at the protocol boundary, so a bad frame
never closes a well-behaved socket.
"""


class ProtocolError(Exception):
    code = "protocol_error"

    def __init__(self, message, *, stream=None, request_id=None):
        super().__init__(message)
        self.message = message
        self.stream = stream
        self.request_id = request_id


class BadJson(ProtocolError):
    code = "bad_json"


class UnknownAction(ProtocolError):
    code = "unknown_action"


class UnknownStream(ProtocolError):
    code = "unknown_stream"


class InvalidParams(ProtocolError):
    code = "invalid_params"


class Forbidden(ProtocolError):
    code = "forbidden"


class TooLarge(ProtocolError):
    code = "too_large"


class RateLimited(ProtocolError):
    code = "rate_limited"


class Unauthenticated(ProtocolError):
    code = "unauthenticated"


class LimitExceeded(ProtocolError):
    code = "limit_exceeded"


class Unavailable(ProtocolError):
    """A store or the channel layer could not be reached: nothing was done,
    and the client retries the same frame with backoff."""

    code = "unavailable"


def is_transient(exc):
    """Whether `exc` is a store or the layer being away for a moment (the
    client should retry), as opposed to a bug."""
    from django.db import InterfaceError, OperationalError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(
        exc,
        (
            OperationalError,
            InterfaceError,
            RedisConnectionError,
            RedisTimeoutError,
            ConnectionError,
            TimeoutError,
        ),
    )
