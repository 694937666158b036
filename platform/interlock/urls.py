"""Top-level routes: pages, the REST API under /api/v1/, its schema and self-hosted docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from interlock.analyses import internal_api
from interlock.core.metrics import metrics_view
from interlock.disclosure import public

urlpatterns = [
    path("metrics", metrics_view, name="metrics"),
    path("public/", public.public_page, name="public"),
    path("public/feed.atom", public.PublicAtomFeed(), name="public-feed-atom"),
    path("public/feed.json", public.public_json_feed, name="public-feed-json"),
    path("", include("interlock.web.urls")),
    path("api/v1/", include("interlock.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its start-up script served as a file of its own (the CSP allows no inline script)
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="web/api_docs.html"),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
    path("internal/jobs/claim/", internal_api.claim_view, name="job-claim"),
    path("internal/jobs/blob/", internal_api.blob_view, name="job-blob"),
    path("internal/jobs/progress/", internal_api.progress_view, name="job-progress"),
    path("internal/jobs/result/", internal_api.result_view, name="job-result"),
    path("internal/jobs/fail/", internal_api.fail_view, name="job-fail"),
]

handler400 = "interlock.web.error_views.bad_request"
handler403 = "interlock.web.error_views.permission_denied"
handler404 = "interlock.web.error_views.not_found"
handler500 = "interlock.web.error_views.server_error"
