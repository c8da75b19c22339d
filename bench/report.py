"""BENCHMARKS.md from one run's results: medians of the repeats, ratios to
the plain-websockets reference, and the issue's targets with the gap where
one is missed."""

import statistics
import time

from bench.stats import median_of

LOG_RATE_TARGET = 5000
FLOOD_P99_TARGET_MS = 100

FANOUT_COLUMNS = [
    ("connect_s", "connect s", "{:.2f}"),
    ("expected", "expected", "{:.0f}"),
    ("delivered", "delivered", "{:.0f}"),
    ("healed", "healed", "{:.0f}"),
    ("lost", "lost", "{:.0f}"),
    ("duplicates", "dup", "{:.0f}"),
    ("stale_tables", "stale tables", "{:.0f}"),
    ("p50_ms", "p50 ms", "{:.1f}"),
    ("p90_ms", "p90 ms", "{:.1f}"),
    ("p99_ms", "p99 ms", "{:.1f}"),
    ("max_ms", "max ms", "{:.0f}"),
    ("deliveries_per_s", "deliveries/s", "{:,.0f}"),
    ("driven_per_s", "events/s driven", "{:.0f}"),
    ("server_cpu_s", "server CPU s", "{:.2f}"),
    ("client_cpu_s", "load client CPU s", "{:.2f}"),
    ("cpu_us_per_delivery", "CPU µs/delivery", "{:.1f}"),
    ("server_rss_mb", "RSS MB", "{:.0f}"),
    ("rss_per_conn_kb", "RSS/conn KB", "{:.0f}"),
]
SERVERS = ("daphne", "reference", "daphne-core")


def fmt(value, pattern="{:.1f}"):
    return "–" if value is None else pattern.format(value)


def groups(results):
    """{(server, clients, load): median figures} over the repeats."""
    found = {}
    for server in SERVERS:
        rows = results.get(server, {}).get("fanout", [])
        for row in rows:
            found.setdefault((server, row["clients"], row["load"]), []).append(row)
    return {
        key: {name: median_of(rows, name) for name, _, _ in FANOUT_COLUMNS} | {"runs": len(rows)}
        for key, rows in found.items()
    }


def ratio(a, b):
    return None if a is None or not b else a / b


def fanout_table(medians):
    head = ["server", "clients", "load", *[label for _, label, _ in FANOUT_COLUMNS],
            "deliveries/s ÷ ref", "p99 ÷ ref", "CPU/delivery ÷ ref"]
    lines = [_row(head), _row(["---"] * len(head))]
    for (server, clients, load), figures in sorted(medians.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])):
        ref = medians.get(("reference", clients, load), {})
        cells = [server, str(clients), "20/s" if load == "rate" else "max"]
        cells += [fmt(figures[name], pattern) for name, _, pattern in FANOUT_COLUMNS]
        cells += [
            fmt(ratio(figures["deliveries_per_s"], ref.get("deliveries_per_s")), "{:.2f}×"),
            fmt(ratio(figures["p99_ms"], ref.get("p99_ms")), "{:.1f}×"),
            fmt(ratio(figures["cpu_us_per_delivery"], ref.get("cpu_us_per_delivery")), "{:.1f}×"),
        ]
        lines.append(_row(cells))
    return "\n".join(lines)


def _row(cells):
    return "| " + " | ".join(cells) + " |"


def _median_ms(timings):
    if isinstance(timings, dict):
        return None
    return statistics.median(timings) * 1000 if timings else None


def full_update_table(results):
    lines = [_row(["instances", "daphne ms (median)", "reference ms", "÷ ref", "note"]),
             _row(["---"] * 5)]
    daphne = results.get("daphne", {}).get("full_update", {})
    reference = results.get("reference", {}).get("full_update", {})
    for size in daphne:
        ours, ref = daphne[size], reference.get(size)
        note = ours.get("error", "") if isinstance(ours, dict) else ""
        lines.append(_row([
            f"{int(size):,}", fmt(_median_ms(ours)), fmt(_median_ms(ref) if ref else None),
            fmt(ratio(_median_ms(ours), _median_ms(ref) if ref else None), "{:.1f}×"), note,
        ]))
    return "\n".join(lines)


def storm_table(results):
    lines = [_row(["server", "clients", "runs", "all resynced s (median)",
                   "resynced within 30 s", "still reconnecting at the end", "subscribe errors",
                   "lost", "stale tables", "reconnects", "÷ ref"]), _row(["---"] * 11)]
    ref = median_of(results.get("reference", {}).get("storm", []), "resync_s")
    for server in ("daphne", "reference"):
        runs = results.get(server, {}).get("storm", [])
        if not runs:
            continue
        resync = median_of(runs, "resync_s")
        lines.append(_row([
            server, str(runs[0]["clients"]), str(len(runs)), fmt(resync, "{:.2f}"),
            fmt(median_of(runs, "resynced_in_time"), "{:.0f}"),
            fmt(median_of(runs, "still_reconnecting"), "{:.0f}"),
            fmt(median_of(runs, "subscribe_errors"), "{:.0f}"),
            str(sum(run["lost"] for run in runs)), str(sum(run["stale_tables"] for run in runs)),
            fmt(median_of(runs, "reconnects"), "{:.0f}"), fmt(ratio(resync, ref), "{:.2f}×"),
        ]))
    return "\n".join(lines)


def targets(results, medians):
    """(target, measured, verdict) rows."""
    top = max((key[1] for key in medians), default=None)
    rated = medians.get(("daphne", top, "rate"), {})
    at_max = medians.get(("daphne", top, "max"), {})
    ref_max = medians.get(("reference", top, "max"), {})
    snaps = results.get("daphne", {}).get("full_update", {})
    storms = results.get("daphne", {}).get("storm", [])
    logs = results.get("logs", {})
    rows = []

    misses = (rated.get("lost") or 0) + (rated.get("healed") or 0)
    p99 = rated.get("p99_ms")
    rows.append((
        f"{top} clients at 20 events/s: 0 lost or healed, p99 ≤ 100 ms",
        f"lost+healed {fmt(misses, '{:.0f}')}, p99 {fmt(p99)} ms",
        _verdict(p99 is not None and misses == 0 and p99 <= 100,
                 f"p99 over by {fmt((p99 or 0) - 100)} ms" if misses == 0 else f"{misses:.0f} not delivered"),
    ))
    share = ratio(at_max.get("deliveries_per_s"), ref_max.get("deliveries_per_s"))
    rows.append((
        "max rate: ≥ 0.4× the reference's deliveries/s",
        f"{fmt(at_max.get('deliveries_per_s'), '{:,.0f}')} vs {fmt(ref_max.get('deliveries_per_s'), '{:,.0f}')}/s = {fmt(share, '{:.2f}')}×",
        _verdict(share is not None and share >= 0.4, f"short by {fmt(0.4 - (share or 0), '{:.2f}')}×"),
    ))
    for size, limit in ((1000, 50), (10000, 500)):
        timings = snaps.get(size, snaps.get(str(size)))
        ms = _median_ms(timings) if timings is not None else None
        error = timings.get("error") if isinstance(timings, dict) else None
        rows.append((
            f"full_update of {size:,} instances ≤ {limit} ms",
            error or f"{fmt(ms)} ms",
            _verdict(ms is not None and ms <= limit,
                     error and "fails" or f"over by {fmt((ms or 0) - limit)} ms"),
        ))
    resync = median_of(storms, "resync_s")
    if storms and resync is None:
        in_time = median_of(storms, "resynced_in_time")
        measured = f"only {in_time:.0f} of {storms[0]['clients']:,} resynced within 30 s"
    else:
        measured = f"{fmt(resync, '{:.2f}')} s"
    rows.append((
        "reconnect storm of 1,000: all resynced within 10 s",
        measured,
        _verdict(resync is not None and resync <= 10,
                 f"over by {fmt(resync - 10)} s" if resync else "over by more than 20 s"),
    ))
    rate = logs.get("entries_per_s")
    rows.append((
        f"log ingestion ≥ {LOG_RATE_TARGET:,} accepted entries/s",
        logs.get("error") or f"{fmt(rate, '{:,.0f}')} entries/s",
        _verdict(rate is not None and rate >= LOG_RATE_TARGET,
                 "not measured" if rate is None else f"short by {LOG_RATE_TARGET - rate:,.0f}/s"),
    ))
    worst = _flood_p99(logs)
    rows.append((
        f"during the log flood: /healthz and page load p99 ≤ {FLOOD_P99_TARGET_MS} ms",
        logs.get("error") or f"{fmt(worst)} ms (the slower of the two)",
        _verdict(worst is not None and worst <= FLOOD_P99_TARGET_MS,
                 "not measured" if worst is None else f"over by {fmt(worst - FLOOD_P99_TARGET_MS)} ms"),
    ))
    return "\n".join(
        [_row(["target", "measured (median of runs)", "verdict"]), _row(["---"] * 3)]
        + [_row(list(row)) for row in rows]
    )


def misses(results, medians):
    """Where the time goes for each missed target, from this run's figures
    and profiles (BENCHMARKS.md must say it, not just the gap)."""
    top = max((key[1] for key in medians), default=None)
    ours, ref = medians.get(("daphne", top, "rate"), {}), medians.get(("reference", top, "rate"), {})
    notes = []
    if ours.get("p99_ms") is not None and ours["p99_ms"] > 100:
        notes.append(
            f"**p99 at {top:,} clients, 20 events/s** — {fmt(ours['p99_ms'])} ms for daphne, "
            f"{fmt(ref.get('p99_ms'))} ms for the plain-websockets reference in the same run, for "
            f"about the same work per delivery ({fmt(ours.get('cpu_us_per_delivery'))} against "
            f"{fmt(ref.get('cpu_us_per_delivery'))} µs of server CPU): the tail is queueing for one "
            "of 2 cores shared by the server, the load client, the driver, Redis, PostgreSQL and "
            "whatever else runs, and moves from run to run. What is left per delivery is one "
            "`send` system call per socket (`untilConcludes`/`writeSomeData` in the first profile "
            "below) and the hub's loop around it."
        )
    snaps = results.get("daphne", {}).get("full_update", {})
    slow = [size for size, t in snaps.items() if isinstance(t, list) and _median_ms(t) > {1000: 50, 10000: 500}.get(int(size), 1e9)]
    failed = [size for size, t in snaps.items() if isinstance(t, dict)]
    if slow:
        notes.append(
            "**full_update time** — the snapshot is built per subscriber in a worker thread: "
            "one query, then a dict per row with two `iso()` datetime formats each "
            "(`streams/protocol.py`) and a JSON encode; daphne adds the "
            "subscribe round trip through channels' middleware (the reference, same snapshot code, "
            "is in the table above)."
        )
    if failed:
        notes.append(
            f"**full_update of {', '.join(f'{int(n):,}' for n in failed)} instances fails** — the "
            "message (about 2 MB for 10,000 rows) is over daphne's `--websocket-max-message-size` "
            "(1 MiB by default), which autobahn enforces on outgoing messages too "
            "(`PayloadExceededError` in daphne's log); the client gets `internal_error`."
        )
    storms = results.get("daphne", {}).get("storm", [])
    if storms and (median_of(storms, "resync_s") or 1e9) > 10:
        notes.append(_storm_note(storms[0], results.get("reference", {}).get("storm", [])))
    logs = results.get("logs", {})
    if logs.get("entries_per_s") is not None and logs["entries_per_s"] < LOG_RATE_TARGET:
        notes.append(
            f"**log ingestion** — {fmt(logs['server_cpu_s'] / max(logs['requests'], 1) * 1000)} ms "
            "of daphne CPU per request of 20 entries, all of it Python under one GIL on a "
            "machine whose other core runs the load client and PostgreSQL (where it goes: the "
            "last profile)."
        )
    return "\n\n".join(f"- {note}" for note in notes) or "Every target was met."


def _storm_note(storm, reference):
    clients, reconnects = storm["clients"], storm["reconnects"]
    ref = median_of(reference, "resync_s")
    if reconnects > 1.5 * clients:
        cause = (
            f"{reconnects:,} reconnects for {clients:,} clients: daphne rejects a WebSocket its "
            "application has not accepted within 5 s (`WSREJECT` in its log), the client "
            "reconnects, and the queue of database work behind the accepts only grows"
        )
    else:
        cause = (
            f"each client reconnected once ({reconnects:,} reconnects); the time is "
            f"{clients:,} snapshots, one per subscriber, though they all ask for the same scope "
            "at nearly the same seq (the storm profile: `state_machines_snapshot`, psycopg's "
            "datetime parsing, `iso()`, JSON encoding)"
        )
    note = f"**reconnect storm** — {cause}."
    if ref is not None:
        note += (f" The reference, with the same snapshot code, took {ref:.1f} s: one snapshot "
                 "shared by the subscribers of a scope that ask at the same seq is the lever.")
    if storm["subscribe_errors"]:
        note += (f" {storm['subscribe_errors']:,} subscribes failed (`internal_error`; see "
                 "daphne's log) and were retried.")
    return note


def _verdict(ok, miss):
    return "met" if ok else f"**missed**: {miss}"


def profile_section(results):
    daphne = results.get("daphne", {})
    if "profile_max" not in daphne:
        return "Not profiled in this run (`--no-profile`)."
    parts = []
    window = daphne["profile_max"]
    run = window["run"]
    parts.append(_profile_table(
        window,
        f"One extra max-rate window of {run['clients']:,} clients "
        f"({fmt(run['deliveries_per_s'], '{:,.0f}')} deliveries/s, "
        f"{fmt(run['cpu_us_per_delivery'])} µs of server CPU per delivery)",
    ))
    if "profile_storm" in daphne:
        parts.append(_profile_table(daphne["profile_storm"], "The reconnect storm above"))
    if "profile" in results.get("logs", {}):
        parts.append(_profile_table(results["logs"]["profile"], "Log ingestion above"))
    return "\n\n".join(parts)


def _profile_table(found, what):
    if "error" in found:
        return f"{what}: not profiled: {found['error']}."
    lines = [
        f"{what}: py-spy `--gil` (Python CPU work and the system calls it makes), "
        f"{found['samples']:,} samples of daphne.",
        "",
        _row(["own %", "function", "incl. %", "function"]),
        _row(["---"] * 4),
    ]
    for own, inclusive in zip(found["own"], found["inclusive"]):
        lines.append(_row([str(own[1]), f"`{own[0]}`", str(inclusive[1]), f"`{inclusive[0]}`"]))
    return "\n".join(lines)


def _flood_p99(logs):
    """The worst p99 of the pages timed during the flood."""
    timed = logs.get("latency", {}).get("flood", {}).values()
    p99s = [page["p99_ms"] for page in timed if page.get("p99_ms") is not None]
    return max(p99s, default=None)


def logs_section(results):
    logs = results.get("logs", {})
    if "error" in logs:
        return logs["error"]
    summary = (
        f"{fmt(logs.get('entries_per_s'), '{:,.0f}')} accepted entries/s over "
        f"{fmt(logs.get('seconds'), '{:.1f}')} s: {logs.get('requests', 0):,} requests of 20 "
        f"WARN/ERROR entries from {logs.get('workers', 4)} keep-alive connections, "
        f"{logs.get('throttled', 0)} throttled, {logs.get('failed', 0)} failed; daphne used "
        f"{fmt(logs.get('server_cpu_s'), '{:.1f}')} CPU s."
    )
    latency = logs.get("latency")
    if not latency:
        return summary
    lines = [
        summary, "",
        "Other pages, each fetched every 20 ms on a connection of its own, idle and during the flood:",
        "",
        _row(["page", "when", "requests", "p50 ms", "p99 ms", "max ms", "statuses"]),
        _row(["---"] * 7),
    ]
    for when in ("idle", "flood"):
        for path, page in latency.get(when, {}).items():
            statuses = ", ".join(f"{n}× {status}" for status, n in sorted(page["statuses"].items()))
            lines.append(_row([
                f"`{path}`", when, str(page["samples"]), fmt(page["p50_ms"]),
                fmt(page["p99_ms"]), fmt(page["max_ms"]), statuses,
            ]))
    return "\n".join(lines)


def layers_section(medians):
    """The pub/sub and core layers side by side, from this run."""
    top = max((key[1] for key in medians if key[0] == "daphne-core"), default=None)
    if top is None:
        return "Not compared in this run (`--no-layers`)."
    lines = [_row(["layer", "load", "deliveries/s", "p99 ms", "CPU µs/delivery", "lost", "healed"]),
             _row(["---"] * 7)]
    for server, layer in (("daphne", "pub/sub"), ("daphne-core", "core")):
        for load in ("rate", "max"):
            figures = medians.get((server, top, load), {})
            lines.append(_row([
                layer, "20/s" if load == "rate" else "max",
                fmt(figures.get("deliveries_per_s"), "{:,.0f}"), fmt(figures.get("p99_ms")),
                fmt(figures.get("cpu_us_per_delivery")), fmt(figures.get("lost"), "{:.0f}"),
                fmt(figures.get("healed"), "{:.0f}"),
            ]))
    return f"""{top:,} clients on one daphne, each layer with its own server and driver.

{chr(10).join(lines)}

Each process receives every event once from the layer (streams/hub.py), so
the layer carries one message per event per process, not one per socket:
the layers cost about the same here, and the difference between the two
rows is mostly this machine's noise. The project keeps **pub/sub**: the
core layer drops a process's messages silently once its channel holds
`capacity` (100) of them (a hub 5 s behind at 20 events/s), which the hub
only sees afterwards as a seq gap that makes every subscriber of the group
resync; pub/sub never drops, and a process that falls behind queues in its
own memory, where the per-socket 1013 rule (STREAMS_MAX_BACKLOG_BYTES)
bounds what each slow client can hold."""


def coordinator_section(results):
    """Tick time and commit-to-subscriber latency of the coordinator, with
    the design before batched writes (a transaction per instance) beside."""
    runs = results.get("coordinator")
    if not runs:
        return "Not measured in this run (`--coordinated ''`)."
    by_key = {(run["instances"], run["design"]): run for run in runs}
    head = ["instances", "writes", "ticks", "moves", "tick p50 ms", "tick p99 ms", "tick max ms",
            "event p50 ms", "event p99 ms", "lost", "tick p99 ÷ per row"]
    lines = [_row(head), _row(["---"] * len(head))]
    for run in runs:
        if "error" in run:
            lines.append(_row([f"{run['instances']:,}", run["design"], run["error"],
                               *[""] * (len(head) - 3)]))
            continue
        before = by_key.get((run["instances"], "per row"), {})
        lines.append(_row([
            f"{run['instances']:,}", run["design"], str(run["ticks"]), str(run["moves"]),
            fmt(run["tick_p50_ms"]), fmt(run["tick_p99_ms"]), fmt(run["tick_max_ms"]),
            fmt(run["p50_ms"]), fmt(run["p99_ms"]), str(run["lost"]),
            fmt(ratio(run["tick_p99_ms"], before.get("tick_p99_ms")), "{:.2f}"),
        ]))
    return f"""The coordinator in the driver process ticks every live instance of one
session once a second on a market where each symbol pumps once every 17 s
(bench/pumps.py), so each tick some instances move through a whole trade
while the rest update their conditions; one subscriber of the session on
one daphne. *batched*: each tick's writes in one `apply_many` transaction;
*per row*: one transaction per instance, the design before. Event latency
runs from the end of the write that committed a move to the subscriber's
receipt of its `state_change` (per row, from the end of the tick's last
write: it flatters that design). Target: 1,000 instances, tick p99 ≤ 500 ms,
event p99 ≤ 250 ms.

{chr(10).join(lines)}"""


def render(results):
    medians = groups(results)
    machine = results["machine"]
    plan = results["plan"]
    took = results["finished"] - results["started"]
    return f"""# Benchmarks

Generated by `make bench` ({results['command']}) on
{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(results['started']))}, in {took:.0f} s.
Machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gb']} GiB,
Linux {machine['kernel']}, Python {machine['python']}. One daphne process, Redis
and PostgreSQL on loopback, the load client and the ORM driver on the same
{machine['cpus']} cores; the machine is shared, so read ratios before absolutes.
Every figure is the median of {plan['repeats']} runs unless it says otherwise.

## Targets

{targets(results, medians)}

### Where the misses come from

{misses(results, medians)}

## Fan-out

Each run: N subscribers of one session (100 live instances) on one server
process; a separate process moves instances through the ORM
(`transition_to`) — {plan['events']} changes at {plan['rate']}/s, or
{plan['max_events']} as fast as PostgreSQL allows ("max") — and every
subscriber's events are checked: *delivered* in `seq` order, *healed* (missed
but covered by a resync `full_update`), *lost* (neither), duplicates, and
whether its final table equals the database. Latency runs from the driver's
commit to the client's receipt, matched by (instance, version).
*reference* is a minimal plain-`websockets` server fed the same events from
the same channel layer (bench/reference.py); *daphne-core* is daphne with the
core Redis layer instead of pub/sub. RSS/conn is the server's growth while the
fleet connected, divided by its size.

{fanout_table(medians)}

## full_update

One client, idle server: from sending `subscribe` to holding the
`full_update` frame (before parsing it), an upper bound of the server's time.

{full_update_table(results)}

## Reconnect storm

{max(plan['clients']):,} subscribers while {plan['rate']} events/s flow; every
connection is dropped at once (as a network blip would) and each client
reconnects with the protocol's full-jitter backoff (0.5 s base) and
resubscribes. Time from the drop until every client holds a fresh
`full_update`; nothing may be lost and every final table must equal the
database.

{storm_table(results)}

## Coordinator

{coordinator_section(results)}

## Log ingestion

{logs_section(results)}

## Choosing the Redis layer

{layers_section(medians)}

## Where daphne's time goes

{profile_section(results)}
"""
