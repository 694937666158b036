"""`interlock disclosure …`: disclosure cases — list them (or the open calls for reviewers), read
one, and vote on it as a seated reviewer."""

from __future__ import annotations

import argparse
from typing import Any

from interlock_client.client import InterlockClient
from interlock_client.commands import arguments
from interlock_client.commands.output import minute, print_json, print_page

CHOICES = {"approve": "approve", "approve-with-changes": "approve_with_changes", "reject": "reject"}


def register(commands: Any) -> None:
    disclosure = commands.add_parser("disclosure", help="disclosure cases: list, show, vote")
    actions = disclosure.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="the cases you may see, newest first")
    listing.add_argument("--calls", action="store_true", help="the open calls for reviewers instead")
    arguments.add_listing(listing)
    listing.set_defaults(run=list_cases)

    show = actions.add_parser("show", help="a case: state, pinned revision, quorum, embargo, votes")
    show.add_argument("id")
    arguments.add_json(show)
    show.set_defaults(run=show_case)

    vote = actions.add_parser("vote", help="(seated reviewers) vote on a case, with a rationale")
    vote.add_argument("id")
    vote.add_argument("choice", choices=sorted(CHOICES))
    arguments.add_text(vote, "rationale", help="why: recorded with the vote and in the decision")
    vote.set_defaults(run=vote_on_case)


def list_cases(client: InterlockClient, args: argparse.Namespace) -> int:
    print_page(
        client.disclosures(calls=args.calls, page=args.page),
        as_json=args.json,
        noun="case",
        line=lambda c: f"{c['id']}  {c['state']:<10} {c['target']:<14} finding {c['finding']}",
    )
    return 0


def show_case(client: InterlockClient, args: argparse.Namespace) -> int:
    case = client.disclosure(args.id)
    if args.json:
        print_json(case)
        return 0
    group = f" {case['target_group']}" if case.get("target_group") else ""
    print(f"{case['id']}  {case['state']}  to {case['target']}{group}  finding {case['finding']}")
    pinned = case["pinned_revision"]
    print(f"pinned    revision {pinned['number']}  sha256 {pinned['sha256']}")
    quorum, rule = case["quorum"], case["quorum"]["rule"]
    print(
        f"quorum    {quorum['approvals']}/{rule['approvals']} approvals from {quorum['organisations']}/"
        f"{rule['distinct_orgs']} organisations  {'met' if quorum['met'] else 'not met'}"
        f"{'  vetoed' if quorum['vetoed'] else ''}"
    )
    embargo = case["embargo"]
    until = embargo["until"] or embargo["proposed_until"]
    print(f"embargo   {embargo['state']}{'  until ' + minute(until) if until else ''}")
    print(f"deadline  {minute(case['review_deadline'])}")
    for reviewer in case["reviewers"]:
        print(f"reviewer  {reviewer['name']}{'  (conflicted)' if reviewer['conflicted'] else ''}")
    for vote in case["votes"]:
        lapsed = "  (lapsed)" if vote["lapsed"] else ""
        print(f"vote      {vote['reviewer']}  {vote['choice']}{lapsed}  {vote['rationale']}")
    if case.get("decision"):
        print(f"decision  {case['decision']['outcome']}")
    title = case["redacted_text"]["title"] or case["pinned_text"]["title"]
    print(f"\n{title}")
    return 0


def vote_on_case(client: InterlockClient, args: argparse.Namespace) -> int:
    answer = client.vote_on_disclosure(
        args.id, choice=CHOICES[args.choice], rationale=arguments.text(args, "rationale")
    )
    detail = f"  {answer['detail']}" if answer.get("detail") else ""
    print(f"{answer['id']}  {answer['state']}{detail}")
    return 0
