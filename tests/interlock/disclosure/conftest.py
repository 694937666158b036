"""A small network with a finding to disclose: an owner org with two authors, two other orgs."""

from __future__ import annotations

from typing import Any

import pytest

from interlock.findings.rules import Audience
from interlock.findings.services import finding_create, finding_share
from tests.interlock.builders import principal_for
from tests.support.disclosure import SECRET


@pytest.fixture
def lab(network: Any) -> dict[str, Any]:
    owner = network.org("Owner Lab")
    beta, gamma = network.org("Beta Institute"), network.org("Gamma Collective")
    author = network.person(owner, clearance=1)
    coauthor = network.person(owner, clearance=1)
    colleague = network.person(owner, clearance=1)
    finding = finding_create(
        actor=principal_for(author),
        title="Induction heads form at the loss bump",
        body=f"The bump coincides with the induction score.\n\n{SECRET}\n\nMore detail.",
        label="amber",
        hazard_tier=0,
    )
    finding.authors.add(coauthor)
    finding_share(
        actor=principal_for(author), finding_uuid=finding.uuid, label="amber", audience=Audience(own_org=True)
    )
    finding.refresh_from_db()
    return {
        "network": network,
        "owner": owner,
        "author": author,
        "coauthor": coauthor,
        "colleague": colleague,
        "finding": finding,
        "beta": beta,
        "gamma": gamma,
        "b1": network.person(beta, clearance=1),
        "b2": network.person(beta, clearance=1),
        "c1": network.person(gamma, clearance=1),
        "steward_b": network.person(beta, steward=True, clearance=1),
        "steward_c": network.person(gamma, steward=True, clearance=1),
    }
