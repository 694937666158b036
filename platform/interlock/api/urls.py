from django.urls import path

from interlock.api import (
    analysis_views,
    artifact_views,
    checkpoint_views,
    dataset_views,
    disclosure_views,
    finding_views,
    views,
)

app_name = "api"

urlpatterns = [
    path("me/", views.MeApi.as_view(), name="me"),
    path("organisations/", views.OrganisationListApi.as_view(), name="organisation-list"),
    path("organisations/<str:org_id>/", views.OrganisationDetailApi.as_view(), name="organisation-detail"),
    path(
        "organisations/<str:org_id>/members/",
        views.OrganisationMembersApi.as_view(),
        name="organisation-members",
    ),
    path(
        "organisations/<str:org_id>/approve/",
        views.OrganisationApproveApi.as_view(),
        name="organisation-approve",
    ),
    path(
        "organisations/<str:org_id>/suspend/",
        views.OrganisationSuspendApi.as_view(),
        name="organisation-suspend",
    ),
    path(
        "organisations/<str:org_id>/reinstate/",
        views.OrganisationReinstateApi.as_view(),
        name="organisation-reinstate",
    ),
    path(
        "organisations/<str:org_id>/remove/",
        views.OrganisationRemoveApi.as_view(),
        name="organisation-remove",
    ),
    path(
        "organisations/<str:org_id>/invitations/",
        views.OrganisationInviteApi.as_view(),
        name="organisation-invite",
    ),
    path("people/", views.PersonListApi.as_view(), name="person-list"),
    path("people/<str:person_id>/", views.PersonDetailApi.as_view(), name="person-detail"),
    path("people/<str:person_id>/suspend/", views.PersonSuspendApi.as_view(), name="person-suspend"),
    path("people/<str:person_id>/reinstate/", views.PersonReinstateApi.as_view(), name="person-reinstate"),
    path("people/<str:person_id>/role/", views.PersonRoleApi.as_view(), name="person-role"),
    path("people/<str:person_id>/clearance/", views.PersonClearanceApi.as_view(), name="person-clearance"),
    path(
        "people/<str:person_id>/clearance/approve/",
        views.PersonClearanceApproveApi.as_view(),
        name="person-clearance-approve",
    ),
    path("sharing-groups/", views.SharingGroupListApi.as_view(), name="sharing-group-list"),
    path(
        "sharing-groups/<str:group_id>/", views.SharingGroupDetailApi.as_view(), name="sharing-group-detail"
    ),
    path("audit-events/", views.AuditEventListApi.as_view(), name="audit-event-list"),
    path("tokens/", views.TokenListApi.as_view(), name="token-list"),
    path("findings/", finding_views.FindingListApi.as_view(), name="finding-list"),
    path("findings/export/", finding_views.FindingExportApi.as_view(), name="finding-export"),
    path("findings/<str:finding_id>/", finding_views.FindingDetailApi.as_view(), name="finding-detail"),
    path(
        "findings/<str:finding_id>/revisions/",
        finding_views.FindingRevisionsApi.as_view(),
        name="finding-revisions",
    ),
    path(
        "findings/<str:finding_id>/revisions/<int:number>/",
        finding_views.FindingRevisionDetailApi.as_view(),
        name="finding-revision",
    ),
    path("findings/<str:finding_id>/share/", finding_views.FindingShareApi.as_view(), name="finding-share"),
    path(
        "findings/<str:finding_id>/share/preview/",
        finding_views.FindingSharePreviewApi.as_view(),
        name="finding-share-preview",
    ),
    path(
        "findings/<str:finding_id>/grants/", finding_views.FindingGrantsApi.as_view(), name="finding-grants"
    ),
    path(
        "findings/<str:finding_id>/grants/<str:person_id>/",
        finding_views.FindingGrantDetailApi.as_view(),
        name="finding-grant",
    ),
    path(
        "findings/<str:finding_id>/withdraw/",
        finding_views.FindingWithdrawApi.as_view(),
        name="finding-withdraw",
    ),
    path(
        "findings/<str:finding_id>/comments/",
        finding_views.FindingCommentsApi.as_view(),
        name="finding-comments",
    ),
    path(
        "findings/<str:finding_id>/readers/",
        finding_views.FindingReadersApi.as_view(),
        name="finding-readers",
    ),
    path("notifications/", finding_views.NotificationListApi.as_view(), name="notification-list"),
    path("checkpoints/", checkpoint_views.CheckpointListApi.as_view(), name="checkpoint-list"),
    path(
        "checkpoints/<str:checkpoint_id>/",
        checkpoint_views.CheckpointDetailApi.as_view(),
        name="checkpoint-detail",
    ),
    path(
        "checkpoints/<str:checkpoint_id>/approve/",
        checkpoint_views.CheckpointApproveApi.as_view(),
        name="checkpoint-approve",
    ),
    path(
        "checkpoints/<str:checkpoint_id>/revoke/",
        checkpoint_views.CheckpointRevokeApi.as_view(),
        name="checkpoint-revoke",
    ),
    path("datasets/", dataset_views.DatasetListApi.as_view(), name="dataset-list"),
    path("datasets/<str:dataset_id>/", dataset_views.DatasetDetailApi.as_view(), name="dataset-detail"),
    path("analyses/", analysis_views.AnalysisListApi.as_view(), name="analysis-list"),
    path("analyses/<str:analysis_id>/", analysis_views.AnalysisDetailApi.as_view(), name="analysis-detail"),
    path(
        "analyses/<str:analysis_id>/cancel/",
        analysis_views.AnalysisCancelApi.as_view(),
        name="analysis-cancel",
    ),
    path(
        "analyses/<str:analysis_id>/releases/",
        analysis_views.AnalysisReleaseApi.as_view(),
        name="analysis-release",
    ),
    path(
        "analysis-releases/<str:release_id>/vote/",
        analysis_views.AnalysisReleaseVoteApi.as_view(),
        name="analysis-release-vote",
    ),
    path("analysis-access/", analysis_views.AnalysisAccessListApi.as_view(), name="analysis-access-list"),
    path(
        "analysis-access/<str:grant_id>/decide/",
        analysis_views.AnalysisAccessDecideApi.as_view(),
        name="analysis-access-decide",
    ),
    path("disclosures/", disclosure_views.DisclosureListApi.as_view(), name="disclosure-list"),
    path(
        "disclosures/<str:case_id>/", disclosure_views.DisclosureDetailApi.as_view(), name="disclosure-detail"
    ),
    path(
        "disclosures/<str:case_id>/<str:action>/",
        disclosure_views.DisclosureActionApi.as_view(),
        name="disclosure-action",
    ),
    path("analysis-kinds/", checkpoint_views.AnalysisKindListApi.as_view(), name="analysis-kind-list"),
    path("artifacts/", artifact_views.ArtifactListApi.as_view(), name="artifact-list"),
    path("artifacts/<str:artifact_id>/", artifact_views.ArtifactDetailApi.as_view(), name="artifact-detail"),
    path(
        "artifacts/<str:artifact_id>/content/",
        artifact_views.ArtifactContentApi.as_view(),
        name="artifact-content",
    ),
]
