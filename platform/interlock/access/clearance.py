"""The hazard axis: tier n needs a clearance the network policy maps it to (H2 → 2 by default).

One place answers it for every object that carries or inherits a tier — findings, their
revisions, comments, grants and disclosure cases, checkpoints, approvals, analysis-access
grants, analyses, results and plots — and for every grantee, approver and reviewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from interlock.network.selectors import network_policy_current

if TYPE_CHECKING:
    from interlock.accounts.models import Person


def clearance_needed(hazard_tier: int) -> int:
    return int(network_policy_current()["hazard_min_clearance"][f"H{hazard_tier}"])


def clearance_allows(person: Person, hazard_tier: int) -> bool:
    """Does this person's effective clearance (org ceiling, steward approval, expiry) reach the tier?"""
    return person.effective_clearance() >= clearance_needed(hazard_tier)


def max_visible_tier(person: Person) -> int:
    """The highest tier the person may see (-1: none), for SQL filters."""
    mapping = network_policy_current()["hazard_min_clearance"]
    clearance = person.effective_clearance()
    return max((int(name[1:]) for name, needed in mapping.items() if clearance >= needed), default=-1)
