"""Protocol errors: each maps to one `code` of PROTOCOL.md's error table.

Raised anywhere below the consumer (params parsing, authorization, snapshot)
and turned into an `error` message at the protocol boundary, so a bad frame
never closes a well-behaved socket.
"""


class ProtocolError(Exception):
    code = "protocol_error"

    def __init__(self, message, *, stream=None):
        super().__init__(message)
        self.message = message
        self.stream = stream


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
