"""`interlock access …`: ask another organisation for analysis access to one of its checkpoints;
its admins list the asks and decide them."""

from __future__ import annotations

import argparse
from typing import Any

from interlock_client.client import InterlockClient
from interlock_client.commands import arguments
from interlock_client.commands.output import day, minute, print_page

DECISIONS = {"approve": True, "refuse": False}


def register(commands: Any) -> None:
    access = commands.add_parser("access", help="analysis access to other organisations' checkpoints")
    actions = access.add_subparsers(dest="action", required=True, metavar="ACTION")

    ask = actions.add_parser("request", help="ask a checkpoint's organisation for analysis access")
    ask.add_argument("checkpoint", metavar="CHECKPOINT_ID")
    ask.add_argument("--reason", required=True, help="what you want to analyse and why")
    ask.set_defaults(run=request_access)

    listing = actions.add_parser("list", help="(org admins) the pending asks you may decide")
    arguments.add_listing(listing, paged=False)
    listing.set_defaults(run=list_requests)

    decide = actions.add_parser("decide", help="(org admins) approve or refuse an ask")
    decide.add_argument("id", metavar="REQUEST_ID")
    decide.add_argument("decision", choices=sorted(DECISIONS))
    decide.add_argument("--days", type=arguments.positive_int, default=30, help="how long an approval lasts")
    decide.set_defaults(run=decide_request)


def request_access(client: InterlockClient, args: argparse.Namespace) -> int:
    print(client.request_analysis_access(args.checkpoint, reason=args.reason)["detail"])
    return 0


def list_requests(client: InterlockClient, args: argparse.Namespace) -> int:
    print_page(
        client.analysis_access_pending(),
        as_json=args.json,
        noun="pending request",
        line=lambda r: (
            f"{r['id']}  {minute(r['created_at'])}  {r['checkpoint_name']}  ← {r['grantee']} "
            f"({r['grantee_org'] or '-'}, clearance {r['grantee_clearance']})  {r['reason']}"
        ),
    )
    return 0


def decide_request(client: InterlockClient, args: argparse.Namespace) -> int:
    decided = client.decide_analysis_access(args.id, approve=DECISIONS[args.decision], days=args.days)
    until = f"  until {day(decided['expires_at'])}" if decided["expires_at"] else ""
    print(f"{decided['id']}  {decided['state']}{until}")
    return 0
