"""The transition table drives the code: every row names a service that exists, takes exactly the
row's input, and the API and the pages dispatch through the row rather than by action name."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from interlock.disclosure.transitions import CASE_ACTIONS, TRANSITIONS, case_transition

ROOT = Path(__file__).resolve().parents[3]


def _input_keywords(transition_action: str) -> set[str]:
    """The keywords the row's input serializer hands its service (each field's `source`)."""
    fields = TRANSITIONS[transition_action].input().fields
    return {field.source for field in fields.values()}


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_every_row_names_a_service_that_takes_exactly_its_input(action: str) -> None:
    transition = TRANSITIONS[action]
    service = transition.service
    assert callable(service), action
    assert service.__module__.startswith("interlock.disclosure.services."), service.__module__
    parameters = inspect.signature(service).parameters
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in parameters.values()), action
    if not transition.acts_on_case:
        return  # open takes the finding; the scheduler's release takes no person at all
    assert set(parameters) == {"actor", "case_uuid"} | _input_keywords(action), action


def test_opening_takes_exactly_the_open_input() -> None:
    parameters = set(inspect.signature(TRANSITIONS["open"].service).parameters)
    assert parameters == {"actor"} | _input_keywords("open")


def test_only_actions_on_an_existing_case_dispatch_per_case() -> None:
    assert "open" not in CASE_ACTIONS and "release" not in CASE_ACTIONS
    assert set(CASE_ACTIONS) == set(TRANSITIONS) - {"open", "release"}
    assert case_transition("vote") is TRANSITIONS["vote"]
    for refused in ("open", "release", "teleport"):
        with pytest.raises(Exception, match="Unknown action"):
            case_transition(refused)


def test_no_interface_names_an_action_to_decide_what_to_do() -> None:
    """The views look the row up; an `action == "…"` ladder would bypass the table."""
    for view in ("platform/interlock/api/disclosure_views.py", "platform/interlock/web/disclosure_views.py"):
        source = (ROOT / view).read_text()
        for action in TRANSITIONS:
            assert f'action == "{action}"' not in source, (view, action)
