"""Everything a person can try to do to an object, named once."""

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    VIEW = "view"
    # organisations
    APPROVE_ACTIVATION = "approve_activation"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    REMOVE = "remove"
    INVITE_MEMBER = "invite_member"
    VIEW_MEMBERS = "view_members"
    # people
    CHANGE_ROLE = "change_role"
    SET_CLEARANCE = "set_clearance"
    APPROVE_CLEARANCE = "approve_clearance"
    SET_STEWARD = "set_steward"
    # sharing groups
    CHANGE = "change"
    CREATE_SHARING_GROUP = "create_sharing_group"
    # findings
    COMMENT = "comment"
    EDIT = "edit"
    SHARE = "share"
    GRANT = "grant"
    WITHDRAW = "withdraw"
    VIEW_READERS = "view_readers"
    # checkpoints
    APPROVE_CHECKPOINT = "approve_checkpoint"
    REVOKE_APPROVAL = "revoke_approval"
    ANALYSE = "analyse"  # request an approved analysis (not the weights)
    DECIDE_ANALYSIS_ACCESS = "decide_analysis_access"
    # artifacts (decided through their parent)
    ATTACH = "attach"
    DOWNLOAD = "download"
    CANCEL = "cancel"
    # analyses and their output releases
    REQUEST_RELEASE = "request_release"
    VOTE_RELEASE = "vote_release"
    # disclosure cases (on the finding: open one; on the case: everything after)
    OPEN_DISCLOSURE = "open_disclosure"
    ASSIGN_REVIEWER = "assign_reviewer"
    VOLUNTEER = "volunteer"
    REVIEW = "review"  # be seated as a reviewer: the person named must pass the finding's axes
    VOTE = "vote"
    DECLARE_CONFLICT = "declare_conflict"
    REPIN = "repin"
    DECIDE = "decide"
    PROPOSE_EMBARGO = "propose_embargo"
    ACCEPT_EMBARGO = "accept_embargo"
    END_EMBARGO = "end_embargo"
    SEE_REVIEWER_NAMES = "see_reviewer_names"
    VETO = "veto"  # a reject that vetoes a public release (asked of the voter)
    SEE_OUTCOME = "see_outcome"  # a decided case's outcome, for its reviewers after their access ended
    # the network as a whole
    VIEW_AUDIT = "view_audit"
    APPLY_ORGANISATION = "apply_organisation"
    VET = "vet"  # the vetting queue: applicants and clearance approvals
    MANAGE_KEYS = "manage_keys"
    LIST_OPEN_CALLS = "list_open_calls"


# Token scopes follow the action: reading needs `read`, analysing needs `analyses`, the rest `write`.
READ_ACTIONS = frozenset(
    {
        Action.VIEW,
        Action.VIEW_MEMBERS,
        Action.VIEW_READERS,
        Action.DOWNLOAD,
        Action.VIEW_AUDIT,
        Action.SEE_REVIEWER_NAMES,
        Action.SEE_OUTCOME,
        Action.LIST_OPEN_CALLS,
        Action.VET,
    }
)
ANALYSE_ACTIONS = frozenset({Action.ANALYSE})


def scope_of(action: Action) -> str:
    """The token scope an action needs (the values of `accounts.models.TokenScope`)."""
    if action in READ_ACTIONS:
        return "read"
    if action in ANALYSE_ACTIONS:
        return "analyses"
    return "write"


@dataclass(frozen=True)
class Decision:
    """The policy's answer, with a reason for logs and tests (never shown to the denied person)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def allow(reason: str) -> Decision:
    return Decision(True, reason)


def deny(reason: str) -> Decision:
    return Decision(False, reason)
