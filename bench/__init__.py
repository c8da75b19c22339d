"""Benchmarks of the streams fan-out (issue 6): `python -m bench.run`.

Nothing here is imported by the project; the harness starts its own daphne,
reference server and ORM driver as subprocesses and talks to them over
loopback only.
"""
