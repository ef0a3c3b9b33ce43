from csp.constants import SELF
from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.renderers import JSONRenderer
from rest_framework.routers import SimpleRouter

from api import statistics, views
from api.authentication import IsPartnerOrStaff, PartnerTokenAuthentication
from exports.api import CaseExportView, ExportJobViewSet

app_name = "api"

router = SimpleRouter()
router.register("cases", views.CaseViewSet, basename="case")
router.register("people", views.PersonViewSet, basename="person")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("locations", views.LocationViewSet, basename="location")
router.register("charges", views.ChargeViewSet, basename="charge")
router.register("sources", views.SourceViewSet, basename="source")


class DocsAccess(views.ReadOnly):
    """The schema and its docs page: for partners (token) and signed-in staff, no one else.
    Like the partner endpoints, read-only (a write is a 405), never cached, and refused in
    JSON (not YAML or HTML)."""

    authentication_classes = [PartnerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsPartnerOrStaff]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response


class SchemaView(DocsAccess, SpectacularAPIView):
    pass


class DocsPage(DocsAccess, SpectacularSwaggerSplitView):
    """Swagger UI under the site's Content-Security-Policy, script-src 'self' included: the UI
    comes from our static files (drf-spectacular-sidecar), its settings script from this same
    view (?script, the "split" view), and templates/api/docs.html drops the package page's
    inline <style>."""

    url_name = "api:schema"
    template_name = "api/docs.html"


urlpatterns = [
    path("schema/", SchemaView.as_view(), name="schema"),
    # One exception to the policy, on this page only: Swagger UI's stylesheet draws its icons
    # as data: SVG images (an image runs no script).
    path("docs/", csp_update({"img-src": [SELF, "data:"]})(DocsPage.as_view()), name="docs"),
    path("", include(router.urls)),
    path(
        "statistics/", statistics.StatisticsViewSet.as_view({"get": "summary"}), name="statistics"
    ),
    # The export bundle (exports/api.py): published cases as a zip of files, written while
    # the partner waits (small exports) or by a background job the partner follows.
    path(
        "exports/cases.zip",
        CaseExportView.as_view({"get": "list"}),
        name="export-cases",
    ),
    path(
        "exports/",
        ExportJobViewSet.as_view({"get": "list", "post": "create"}),
        name="export-jobs",
    ),
    path("exports/<uuid:uid>/", ExportJobViewSet.as_view({"get": "retrieve"}), name="export-job"),
    path(
        "exports/<uuid:uid>/file/",
        ExportJobViewSet.as_view({"get": "file"}),
        name="export-job-file",
    ),
    # [\s\S], not ".": an address with a line break in it is not found here too, in JSON.
    re_path(r"^(?P<path>[\s\S]*)$", views.not_found),
]
