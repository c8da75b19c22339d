from tests.support.websocket import connect, flush  # noqa: F401  (fixtures)
