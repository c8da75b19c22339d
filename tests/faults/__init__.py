"""Fault injection against the real stack: two daphne processes on a
private Redis, the PostgreSQL test database, a writer process and a fleet of
protocol-following clients, while Redis, daphne, PostgreSQL connections or
the coordinator are killed or frozen.

Why: the streams promise (PROTOCOL.md, "Sequence and recovery") is that a
lost message costs a resync, never a stale dashboard. Unit tests can't show
that for a Redis restart or a frozen process; only real processes can. Each
test breaks one thing while writes flow and then checks, for every client,
that its table matches the database within 5 s of the last write, that no
write was skipped without a gap or a snapshot covering it, and that no
`internal_error` was sent (support.py). docs/operations.md says what each
fault looks like to an operator.
"""
