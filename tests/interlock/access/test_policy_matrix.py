"""The whole policy: every registered model type × every action of its registration × people in
every relation × objects in every label, hazard tier, audience and state.

The expected outcome of each `can()` decision and each `visible()` membership is computed from the
facts this module writes down when it builds the world (who is in which organisation, who authored
what, who holds which grant, who sits on which case) and from the rules as DESIGN.md, SECURITY.md
and the `access.py` docstrings state them in words. Nothing from `interlock.access` or the apps'
`access.py` is consulted to compute an expectation; the policy is only asked the questions.

Rows are written straight to the database where setup is not the behaviour under test. Every share
into a sharing group is bound with `group_recipients_bind`, as a real share is, before the group's
membership changes; an organisation added afterwards must not read.

`visible()` answers existence, whatever the token's scopes (as `interlock.access.sees` does; what
a list may carry is decided by `Principal.reads_content`), so its expectation is the VIEW rule after
the gate alone. Where the code answers otherwise than the words, the words stay in the truth table
and the case is listed in `DIVERGENCES`, a bug to fix in product code, counted apart.

Cost: decisions the network gate or the token scope stops are cheap and all of them are asked; the
decisions that reach a model's rule cost queries, so each model asks a deterministic sample of its
(principal, object) pairs (`RULE_SAMPLE`), while `visible()` is compared on every pair.
"""

from __future__ import annotations

import itertools
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import models
from django.utils import timezone

from interlock.access import NETWORK, Action, Principal, can, registrations, visible
from interlock.accounts.models import Agreement, AgreementAcceptance, Person, Role
from interlock.analyses.models import (
    AnalysisRequest,
    AnalysisResult,
    OutputRelease,
    OutputReleaseVote,
    ReleaseState,
    ReleaseTarget,
)
from interlock.artifacts.models import Artifact
from interlock.checkpoints.models import (
    AnalysisAccessGrant,
    AnalysisAccessState,
    Checkpoint,
    CheckpointApproval,
    CheckpointState,
)
from interlock.crypto.fields import SealedTextField
from interlock.crypto.models import OrgKeyVersion
from interlock.datasets.models import DatasetState, UploadedDataset
from interlock.disclosure.access import open_calls
from interlock.disclosure.models import (
    CaseComment,
    CaseState,
    DecisionRecord,
    DisclosureCase,
    PriorAffiliation,
    Reviewer,
    Target,
    Vote,
    VoteChoice,
)
from interlock.findings.models import Comment, Finding, FindingGrant, FindingRevision, FindingState, Label
from interlock.findings.services import group_recipients_bind
from interlock.network.models import Organisation, OrganisationStatus, SharingGroup
from interlock.notifications.models import Notification
from tests.interlock.builders import NetworkBuilder

pytestmark = pytest.mark.django_db

SEALED = b"\x01sealed"  # the policy never opens sealed text; any bytes do
SHA = "0" * 64

# --- the people and organisations, as facts ---------------------------------------------------


@dataclass(frozen=True)
class OrgFacts:
    status: str
    ceiling: int


ORGS: dict[str, OrgFacts] = {
    "own": OrgFacts(OrganisationStatus.ACTIVE, 3),  # owns every finding and checkpoint
    "grp": OrgFacts(OrganisationStatus.ACTIVE, 3),  # in sharing group G when findings are shared
    "exg": OrgFacts(OrganisationStatus.ACTIVE, 3),  # in G at share time, removed afterwards
    "late": OrgFacts(OrganisationStatus.ACTIVE, 3),  # added to G after the shares
    "out": OrgFacts(OrganisationStatus.ACTIVE, 3),  # in no group with the owner's findings
    "low": OrgFacts(OrganisationStatus.ACTIVE, 1),  # clearance ceiling 1
    "susp": OrgFacts(OrganisationStatus.SUSPENDED, 3),
    "appl": OrgFacts(OrganisationStatus.APPLICANT, 3),
    "rem": OrgFacts(OrganisationStatus.REMOVED, 3),
}


@dataclass(frozen=True)
class PersonFacts:
    name: str
    org: str | None  # None: no home organisation
    role: str = Role.MEMBER
    steward: bool = False
    clearance: int = 0  # the tier asked for
    approval: str = "valid"  # of a clearance ≥ 2: valid | expired | none | level2 (approved only up to 2)
    active: bool = True
    agreement: str = "current"  # current | old (accepted only an earlier version) | none


ADMIN = Role.ORG_ADMIN
PEOPLE = [
    # authors of every finding of the owner organisation
    PersonFacts("a0", "own", clearance=0),
    PersonFacts("a1", "own", clearance=1),
    PersonFacts("a2adm", "own", role=ADMIN, clearance=2),
    PersonFacts("a3stew", "own", steward=True, clearance=3),
    PersonFacts("a3expired", "own", clearance=3, approval="expired"),
    PersonFacts("aout", "out", clearance=3),  # a co-author from another organisation
    # authors, stewards and admins with everything, whom the network gate alone must stop
    PersonFacts("inactive", "own", role=ADMIN, steward=True, clearance=3, active=False),
    PersonFacts("nomfa", "own", role=ADMIN, steward=True, clearance=3),
    PersonFacts("noagree", "own", role=ADMIN, steward=True, clearance=3, agreement="none"),
    PersonFacts("oldagree", "own", role=ADMIN, steward=True, clearance=3, agreement="old"),
    PersonFacts("susp3", "susp", role=ADMIN, steward=True, clearance=3),
    # the owner organisation, not authors
    PersonFacts("o0", "own", clearance=0),
    PersonFacts("o2", "own", clearance=2),
    PersonFacts("o3", "own", clearance=3),  # uploads checkpoints, requests analyses
    PersonFacts("oadm1", "own", role=ADMIN, clearance=1),
    PersonFacts("oadm3", "own", role=ADMIN, clearance=3),
    PersonFacts("ostew3", "own", steward=True, clearance=3),
    # an organisation of sharing group G
    PersonFacts("g1", "grp", clearance=1),
    PersonFacts("g3", "grp", clearance=3),  # also authored one other finding of the owner org
    PersonFacts("gadm3", "grp", role=ADMIN, clearance=3),
    PersonFacts("gstew3", "grp", steward=True, clearance=3),
    PersonFacts("gstew1", "grp", steward=True, clearance=1),
    PersonFacts("l3", "late", clearance=3),
    PersonFacts("x3", "exg", clearance=3),
    # an organisation outside every group of the owner's
    PersonFacts("u0", "out", clearance=0),
    PersonFacts("u3", "out", clearance=3),  # worked at the owner organisation until last year
    PersonFacts("ustew3", "out", steward=True, clearance=3),
    PersonFacts("ustew2none", "out", steward=True, clearance=2, approval="none"),
    PersonFacts("u3level2", "out", clearance=3, approval="level2"),
    PersonFacts("low3", "low", clearance=3),
    PersonFacts("noorg", None, steward=True, clearance=3),
]
PERSON = {p.name: p for p in PEOPLE}
AUTHORS = frozenset(
    ["a0", "a1", "a2adm", "a3stew", "a3expired", "aout", "inactive", "nomfa", "noagree", "oldagree"]
)
# non-authors who may hold grants, sit on cases and ask for analysis access
CANDIDATES = [p.name for p in PEOPLE if p.name not in AUTHORS and p.name not in ("susp3", "noorg")]
OTHER_ORG_CANDIDATES = [name for name in CANDIDATES if PERSON[name].org != "own"]

ALL_SCOPES = frozenset({"read", "write", "analyses"})


@dataclass(frozen=True)
class Who:
    """A principal: a person and how they came (session with or without MFA, token, on behalf)."""

    name: str
    person: str
    via: str = "session"
    mfa: bool = True
    scopes: frozenset[str] = ALL_SCOPES


PRINCIPALS = [Who(p.name, p.name, mfa=p.name != "nomfa") for p in PEOPLE] + [
    Who("a3stew/token-read", "a3stew", via="token", scopes=frozenset({"read"})),
    Who("a3stew/token-write", "a3stew", via="token", scopes=frozenset({"write"})),
    Who("a3stew/token-analyses", "a3stew", via="token", scopes=frozenset({"analyses"})),
    Who("oadm3/token-read-write", "oadm3", via="token", scopes=frozenset({"read", "write"})),
    Who("g3/on-behalf", "g3", via="on_behalf"),
    Who("o3/no-mfa", "o3", mfa=False),
]

# Sharing group G (owned by "own"): members when the findings were shared, and now.
G_AT_SHARE = frozenset({"grp", "exg"})
G_NOW = frozenset({"grp", "late"})
# Group H (owned by "grp", members hidden) does not change.
H_MEMBERS = frozenset({"own", "out"})


def group_reach(group: str) -> frozenset[str]:
    """Organisations that receive what was shared into a group: bound at share time (the owner
    included) and still there. Nobody widens what others shared (SECURITY.md)."""
    if group == "G":
        return frozenset({"own"} | G_AT_SHARE) & frozenset({"own"} | G_NOW)
    return frozenset({"grp"} | H_MEMBERS)


# --- the rules, in words ---------------------------------------------------------------------

READ_ACTIONS = {
    Action.VIEW,
    Action.VIEW_MEMBERS,
    Action.VIEW_READERS,
    Action.DOWNLOAD,
    Action.VIEW_AUDIT,
    Action.SEE_REVIEWER_NAMES,
    Action.SEE_OUTCOME,
    Action.LIST_OPEN_CALLS,
    Action.VET,  # the vetting queue is read; its acts are organisation and person actions
}


def scope_needed(action: Action) -> str:
    """Reading needs 'read', asking for an analysis 'analyses', everything else 'write'."""
    if action in READ_ACTIONS:
        return "read"
    return "analyses" if action == Action.ANALYSE else "write"


def effective_clearance(p: PersonFacts) -> int:
    """Clearance ≤ the organisation's ceiling; from 2 up only while a steward's approval lasts."""
    if p.org is None:
        return 0
    tier = min(p.clearance, ORGS[p.org].ceiling)
    if tier >= 2:
        if p.approval == "level2":
            tier = min(tier, 2)
        elif p.approval != "valid":
            tier = 1
    return tier


def cleared(p: PersonFacts, hazard_tier: int) -> bool:
    return effective_clearance(p) >= hazard_tier  # default policy: Hn needs clearance n


def passes_gate(who: Who) -> bool:
    """Account active, MFA, home organisation active, the current agreement accepted."""
    p = PERSON[who.person]
    if p.org is None:
        return False
    return (
        who.mfa and p.active and ORGS[p.org].status == OrganisationStatus.ACTIVE and p.agreement == "current"
    )


def digest(*parts: object) -> int:
    """A stable hash: which grant, seat or sample a pair gets is the same on every run."""
    return zlib.crc32("|".join(map(str, parts)).encode())


@dataclass(frozen=True)
class FindingFacts:
    key: str
    label: str
    tier: int
    state: str
    own_org: bool
    group: bool
    network: bool
    authors: frozenset[str] = AUTHORS
    dropped_group: bool = False  # shared into G, then G taken out of the audience without a new share


@dataclass(frozen=True)
class CheckpointFacts:
    key: str
    tier: int
    state: str
    uploader: str


@dataclass(frozen=True)
class DatasetFacts:
    key: str
    org: str  # the owner organisation
    label: str  # amber | amber_strict
    tier: int
    state: str
    uploader: str


@dataclass(frozen=True)
class ReleaseFacts:
    target: str  # network | G | H
    state: str
    vote_orgs: frozenset[str]


@dataclass(frozen=True)
class AnalysisFacts:
    key: str
    tier: int
    requester: str
    releases: tuple[ReleaseFacts, ...]
    dataset: str | None = None  # an organisation's own dataset it ran on


@dataclass(frozen=True)
class CaseFacts:
    key: str
    finding: str
    state: str


@dataclass
class Facts:
    """Everything the truth table knows, keyed by the names above."""

    findings: dict[str, FindingFacts] = field(default_factory=dict)
    grants: dict[tuple[str, str], str] = field(default_factory=dict)  # (person, finding) → kind
    checkpoints: dict[str, CheckpointFacts] = field(default_factory=dict)
    access: dict[tuple[str, str], str] = field(default_factory=dict)  # (person, checkpoint) → state
    analyses: dict[str, AnalysisFacts] = field(default_factory=dict)
    datasets: dict[str, DatasetFacts] = field(default_factory=dict)
    cases: dict[str, CaseFacts] = field(default_factory=dict)
    seats: dict[tuple[str, str], str] = field(default_factory=dict)  # (person, case) → reviewer kind
    prior_affiliation_with_owner: frozenset[str] = frozenset({"u3"})
    coauthors_of_other_owner_findings: frozenset[str] = frozenset({"g3"})


class Truth:
    """The expected answers. Each method is one object type's rule in words (after the gate)."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._read: dict[tuple[str, str, bool], bool] = {}

    def grant(self, person: str, finding: str) -> str:
        return self.facts.grants.get((person, finding), "none")

    # findings -------------------------------------------------------------------------------
    def finding_read(self, person: str, key: str, *, with_grants: bool = True) -> bool:
        cache_key = (person, key, with_grants)
        if cache_key not in self._read:
            self._read[cache_key] = self._finding_read(person, key, with_grants)
        return self._read[cache_key]

    def _finding_read(self, person: str, key: str, with_grants: bool) -> bool:
        p, f = PERSON[person], self.facts.findings[key]
        if not cleared(p, f.tier):
            return False  # tier n needs clearance ≥ n, authors included
        if person in f.authors:
            return True
        if f.state in (FindingState.DRAFT, FindingState.WITHDRAWN):
            return False  # drafts and withdrawn findings are for their authors
        granted = with_grants and self.grant(person, key) in ("read", "comment")
        if f.label == Label.RED:
            return granted  # named people with a current grant
        if f.label == Label.AMBER_STRICT:
            return granted and p.org == "own"  # named people of the owner organisation
        if granted or (f.own_org and p.org == "own"):
            return True
        if f.group and p.org in group_reach("G"):
            return True
        return f.network and f.label in (Label.GREEN, Label.CLEAR)  # the whole network: GREEN, CLEAR

    def finding(self, person: str, action: Action, key: str) -> bool:
        p, f = PERSON[person], self.facts.findings[key]
        read = self.finding_read(person, key)
        author = person in f.authors
        if action == Action.VIEW or not read:
            return read
        if action == Action.COMMENT:
            if author or self.grant(person, key) == "comment":
                return True
            # a read grant reads; RED and AMBER+STRICT are commented only by comment grants
            return f.label not in (Label.RED, Label.AMBER_STRICT) and self.finding_read(
                person, key, with_grants=False
            )
        if action in (Action.EDIT, Action.ATTACH):
            return author and f.state in (FindingState.DRAFT, FindingState.SHARED, FindingState.IN_REVIEW)
        if action in (Action.SHARE, Action.GRANT, Action.VIEW_READERS, Action.OPEN_DISCLOSURE):
            return author and f.state != FindingState.WITHDRAWN
        if action == Action.WITHDRAW:
            owner_admin = p.role == ADMIN and p.org == "own"
            return f.state != FindingState.WITHDRAWN and (author or owner_admin)
        raise KeyError(action)

    def finding_grant(self, person: str, grantee: str, finding: str) -> bool:
        """The grantee while they may read the finding; its authors (who grant)."""
        if person == grantee:
            return self.finding_read(person, finding)
        return self.finding(person, Action.GRANT, finding)

    # the directory ----------------------------------------------------------------------------
    @staticmethod
    def organisation(person: str, action: Action, org: str) -> bool:
        p = PERSON[person]
        own = p.org == org
        if action in (Action.VIEW, Action.VIEW_MEMBERS):
            return ORGS[org].status == OrganisationStatus.ACTIVE or own or p.steward
        if action in (Action.APPROVE_ACTIVATION, Action.SUSPEND, Action.REINSTATE, Action.REMOVE):
            return p.steward and not own  # stewards vet other organisations
        if action in (Action.INVITE_MEMBER, Action.CREATE_SHARING_GROUP):
            return p.role == ADMIN and own
        if action == Action.MANAGE_KEYS:
            return p.steward
        raise KeyError(action)

    @staticmethod
    def person(person: str, action: Action, target: str) -> bool:
        p, t = PERSON[person], PERSON[target]
        is_self, colleague = person == target, p.org == t.org
        admin_of_target = p.role == ADMIN and colleague
        if action == Action.VIEW:
            listed = t.active and t.org is not None and ORGS[t.org].status == OrganisationStatus.ACTIVE
            return is_self or (p.steward and t.org is not None) or colleague or listed
        if action in (Action.CHANGE_ROLE, Action.SUSPEND, Action.REINSTATE):
            return not is_self and (admin_of_target or p.steward)
        if action == Action.SET_CLEARANCE:
            return not is_self and admin_of_target
        if action in (Action.APPROVE_CLEARANCE, Action.SET_STEWARD):
            return not is_self and p.steward
        raise KeyError(action)

    @staticmethod
    def sharing_group(person: str, action: Action, group: str) -> bool:
        p = PERSON[person]
        owner_org, members, hidden = ("own", G_NOW, False) if group == "G" else ("grp", H_MEMBERS, True)
        owner, member = p.org == owner_org, p.org in members
        if action == Action.VIEW:
            return owner or member
        if action == Action.VIEW_MEMBERS:
            return owner or (member and not hidden)
        if action == Action.CHANGE:
            return owner and p.role == ADMIN
        raise KeyError(action)

    @staticmethod
    def network(person: str, action: Action) -> bool:
        if action in (Action.VIEW_AUDIT, Action.APPLY_ORGANISATION, Action.MANAGE_KEYS, Action.VET):
            return PERSON[person].steward
        if action == Action.LIST_OPEN_CALLS:
            return True
        raise KeyError(action)

    # checkpoints -----------------------------------------------------------------------------
    def checkpoint(self, person: str, action: Action, key: str) -> bool:
        p, c = PERSON[person], self.facts.checkpoints[key]
        if not cleared(p, c.tier):
            return False  # every clause, stewards and admins included
        member = p.org == "own"
        granted = self.facts.access.get((person, key)) == "approved"  # approved and not expired
        if action == Action.VIEW:
            return member or p.steward or granted
        if action == Action.ANALYSE:
            return member or granted
        if action == Action.DECIDE_ANALYSIS_ACCESS:
            return member and p.role == ADMIN
        if action == Action.DOWNLOAD:
            return member  # the weights never leave the owner organisation
        if action == Action.ATTACH:
            return person == c.uploader and c.state == CheckpointState.AWAITING_UPLOAD
        if action == Action.APPROVE_CHECKPOINT:
            return p.steward and person != c.uploader and c.state == CheckpointState.UPLOADED
        if action == Action.REVOKE_APPROVAL:
            return p.steward
        raise KeyError(action)

    def analysis_access(self, person: str, action: Action, checkpoint: str, grantee: str, state: str) -> bool:
        """Cleared owner admins see and decide; approving also needs the grantee cleared."""
        tier = self.facts.checkpoints[checkpoint].tier
        p = PERSON[person]
        decider = cleared(p, tier) and p.org == "own" and p.role == ADMIN
        if action == Action.VIEW:
            return decider
        if action == Action.DECIDE_ANALYSIS_ACCESS:
            return decider and state == "pending"
        if action == Action.GRANT:
            return decider and state == "pending" and cleared(PERSON[grantee], tier)
        raise KeyError(action)

    # an organisation's own datasets ------------------------------------------------------------
    def dataset_audience(self, person: str, key: str) -> bool:
        """The tier; the owner organisation only (stewards are no exception: a dataset needs no
        approval); TLP:AMBER its members, TLP:AMBER+STRICT the uploader alone."""
        p, d = PERSON[person], self.facts.datasets[key]
        if not cleared(p, d.tier) or p.org != d.org:
            return False
        return d.label == Label.AMBER or person == d.uploader

    def dataset(self, person: str, action: Action, key: str) -> bool:
        d = self.facts.datasets[key]
        audience = self.dataset_audience(person, key)
        if action in (Action.VIEW, Action.ANALYSE):
            return audience
        if action == Action.ATTACH:
            return audience and person == d.uploader and d.state == DatasetState.AWAITING_UPLOAD
        raise KeyError(action)

    # analyses ----------------------------------------------------------------------------------
    def analysis(self, person: str, action: Action, key: str) -> bool:
        p, a = PERSON[person], self.facts.analyses[key]
        if not cleared(p, a.tier):
            return False  # requester, owner members, release targets and stewards alike
        # the intersection of the inputs' audiences: every clause also needs the dataset's; and
        # results on a dataset never go wider than it
        if a.dataset is not None and (
            not self.dataset_audience(person, a.dataset) or action == Action.REQUEST_RELEASE
        ):
            return False
        requester, owner_member = person == a.requester, p.org == "own"
        if action in (Action.VIEW, Action.DOWNLOAD):
            released = any(
                r.state == ReleaseState.APPROVED and (r.target == "network" or p.org in group_reach(r.target))
                for r in a.releases
            )
            reviewing = p.steward and any(r.state == ReleaseState.PENDING for r in a.releases)
            return requester or owner_member or released or reviewing
        if action == Action.CANCEL:
            return requester or (owner_member and p.role == ADMIN)
        if action == Action.REQUEST_RELEASE:
            return requester
        raise KeyError(action)

    def release(self, person: str, action: Action, key: str, index: int) -> bool:
        if action == Action.VIEW:
            return self.analysis(person, Action.VIEW, key)
        if action == Action.VOTE_RELEASE:
            p, a = PERSON[person], self.facts.analyses[key]
            r = a.releases[index]
            return (
                p.steward
                and cleared(p, a.tier)
                and r.state == ReleaseState.PENDING
                and person != a.requester
                and p.org != PERSON[a.requester].org
                and p.org not in r.vote_orgs
            )
        raise KeyError(action)

    # artifacts, always through their parent --------------------------------------------------
    def artifact(self, person: str, action: Action, parent: str, key: str) -> bool:
        if action not in (Action.VIEW, Action.DOWNLOAD):
            raise KeyError(action)
        if parent == "finding":  # an attachment: metadata and content exactly as the finding
            return self.finding_read(person, key)
        if parent == "analysis":  # a plot: exactly as the analysis
            return self.analysis(person, Action.VIEW, key)
        if parent == "checkpoint":  # its name and hash to whoever sees it; its bytes to members
            return self.checkpoint(person, Action.VIEW, key) and self.checkpoint(person, action, key)
        if parent == "dataset":  # its name and hash to the dataset's audience; its bytes to nobody
            return action == Action.VIEW and self.dataset(person, Action.VIEW, key)
        return PERSON[person].org == key  # an organisation's library: its own members

    # disclosure --------------------------------------------------------------------------------
    def passes_axes(self, person: str, finding: str) -> bool:
        """May a non-author read the pinned text: the tier, and the label (RED: a current grant;
        AMBER+STRICT: never outside its named people, so never on a case)."""
        f = self.facts.findings[finding]
        if not cleared(PERSON[person], f.tier):
            return False
        if f.label == Label.RED:
            return self.grant(person, finding) in ("read", "comment")
        return f.label != Label.AMBER_STRICT

    def case(self, person: str, action: Action, key: str) -> bool:
        c = self.facts.cases[key]
        p, f = PERSON[person], self.facts.findings[c.finding]
        is_author = person in f.authors
        author = is_author and cleared(p, f.tier)
        axes = self.passes_axes(person, c.finding)
        steward = p.steward and axes
        seat = self.facts.seats.get((person, key), "none")
        live = seat in ("live", "live_declared") and c.state == CaseState.REVIEW
        seated = not author and live and axes
        eligible = c.state == CaseState.REVIEW and p.org != "own" and not is_author and axes
        if action in (Action.VIEW, Action.COMMENT):
            return author or steward or seated
        if action == Action.VOLUNTEER:
            return seat == "none" and eligible
        if action == Action.REVIEW:
            return eligible
        if action in (
            Action.ASSIGN_REVIEWER,
            Action.DECIDE,
            Action.ACCEPT_EMBARGO,
            Action.END_EMBARGO,
            Action.VETO,
        ):
            return steward and p.org != "own"  # a steward of the owner organisation never steers its case
        if action == Action.SEE_REVIEWER_NAMES:
            return steward
        if action == Action.SEE_OUTCOME:  # its reviewers, once decided, while they pass the axes
            reviewed = seat != "none" and c.state != CaseState.REVIEW and axes
            return author or steward or seated or reviewed
        if action == Action.VOTE:
            conflicted = (
                p.org == "own"
                or is_author
                or person in self.facts.prior_affiliation_with_owner
                or person in self.facts.coauthors_of_other_owner_findings
                or seat == "live_declared"
            )
            return seated and not conflicted
        if action == Action.DECLARE_CONFLICT:
            return seated
        if action in (Action.REPIN, Action.PROPOSE_EMBARGO):
            return author
        if action == Action.WITHDRAW:
            return author or steward
        raise KeyError(action)


# --- the world, written to the database ------------------------------------------------------

Rule = Callable[[str, Action], bool]  # (person, action) → allowed, after the gate and the scope


@dataclass(frozen=True)
class Row:
    """One protected object and its rule in words."""

    obj: Any
    key: str
    rule: Rule


@dataclass
class World:
    facts: Facts
    truth: Truth
    people: dict[str, Person]
    orgs: dict[str, Organisation]
    groups: dict[str, SharingGroup]
    rows: dict[type, list[Row]] = field(default_factory=dict)

    def add(self, model: type, obj: Any, key: str, rule: Rule) -> None:
        self.rows.setdefault(model, []).append(Row(obj, key, rule))


LABELS = [Label.RED, Label.AMBER_STRICT, Label.AMBER, Label.GREEN, Label.CLEAR]
STATES = [FindingState.SHARED, FindingState.DRAFT, FindingState.DISCLOSED, FindingState.WITHDRAWN]
TIERS = [0, 1, 2, 3]
GRANT_KINDS = ["none", "read", "comment", "expired"]
ACCESS_KINDS = ["none", "none", "pending", "approved", "expired", "rejected", "revoked"]
SEAT_KINDS = ["none", "none", "live", "expired", "live_declared"]
# an analysis's output releases: (target, state, how many stewards of other organisations voted)
RELEASE_PLANS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "not released": (),
    "pending to network": (("network", ReleaseState.PENDING, 1),),
    "approved to network": (("network", ReleaseState.APPROVED, 2),),
    "approved to G": (("G", ReleaseState.APPROVED, 2),),  # approved before "late" joined G
    "approved to H": (("H", ReleaseState.APPROVED, 2),),
    "rejected": (("network", ReleaseState.REJECTED, 1),),
    "pending to G": (("G", ReleaseState.PENDING, 0),),
}
VOTERS = {"out": "ustew3", "grp": "gstew3", "own": "ostew3"}  # a steward per organisation, in turn
REQUESTERS = ["o3", "g3", "a1"]  # an owner member, a grantee of another org, one of clearance 1


def only_view(allowed: Callable[[str], bool]) -> Rule:
    """Derived objects registered for VIEW alone: seen exactly when what they inherit is."""

    def rule(person: str, action: Action) -> bool:
        if action != Action.VIEW:
            raise KeyError(action)
        return allowed(person)

    return rule


def write_people(build: NetworkBuilder, orgs: dict[str, Organisation]) -> dict[str, Person]:
    old = build.agreement()
    current = Agreement.objects.create(version=old.version + 1, title="Agreement", text="v2")
    assert build.agreement() == current
    people: dict[str, Person] = {}
    for p in PEOPLE:
        if p.org is None:  # the builder always gives a home organisation
            people[p.name] = Person.objects.create_user(
                email=f"{p.name}@example.org",
                display_name=p.name,
                is_steward=p.steward,
                clearance=p.clearance,
            )
            AgreementAcceptance.objects.create(person=people[p.name], agreement=current)
            continue
        person = build.person(
            orgs[p.org],
            role=p.role,
            steward=p.steward,
            clearance=p.clearance,
            active=p.active,
            accepted=p.agreement == "current",
        )
        if p.agreement == "old":
            AgreementAcceptance.objects.create(person=person, agreement=old)
        if p.approval == "expired":
            person.clearance_expires_at = timezone.now() - timedelta(days=1)
        elif p.approval == "none":
            person.clearance_approved_by = None
        elif p.approval == "level2":
            person.clearance_approved_level = 2
        person.save()
        people[p.name] = person
    return people


def write_directory(world: World) -> None:
    truth = world.truth
    for key, org in world.orgs.items():
        world.add(Organisation, org, f"org {key}", partial(truth.organisation, org=key))
    for name, person in world.people.items():
        world.add(Person, person, f"person {name}", partial(truth.person, target=name))
    for key, group in world.groups.items():
        world.add(SharingGroup, group, f"group {key}", partial(truth.sharing_group, group=key))
    world.add(type(NETWORK), NETWORK, "network", truth.network)
    notifications = [
        Notification(recipient=world.people[p.name], kind="finding_shared", finding_uuid=uuid.uuid4())
        for p in PEOPLE
    ]
    Notification.objects.bulk_create(notifications)
    for p, notification in zip(PEOPLE, notifications, strict=True):

        def recipient(who: str, action: Action, name: str = p.name) -> bool:
            if action not in (Action.VIEW, Action.CHANGE):
                raise KeyError(action)
            return who == name

        world.add(Notification, notification, f"notification for {p.name}", recipient)


def finding_facts() -> dict[str, FindingFacts]:
    findings = {}
    for label, tier, state, own_org, in_group, network in itertools.product(
        LABELS, TIERS, STATES, [False, True], [False, True], [False, True]
    ):
        key = f"F {label} H{tier} {state} own={own_org:d} G={in_group:d} net={network:d}"
        findings[key] = FindingFacts(key, label, tier, state, own_org, in_group, network)
    for label, tier in itertools.product(LABELS, TIERS):  # the findings under disclosure review
        key = f"F case {label} H{tier}"
        findings[key] = FindingFacts(key, label, tier, FindingState.IN_REVIEW, True, False, False)
    for label, tier in itertools.product([Label.AMBER, Label.GREEN], TIERS):
        key = f"F {label} H{tier} shared into G, then G dropped from the audience"
        findings[key] = FindingFacts(
            key, label, tier, FindingState.SHARED, False, False, False, dropped_group=True
        )
    side = "F side, by g3"  # gives g3 a co-authorship conflict with the owner organisation
    findings[side] = FindingFacts(
        side, Label.AMBER, 0, FindingState.SHARED, True, False, False, frozenset({"g3"})
    )
    return findings


def write_findings(world: World) -> dict[str, Finding]:
    facts, people, truth, group = world.facts, world.people, world.truth, world.groups["G"]
    facts.findings = finding_facts()
    findings = {
        key: Finding(
            owner_org=world.orgs["own"],
            label=f.label,
            hazard_tier=f.tier,
            state=f.state,
            audience_own_org=f.own_org,
            audience_network=f.network,
        )
        for key, f in facts.findings.items()
    }
    Finding.objects.bulk_create(findings.values())
    Finding.authors.through.objects.bulk_create(
        Finding.authors.through(finding_id=findings[key].pk, person_id=people[name].pk)
        for key, f in facts.findings.items()
        for name in f.authors
    )
    for key, f in facts.findings.items():
        if f.group or f.dropped_group:
            findings[key].audience_groups.add(group)
            group_recipients_bind(finding=findings[key], groups=[group])  # what every share does
        if f.dropped_group:
            findings[key].audience_groups.remove(group)

    now = timezone.now()
    read, comment = (Permission.objects.get(codename=c) for c in ("read_finding", "comment_finding"))
    grants = []
    for name, key in itertools.product(CANDIDATES, facts.findings):
        kind = GRANT_KINDS[digest("grant", name, key) % len(GRANT_KINDS)]
        if kind == "none":
            continue
        facts.grants[(name, key)] = kind
        grant = FindingGrant(
            content_object=findings[key],
            user=people[name],
            granted_by=people["a3stew"],
            reason="matrix",
            permission=comment if kind == "comment" else read,
            expires_at=now + timedelta(days=-1 if kind == "expired" else 1),
        )
        grants.append(grant)
        world.add(
            FindingGrant,
            grant,
            f"{kind} grant to {name} on {key}",
            only_view(partial(truth.finding_grant, grantee=name, finding=key)),
        )
    FindingGrant.objects.bulk_create(grants)
    return findings


def write_finding_contents(world: World, findings: dict[str, Finding]) -> dict[str, FindingRevision]:
    truth, author = world.truth, world.people["a3stew"]
    revisions = {
        key: FindingRevision(
            finding=f, number=1, title_sealed=SEALED, body_sealed=SEALED, content_sha256=SHA, author=author
        )
        for key, f in findings.items()
    }
    FindingRevision.objects.bulk_create(revisions.values())
    comments = {key: Comment(finding=f, author=author, body_sealed=SEALED) for key, f in findings.items()}
    Comment.objects.bulk_create(comments.values())
    for key, finding in findings.items():
        world.add(Finding, finding, key, partial(truth.finding, key=key))
        readers = only_view(partial(truth.finding_read, key=key))
        world.add(FindingRevision, revisions[key], f"revision of {key}", readers)
        world.add(Comment, comments[key], f"comment on {key}", readers)
    return revisions


def write_checkpoints(world: World) -> dict[str, Checkpoint]:
    facts, people, truth = world.facts, world.people, world.truth
    now = timezone.now()
    checkpoints: dict[str, Checkpoint] = {}
    for tier, state, uploader in itertools.product(
        TIERS, [CheckpointState.AWAITING_UPLOAD, CheckpointState.UPLOADED], ["o3", "a3stew", "a1"]
    ):
        key = f"C H{tier} {state} by {uploader}"
        facts.checkpoints[key] = CheckpointFacts(key, tier, state, uploader)
        checkpoint = checkpoints[key] = Checkpoint.objects.create(
            owner_org=world.orgs["own"],
            uploaded_by=people[uploader],
            name=key,
            spec={"family": "mlp", "config": {}},
            hazard_tier=tier,
            state=state,
            sha256=SHA if state == CheckpointState.UPLOADED else "",
        )
        world.add(Checkpoint, checkpoint, key, partial(truth.checkpoint, key=key))
        if state == CheckpointState.UPLOADED:
            approval = CheckpointApproval.objects.create(
                checkpoint=checkpoint,
                steward=people["ostew3"],
                sha256=SHA,
                access_level=3,
                expires_at=now + timedelta(days=9),
            )
            sees = only_view(partial(truth.checkpoint, action=Action.VIEW, key=key))
            world.add(CheckpointApproval, approval, f"approval of {key}", sees)
    for name, key in itertools.product(OTHER_ORG_CANDIDATES, checkpoints):
        kind = ACCESS_KINDS[digest("access", name, key) % len(ACCESS_KINDS)]
        if kind == "none":
            continue
        facts.access[(name, key)] = kind
        stored: str = AnalysisAccessState.APPROVED if kind == "expired" else kind
        expires = now + timedelta(days=-1 if kind == "expired" else 9)
        request = AnalysisAccessGrant.objects.create(
            checkpoint=checkpoints[key],
            grantee=people[name],
            reason="matrix",
            state=stored,
            expires_at=expires if stored == AnalysisAccessState.APPROVED else None,
        )
        world.add(
            AnalysisAccessGrant,
            request,
            f"{kind} analysis access for {name} to {key}",
            partial(truth.analysis_access, checkpoint=key, grantee=name, state=stored),
        )
    return checkpoints


def write_analyses(world: World, checkpoints: dict[str, Checkpoint]) -> None:
    facts, people, truth = world.facts, world.people, world.truth
    for tier, requester, plan in itertools.product(TIERS, REQUESTERS, RELEASE_PLANS):
        key = f"A H{tier} by {requester}, {plan}"
        others = [org for org in VOTERS if org != PERSON[requester].org]
        releases = tuple(ReleaseFacts(t, s, frozenset(others[:votes])) for t, s, votes in RELEASE_PLANS[plan])
        facts.analyses[key] = AnalysisFacts(key, tier, requester, releases)
        analysis = AnalysisRequest.objects.create(
            requester=people[requester],
            checkpoint=checkpoints[f"C H{tier} {CheckpointState.UPLOADED} by o3"],
            approval_id=0,
            kind="llc",
            params={},
            dataset={},
            hazard_tier=tier,
        )
        world.add(AnalysisRequest, analysis, key, partial(truth.analysis, key=key))
        audience = only_view(partial(truth.analysis, action=Action.VIEW, key=key))
        result = AnalysisResult.objects.create(request=analysis, metrics_sealed=SEALED)
        world.add(AnalysisResult, result, f"result of {key}", audience)
        for index, r in enumerate(releases):
            release = OutputRelease.objects.create(
                analysis=analysis,
                requested_by=people[requester],
                target=ReleaseTarget.NETWORK if r.target == "network" else ReleaseTarget.SHARING_GROUP,
                target_group=world.groups.get(r.target),
                reason="matrix",
                state=r.state,
            )
            group = world.groups.get(r.target)
            if r.state == ReleaseState.APPROVED and group is not None:  # what approval does
                release.bound_organisations = sorted(
                    {*group.members.values_list("pk", flat=True), group.owner_org_id}
                )
                release.save(update_fields=["bound_organisations"])
            world.add(
                OutputRelease,
                release,
                f"release {index} of {key}",
                partial(truth.release, key=key, index=index),
            )
            for org in sorted(r.vote_orgs):
                vote = OutputReleaseVote.objects.create(
                    release=release,
                    person=people[VOTERS[org]],
                    organisation=world.orgs[org],
                    approve=True,
                    rationale="ok",
                )
                world.add(OutputReleaseVote, vote, f"{org}'s vote on release {index} of {key}", audience)


# analyses on an organisation's own dataset: (dataset, requester) over checkpoint tiers and plans
DATASET_ANALYSES = [
    "D own amber H0 uploaded by o3",
    "D own amber_strict H1 uploaded by o3",
    "D own amber H2 uploaded by a1",
    "D own amber_strict H0 uploaded by a1",
    "D grp amber H0 uploaded by g3",
    "D grp amber_strict H3 uploaded by g3",
]


def write_dataset_analyses(
    world: World, checkpoints: dict[str, Checkpoint], datasets: dict[str, UploadedDataset]
) -> None:
    """Analyses that ran on a dataset, some with a release approved to the network (as one
    recorded before the rule existed would be): the release must not widen them."""
    facts, people, truth = world.facts, world.people, world.truth
    for dataset_key, requester, checkpoint_tier, released in itertools.product(
        DATASET_ANALYSES, REQUESTERS, [0, 1], [False, True]
    ):
        tier = max(checkpoint_tier, facts.datasets[dataset_key].tier)
        key = f"A on {dataset_key}, H{checkpoint_tier} checkpoint, by {requester}, released={released:d}"
        others = [org for org in VOTERS if org != PERSON[requester].org]
        releases = (
            (ReleaseFacts("network", ReleaseState.APPROVED, frozenset(others[:2])),) if released else ()
        )
        facts.analyses[key] = AnalysisFacts(key, tier, requester, releases, dataset_key)
        analysis = AnalysisRequest.objects.create(
            requester=people[requester],
            checkpoint=checkpoints[f"C H{checkpoint_tier} {CheckpointState.UPLOADED} by o3"],
            approval_id=0,
            kind="llc",
            params={},
            dataset={"name": "uploaded", "id": str(datasets[dataset_key].uuid)},
            uploaded_dataset=datasets[dataset_key],
            hazard_tier=tier,
        )
        world.add(AnalysisRequest, analysis, key, partial(truth.analysis, key=key))
        audience = only_view(partial(truth.analysis, action=Action.VIEW, key=key))
        result = AnalysisResult.objects.create(request=analysis, metrics_sealed=SEALED)
        world.add(AnalysisResult, result, f"result of {key}", audience)
        if released:
            release = OutputRelease.objects.create(
                analysis=analysis,
                requested_by=people[requester],
                target=ReleaseTarget.NETWORK,
                reason="matrix",
                state=ReleaseState.APPROVED,
            )
            world.add(OutputRelease, release, f"release of {key}", partial(truth.release, key=key, index=0))


def write_cases(
    world: World, findings: dict[str, Finding], revisions: dict[str, FindingRevision]
) -> dict[str, DisclosureCase]:
    facts, people, truth = world.facts, world.people, world.truth
    now = timezone.now()
    PriorAffiliation.objects.create(
        person=people["u3"], organisation=world.orgs["own"], ended_on=(now - timedelta(days=365)).date()
    )
    cases = {}
    for label, tier, state in itertools.product(
        LABELS, TIERS, [CaseState.REVIEW, CaseState.APPROVED, CaseState.WITHDRAWN]
    ):
        finding_key, key = f"F case {label} H{tier}", f"D {label} H{tier} {state}"
        facts.cases[key] = CaseFacts(key, finding_key, state)
        case = cases[key] = DisclosureCase.objects.create(
            finding=findings[finding_key],
            opened_by=people["a3stew"],
            target=Target.NETWORK,
            pinned_revision=revisions[finding_key],
            pinned_sha256=SHA,
            rationale_sealed=SEALED,
            assessment_sealed=SEALED,
            redacted_title_sealed=SEALED,
            redacted_body_sealed=SEALED,
            redaction_sha256=SHA,
            released_sha256=SHA,
            state=state,
            review_deadline=now + timedelta(days=14),
        )
        world.add(DisclosureCase, case, key, partial(truth.case, key=key))
        on_case = only_view(partial(truth.case, action=Action.VIEW, key=key))
        for n, name in enumerate(OTHER_ORG_CANDIDATES):
            seat = SEAT_KINDS[digest("seat", name, key) % len(SEAT_KINDS)]
            if seat == "none":
                continue
            facts.seats[(name, key)] = seat
            # review time runs to the deadline; deciding or withdrawing the case ends it at once
            live = seat != "expired" and state == CaseState.REVIEW
            reviewer = Reviewer.objects.create(
                case=case,
                person=people[name],
                pseudonym=f"Reviewer {n}",
                conflicts=[],
                declared_conflict="related to the authors" if seat == "live_declared" else "",
                access_ends_at=now + timedelta(days=7 if live else -1),
            )
            world.add(Reviewer, reviewer, f"{seat} reviewer {name} of {key}", on_case)
            if seat != "expired" and digest("vote", name, key) % 2:
                vote = Vote.objects.create(
                    case=case, reviewer=reviewer, choice=VoteChoice.APPROVE, rationale="ok", pinned_sha256=SHA
                )
                world.add(Vote, vote, f"{name}'s vote on {key}", on_case)
        comment = CaseComment.objects.create(case=case, author=people["a3stew"], body="matrix")
        world.add(CaseComment, comment, f"comment on {key}", on_case)
        if state != CaseState.REVIEW:
            record = DecisionRecord.objects.create(
                case=case, outcome=state, quorum_rule={}, voters=[], released_sha256=SHA, redaction_sha256=SHA
            )
            world.add(DecisionRecord, record, f"decision of {key}", on_case)
    return cases


def write_datasets(world: World) -> dict[str, UploadedDataset]:
    """The owner organisation's datasets in every label, tier, state and uploader; a few of
    another organisation's."""
    facts, people, truth = world.facts, world.people, world.truth
    plans = [
        ("own", label, tier, state, uploader)
        for label, tier, state, uploader in itertools.product(
            [Label.AMBER_STRICT, Label.AMBER],
            TIERS,
            [DatasetState.AWAITING_UPLOAD, DatasetState.UPLOADED],
            ["o3", "a1"],
        )
    ] + [
        ("grp", label, tier, DatasetState.UPLOADED, "g3")
        for label, tier in itertools.product([Label.AMBER_STRICT, Label.AMBER], [0, 3])
    ]
    datasets: dict[str, UploadedDataset] = {}
    for org, label, tier, state, uploader in plans:
        key = f"D {org} {label} H{tier} {state} by {uploader}"
        facts.datasets[key] = DatasetFacts(key, org, label, tier, state, uploader)
        dataset = datasets[key] = UploadedDataset.objects.create(
            owner_org=world.orgs[org],
            uploaded_by=people[uploader],
            name=key,
            format="token_ids",
            label=label,
            hazard_tier=tier,
            state=state,
            sha256=SHA if state == DatasetState.UPLOADED else "",
        )
        world.add(UploadedDataset, dataset, key, partial(truth.dataset, key=key))
    return datasets


def write_artifacts(
    world: World,
    findings: dict[str, Finding],
    checkpoints: dict[str, Checkpoint],
    datasets: dict[str, UploadedDataset],
) -> None:
    """Attachments of some findings, every checkpoint's file, some plots, organisation libraries."""
    truth, orgs = world.truth, world.orgs
    versions = {
        org: OrgKeyVersion.objects.create(
            organisation=orgs[org], version=1, provider_key_id=uuid.uuid4().hex, wrapped_key=b"k"
        )
        for org in ("own", "grp", "out", "susp")
    }
    artifacts: list[tuple[Artifact, str, Rule]] = []

    def artifact(org: str, parent_type: str, parent_id: uuid.UUID, key: str, rule: Rule) -> None:
        obj = Artifact(
            owner_org=orgs[org],
            parent_type=parent_type,
            parent_id=parent_id,
            filename="file.bin",
            size=1,
            sha256=SHA,
            ciphertext_size=1,
            storage_key=uuid.uuid4().hex,
            key_version=versions[org],
            wrapped_data_key=b"k",
        )
        artifacts.append((obj, key, rule))

    for key, finding in findings.items():
        if digest("attachment", key) % 12 == 0:
            rule = partial(truth.artifact, parent="finding", key=key)
            artifact("own", "finding", finding.uuid, f"attachment of {key}", rule)
    for key, checkpoint in checkpoints.items():
        rule = partial(truth.artifact, parent="checkpoint", key=key)
        artifact("own", "checkpoint", checkpoint.uuid, f"file of {key}", rule)
    for row in world.rows[AnalysisRequest]:
        if digest("plot", row.key) % 4 == 0:
            rule = partial(truth.artifact, parent="analysis", key=row.key)
            artifact("own", "analysis", row.obj.uuid, f"plot of {row.key}", rule)
    for key, dataset in datasets.items():
        if dataset.state == DatasetState.UPLOADED:
            rule = partial(truth.artifact, parent="dataset", key=key)
            artifact(world.facts.datasets[key].org, "dataset", dataset.uuid, f"file of {key}", rule)
    for org in versions:
        rule = partial(truth.artifact, parent="library", key=org)
        artifact(org, "library", orgs[org].uuid, f"library of {org}", rule)
    Artifact.objects.bulk_create(obj for obj, _, _ in artifacts)
    for obj, key, parent_rule in artifacts:
        world.add(Artifact, obj, key, parent_rule)


def build_world() -> World:
    build = NetworkBuilder()
    orgs = {key: build.org(f"Matrix {key}", status=o.status, ceiling=o.ceiling) for key, o in ORGS.items()}
    group = SharingGroup.objects.create(name="G", owner_org=orgs["own"])
    group.members.set([orgs[k] for k in G_AT_SHARE])
    hidden = SharingGroup.objects.create(name="H", owner_org=orgs["grp"], hide_members=True)
    hidden.members.set([orgs[k] for k in H_MEMBERS])
    facts = Facts()
    world = World(facts, Truth(facts), write_people(build, orgs), orgs, {"G": group, "H": hidden})
    write_directory(world)
    findings = write_findings(world)
    revisions = write_finding_contents(world, findings)
    checkpoints = write_checkpoints(world)
    write_analyses(world, checkpoints)
    datasets = write_datasets(world)
    write_dataset_analyses(world, checkpoints, datasets)
    write_cases(world, findings, revisions)
    write_artifacts(world, findings, checkpoints, datasets)
    # Only now does G change, after every share and release into it: "exg" leaves, "late" joins.
    group.members.remove(orgs["exg"])
    group.members.add(orgs["late"])
    assert set(group.members.values_list("pk", flat=True)) == {orgs[k].pk for k in G_NOW}
    return world


# --- asking the policy --------------------------------------------------------------------------

# 1 in N of the (principal, object) pairs that reach a model's rule is asked every action;
# everything the gate or the token scope decides is asked always, and visible() on every pair.
RULE_SAMPLE: dict[type, int] = {
    Finding: 40,
    FindingRevision: 40,
    Comment: 40,
    FindingGrant: 400,
    Artifact: 8,
    AnalysisAccessGrant: 4,
    AnalysisRequest: 4,
    AnalysisResult: 8,
    OutputRelease: 2,
    OutputReleaseVote: 10,
    DisclosureCase: 12,
    Reviewer: 40,
    Vote: 40,
    CaseComment: 12,
    DecisionRecord: 12,
}


@dataclass(frozen=True)
class Divergence:
    """Where the policy answers otherwise than the written rules: a bug to fix in product code.

    The truth table keeps the rule as written. Mismatches a divergence describes are counted apart
    and printed; each divergence must still be observed, so fixing the code fails this test until
    its entry is deleted here."""

    bug: str
    words: str
    covers: Callable[[str, Who, str, str, bool], bool]  # (asked, who, model, key, expected)


DIVERGENCES: list[Divergence] = []  # none left: each bug the matrix found was fixed in the policy


def principal_of(who: Who, person: Person) -> Principal:
    if who.via == "token":
        return Principal.token(person, who.scopes)
    if who.via == "on_behalf":
        return Principal.on_behalf_of(person)
    return Principal.session(person, mfa_verified=who.mfa)


def expected(who: Who, action: Action, row: Row) -> bool:
    if not passes_gate(who) or scope_needed(action) not in who.scopes:
        return False
    return row.rule(who.person, action)


def test_every_registered_model_and_action_matches_the_written_rules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    world = build_world()
    built = time.perf_counter() - started
    registered = {r.model: r for r in registrations()}
    missing = sorted(m.__name__ for m in registered if not world.rows.get(m))
    assert missing == [], f"registered model types the matrix builds no object of: {missing}"
    people = {
        p.pk: p
        for p in Person.objects.select_related("organisation").filter(
            pk__in=[p.pk for p in world.people.values()]
        )
    }
    counts: Counter[str] = Counter()
    allowed: Counter[tuple[str, str]] = Counter()
    mismatches: list[str] = []
    known: Counter[str] = Counter()

    def mismatch(asked: str, who: Who, model: str, action: Action, key: str, want: bool) -> None:
        for divergence in DIVERGENCES:
            if divergence.covers(asked, who, model, key, want):
                known[divergence.bug] += 1
                return
        mismatches.append(f"{asked}({who.name}, {action}, {model}) {key}: expected {want}")

    for who in PRINCIPALS:
        principal = principal_of(who, people[world.people[who.person].pk])
        gate = passes_gate(who)
        for model, registration in registered.items():
            name = model.__name__.lstrip("_")
            model_rows = world.rows[model]
            if issubclass(model, models.Model):
                queryset = model._default_manager.all()
                seen = set(visible(principal, queryset).values_list("pk", flat=True))
                for row in model_rows:
                    want = gate and row.rule(who.person, Action.VIEW)  # existence: whatever the scopes
                    counts["visible"] += 1
                    if (row.obj.pk in seen) != want:
                        mismatch("visible", who, name, Action.VIEW, row.key, want)
            rate = RULE_SAMPLE.get(model, 1)
            for row in model_rows:
                sampled = digest(who.name, row.key) % rate == 0
                for action in registration.actions:
                    reaches_rule = gate and scope_needed(action) in who.scopes
                    if reaches_rule and not sampled:
                        continue
                    want = expected(who, action, row)
                    counts["rule" if reaches_rule else "gate/scope"] += 1
                    allowed[(name, action)] += want
                    if bool(can(principal, action, row.obj)) != want:
                        mismatch("can", who, name, action, row.key, want)
        if gate and who.via == "session":
            calls = set(open_calls(principal, DisclosureCase.objects.all()).values_list("pk", flat=True))
            for row in world.rows[DisclosureCase]:
                want = row.rule(who.person, Action.VOLUNTEER)
                counts["visible"] += 1
                if (row.obj.pk in calls) != want:
                    mismatch("open_calls", who, "DisclosureCase", Action.VOLUNTEER, row.key, want)
    never_allowed = sorted(
        f"{r.model.__name__.lstrip('_')}.{a}"
        for r in registered.values()
        for a in r.actions
        if not allowed[(r.model.__name__.lstrip("_"), a)]
    )
    decisions = sum(counts.values())
    elapsed = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\npolicy matrix: {decisions} decisions over {len(registered)} model types, "
            f"{len(mismatches)} mismatches"
            f"\n  ({counts['rule']} can() reaching a rule, {counts['gate/scope']} stopped by gate or scope, "
            f"{counts['visible']} visible() memberships; {len(PRINCIPALS)} principals; "
            f"built in {built:.0f} s, {elapsed:.0f} s in all)"
        )
        for line in mismatches[:40]:
            print("  ", line)
        for divergence in DIVERGENCES:
            print(f"  known divergence, {known[divergence.bug]} decisions: {divergence.bug}")
    assert len(registered) >= 12
    assert decisions >= 100_000
    assert never_allowed == [], f"actions the matrix never expects allowed: {never_allowed}"
    assert mismatches == []
    fixed = [d.bug for d in DIVERGENCES if not known[d.bug]]
    assert fixed == [], "no longer diverges (delete it from DIVERGENCES)"


# --- the registry is complete -------------------------------------------------------------------

# Models that hold protected content by the test below but are decided elsewhere, and why.
EXEMPT: dict[str, str] = {
    "accounts.AgreementAcceptance": "the person's own acceptance; read only by the network gate",
    "accounts.ApiToken": "the person's own token hashes; listed only to that person's MFA session",
    "accounts.Invitation": "issued through Organisation INVITE_MEMBER, redeemed by its secret; never listed",
    "network.OrganisationActivation": "a steward's vote, written through APPROVE_ACTIVATION; only counted",
    "network.NetworkPolicy": "the network's rules, which the platform itself reads",
    "crypto.OrgKeyVersion": "listed only through the NETWORK MANAGE_KEYS action",
    "crypto.KeyShredConfirmation": "listed only through the NETWORK MANAGE_KEYS action",
    "crypto.KeyRotation": "an operator's job (manage.py rotate_org_key); never served",
    "findings.FindingGroupRecipient": "the binding table, read only inside the finding filter",
    "analyses.AnalysisInput": "rows of a request, never served alone",
    "checkpoints.CheckpointFile": "a folder checkpoint's file list, served only inside its checkpoint; "
    "each file is an artifact authorised through the checkpoint",
    "disclosure.PriorAffiliation": "conflict-of-interest input, read only by disclosure.rules",
    "disclosure.PublicRelease": "public by design: the released, redacted revision only",
    "audit.AuditEvent": "read through the NETWORK VIEW_AUDIT action",
}


def protected_content(model: type[models.Model], registered: set[type]) -> list[str]:
    """Why a model holds protected content: sealed text, its own axes, or a link to a protected model."""
    reasons = []
    for f in model._meta.get_fields():
        if isinstance(f, SealedTextField):
            reasons.append(f"sealed {f.name}")
        elif f.concrete and f.name in ("hazard_tier", "label"):
            reasons.append(f"its own {f.name}")
        elif f.concrete and isinstance(f.related_model, type) and f.related_model in registered:
            reasons.append(f"{f.name} → {f.related_model.__name__}")
    return reasons


def test_every_model_holding_protected_content_is_registered_or_exempt() -> None:
    registered = {r.model for r in registrations()}
    interlock_models = [
        model
        for config in apps.get_app_configs()
        if config.name.startswith("interlock.")
        for model in config.get_models()  # concrete models; auto-created m2m tables left out
    ]
    labels = {model._meta.label for model in interlock_models}
    unguarded = [
        f"{model._meta.label} ({', '.join(reasons)})"
        for model in interlock_models
        if model not in registered
        and model._meta.label not in EXEMPT
        and (reasons := protected_content(model, registered))
    ]
    stale = [label for label in EXEMPT if label not in labels]
    stale += [
        model._meta.label for model in interlock_models if model in registered and model._meta.label in EXEMPT
    ]
    assert unguarded == [], "register these with interlock.access.policy, or say in EXEMPT why not"
    assert stale == [], "EXEMPT names models that are gone or now registered"
    assert len(registered & set(interlock_models)) >= 20
