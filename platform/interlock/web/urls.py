from django.urls import path

from interlock.web import (
    analysis_views,
    artifact_views,
    disclosure_views,
    finding_views,
    key_views,
    views,
)

app_name = "web"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("accounts/mfa/", views.mfa_view, name="mfa"),
    path("accounts/agreement/", views.agreement_view, name="agreement"),
    path("accounts/reauth/", views.reauth_view, name="reauth"),
    path("accounts/security/", views.account_security_view, name="account_security"),
    path("accounts/authenticator/", views.authenticator_view, name="authenticator"),
    path("accounts/tokens/", views.tokens_view, name="tokens"),
    path("accounts/tokens/<int:token_id>/revoke/", views.revoke_token_view, name="revoke_token"),
    path("join/<str:secret>/", views.invitation_view, name="invitation"),
    path("network/", views.directory_view, name="directory"),
    path("network/organisations/<str:org_id>/", views.organisation_view, name="organisation"),
    path("network/sharing-groups/", views.sharing_groups_view, name="sharing_groups"),
    path("network/vetting/", views.vetting_view, name="vetting"),
    path("network/vetting/organisations/<str:org_id>/<str:verb>/", views.vet_org_view, name="vet_org"),
    path(
        "network/vetting/people/<str:person_id>/clearance/",
        views.approve_clearance_view,
        name="approve_clearance",
    ),
    path("network/my-organisation/", views.org_admin_view, name="org_admin"),
    path("network/my-organisation/invite/", views.invite_view, name="invite"),
    path(
        "network/my-organisation/people/<str:person_id>/clearance/",
        views.set_clearance_view,
        name="set_clearance",
    ),
    path(
        "network/my-organisation/people/<str:person_id>/<str:verb>/",
        views.person_standing_view,
        name="person_standing",
    ),
    path("network/audit/", views.audit_view, name="audit"),
    path("network/keys/", key_views.keys_view, name="keys"),
    path("network/keys/<str:org_id>/<int:version>/destroy/", key_views.key_shred_view, name="key_shred"),
    path("network/library/", artifact_views.library_view, name="library"),
    path("analyses/", analysis_views.analyses_view, name="analyses"),
    path("analyses/request/", analysis_views.analysis_request_view, name="analysis_request"),
    path("analyses/<str:analysis_id>/", analysis_views.analysis_view, name="analysis"),
    path("analyses/<str:analysis_id>/status/", analysis_views.analysis_status_view, name="analysis_status"),
    path("analyses/<str:analysis_id>/cancel/", analysis_views.analysis_cancel_view, name="analysis_cancel"),
    path(
        "analyses/<str:analysis_id>/plots/<str:plot_id>.png",
        analysis_views.analysis_plot_view,
        name="analysis_plot",
    ),
    path("disclosures/", disclosure_views.disclosures_view, name="disclosures"),
    path("disclosures/<str:case_id>/", disclosure_views.disclosure_view, name="disclosure"),
    path(
        "disclosures/<str:case_id>/<str:action>/",
        disclosure_views.disclosure_action_view,
        name="disclosure_action",
    ),
    path(
        "findings/<str:finding_id>/disclose/",
        disclosure_views.disclosure_new_view,
        name="disclosure_new",
    ),
    path("findings/", finding_views.finding_list_view, name="findings"),
    path("findings/new/", finding_views.finding_new_view, name="finding_new"),
    path("findings/<str:finding_id>/", finding_views.finding_detail_view, name="finding"),
    path(
        "findings/<str:finding_id>/share/preview/",
        finding_views.finding_share_preview_view,
        name="finding_share_preview",
    ),
    path("findings/<str:finding_id>/<str:verb>/", finding_views.finding_action_view, name="finding_action"),
    path(
        "network/library/<str:artifact_id>/download/",
        artifact_views.library_download_view,
        name="library_download",
    ),
]
