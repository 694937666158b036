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
    # audit
    VIEW_AUDIT = "view_audit"


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
