"""The issue's targets as one table: each row names the figure it judges,
its limit and the explanation shown when it is missed, so a target is
written once and the verdict and the explanation cannot disagree.

Names and explanations are templates over `figures(results, medians)`; a
figure this run did not measure prints as "–".
"""

import operator
import statistics
from dataclasses import dataclass

from bench.stats import median_of

COMPARE = {"≤": operator.le, "≥": operator.ge}


@dataclass(frozen=True)
class Target:
    name: str
    figure: str
    compare: str
    limit: float
    unit: str
    explain: str
    pattern: str = "{:,.1f}"

    def judge(self, figures):
        """(target, measured, verdict) cells of the report's table."""
        value = figures.get(self.figure)
        error = figures.get(f"{self.figure}_error")
        wanted = f"{self.compare} {self.pattern.format(self.limit)}{self.unit}"
        target = f"{self.name.format_map(figures)}: {wanted}"
        if value is None:
            return target, error or "not measured", "**missed**: not measured"
        measured = f"{self.pattern.format(value)}{self.unit}"
        if COMPARE[self.compare](value, self.limit):
            return target, measured, "met"
        gap = self.pattern.format(abs(value - self.limit))
        return (
            target,
            measured,
            f"**missed**: {'over' if self.compare == '≤' else 'short'} by {gap}{self.unit}",
        )

    def met(self, figures):
        value = figures.get(self.figure)
        return value is not None and COMPARE[self.compare](value, self.limit)


PROFILE = "the profiles at the end show where daphne's time goes"
TARGETS = [
    Target(
        "{top:,} clients at {rate} events/s, lost or healed",
        "misses",
        "≤",
        0,
        "",
        "**{top:,} clients at {rate} events/s** — {misses:,.0f} events reached a client "
        "only through a resync `full_update`, or never: a gap (the hub fell behind or the "
        "layer dropped a message); `gaps` and `healed` in the fan-out table say where.",
        "{:,.0f}",
    ),
    Target(
        "{top:,} clients at {rate} events/s, p99",
        "p99_ms",
        "≤",
        100,
        " ms",
        "**p99 at {top:,} clients, {rate} events/s** — {p99_ms:.1f} ms for daphne, "
        "{ref_p99_ms:.1f} ms for the plain-websockets reference in the same run, for "
        "{cpu_us:.1f} against {ref_cpu_us:.1f} µs of server CPU per delivery: the tail is "
        "queueing for {cpus} cores shared by the server, the load client, the driver, Redis "
        "and PostgreSQL; {PROFILE}.",
    ),
    Target(
        "max rate, deliveries/s ÷ the reference's",
        "max_share",
        "≥",
        0.4,
        "×",
        "**max rate** — {max_per_s:,.0f} against {ref_max_per_s:,.0f} deliveries/s, "
        "{cpu_us_max:.1f} against {ref_cpu_us_max:.1f} µs of server CPU per delivery; "
        "{PROFILE}.",
        "{:.2f}",
    ),
    Target(
        "full_update of 1,000 instances (built)",
        "full_1000_ms",
        "≤",
        50,
        " ms",
        "**full_update of 1,000** — {full_1000_ms:.1f} ms to build (one query, a dict "
        "per row, the JSON encode, in a worker thread); the reference, same snapshot code: "
        "{ref_full_1000_ms:.1f} ms; served shared at the same seq: {shared_1000_ms:.1f} ms.",
    ),
    Target(
        "full_update of 10,000 instances (built)",
        "full_10000_ms",
        "≤",
        100,
        " ms",
        "**full_update of 10,000** — {full_10000_ms:.1f} ms to build (one query, a dict "
        "per row, the JSON encode of about 2 MB, in a worker thread); the reference, same "
        "snapshot code: {ref_full_10000_ms:.1f} ms; served shared at the same seq (what "
        "every subscriber after the first gets): {shared_10000_ms:.1f} ms.",
    ),
    Target(
        "reconnect storm of {storm_clients:,} with snapshots, all resynced",
        "storm_s",
        "≤",
        10,
        " s",
        "**reconnect storm with snapshots** — {storm_reconnects:,.0f} reconnects for "
        "{storm_clients:,} clients and {storm_cpu_s:.1f} s of daphne CPU; the reference "
        "took {ref_storm_s:.1f} s; {PROFILE}.",
    ),
    Target(
        "reconnect storm of {storm_clients:,} resuming from history, all current",
        "resume_storm_s",
        "≤",
        3,
        " s",
        "**resuming storm** — {resume_recovered:,.0f} of {storm_clients:,} recovered from "
        "history; daphne used {resume_cpu_s:.2f} CPU s ({resume_ms_per_client:.1f} ms a "
        "client: handshake, token check, subscribe); the rest is the first reconnect's "
        "jitter (up to 0.5 s) and {cpus} cores shared with the load client.",
    ),
    Target(
        "resuming storm ÷ the reference's snapshot storm",
        "resume_storm_share",
        "≤",
        0.5,
        "×",
        "**resuming storm against the reference** — {resume_storm_s:.2f} s against "
        "{ref_storm_s:.2f} s until every client is current.",
        "{:.2f}",
    ),
    Target(
        "{absent_clients:,} clients back after {away_s:.0f} s away, recovered from history",
        "absence_recovered",
        "≥",
        1,
        "",
        "**resuming after an absence** — {absence_snapshots:,.0f} subscribes got a "
        "snapshot instead (recovered: false): the history no longer held every missed "
        "event, or the epoch changed.",
        "{:.0%}",
    ),
    Target(
        "{absent_clients:,} clients back after {away_s:.0f} s away, server time a client",
        "absence_ms",
        "≤",
        20,
        " ms",
        "**server time per resuming client** — {absence_ms:.1f} ms of daphne CPU each "
        "(handshake through channels' middleware, the token check, the subscribe, "
        "{absent_events} replayed frames); all current after {absence_s:.2f} s.",
    ),
    Target(
        "{absent_clients:,} clients back after an absence, lost + duplicated",
        "absence_bad",
        "≤",
        0,
        "",
        "**events lost or duplicated on resuming** — {absence_lost:,.0f} lost, "
        "{absence_duplicates:,.0f} applied twice.",
        "{:,.0f}",
    ),
    Target(
        "{crowd:,} connections at {crowd_rate} events/s, lost",
        "crowd_lost",
        "≤",
        0,
        "",
        "**{crowd:,} connections, lost events** — {crowd_lost:,.0f} events neither "
        "delivered nor healed.",
        "{:,.0f}",
    ),
    Target(
        "{crowd:,} connections at {crowd_rate} events/s, p99",
        "crowd_p99_ms",
        "≤",
        250,
        " ms",
        "**p99 at {crowd:,} connections** — {crowd_p99_ms:.1f} ms: each event is "
        "{crowd:,} sends from one daphne process ({crowd_cpu_us:.1f} µs of its CPU a "
        "delivery, {crowd_server_cpu_s:.1f} s in the window) and {crowd:,} messages parsed "
        "by one load process ({crowd_client_cpu_s:.1f} CPU s in the window) on {cpus} cores, "
        "so the last socket of a fan-out waits for both.",
    ),
    Target(
        "{crowd:,} connections, server RSS growth a connection",
        "crowd_rss_kb",
        "≤",
        40,
        " KB",
        "**memory per connection** — {crowd_rss_kb:.1f} KB: daphne's per-socket objects "
        "(Twisted transport, autobahn protocol, the channels consumer and its task) and "
        "send buffers.",
    ),
    Target(
        "log ingestion, accepted entries/s",
        "logs_per_s",
        "≥",
        5000,
        "/s",
        "**log ingestion** — {logs_ms_per_request:.1f} ms of daphne CPU per request of 20 "
        "entries, all of it Python under one GIL on a machine whose other core runs the "
        "load client and PostgreSQL; {PROFILE}.",
        "{:,.0f}",
    ),
    Target(
        "during the log flood, /healthz and page load p99 (the slower)",
        "flood_p99_ms",
        "≤",
        100,
        " ms",
        "**pages during the log flood** — {flood_p99_ms:.1f} ms: the log requests and the "
        "pages share daphne's loop and its worker threads; {PROFILE}.",
    ),
    Target(
        "coordinator ticking 1,000 instances, batched, tick p99",
        "tick_p99_ms",
        "≤",
        500,
        " ms",
        "**coordinator tick** — {tick_p99_ms:.1f} ms, against {tick_p99_per_row_ms:.1f} ms "
        "with a transaction per instance (the Coordinator section).",
    ),
    Target(
        "coordinator ticking 1,000 instances, batched, event p99",
        "tick_event_p99_ms",
        "≤",
        250,
        " ms",
        "**commit to subscriber under the coordinator** — {tick_event_p99_ms:.1f} ms: the "
        "tick's events leave after its transaction commits, all at once.",
    ),
]


class Figures(dict):
    """Template values: a figure not measured formats as "–" whatever its
    format spec."""

    def __getitem__(self, key):
        value = self.get(key)
        return _Missing() if value is None else value


class _Missing:
    def __format__(self, spec):
        return "–"


def figures(results, medians):
    top = max((key[1] for key in medians if key[0] == "daphne"), default=None)
    ours, ref = (
        medians.get(("daphne", top, "rate"), {}),
        medians.get(("reference", top, "rate"), {}),
    )
    ours_max, ref_max = (
        medians.get(("daphne", top, "max"), {}),
        medians.get(("reference", top, "max"), {}),
    )
    daphne, reference = results.get("daphne", {}), results.get("reference", {})
    storms, ref_storms = daphne.get("storm", []), reference.get("storm", [])
    resumed = daphne.get("storm_resume", [])
    absence, crowd, logs = (
        results.get("absence", []),
        results.get("crowd", {}),
        results.get("logs", {}),
    )
    resume_cpu = median_of(resumed, "server_cpu_s")
    coordinated = {
        (run["instances"], run["design"]): run
        for run in results.get("coordinator", [])
        if "error" not in run
    }
    batched, per_row = (
        coordinated.get((1000, "batched"), {}),
        coordinated.get((1000, "per row"), {}),
    )
    absence_subscribes = sum(run["recovered"] + run["snapshots"] for run in absence)
    found = Figures(
        {
            "PROFILE": PROFILE,
            "cpus": results.get("machine", {}).get("cpus"),
            "rate": results["plan"]["rate"],
            "top": top,
            "misses": _sum(ours.get("lost"), ours.get("healed")),
            "p99_ms": ours.get("p99_ms"),
            "ref_p99_ms": ref.get("p99_ms"),
            "cpu_us": ours.get("cpu_us_per_delivery"),
            "ref_cpu_us": ref.get("cpu_us_per_delivery"),
            "max_share": ratio(ours_max.get("deliveries_per_s"), ref_max.get("deliveries_per_s")),
            "max_per_s": ours_max.get("deliveries_per_s"),
            "ref_max_per_s": ref_max.get("deliveries_per_s"),
            "cpu_us_max": ours_max.get("cpu_us_per_delivery"),
            "ref_cpu_us_max": ref_max.get("cpu_us_per_delivery"),
            "storm_clients": storms[0]["clients"] if storms else None,
            "storm_s": median_of(storms, "resync_s"),
            "ref_storm_s": median_of(ref_storms, "current_s"),
            "storm_reconnects": median_of(storms, "reconnects"),
            "storm_cpu_s": median_of(storms, "server_cpu_s"),
            "resume_storm_s": median_of(resumed, "current_s"),
            "resume_recovered": median_of(resumed, "recovered"),
            "resume_cpu_s": resume_cpu,
            "resume_ms_per_client": resume_cpu and resume_cpu / resumed[0]["clients"] * 1000,
            "absent_clients": absence[0]["clients"] if absence else None,
            "absent_events": absence[0]["events"] if absence else None,
            "away_s": median_of(absence, "away_s"),
            "absence_recovered": (
                sum(run["recovered"] for run in absence) / absence_subscribes
                if absence_subscribes
                else None
            ),
            "absence_snapshots": sum(run["snapshots"] for run in absence) if absence else None,
            "absence_ms": median_of(absence, "server_ms_per_client"),
            "absence_s": median_of(absence, "current_s"),
            "absence_lost": sum(run["lost"] for run in absence) if absence else None,
            "absence_duplicates": sum(run["duplicates"] for run in absence) if absence else None,
            "crowd": crowd.get("clients"),
            "crowd_rate": crowd.get("rate"),
            "crowd_lost": crowd.get("lost"),
            "crowd_lost_error": crowd.get("error"),
            "crowd_p99_ms": crowd.get("p99_ms"),
            "crowd_rss_kb": crowd.get("rss_per_conn_kb"),
            "crowd_cpu_us": crowd.get("cpu_us_per_delivery"),
            "crowd_server_cpu_s": crowd.get("server_cpu_s"),
            "crowd_client_cpu_s": crowd.get("client_cpu_s"),
            "logs_per_s": logs.get("entries_per_s"),
            "logs_per_s_error": logs.get("error"),
            "flood_p99_ms": _flood_p99(logs),
            "flood_p99_ms_error": logs.get("error"),
            "tick_p99_ms": batched.get("tick_p99_ms"),
            "tick_event_p99_ms": batched.get("p99_ms"),
            "tick_p99_per_row_ms": per_row.get("tick_p99_ms"),
            "logs_ms_per_request": (
                logs["server_cpu_s"] / max(logs["requests"], 1) * 1000
                if "server_cpu_s" in logs
                else None
            ),
        }
    )
    for figure, runs in (("storm_s", storms), ("resume_storm_s", resumed)):
        if runs and found.get(figure) is None:
            found[f"{figure}_error"] = (
                f"{median_of(runs, 'resynced_in_time'):,.0f} of "
                f"{runs[0]['clients']:,} back within 30 s"
            )
    found["resume_storm_share"] = ratio(found.get("resume_storm_s"), found.get("ref_storm_s"))
    found["absence_bad"] = _sum(found.get("absence_lost"), found.get("absence_duplicates"))
    for size in (1000, 10000):
        ours_full = _full_update(daphne, size)
        found[f"full_{size}_ms"] = cold_ms(ours_full)
        found[f"full_{size}_ms_error"] = ours_full.get("error")
        found[f"shared_{size}_ms"] = median_ms(ours_full.get("shared"))
        found[f"ref_full_{size}_ms"] = cold_ms(_full_update(reference, size))
    return found


def _flood_p99(logs):
    """The worst p99 of the pages timed during the flood."""
    timed = logs.get("latency", {}).get("flood", {}).values()
    p99s = [page["p99_ms"] for page in timed if page.get("p99_ms") is not None]
    return max(p99s, default=None)


def _full_update(server, size):
    """{"cold": [...], "shared": [...]} or {"error": ...}; JSON made the sizes strings."""
    snaps = server.get("full_update", {})
    return snaps.get(size, snaps.get(str(size), {}))


def cold_ms(timings):
    return median_ms(timings.get("cold"))


def median_ms(timings):
    return statistics.median(timings) * 1000 if timings else None


def _sum(*values):
    return None if None in values else sum(values)


def ratio(a, b):
    return None if a is None or not b else a / b
