"""`python -m bench.run`: the standard benchmark matrix, written to
BENCHMARKS.md.

Starts its own daphne (pub/sub layer, then the core layer for comparison),
the plain-websockets reference and the ORM driver against a PostgreSQL
database and a Redis db of its own, runs every scenario `--repeats` times,
and reports medians and the ratio of each figure to the reference.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import logs_ingest, machine, profile, report, scenarios, stack
from bench.client import Fleet

SESSIONS = {
    "fanout": 100,
    "resume": 100,
    "snap100": 100,
    "snap1000": 1000,
    "snap10000": 10000,
}


@dataclass
class Plan:
    clients: list = field(default_factory=lambda: [100, 500, 1000])
    rate: int = 20
    events: int = 60
    max_events: int = 200
    repeats: int = 3
    snapshots: list = field(default_factory=lambda: [100, 1000, 10000])
    storm_events: int = 200
    storm_repeats: int = 1
    log_seconds: float = 5.0
    absent_clients: int = 100
    absent_events: int = 100
    crowd: int = 10000
    crowd_batch: int = 250
    crowd_rate: int = 2
    crowd_events: int = 20
    layers: bool = True
    profile: bool = True
    port: int = 8100
    # Live instances the coordinator ticks, once a second, and the ticks
    # measured with batched writes and with one transaction per instance.
    coordinated: list = field(default_factory=lambda: [1000, 5000])
    coordinated_ticks: int = 30
    per_row_ticks: int = 10
    only_coordinated: bool = False


async def suite(plan, server, driver, seed, clients, extras, profiled=False, resumes=False):
    """Everything measured on one server process: the fleet grows through
    `clients`, with `repeats` windows at the standard rate at each size and
    `repeats` max-rate windows at the largest; with `extras`, also the
    reconnect storm and full_update times; `profiled` adds a max-rate window
    under py-spy and samples the (first) storm; `resumes`, a storm of
    clients resuming from history."""
    session = seed["sessions"]["fanout"]
    fleet = Fleet(server.url, session)
    result = {"fanout": []}
    try:
        for count in clients:
            progress(f"  {server.name}: {count} clients")
            connected = await scenarios.grow(
                fleet, server, seed["tokens"][len(fleet.subscribers) : count]
            )
            for _ in range(plan.repeats):
                run = await scenarios.fanout(fleet, server, driver, session, plan.events, plan.rate)
                result["fanout"].append({"load": "rate", **connected, **run})
        progress(f"  {server.name}: max rate")
        for _ in range(plan.repeats):
            run = await scenarios.fanout(fleet, server, driver, session, plan.max_events, 0)
            result["fanout"].append({"load": "max", **connected, **run})
        if not extras:
            return result
        if profiled:
            progress(f"  {server.name}: profiled max-rate window")
            async with profile.sampling(server, server.log_path.with_suffix(".max.txt")) as found:
                run = await scenarios.fanout(fleet, server, driver, session, plan.max_events, 0)
            result["profile_max"] = {"run": run, **found}
        progress(f"  {server.name}: reconnect storm")
        result["storm"] = []
        for attempt in range(plan.storm_repeats):
            sampler = nullcontext({})
            if profiled and attempt == 0:
                sampler = profile.sampling(server, server.log_path.with_suffix(".storm.txt"))
            async with sampler as found:
                result["storm"].append(
                    await scenarios.storm(
                        fleet, server, driver, session, plan.storm_events, plan.rate
                    )
                )
            if found:
                result["profile_storm"] = found
        if resumes:
            progress(f"  {server.name}: reconnect storm, resuming")
            result["storm_resume"] = [
                await scenarios.storm(
                    fleet, server, driver, session, plan.storm_events, plan.rate, resume=True
                )
                for _ in range(plan.storm_repeats)
            ]
    finally:
        await fleet.close()
    progress(f"  {server.name}: full_update")
    result["full_update"] = {
        size: await scenarios.full_update(
            server, driver, seed["tokens"][0], seed["sessions"][f"snap{size}"], plan.repeats + 2
        )
        for size in plan.snapshots
    }
    return result


async def comeback(plan, server, driver, seed):
    """On a daphne of their own, so its memory growth is the crowd's: the
    largest fleet at a low rate, then clients resuming after an absence."""
    progress(f"  {server.name}: {plan.crowd:,} connections")
    crowd = await scenarios.crowd(
        server,
        driver,
        seed["tokens"],
        seed["sessions"]["fanout"],
        plan.crowd,
        plan.crowd_batch,
        plan.crowd_events,
        plan.crowd_rate,
    )
    progress(f"  {server.name}: {plan.absent_clients} clients resuming after an absence")
    session = seed["sessions"]["resume"]
    fleet = Fleet(server.url, session, resume=True)
    try:
        await scenarios.grow(fleet, server, seed["tokens"][: plan.absent_clients])
        absence = [
            await scenarios.absence(fleet, server, driver, session, plan.absent_events, plan.rate)
            for _ in range(plan.repeats)
        ]
    finally:
        await fleet.close()
    return {"crowd": crowd, "absence": absence}


_started = time.monotonic()


def progress(what):
    print(f"bench: {time.monotonic() - _started:5.0f} s  {what}", file=sys.stderr, flush=True)


async def coordinated(plan, base, driver, token):
    """The coordinator ticking each fleet of `plan.coordinated` live
    instances, one subscriber watching over one daphne; batched writes,
    then one transaction per instance (the design before) for the ratio."""
    sessions = await scenarios.call(driver, "seed_coordinated", sizes=plan.coordinated)
    runs = []
    with stack.daphne(base, plan.port) as server:
        server.start()
        for size in plan.coordinated:
            session = sessions[str(size)]
            fleet = Fleet(server.url, session)
            try:
                await scenarios.grow(fleet, server, [token])
                for design, per_transaction, ticks in (
                    ("batched", None, plan.coordinated_ticks),
                    ("per row", 1, plan.per_row_ticks),
                ):
                    progress(f"  coordinator: {size} instances, {design}")
                    try:
                        run = await scenarios.coordinate(
                            fleet, driver, session, ticks, per_transaction
                        )
                    except RuntimeError as exc:  # the driver's events did not drain
                        run = {"error": str(exc)}
                    runs.append({"instances": size, "design": design, **run})
            finally:
                await fleet.close()
    return runs


async def measure(plan, base):
    results = {"plan": asdict(plan), "started": time.time()}
    progress("preparing the database and Redis")
    stack.prepare(base)
    with stack.Driver(base) as driver:
        driver.start()
        seed = await scenarios.call(driver, "seed", clients=max(plan.clients), sessions=SESSIONS)
        if plan.coordinated:
            progress("coordinator")
            results["coordinator"] = await coordinated(plan, base, driver, seed["tokens"][0])
        if plan.only_coordinated:
            results["finished"] = time.time()
            return results
        servers = {
            "daphne": stack.daphne(base, plan.port),
            "reference": stack.reference(base, plan.port + 1),
        }
        for name, server in servers.items():
            progress(name)
            with server:
                server.start()
                results[name] = await suite(
                    plan,
                    server,
                    driver,
                    seed,
                    plan.clients,
                    extras=True,
                    profiled=plan.profile and name == "daphne",
                    resumes=name == "daphne",
                )
        progress("daphne: comeback and crowd")
        with stack.daphne(base, plan.port + 4) as server:
            server.start()
            results.update(await comeback(plan, server, driver, seed))
        if plan.layers:
            progress("daphne with the core layer")
            core = base.with_layer("core")
            with stack.Driver(core) as core_driver, stack.daphne(core, plan.port + 2) as server:
                core_driver.start()
                server.start()
                results["daphne-core"] = await suite(
                    plan, server, core_driver, seed, [max(plan.clients)], extras=False
                )
        progress("log ingestion")
        results["logs"] = await logs_ingest.measure(
            base, plan.port + 3, plan.log_seconds, seed["tokens"][0], plan.profile
        )
    stack.forget(base)
    results["finished"] = time.time()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="BENCHMARKS.md")
    parser.add_argument("--json", default="var/bench/results.json", help="raw results")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--clients", default="100,500,1000")
    parser.add_argument("--events", type=int, default=Plan.events)
    parser.add_argument("--max-events", type=int, default=Plan.max_events)
    parser.add_argument("--repeats", type=int, default=Plan.repeats)
    parser.add_argument("--snapshots", default="100,1000,10000")
    parser.add_argument("--storm-repeats", type=int, default=Plan.storm_repeats)
    parser.add_argument(
        "--crowd", type=int, default=Plan.crowd, help="connections of the largest fleet"
    )
    parser.add_argument("--port", type=int, default=Plan.port, help="first of 5 ports")
    parser.add_argument("--no-layers", action="store_true", help="skip the core-layer runs")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--coordinated",
        default="1000,5000",
        help="live instances the coordinator ticks; empty to skip",
    )
    parser.add_argument("--coordinated-ticks", type=int, default=Plan.coordinated_ticks)
    parser.add_argument("--per-row-ticks", type=int, default=Plan.per_row_ticks)
    parser.add_argument(
        "--only-coordinated",
        action="store_true",
        help="run only the coordinator scenarios; --out gets their section",
    )
    args = parser.parse_args(argv)
    plan = Plan(
        clients=[int(n) for n in args.clients.split(",")],
        events=args.events,
        max_events=args.max_events,
        repeats=args.repeats,
        storm_repeats=args.storm_repeats,
        crowd=args.crowd,
        snapshots=[int(n) for n in args.snapshots.split(",")],
        layers=not args.no_layers,
        profile=not args.no_profile,
        port=args.port,
        coordinated=[int(n) for n in args.coordinated.split(",") if n],
        coordinated_ticks=args.coordinated_ticks,
        per_row_ticks=args.per_row_ticks,
        only_coordinated=args.only_coordinated,
    )
    base = stack.Stack(args.database_url, args.redis_url)
    command = " ".join(["python", "-m", "bench.run", *(sys.argv[1:] if argv is None else argv)])
    results = benchmark(plan, base, command)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    render = report.coordinator_section if plan.only_coordinated else report.render
    Path(args.out).write_text(render(results))
    progress(f"wrote {args.out}")


def benchmark(plan, base, command):
    """Runs the plan against `base`; the results, ready for the report."""
    stack.raise_open_files()
    stack.check_redis(base.redis_url)
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    load_started = os.getloadavg()
    results = runner(measure(plan, base))
    results["machine"] = {**machine.describe(), "load_started": load_started}
    results["command"] = command
    return results


if __name__ == "__main__":
    main()
