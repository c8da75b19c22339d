"""The project's threat list: each module attacks one surface as a client
would (WebSocket, log endpoint, relay and files, ORM write paths), and each
test's docstring names the threat it performs."""
