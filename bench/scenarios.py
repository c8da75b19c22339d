"""One measurement each: a fan-out window, a full_update, a reconnect storm,
clients resuming after an absence.

Each takes a connected `Fleet` (or makes its own), the server under test and
the ORM driver, and returns a flat dict of figures for the report.
"""

import asyncio
import time

from bench.client import Fleet, Subscriber, event_key
from bench.stats import percentile

SETTLE_TIMEOUT = 30.0
STORM_TIMEOUT = 30.0
# After a storm that overran: how long the rest may still take to catch up.
STORM_SETTLE_TIMEOUT = 10.0


async def call(driver, command, **args):
    """The driver blocks on a pipe: keep the clients' loop running."""
    return await asyncio.to_thread(driver.call, command, **args)


async def grow(fleet, server, tokens, timeout=180.0, batch=None):
    """Connects len(tokens) more subscribers, all at once or `batch` at a
    time (a burst of 10,000 would overflow the listen backlog); also
    measures what the new connections cost the server."""
    rss_before = server.rss()
    errors_before = _errors(fleet)
    batch = batch or len(tokens)
    seconds = 0.0
    for start in range(0, len(tokens), batch):
        seconds += await fleet.grow(tokens[start : start + batch], timeout)
    await asyncio.sleep(0.5)
    return {
        "connect_s": seconds,
        "subscribe_errors": _errors(fleet) - errors_before,
        "rss_per_conn_kb": (server.rss() - rss_before) / len(tokens) / 1024,
    }


async def fanout(fleet, server, driver, session, events, rate):
    """Drives `events` state changes at `rate`/s (0: as fast as the ORM
    goes) and counts what every subscriber got."""
    fleet_size = len(fleet.subscribers)
    cpu_before = server.cpu_seconds()
    client_cpu_before = time.process_time()
    window = await call(driver, "window", session=session)
    fleet.start_window(window["seq"])
    drive = await call(driver, "drive", session=session, events=events, rate=rate)
    settle_s = await fleet.settle(drive["seq"], SETTLE_TIMEOUT)
    cpu = server.cpu_seconds() - cpu_before
    client_cpu = time.process_time() - client_cpu_before
    truth = await _truth(driver, session)

    expected_per_client = drive["seq"] - window["seq"]
    delivered = healed = lost = duplicates = gaps = stale = 0
    last_receipt = 0.0
    for sub in fleet.subscribers:
        d, h, lo = sub.tally(drive["seq"])
        delivered, healed, lost = delivered + d, healed + h, lost + lo
        duplicates += sub.duplicates
        gaps += sub.gaps
        stale += sub.table != truth
        if sub.times:
            last_receipt = max(last_receipt, sub.times[-1])
    latencies = _latencies(fleet, drive["commits"])
    first_commit = drive["commits"][0][2] if drive["commits"] else time.time()
    span = max(last_receipt - first_commit, 1e-9)
    return {
        "clients": fleet_size,
        "events": events,
        "rate": rate or None,
        "driven_per_s": events / drive["seconds"] if drive["seconds"] else None,
        "expected": fleet_size * expected_per_client,
        "delivered": delivered,
        "healed": healed,
        "lost": lost,
        "duplicates": duplicates,
        "gaps": gaps,
        "stale_tables": stale,
        "p50_ms": _ms(percentile(latencies, 0.50)),
        "p90_ms": _ms(percentile(latencies, 0.90)),
        "p99_ms": _ms(percentile(latencies, 0.99)),
        "max_ms": _ms(latencies[-1] if latencies else None),
        "deliveries_per_s": delivered / span,
        "server_cpu_s": cpu,
        "cpu_us_per_delivery": cpu / delivered * 1e6 if delivered else None,
        "server_rss_mb": server.rss() / 2**20,
        "client_cpu_s": client_cpu,
        "settle_s": settle_s,
    }


async def coordinate(fleet, driver, session, ticks, rows_per_transaction=None):
    """The coordinator ticking every live instance of `session` once a
    second on the pumping feed (bench/pumps.py), with `fleet` subscribed to
    the session: each tick's duration, and commit-to-receipt latency of the
    moves' `state_change` events. `rows_per_transaction` 1 is the design
    before batched writes."""
    window = await call(driver, "window", session=session)
    fleet.start_window(window["seq"])
    run = await call(
        driver,
        "coordinate",
        session=session,
        ticks=ticks,
        rows_per_transaction=rows_per_transaction,
    )
    await fleet.settle(run["seq"], SETTLE_TIMEOUT)
    ticks_s = sorted(run["tick_s"])
    latencies = _latencies(fleet, run["commits"])
    lost = sum(sub.tally(run["seq"])[2] for sub in fleet.subscribers)
    return {
        "ticks": len(ticks_s),
        "moves": len(run["commits"]),
        "tick_p50_ms": _ms(percentile(ticks_s, 0.50)),
        "tick_p99_ms": _ms(percentile(ticks_s, 0.99)),
        "tick_max_ms": _ms(ticks_s[-1] if ticks_s else None),
        "p50_ms": _ms(percentile(latencies, 0.50)),
        "p99_ms": _ms(percentile(latencies, 0.99)),
        "lost": lost,
    }


async def full_update(server, driver, token, session, repeats):
    """Seconds from sending `subscribe` to holding the `full_update` frame
    (before parsing it), one client on an idle server: an upper bound of the
    server's time. *cold*: the first subscribe after an event moved the
    scope's seq, so the snapshot is built; *shared*: a second subscribe at
    the same seq, which daphne serves from the snapshot already encoded
    (streams/fanout/snapshots.py). {"error": ...} when the server answers with an
    error instead."""
    fleet = Fleet(server.url, session)
    sub = Subscriber(server.url, token, session)
    fleet.subscribers, fleet.tasks = [sub], [asyncio.create_task(sub.run())]
    timings = {"cold": [], "shared": []}
    try:
        if not await sub.snapshot_or_error(60):  # sent on connecting
            return _failure(sub)
        for _ in range(repeats):
            await call(driver, "drive", session=session, events=1, rate=0)
            for kind in ("cold", "shared"):
                sub.fresh.clear()
                sub.errored.clear()
                started = time.time()
                sub.link.send_text(sub.subscribe())
                if not await sub.snapshot_or_error(60):
                    return _failure(sub)
                timings[kind].append(sub.snapshot_received - started)
        return timings
    finally:
        await fleet.close()


def _failure(sub):
    error = sub.errors[-1] if sub.errors else {"message": "no reply within 60 s"}
    return {"error": f"fails: {error.get('code', '')} {error['message']}".strip()}


async def storm(fleet, server, driver, session, events, rate, resume=False):
    """Drops every connection at once while events flow, then waits until all
    hold a fresh full_update (with `resume`: are recovered from history or
    hold one) and are current at the seq they had at the drop; nothing may
    be lost and every table must equal the database."""
    drop_after = events / rate / 3
    errors_before = _errors(fleet)
    fleet.set_resume(resume)
    window = await call(driver, "window", session=session)
    fleet.start_window(window["seq"])
    drive = asyncio.create_task(call(driver, "drive", session=session, events=events, rate=rate))
    await asyncio.sleep(drop_after)
    latest = max(sub.seq for sub in fleet.subscribers)
    cpu_before, dropped = server.cpu_seconds(), time.monotonic()
    resync_s = await fleet.storm(STORM_TIMEOUT)
    resynced = fleet.fresh_count()
    current_s = None
    if resync_s is not None and await fleet.settle(latest, STORM_TIMEOUT - resync_s) is not None:
        current_s = time.monotonic() - dropped
    cpu = server.cpu_seconds() - cpu_before
    drive = await drive
    await fleet.settle(drive["seq"], SETTLE_TIMEOUT if resync_s else STORM_SETTLE_TIMEOUT)
    truth = await _truth(driver, session)
    # One still reconnecting knows it is behind: neither lost nor stale yet.
    back = [sub for sub in fleet.subscribers if sub.fresh.is_set() and not sub.resyncing]
    return {
        "clients": len(fleet.subscribers),
        "resume": resume,
        "resync_s": resync_s,
        "current_s": current_s,
        "server_cpu_s": cpu,
        "recovered": sum(sub.recovered for sub in fleet.subscribers),
        "snapshots": sum(sub.snapshots for sub in fleet.subscribers),
        "duplicates": sum(sub.duplicates for sub in fleet.subscribers),
        "resynced_in_time": resynced,
        "still_reconnecting": len(fleet.subscribers) - len(back),
        "lost": sum(sub.tally(drive["seq"])[2] for sub in back),
        "stale_tables": sum(sub.table != truth for sub in back),
        "reconnects": sum(sub.reconnects for sub in fleet.subscribers),
        "subscribe_errors": _errors(fleet) - errors_before,
    }


async def absence(fleet, server, driver, session, events, rate):
    """Every subscriber of a resuming fleet goes away while `events` are
    published on its session at `rate` (an absence of events/rate
    seconds), then all come back at once with `since`. The server's CPU and
    the wall time run from their return until every one is current."""
    window = await call(driver, "window", session=session)
    fleet.start_window(window["seq"])
    await fleet.leave()
    drive = await call(driver, "drive", session=session, events=events, rate=rate)
    cpu_before = server.cpu_seconds()
    fleet.come_back()
    current_s = await fleet.settle(drive["seq"], SETTLE_TIMEOUT)
    cpu = server.cpu_seconds() - cpu_before
    clients = len(fleet.subscribers)
    truth = await _truth(driver, session)
    return {
        "clients": clients,
        "events": events,
        "away_s": drive["seconds"],
        "recovered": sum(sub.recovered for sub in fleet.subscribers),
        "snapshots": sum(sub.snapshots for sub in fleet.subscribers),
        "current_s": current_s,
        "server_ms_per_client": cpu / clients * 1000,
        "lost": sum(sub.tally(drive["seq"])[2] for sub in fleet.subscribers),
        "duplicates": sum(sub.duplicates for sub in fleet.subscribers),
        "stale_tables": sum(sub.table != truth for sub in fleet.subscribers),
    }


async def crowd(server, driver, tokens, session, clients, batch, events, rate):
    """`clients` connections on one server process, connected `batch` at a
    time (sharing `tokens` round-robin, as a user's several tabs would),
    then one fan-out window at `rate`; the fleet is closed afterwards."""
    fleet = Fleet(server.url, session)
    try:
        connected = await grow(
            fleet, server, [tokens[i % len(tokens)] for i in range(clients)], 60.0, batch
        )
        return {**connected, **await fanout(fleet, server, driver, session, events, rate)}
    except TimeoutError as exc:  # the rest of the run is still worth a report
        return {"clients": clients, "error": str(exc)}
    finally:
        await fleet.close()


async def _truth(driver, session):
    """The session's table as every subscriber must hold it."""
    truth = (await call(driver, "table", session=session))["instances"]
    return {key: tuple(value) for key, value in truth.items()}


def _latencies(fleet, commits):
    """Seconds from each commit to each subscriber's receipt, sorted."""
    committed = {event_key(pk, version): at for pk, version, at in commits}
    latencies = []
    for sub in fleet.subscribers:
        for key, at in zip(sub.keys, sub.times, strict=False):
            if key in committed:
                latencies.append(at - committed[key])
    return sorted(latencies)


def _errors(fleet):
    """Error replies so far (a failed subscribe is retried, and counted)."""
    return sum(len(sub.errors) for sub in fleet.subscribers)


def _ms(seconds):
    return None if seconds is None else seconds * 1000
