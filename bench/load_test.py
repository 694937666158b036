"""A load test on loopback: many simulated people list, read, comment on and attach files to
findings and request analyses for a bounded time; then the audit chain must still verify.

    python bench/load_test.py --people 200 --seconds 60 --seed 7 [--json out.json]

Starts a throwaway stack (bench/stack.py: embedded PostgreSQL + Redis in a temporary
directory, gunicorn, the platform worker with beat, an analysis worker), seeds the demo
network plus PEOPLE members spread over its three organisations, each with an API token and
one TLP:GREEN finding shared with the whole network (so everyone reads and comments on
everyone's), and one approved checkpoint per organisation (so everyone may request an LLC on
their own organisation's checkpoint). Then each person runs, until the time is up, a seeded
random mix of the five operations with exponentially distributed think time between them,
while beat seals the audit chain every 15 seconds.

Reports requests, throughput, p50/p95/p99 latency per operation and overall, and errors —
any non-2xx answer or transport failure; every request of the workload is one the platform
must accept, so the target is zero — then stops the processes, seals the last events and
runs `manage.py verify_audit` (every link and every seal). Exits 1 if there was an error or
the chain does not verify.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import Stack

# Relative frequency of each operation in the mix: mostly reading, as in real use.
MIX: dict[str, int] = {"list": 25, "read": 35, "comment": 20, "upload": 12, "analyse": 8}
# The cheapest analysis there is: an LLC with one short chain on a 26-parameter MLP.
TINY_MLP = {
    "family": "mlp",
    "config": {"in_dim": 3, "hidden": [4], "out_dim": 2, "activation": "tanh", "bias": True},
}
LLC_PARAMS = {"num_chains": 1, "num_draws": 10, "num_burnin": 0, "batch_size": 32}
LLC_DATASET = {"name": "regression", "params": {"n": 64}}


# --- setup (runs in a child process against the stack, with Django) ----------------------------


def seed_network(*, people: int, base_url: str, out: Path) -> None:
    """Create the load test's people, tokens, findings and approved checkpoints; write them to `out`.

    Runs inside the stack's environment (`Stack.python`): Django is configured here, never in
    the driver, whose two cores are busy enough simulating the people.
    """
    import django

    django.setup()
    from datetime import timedelta

    import torch
    from django.utils import timezone

    from analysis_workers import zoo
    from interlock.access.principal import Principal
    from interlock.accounts import services as account_services
    from interlock.accounts.models import Agreement, Person, Role, TokenScope
    from interlock.checkpoints.services import checkpoint_approve, checkpoint_register
    from interlock.demo.network import ORGANISATIONS, seed_demo_network
    from interlock.findings.rules import Audience
    from interlock.findings.services import finding_create, finding_share
    from interlock.network.models import Organisation

    seed_demo_network()  # organisations, policy, agreement, stewards
    agreement = Agreement.objects.order_by("-version").first()
    assert agreement is not None
    orgs = [Organisation.objects.get(name=name) for name, _, _ in ORGANISATIONS]
    stewards = list(Person.objects.filter(is_steward=True).order_by("pk"))
    scopes: list[str] = [TokenScope.READ, TokenScope.WRITE, TokenScope.ANALYSES]
    created: list[dict[str, Any]] = []
    for number in range(people):
        person = account_services.person_create(
            actor=None,
            email=f"load{number}@example.org",
            display_name=f"Load person {number}",
            organisation=orgs[number % len(orgs)],
            password=None,
            role=Role.MEMBER,
            clearance=1,
        )
        person.acceptances.get_or_create(agreement=agreement)
        actor = Principal.session(person, mfa_verified=True)
        token = account_services.api_token_create(actor=actor, name="load test", scopes=scopes, days=1)
        finding = finding_create(
            actor=actor,
            title=f"Load finding {number}",
            body=f"Probe results of load person {number}.",
            label="green",
            tags=["load"],
        )
        finding_share(actor=actor, finding_uuid=finding.uuid, label="green", audience=Audience(network=True))
        created.append(
            {
                "org": person.organisation_id,
                "token": token.secret,
                "finding": str(finding.uuid),
                "pk": person.pk,
            }
        )
    # One approved checkpoint per organisation, uploaded over HTTP as a researcher would.
    weights = zoo.save_checkpoint(zoo.build(TINY_MLP, generator=torch.Generator().manual_seed(0)), TINY_MLP)
    checkpoints: dict[int, str] = {}
    for org in orgs:
        uploader = next(p for p in created if p["org"] == org.pk)
        person = Person.objects.get(pk=uploader["pk"])
        checkpoint = checkpoint_register(
            actor=Principal.session(person, mfa_verified=True),
            name=f"load test MLP ({org.name})",
            spec=TINY_MLP,
        )
        uploaded = httpx.post(
            f"{base_url}/api/v1/artifacts/?parent_type=checkpoint&parent_id={checkpoint.uuid}&filename=mlp.safetensors",
            content=weights,
            headers={
                "Authorization": f"Bearer {uploader['token']}",
                "Content-Type": "application/octet-stream",
            },
            timeout=60,
        )
        uploaded.raise_for_status()
        checkpoint.refresh_from_db()
        steward = next(s for s in stewards if s.organisation_id != org.pk)
        checkpoint_approve(
            actor=Principal.session(steward, mfa_verified=True),
            checkpoint_uuid=checkpoint.uuid,
            access_level=3,
            expires_at=timezone.now() + timedelta(days=1),
            sha256=checkpoint.sha256,
        )
        checkpoints[org.pk] = str(checkpoint.uuid)
    out.write_text(
        json.dumps(
            [
                {"token": p["token"], "finding": p["finding"], "checkpoint": checkpoints[p["org"]]}
                for p in created
            ]
        )
    )
    out.chmod(0o600)


# --- the simulated people ------------------------------------------------------------------


@dataclass
class Tally:
    """What happened to one operation: latencies of every finished request, and the failures."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)

    def record(self, elapsed: float, failure: str | None) -> None:
        self.seconds.append(elapsed)
        if failure is not None:
            self.errors += 1
            if len(self.samples) < 5:
                self.samples.append(failure)


@dataclass(frozen=True)
class Person:
    """One simulated person: their token, their own finding, their organisation's checkpoint."""

    token: str
    finding: str
    checkpoint: str


Operation = Callable[[httpx.AsyncClient, Person, random.Random, list[str]], Awaitable[httpx.Response]]


async def list_findings(
    client: httpx.AsyncClient, person: Person, rng: random.Random, findings: list[str]
) -> httpx.Response:
    return await client.get("/api/v1/findings/", params={"page_size": 20}, headers=_auth(person))


async def read_finding(
    client: httpx.AsyncClient, person: Person, rng: random.Random, findings: list[str]
) -> httpx.Response:
    return await client.get(f"/api/v1/findings/{rng.choice(findings)}/", headers=_auth(person))


async def comment(
    client: httpx.AsyncClient, person: Person, rng: random.Random, findings: list[str]
) -> httpx.Response:
    body = {"body": f"Reproduced with seed {rng.randrange(10_000)}; see the attached probe."}
    return await client.post(
        f"/api/v1/findings/{rng.choice(findings)}/comments/", json=body, headers=_auth(person)
    )


async def upload(
    client: httpx.AsyncClient, person: Person, rng: random.Random, findings: list[str]
) -> httpx.Response:
    """A small attachment (1–32 KiB) to the person's own finding: only authors attach files."""
    content = rng.randbytes(rng.randint(1, 32) * 1024)
    return await client.post(
        "/api/v1/artifacts/",
        params={"parent_type": "finding", "parent_id": person.finding, "filename": "activations.bin"},
        content=content,
        headers={**_auth(person), "Content-Type": "application/octet-stream"},
    )


async def analyse(
    client: httpx.AsyncClient, person: Person, rng: random.Random, findings: list[str]
) -> httpx.Response:
    body = {
        "checkpoint": person.checkpoint,
        "kind": "llc",
        "params": {**LLC_PARAMS, "seed": rng.randrange(2**31)},
        "dataset": LLC_DATASET,
    }
    return await client.post("/api/v1/analyses/", json=body, headers=_auth(person))


OPERATIONS: dict[str, Operation] = {
    "list": list_findings,
    "read": read_finding,
    "comment": comment,
    "upload": upload,
    "analyse": analyse,
}


def _auth(person: Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


async def simulate(
    person: Person,
    findings: list[str],
    client: httpx.AsyncClient,
    rng: random.Random,
    deadline: float,
    think: float,
    tallies: dict[str, Tally],
) -> None:
    """One person: think, do one operation, until the deadline; a request in flight finishes."""
    names, weights = list(MIX), list(MIX.values())
    await asyncio.sleep(rng.uniform(0, think))  # do not all start in the same millisecond
    while time.monotonic() < deadline:
        name = rng.choices(names, weights)[0]
        started = time.monotonic()
        failure: str | None = None
        try:
            response = await OPERATIONS[name](client, person, rng, findings)
            if not 200 <= response.status_code < 300:
                failure = f"{response.request.method} {response.request.url.path} -> {response.status_code}: {response.text[:300]}"
        except httpx.HTTPError as problem:
            failure = f"{name}: {type(problem).__name__}: {problem}"
        tallies[name].record(time.monotonic() - started, failure)
        pause = rng.expovariate(1 / think) if think > 0 else 0
        await asyncio.sleep(min(pause, max(deadline - time.monotonic(), 0)))


async def run_load(
    base_url: str, people: list[Person], *, seconds: float, think: float, seed: int
) -> tuple[dict[str, Tally], float]:
    """Every person concurrently for `seconds`; returns the tallies and the wall time including
    the requests still in flight at the deadline."""
    findings = [person.finding for person in people]
    tallies = {name: Tally() for name in MIX}
    limits = httpx.Limits(max_connections=len(people), max_keepalive_connections=len(people))
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as client:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(
            *(
                simulate(person, findings, client, random.Random(f"{seed}/{index}"), deadline, think, tallies)
                for index, person in enumerate(people)
            )
        )
        return tallies, time.monotonic() - started


# How far the analysis worker got with the requested analyses (it is not part of the figures).
ANALYSIS_STATES = (
    "import json, django; django.setup();"
    "from django.db.models import Count;"
    "from interlock.analyses.models import AnalysisRequest;"
    "print(json.dumps(dict(AnalysisRequest.objects.values_list('state').annotate(n=Count('id')))))"
)


# --- report --------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: every figure is a latency that happened)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def summarise(tallies: dict[str, Tally], wall: float) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    everything = Tally()
    for name, tally in [*tallies.items(), ("all", everything)]:
        if name != "all":
            everything.seconds += tally.seconds
            everything.errors += tally.errors
            everything.samples += tally.samples
        rows[name] = {
            "requests": len(tally.seconds),
            "errors": tally.errors,
            **{f"p{p}_ms": round(percentile(tally.seconds, p) * 1000, 1) for p in (50, 95, 99)},
        }
    return {
        "operations": rows,
        "requests": len(everything.seconds),
        "errors": everything.errors,
        "error_samples": everything.samples,
        "wall_seconds": round(wall, 2),
        "throughput_rps": round(len(everything.seconds) / wall, 1),
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"\n{'operation':<10}{'requests':>10}{'errors':>8}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for name, row in report["operations"].items():
        print(
            f"{name:<10}{row['requests']:>10}{row['errors']:>8}{row['p50_ms']:>10.1f}{row['p95_ms']:>10.1f}{row['p99_ms']:>10.1f}"
        )
    print(
        f"\n{report['requests']} requests in {report['wall_seconds']} s: {report['throughput_rps']} req/s, "
        f"{report['errors']} errors ({report['people']} people, {report['web_workers']} gunicorn workers, "
        f"mean think time {report['think_seconds']} s, seed {report['seed']})"
    )
    for sample in report["error_samples"]:
        print(f"  error: {sample}")
    states = ", ".join(f"{n} {state}" for state, n in sorted(report["analyses_by_state"].items()))
    print(f"analyses requested during the run, by state at the end: {states or 'none'}")
    print(f"audit chain: {report['audit']}")


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean think time between a person's requests (s)"
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="gunicorn workers (the sizing guide: 4 per 2 vCPU)"
    )
    parser.add_argument(
        "--json", dest="json_path", type=Path, default=None, help="also write the report here"
    )
    parser.add_argument("--directory", type=Path, default=None, help="keep the stack (data, logs) here")
    # internal: the setup step, run by the driver in a child process configured for the stack
    parser.add_argument("--seed-network", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.people < 3:
        parser.error("--people must be at least 3: one uploader per organisation")
    if args.seed_network is not None:
        seed_network(people=args.people, base_url=args.base_url, out=args.seed_network)
        return 0

    with tempfile.TemporaryDirectory(prefix="interlock-load-") as scratch:
        directory = args.directory or Path(scratch)
        # beat seals the audit chain every 15 s, so seals are cut while events are appended
        with Stack(directory, web_workers=args.workers, settings={"AUDIT_SEAL_SECONDS": "15"}) as stack:
            say = lambda text: print(text, flush=True)  # noqa: E731
            clock = time.monotonic()
            stack.migrate()
            stack.start()
            say(
                f"stack up at {stack.base_url} in {time.monotonic() - clock:.0f} s; seeding {args.people} people"
            )
            clock = time.monotonic()
            network_file = stack.directory / "load-network.json"
            stack.python(
                str(Path(__file__).resolve()),
                "--seed-network",
                str(network_file),
                "--people",
                str(args.people),
                "--base-url",
                stack.base_url,
            )
            people = [Person(**row) for row in json.loads(network_file.read_text())]
            say(f"seeded in {time.monotonic() - clock:.0f} s; {args.people} people for {args.seconds:.0f} s")
            tallies, wall = asyncio.run(
                run_load(stack.base_url, people, seconds=args.seconds, think=args.think, seed=args.seed)
            )
            stack.check_alive()
            stack.stop_processes()  # nothing appends to the chain while it is verified
            stack.manage("seal_audit")  # the last events too, so that every event is under a seal
            verified = stack.manage("verify_audit", check=False)
            analyses = json.loads(stack.python("-c", ANALYSIS_STATES).stdout.strip().splitlines()[-1])
            report = summarise(tallies, wall)
            report.update(
                people=args.people,
                seconds=args.seconds,
                seed=args.seed,
                think_seconds=args.think,
                web_workers=args.workers,
                cpu_count=os.cpu_count(),
                audit=(verified.stdout.strip() or verified.stderr.strip().splitlines()[-1]),
                audit_verified=verified.returncode == 0,
                analyses_by_state=analyses,
            )
            if report["errors"]:
                report["web_log_tail"] = stack.log_tail("web")
    print_table(report)
    if args.json_path:
        args.json_path.write_text(json.dumps(report, indent=2))
    return 0 if report["errors"] == 0 and report["audit_verified"] else 1


if __name__ == "__main__":
    sys.exit(main())
