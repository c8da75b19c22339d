"""BENCHMARKS.md from one run's results: medians of the repeats, ratios to
the plain-websockets reference, and the issue's targets (bench/targets.py)
with the gap and its explanation where one is missed."""

import time

from bench import targets
from bench.stats import median_of
from bench.targets import cold_ms, median_ms, ratio

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


def fanout_table(medians):
    head = [
        "server",
        "clients",
        "load",
        *[label for _, label, _ in FANOUT_COLUMNS],
        "deliveries/s ÷ ref",
        "p99 ÷ ref",
        "CPU/delivery ÷ ref",
    ]
    lines = [_row(head), _row(["---"] * len(head))]
    for (server, clients, load), figures in sorted(
        medians.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0])
    ):
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


def full_update_table(results):
    lines = [
        _row(
            [
                "instances",
                "daphne built ms",
                "daphne shared ms",
                "reference ms",
                "built ÷ ref",
                "note",
            ]
        ),
        _row(["---"] * 6),
    ]
    daphne = results.get("daphne", {}).get("full_update", {})
    reference = results.get("reference", {}).get("full_update", {})
    for size, ours in daphne.items():
        ref = cold_ms(reference.get(size, {}))
        lines.append(
            _row(
                [
                    f"{int(size):,}",
                    fmt(cold_ms(ours)),
                    fmt(median_ms(ours.get("shared"))),
                    fmt(ref),
                    fmt(ratio(cold_ms(ours), ref), "{:.1f}×"),
                    ours.get("error", ""),
                ]
            )
        )
    return "\n".join(lines)


STORM_COLUMNS = [
    ("resync_s", "all resynced s", "{:.2f}"),
    ("current_s", "all current s", "{:.2f}"),
    ("recovered", "recovered", "{:.0f}"),
    ("snapshots", "snapshots", "{:.0f}"),
    ("server_cpu_s", "server CPU s", "{:.2f}"),
    ("resynced_in_time", "resynced within 30 s", "{:.0f}"),
    ("still_reconnecting", "still reconnecting at the end", "{:.0f}"),
    ("subscribe_errors", "subscribe errors", "{:.0f}"),
    ("reconnects", "reconnects", "{:.0f}"),
]


def storm_table(results):
    head = [
        "server",
        "subscribe",
        "clients",
        "runs",
        *[label for _, label, _ in STORM_COLUMNS],
        "lost",
        "dup",
        "stale tables",
        "current ÷ ref",
    ]
    lines = [_row(head), _row(["---"] * len(head))]
    ref = median_of(results.get("reference", {}).get("storm", []), "current_s")
    for server, key, how in (
        ("daphne", "storm", "snapshot"),
        ("daphne", "storm_resume", "since"),
        ("reference", "storm", "snapshot"),
    ):
        runs = results.get(server, {}).get(key, [])
        if not runs:
            continue
        lines.append(
            _row(
                [
                    server,
                    how,
                    str(runs[0]["clients"]),
                    str(len(runs)),
                    *[fmt(median_of(runs, name), pattern) for name, _, pattern in STORM_COLUMNS],
                    *[
                        str(sum(run.get(name, 0) for run in runs))
                        for name in ("lost", "duplicates", "stale_tables")
                    ],
                    fmt(ratio(median_of(runs, "current_s"), ref), "{:.2f}×"),
                ]
            )
        )
    return "\n".join(lines)


def absence_table(results):
    runs = results.get("absence", [])
    if not runs:
        return "Not measured in this run."
    head = [
        "run",
        "clients",
        "events missed",
        "away s",
        "recovered",
        "snapshots",
        "all current s",
        "server ms/client",
        "lost",
        "dup",
        "stale tables",
    ]
    lines = [_row(head), _row(["---"] * len(head))]
    for number, run in enumerate(runs, 1):
        lines.append(
            _row(
                [
                    str(number),
                    str(run["clients"]),
                    str(run["events"]),
                    fmt(run["away_s"]),
                    str(run["recovered"]),
                    str(run["snapshots"]),
                    fmt(run["current_s"], "{:.3f}"),
                    fmt(run["server_ms_per_client"]),
                    str(run["lost"]),
                    str(run["duplicates"]),
                    str(run["stale_tables"]),
                ]
            )
        )
    return "\n".join(lines)


CROWD_COLUMNS = [
    "connect_s",
    "rss_per_conn_kb",
    "server_rss_mb",
    "expected",
    "delivered",
    "healed",
    "lost",
    "duplicates",
    "p50_ms",
    "p99_ms",
    "max_ms",
    "deliveries_per_s",
    "server_cpu_s",
    "cpu_us_per_delivery",
    "client_cpu_s",
]


def crowd_table(results):
    crowd = results.get("crowd")
    if not crowd:
        return "Not measured in this run."
    if "error" in crowd:
        return f"Failed: {crowd['error']} (see daphne's log)."
    labels = {name: (label, pattern) for name, label, pattern in FANOUT_COLUMNS}
    head = ["clients", *[labels[name][0] for name in CROWD_COLUMNS]]
    return "\n".join(
        [
            _row(head),
            _row(["---"] * len(head)),
            _row(
                [
                    f"{crowd['clients']:,}",
                    *[fmt(crowd.get(name), labels[name][1]) for name in CROWD_COLUMNS],
                ]
            ),
        ]
    )


def targets_table(found):
    return "\n".join(
        [_row(["target", "measured (median of runs)", "verdict"]), _row(["---"] * 3)]
        + [_row(list(target.judge(found))) for target in targets.TARGETS]
    )


def misses(found):
    """Where the time goes for each missed target, from this run's figures
    (BENCHMARKS.md must say it, not just the gap)."""
    notes = [
        target.explain.format_map(found) for target in targets.TARGETS if not target.met(found)
    ]
    return "\n\n".join(f"- {note}" for note in notes) or "Every target was met."


def machine_section(results):
    machine = results["machine"]
    packages = ", ".join(
        f"{name} {version}" for name, version in machine["packages"].items() if version
    )
    load = " / ".join(f"{value:.2f}" for value in machine["load_started"])
    load_end = " / ".join(f"{value:.2f}" for value in machine["load"])
    return "\n".join(
        [
            _row(["", ""]),
            _row(["---", "---"]),
            _row(["CPUs", f"{machine['cpus']} ({machine['cpu_model']})"]),
            _row(["memory", f"{machine['memory_gb']} GiB"]),
            _row(["kernel", f"Linux {machine['kernel']}"]),
            _row(["Python", machine["python"]]),
            _row(["packages", packages]),
            _row(["load average (1/5/15 min)", f"{load} at the start, {load_end} at the end"]),
        ]
    )


def profile_section(results):
    daphne = results.get("daphne", {})
    if "profile_max" not in daphne:
        return "Not profiled in this run (`--no-profile`)."
    parts = []
    window = daphne["profile_max"]
    run = window["run"]
    parts.append(
        _profile_table(
            window,
            f"One extra max-rate window of {run['clients']:,} clients "
            f"({fmt(run['deliveries_per_s'], '{:,.0f}')} deliveries/s, "
            f"{fmt(run['cpu_us_per_delivery'])} µs of server CPU per delivery)",
        )
    )
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
    for own, inclusive in zip(found["own"], found["inclusive"], strict=False):
        lines.append(_row([str(own[1]), f"`{own[0]}`", str(inclusive[1]), f"`{inclusive[0]}`"]))
    return "\n".join(lines)


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
        summary,
        "",
        "Other pages, each fetched every 20 ms on a connection of its own, idle and during the flood:",
        "",
        _row(["page", "when", "requests", "p50 ms", "p99 ms", "max ms", "statuses"]),
        _row(["---"] * 7),
    ]
    for when in ("idle", "flood"):
        for path, page in latency.get(when, {}).items():
            statuses = ", ".join(f"{n}× {status}" for status, n in sorted(page["statuses"].items()))
            lines.append(
                _row(
                    [
                        f"`{path}`",
                        when,
                        str(page["samples"]),
                        fmt(page["p50_ms"]),
                        fmt(page["p99_ms"]),
                        fmt(page["max_ms"]),
                        statuses,
                    ]
                )
            )
    return "\n".join(lines)


def layers_section(medians):
    """The pub/sub and core layers side by side, from this run."""
    top = max((key[1] for key in medians if key[0] == "daphne-core"), default=None)
    if top is None:
        return "Not compared in this run (`--no-layers`)."
    lines = [
        _row(["layer", "load", "deliveries/s", "p99 ms", "CPU µs/delivery", "lost", "healed"]),
        _row(["---"] * 7),
    ]
    for server, layer in (("daphne", "pub/sub"), ("daphne-core", "core")):
        for load in ("rate", "max"):
            figures = medians.get((server, top, load), {})
            lines.append(
                _row(
                    [
                        layer,
                        "20/s" if load == "rate" else "max",
                        fmt(figures.get("deliveries_per_s"), "{:,.0f}"),
                        fmt(figures.get("p99_ms")),
                        fmt(figures.get("cpu_us_per_delivery")),
                        fmt(figures.get("lost"), "{:.0f}"),
                        fmt(figures.get("healed"), "{:.0f}"),
                    ]
                )
            )
    return f"""{top:,} clients on one daphne, each layer with its own server and driver.

{chr(10).join(lines)}

Each process receives every event once from the layer (streams/fanout/hub.py), so
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
    head = [
        "instances",
        "writes",
        "ticks",
        "moves",
        "tick p50 ms",
        "tick p99 ms",
        "tick max ms",
        "event p50 ms",
        "event p99 ms",
        "lost",
        "tick p99 ÷ per row",
    ]
    lines = [_row(head), _row(["---"] * len(head))]
    for run in runs:
        if "error" in run:
            lines.append(
                _row(
                    [f"{run['instances']:,}", run["design"], run["error"], *[""] * (len(head) - 3)]
                )
            )
            continue
        before = by_key.get((run["instances"], "per row"), {})
        lines.append(
            _row(
                [
                    f"{run['instances']:,}",
                    run["design"],
                    str(run["ticks"]),
                    str(run["moves"]),
                    fmt(run["tick_p50_ms"]),
                    fmt(run["tick_p99_ms"]),
                    fmt(run["tick_max_ms"]),
                    fmt(run["p50_ms"]),
                    fmt(run["p99_ms"]),
                    str(run["lost"]),
                    fmt(ratio(run["tick_p99_ms"], before.get("tick_p99_ms")), "{:.2f}"),
                ]
            )
        )
    return f"""The coordinator in the driver process ticks every live instance of one
session once a second on a market where each symbol pumps once every 17 s
(bench/pumps.py), so each tick some instances move through a whole trade
while the rest update their conditions; one subscriber of the session on
one daphne. *batched*: each tick's writes in one `apply_many` transaction;
*per row*: one transaction per instance, the design before. Event latency
runs from the commit of a move (an on-commit callback queued right after
the move's event) to the subscriber's receipt of its `state_change`.
Target: 1,000 instances, tick p99 ≤ 500 ms, event p99 ≤ 250 ms.

{chr(10).join(lines)}"""


def render(results):
    medians = groups(results)
    found = targets.figures(results, medians)
    plan = results["plan"]
    took = results["finished"] - results["started"]
    return f"""# Benchmarks

Generated by `make bench` ({results["command"]}) on
{time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(results["started"]))}, in {took:.0f} s.
One daphne process, Redis and PostgreSQL on loopback, the load client and
the ORM driver on the same cores; on a shared machine (see the load
average), read ratios before absolutes. Every figure is the median of
{plan["repeats"]} runs unless it says otherwise.

{machine_section(results)}

## Targets

{targets_table(found)}

### Where the misses come from

{misses(found)}

## Fan-out

Each run: N subscribers of one session (100 live instances) on one server
process; a separate process moves instances through the ORM
(`transition_to`) — {plan["events"]} changes at {plan["rate"]}/s, or
{plan["max_events"]} as fast as PostgreSQL allows ("max") — and every
subscriber's events are checked: *delivered* in `seq` order, *healed* (missed
but covered by a resync `full_update`), *lost* (neither), duplicates, and
whether its final table equals the database. Latency runs from the driver's
commit to the client's receipt, matched by (instance, version).
*reference* is a minimal plain-`websockets` server fed the same events from
the same channel layer (bench/reference.py); *daphne-core* is daphne with the
core Redis layer instead of pub/sub. RSS/conn is the server's growth while the
fleet connected, divided by its size.

{fanout_table(medians)}

## {plan["crowd"]:,} connections

One daphne process of its own, {plan["crowd"]:,} subscribers of one session
connected {plan["crowd_batch"]:,} at a time from one load process (sharing
the seeded users' tokens), then {plan["crowd_events"]} changes at
{plan["crowd_rate"]}/s. RSS/conn is the server's growth while they
connected, divided by their number.

{crowd_table(results)}

## full_update

One client, idle server: from sending `subscribe` to holding the
`full_update` frame (before parsing it), an upper bound of the server's time.
*built*: the first subscribe after an event moved the scope's seq;
*shared*: another at the same seq, which daphne serves from the snapshot it
already encoded (the reference builds every one).

{full_update_table(results)}

## Reconnect storm

{max(plan["clients"]):,} subscribers while {plan["rate"]} events/s flow; every
connection is dropped at once (as a network blip would) and each client
reconnects with the protocol's full-jitter backoff (0.5 s base) and
resubscribes, with a snapshot, or (*since*) resuming from its last event.
*all resynced*: from the drop until every client holds a fresh `full_update`
or a `recovered` subscribe; *all current*: until every one also holds the
last event it had before the drop. Nothing may be lost or applied twice, and
every final table must equal the database.

{storm_table(results)}

## Resuming after an absence

Resuming subscribers of a session of their own on the crowd's daphne: every
connection drops, the driver publishes events on the session meanwhile, then
all reconnect at once with `since`. *server ms/client*: daphne's CPU (user +
system, /proc) from their return until every one is current, divided by
their number.

{absence_table(results)}

## Coordinator

{coordinator_section(results)}

## Log ingestion

{logs_section(results)}

## Choosing the Redis layer

{layers_section(medians)}

## Where daphne's time goes

{profile_section(results)}
"""
