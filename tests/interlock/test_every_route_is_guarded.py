"""Walks every URL pattern of the project. A route must be listed below with the access test that
covers it, and every route is probed here as an anonymous visitor and as a plain member with
ids that do not exist: nothing but the public routes may answer 2xx to either.

A new endpoint without an entry fails this test, so it cannot skip the policy unnoticed.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client
from rest_framework.test import APIClient

from interlock.accounts.services import api_token_create
from tests.interlock.builders import principal_for
from tests.support.routes import PUBLIC, routes

pytestmark = pytest.mark.django_db

# The public page and feeds of released disclosures carry only released text (tests/interlock/disclosure).
LIST_ROUTES_VISIBLE_TO_MEMBERS = {
    "web:home",
    "web:directory",
    "web:sharing_groups",
    "web:library",
    "web:findings",
    "web:finding_new",
    "web:inbox",
    "web:tokens",
    "web:mfa",
    "web:agreement",
    "api:me",
    "api:organisation-list",
    "api:person-list",
    "api:sharing-group-list",
    "api:finding-list",
    "api:finding-export",
    "api:notification-list",
    "api:token-list",
    "web:logout",
}

# route -> the test that checks its access rules (forbidden answers like missing, roles, states)
COVERED_BY = {
    "web:home": "web/test_sign_in.py::test_full_sign_in_reaches_the_network",
    "web:login": "web/test_sign_in.py",
    "web:logout": "web/test_sign_in.py::test_logout_kills_the_session",
    "web:mfa": "web/test_sign_in.py::test_password_only_session_reaches_only_the_mfa_pages",
    "web:agreement": "web/test_sign_in.py::test_agreement_must_be_accepted_first",
    "web:reauth": "findings/test_finding_pages.py::test_sharing_red_needs_a_recent_reauthentication",
    "web:tokens": "web/test_sign_in.py::test_full_sign_in_reaches_the_network",
    "web:account_security": "web/test_passwords.py::test_a_password_only_session_cannot_reach_the_account_pages",
    "web:authenticator": "web/test_passwords.py::test_replacing_the_authenticator_needs_a_fresh_reauthentication_and_ends_sessions",
    "web:revoke_token": "this file (member probe)",
    "web:invitation": "web/test_sign_in.py::test_invitation_is_single_use",
    "web:directory": "access/test_network_policy_matrix.py",
    "web:organisation": "access/test_network_policy_matrix.py",
    "web:sharing_groups": "api/test_network_api.py::test_hidden_sharing_group_members_are_null_for_members",
    "web:vetting": "web/test_sign_in.py::test_steward_pages_are_hidden_from_members",
    "web:vet_org": "api/test_network_api.py::test_a_steward_cannot_vet_their_own_organisation",
    "web:approve_clearance": "api/test_network_api.py::test_clearance_two_needs_a_steward_and_respects_the_ceiling",
    "web:org_admin": "web/test_sign_in.py::test_suspended_person_session_stops_on_the_next_request",
    "web:invite": "web/test_sign_in.py::test_invitation_is_single_use",
    "web:set_clearance": "access/test_network_policy_matrix.py",
    "web:person_standing": "web/test_sign_in.py::test_suspended_person_session_stops_on_the_next_request",
    "web:audit": "web/test_sign_in.py::test_steward_pages_are_hidden_from_members",
    "web:keys": "crypto/test_key_destruction_page.py::test_members_and_org_admins_get_404",
    "web:key_shred": "crypto/test_key_destruction_page.py::test_members_and_org_admins_get_404",
    "web:library": "artifacts/test_artifacts_http.py::test_web_library_upload_and_download",
    "web:library_download": "artifacts/test_artifacts_http.py::test_another_organisation_cannot_see_or_fetch_an_artifact",
    "web:analyses": "analyses/test_pages.py",
    "web:analysis_new": "analyses/test_pages.py::test_request_follow_and_read_results_in_the_pages",
    "web:analysis_compare": "analyses/test_pages.py::test_rerun_prefills_the_form_and_compare_shows_both_side_by_side",
    "web:analysis_metrics": "analyses/test_pages.py::test_request_follow_and_read_results_in_the_pages",
    "web:checkpoints": "checkpoints/test_checkpoint_pages.py::test_the_list_shows_each_standing_truthfully_and_only_what_the_viewer_may_see",
    "web:checkpoint": "checkpoints/test_checkpoint_pages.py::test_the_list_shows_each_standing_truthfully_and_only_what_the_viewer_may_see",
    "web:checkpoint_approve": "checkpoints/test_checkpoint_pages.py::test_a_steward_approves_from_the_page_and_nobody_else_can",
    "web:checkpoint_upload": "checkpoints/test_checkpoint_pages.py::test_the_uploader_sends_the_file_from_the_page_and_nobody_else_can",
    "web:checkpoint_revoke": "checkpoints/test_checkpoint_pages.py::test_a_steward_revokes_with_a_reason",
    "web:checkpoint_queue": "checkpoints/test_checkpoint_pages.py::test_the_stewards_queue_holds_what_the_steward_may_approve",
    "web:analysis_access_request": "checkpoints/test_checkpoint_pages.py::test_another_organisation_asks_for_access_and_the_owners_admin_grants_it",
    "web:analysis_access_queue": "checkpoints/test_checkpoint_pages.py::test_another_organisation_asks_for_access_and_the_owners_admin_grants_it",
    "web:analysis_access_decide": "checkpoints/test_checkpoint_pages.py::test_another_organisation_asks_for_access_and_the_owners_admin_grants_it",
    "web:analysis": "analyses/test_pages.py",
    "web:analysis_status": "analyses/test_pages.py",
    "web:analysis_cancel": "analyses/test_series_plots_and_access.py",
    "web:disclosures": "disclosure/test_pages.py",
    "web:disclosure": "disclosure/test_pages.py",
    "web:inbox": "notifications/test_inbox.py::test_nobody_sees_or_opens_another_persons_notifications",
    "web:inbox_open": "notifications/test_inbox.py::test_nobody_sees_or_opens_another_persons_notifications",
    "web:inbox_read_all": "notifications/test_inbox.py::test_mark_all_read_touches_only_ones_own",
    "web:disclosure_outcome": "disclosure/test_case_page.py::test_the_deciding_voter_sees_the_outcome_and_others_do_not",
    "web:disclosure_action": "disclosure/test_pages.py",
    "web:disclosure_new": "disclosure/test_pages.py",
    "metrics": "ops/test_metrics.py",
    "public": "disclosure/test_release.py",
    "public-feed-atom": "disclosure/test_release.py",
    "public-feed-json": "disclosure/test_release.py",
    "web:analysis_plot": "analyses/test_series_plots_and_access.py",
    "web:people_suggest": "web/test_forms_and_people_picker.py::test_suggestions_and_picks_never_reach_a_person_outside_the_visible_set",
    "web:findings": "findings/test_finding_pages.py::test_the_list_never_shows_what_the_viewer_may_not_read",
    "web:finding_new": "findings/test_finding_pages.py::test_author_creates_shares_and_attaches_through_the_pages",
    "web:finding": "findings/test_finding_pages.py::test_the_list_never_shows_what_the_viewer_may_not_read",
    "web:finding_share_preview": "findings/test_finding_pages.py::test_author_creates_shares_and_attaches_through_the_pages",
    "web:finding_action": "findings/test_finding_policy_matrix.py",
    "api:*": "api/test_network_api.py, findings/test_findings_api.py, artifacts/test_artifacts_http.py",
    "schema": "api/test_network_api.py::test_openapi_schema_and_docs_are_served",
    "api-docs": "api/test_network_api.py::test_openapi_schema_and_docs_are_served",
    "admin:*": "this file: superusers with MFA only; no protected model is registered",
    "job-claim": "analyses/test_pipeline.py (worker credential + signed ticket)",
    "job-blob": "analyses/test_pipeline.py",
    "job-progress": "analyses/test_pipeline.py",
    "job-result": "analyses/test_pipeline.py",
    "job-fail": "analyses/test_pipeline.py",
}


def _concrete(route: str) -> str:
    if route.startswith("^") or "(?P" in route:
        route = re.sub(r"\(\?P<[^>]+>[^)]*\)", "x", route).strip("^$")
    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<(str|path|uuid):[^>]+>", str(uuid.uuid4()), route)
    return "/" + route


def _covered(name: str) -> bool:
    return name in COVERED_BY or f"{name.split(':')[0]}:*" in COVERED_BY


def test_every_route_has_an_access_test_and_refuses_strangers(network) -> None:
    every = list(routes())
    uncovered = [name for name, _ in every if not _covered(name)]
    assert uncovered == [], f"routes without an access test: {uncovered}"
    anonymous, api_anonymous = Client(), APIClient()
    member = network.person(password="correct horse battery staple 42")
    browser = network.signed_in_client(member)
    token = APIClient(
        HTTP_AUTHORIZATION=f"Bearer {api_token_create(actor=principal_for(member), name='walk', scopes=['read', 'write', 'analyses'], days=1).secret}"
    )
    leaks = []
    for name, route in every:
        path = _concrete(route)
        for method in ("get", "post"):
            client = api_anonymous if path.startswith("/api/v1/") else anonymous
            status = getattr(client, method)(path).status_code
            if 200 <= status < 300 and name not in PUBLIC:
                leaks.append(f"anonymous {method.upper()} {path} -> {status}")
            if "<" in route or "(?P" in route:
                as_member = token if path.startswith("/api/v1/") else browser
                status = getattr(as_member, method)(path).status_code
                if 200 <= status < 300 and name not in PUBLIC and not name.startswith("admin:"):
                    leaks.append(f"member {method.upper()} {path} (unknown ids) -> {status}")
            if name.startswith("admin:") and name not in PUBLIC:
                status = getattr(browser, method)(path).status_code
                if 200 <= status < 300:
                    leaks.append(f"non-superuser {method.upper()} {path} -> {status}")
    assert leaks == []
    assert len(every) > 60
