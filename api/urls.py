from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.routers import SimpleRouter

from api import views
from api.authentication import IsPartnerOrStaff, PartnerTokenAuthentication

app_name = "api"

router = SimpleRouter()
router.register("cases", views.CaseViewSet, basename="case")
router.register("people", views.PersonViewSet, basename="person")
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("locations", views.LocationViewSet, basename="location")
router.register("charges", views.ChargeViewSet, basename="charge")
router.register("sources", views.SourceViewSet, basename="source")

# The schema and its docs page: for partners (token) and signed-in staff, no one else.
docs_access = {
    "authentication_classes": [PartnerTokenAuthentication, SessionAuthentication],
    "permission_classes": [IsPartnerOrStaff],
}

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(**docs_access), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", **docs_access),
        name="docs",
    ),
    path("", include(router.urls)),
]
