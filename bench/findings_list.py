"""A page of 50 visible findings, out of 100,000, for people across 50 organisations.

    python bench/findings_list.py [--findings 100000] [--quick]

Uses its own database (`interlock_bench`) on the configured server (embedded PostgreSQL by
default), seeds 50 organisations, 2,000 people, sharing groups and findings with mixed
labels, audiences, hazard tiers, grants and tags (once; reruns reuse them), then times
`finding_list` + decrypting the 50 titles (what the list page and API do) for random
people, and counts the SQL queries per page.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "interlock.settings")


def _bench_database() -> None:
    """Point Django at a separate database on the same server, creating it if needed."""
    import environ
    import psycopg

    from interlock import embedded
    from interlock.settings import DATA_DIR

    url = os.environ.get("DATABASE_URL") or embedded.ensure_postgres(DATA_DIR).url
    config = environ.Env.db_url_config(url)
    admin = f"postgresql://{config['USER']}:{config.get('PASSWORD', '')}@{config['HOST']}:{config['PORT']}/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = 'interlock_bench'").fetchone():
            connection.execute("CREATE DATABASE interlock_bench")
    os.environ["DATABASE_URL"] = url.rsplit("/", 1)[0] + "/interlock_bench"


def seed(findings: int, rng: random.Random) -> None:
    from datetime import timedelta

    from django.contrib.auth.models import Permission
    from django.db import transaction
    from django.utils import timezone

    from interlock.accounts.models import Agreement, AgreementAcceptance, Person
    from interlock.crypto.fields import seal_text
    from interlock.crypto.keys import key_cache
    from interlock.findings.models import Finding, FindingGrant, FindingRevision, Label, Tag
    from interlock.network.models import Organisation, SharingGroup
    from interlock_wire import revision_field_object_id

    if Finding.objects.count() >= findings:
        return
    print(f"seeding {findings} findings (once)…", flush=True)
    agreement = Agreement.objects.get_or_create(
        version=1, defaults={"title": "A", "text": "Keep it inside."}
    )[0]
    orgs = [
        Organisation.objects.get_or_create(
            name=f"Bench org {i}", slug=f"bench-{i}", defaults={"status": "active", "clearance_ceiling": 3}
        )[0]
        for i in range(50)
    ]
    people = list(Person.objects.filter(email__startswith="bench"))
    if len(people) < 2000:
        new_people = [
            Person(
                email=f"bench{i}@example.org",
                display_name=f"Bench person {i}",
                organisation=orgs[i % 50],
                clearance=rng.choice([0, 1, 1, 2, 3]),
                clearance_approved_level=3,
                clearance_expires_at=timezone.now() + timedelta(days=365),
                password="!",  # noqa: S106 - an unusable password marker
            )
            for i in range(len(people), 2000)
        ]
        Person.objects.bulk_create(new_people)
        people = list(Person.objects.filter(email__startswith="bench"))
        approver = people[0]
        Person.objects.filter(email__startswith="bench").update(clearance_approved_by=approver)
        AgreementAcceptance.objects.bulk_create(
            [AgreementAcceptance(person=p, agreement=agreement) for p in people], ignore_conflicts=True
        )
    groups = []
    for i in range(20):
        group, _ = SharingGroup.objects.get_or_create(name=f"Bench group {i}", owner_org=orgs[i])
        group.members.set([*rng.sample(orgs, 6), orgs[i]])
        groups.append(group)
    tags = [Tag.objects.get_or_create(name=f"topic-{i}")[0] for i in range(100)]
    by_org: dict[int, list[Person]] = {}
    for person in people:
        by_org.setdefault(person.organisation_id, []).append(person)
    labels = [Label.RED, Label.AMBER_STRICT, Label.AMBER, Label.AMBER, Label.GREEN, Label.GREEN, Label.GREEN]
    read = Permission.objects.get(codename="read_finding")
    batch = 2000
    with key_cache():
        for start in range(Finding.objects.count(), findings, batch):
            with transaction.atomic():
                rows = []
                for _ in range(min(batch, findings - start)):
                    label = rng.choice(labels)
                    rows.append(
                        Finding(
                            owner_org=rng.choice(orgs),
                            label=label,
                            hazard_tier=rng.choice([0, 0, 0, 1, 1, 2, 3]),
                            state=rng.choice(["shared"] * 8 + ["draft", "withdrawn"]),
                            audience_own_org=label in (Label.AMBER, Label.GREEN) and rng.random() < 0.7,
                            audience_network=label == Label.GREEN and rng.random() < 0.5,
                        )
                    )
                created = Finding.objects.bulk_create(rows)
                revisions, authors, finding_tags, finding_groups, grants = [], [], [], [], []
                for finding in created:
                    revision = FindingRevision(
                        finding=finding,
                        number=1,
                        author=rng.choice(by_org[finding.owner_org_id]),
                        content_sha256="0" * 64,
                    )
                    revision.title_sealed = seal_text(
                        org=finding.owner_org,
                        object_id=revision_field_object_id(revision_uuid=revision.uuid, field="title"),
                        text=f"Finding about topic {rng.randrange(1000)}",
                    )
                    revision.body_sealed = seal_text(
                        org=finding.owner_org,
                        object_id=revision_field_object_id(revision_uuid=revision.uuid, field="body"),
                        text="body",
                    )
                    revisions.append(revision)
                    authors.append(
                        Finding.authors.through(finding_id=finding.pk, person_id=revision.author_id)
                    )
                    for tag in rng.sample(tags, 2):
                        finding_tags.append(Finding.tags.through(finding_id=finding.pk, tag_id=tag.pk))
                    if finding.label in (Label.AMBER, Label.GREEN) and rng.random() < 0.3:
                        finding_groups.append(
                            Finding.audience_groups.through(
                                finding_id=finding.pk, sharinggroup_id=rng.choice(groups).pk
                            )
                        )
                    if rng.random() < 0.2:
                        grants.append(
                            FindingGrant(
                                content_object=finding,
                                user=rng.choice(people),
                                permission=read,
                                granted_by=revision.author,
                                reason="bench",
                                expires_at=timezone.now() + timedelta(days=30),
                            )
                        )
                FindingRevision.objects.bulk_create(revisions)
                for finding, revision in zip(created, revisions, strict=True):
                    finding.current_revision = revision
                Finding.objects.bulk_update(created, ["current_revision"])
                Finding.authors.through.objects.bulk_create(authors)
                Finding.tags.through.objects.bulk_create(finding_tags)
                Finding.audience_groups.through.objects.bulk_create(finding_groups)
                FindingGrant.objects.bulk_create(grants)
            print(f"  {start + len(created)} findings", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="10,000 findings, 50 samples")
    args = parser.parse_args()
    if args.quick:
        args.findings, args.samples = 10_000, 50
    _bench_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    seed(args.findings, rng)
    from interlock.access.principal import Principal
    from interlock.accounts.models import Person
    from interlock.findings.models import Finding
    from interlock.findings.selectors import FindingFilters, finding_list, finding_titles

    people = list(Person.objects.select_related("organisation").filter(email__startswith="bench"))

    def measure(samples: int, *, facets: bool) -> tuple[list[float], list[int], list[int]]:
        timings, queries, counts = [], [], []
        for _ in range(samples):
            person = rng.choice(people)
            principal = Principal.session(person, mfa_verified=True)
            person._accepted_current_agreement = None  # type: ignore[attr-defined]
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                page = finding_list(principal=principal, filters=FindingFilters(), limit=50, facets=facets)
                titles = finding_titles(page.findings)
                elapsed = time.perf_counter() - start
            assert len(titles) == len(page.findings)
            timings.append(elapsed * 1000)
            queries.append(len(captured))
            counts.append(page.count)
        timings.sort()
        return timings, queries, counts

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))]

    measure(5, facets=False)  # warm the caches of the server
    timings, queries, counts = measure(args.samples, facets=False)
    print(
        f"{Finding.objects.count()} findings, {len(people)} people, {args.samples} pages of 50 (titles decrypted)"
    )
    print(f"visible per person (capped count): median {int(statistics.median(counts))}")
    print(
        f"page latency ms: p50 {pct(timings, 0.5):.1f}  p95 {pct(timings, 0.95):.1f}  p99 {pct(timings, 0.99):.1f}"
    )
    print(f"queries per page: min {min(queries)}  max {max(queries)}")
    facet_timings, _, _ = measure(max(args.samples // 5, 5), facets=True)
    print(
        f"with facet counts over everything visible: p50 {pct(facet_timings, 0.5):.1f} ms  "
        f"p95 {pct(facet_timings, 0.95):.1f} ms"
    )


if __name__ == "__main__":
    main()
