"""`interlock findings …`: list and read findings, comment on them, share them, grant named people."""

from __future__ import annotations

import argparse
from typing import Any

from interlock_client.client import InterlockClient
from interlock_client.commands import arguments
from interlock_client.commands.output import day, print_json, print_page
from interlock_client.labels import DISPLAY

CAPABILITIES = {"read": "read_finding", "comment": "comment_finding"}


def register(commands: Any) -> None:
    findings = commands.add_parser("findings", help="findings: list, show, comment, share, grant")
    actions = findings.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the findings you may see, newest first")
    listing.add_argument("--label", type=arguments.label, help="amber or TLP:AMBER, …")
    listing.add_argument("--state", help="draft, shared, in_review, disclosed, withdrawn")
    listing.add_argument("--tag")
    listing.add_argument("--q", help="search titles and text")
    arguments.add_listing(listing)
    listing.set_defaults(run=list_findings)

    show = actions.add_parser("show", help="a finding: its state, label, tier, title and text")
    show.add_argument("id")
    arguments.add_json(show)
    show.set_defaults(run=show_finding)

    comment = actions.add_parser("comment", help="comment on a finding (encrypted)")
    comment.add_argument("id")
    arguments.add_text(comment, "body", help="the comment")
    comment.add_argument("--reply-to", metavar="COMMENT_ID", help="answer this comment")
    comment.set_defaults(run=comment_on_finding)

    share = actions.add_parser("share", help="set a finding's label and audience")
    share.add_argument("id")
    share.add_argument("--label", type=arguments.label, required=True, help="red, amber_strict, amber, green")
    share.add_argument("--own-org", action="store_true", help="your organisation")
    share.add_argument("--network", action="store_true", help="the whole network (GREEN only)")
    share.add_argument(
        "--group", action="append", default=[], metavar="GROUP_ID", help="a sharing group (repeat)"
    )
    share.add_argument("--tag", action="append", metavar="TAG", help="replace the tags (repeat)")
    share.set_defaults(run=share_finding)

    grant = actions.add_parser("grant", help="give a named person read or comment access, until it expires")
    grant.add_argument("id")
    grant.add_argument("--person", required=True, metavar="PERSON_ID")
    grant.add_argument("--capability", choices=sorted(CAPABILITIES), default="read")
    grant.add_argument("--reason", required=True)
    arguments.add_expiry(grant, default_days=30, what="the grant")
    grant.set_defaults(run=grant_finding)


def list_findings(client: InterlockClient, args: argparse.Namespace) -> int:
    page = client.findings(label=args.label, state=args.state, tag=args.tag, q=args.q, page=args.page)
    print_page(
        page,
        as_json=args.json,
        noun="finding",
        line=lambda f: (
            f"{f['id']}  {f['label_display']:<17} H{f['hazard_tier']}  {f['state']:<10} {f['title']}"
        ),
    )
    return 0


def show_finding(client: InterlockClient, args: argparse.Namespace) -> int:
    finding = client.finding(args.id)
    if args.json:
        print_json(finding)
        return 0
    tags = f"  tags {', '.join(finding['tags'])}" if finding.get("tags") else ""
    print(
        f"{finding['id']}  {finding['state']}  {finding['label_display']}  H{finding['hazard_tier']}"
        f"  revision {finding['revision']}  {finding['owner_org']['name']}  updated {day(finding['updated_at'])}{tags}"
    )
    print(f"\n{finding['title']}\n\n{finding['body']}")
    return 0


def comment_on_finding(client: InterlockClient, args: argparse.Namespace) -> int:
    created = client.comment_on_finding(args.id, arguments.text(args, "body"), parent=args.reply_to)
    print(created["id"])
    return 0


def share_finding(client: InterlockClient, args: argparse.Namespace) -> int:
    shared = client.share_finding(
        args.id,
        label=args.label,
        own_org=args.own_org,
        network=args.network,
        groups=args.group,
        tags=args.tag,
    )
    print(f"{shared['id']}  {shared['state']}  {DISPLAY.get(shared['label'], shared['label'])}")
    return 0


def grant_finding(client: InterlockClient, args: argparse.Namespace) -> int:
    granted = client.grant_finding(
        args.id,
        person=args.person,
        capability=CAPABILITIES[args.capability],
        expires_at=arguments.expiry(args),
        reason=args.reason,
    )
    print(f"{granted['person']}  {args.capability}  until {granted['expires_at']}")
    return 0
