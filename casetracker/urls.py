from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from casetracker import two_factor
from figures.views import statistics_view
from languages.views import set_language
from sources.integrity_views import evidence_check
from sources.views import download_evidence

admin.site.site_header = "casetracker"
admin.site.site_title = "casetracker"
admin.site.index_title = _("Case records")

# Refused and missing pages in the admin's look, saying what the step needs (casetracker.errors).
handler403 = "casetracker.errors.permission_denied"
handler404 = "casetracker.errors.page_not_found"


def favicon(request):
    """Clients that do not read the pages' <link rel="icon"> ask for /favicon.ico: send them to
    the static file (looked up per request: its name carries a hash in production)."""
    return redirect(static("casetracker/favicon.ico"))


urlpatterns = [
    # The public website (website app) where the organisation has one; else the admin.
    path("", include("website.urls"))
    if settings.PUBLIC_SITE
    else path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("favicon.ico", favicon),
    path("i18n/setlang/", set_language, name="set_language"),
    path("evidence/<uuid:uid>/download/", download_evidence, name="evidence-download"),
    # Two-factor pages, before the admin's own URLs (its catch-all would take them).
    path("admin/two-factor/setup/", two_factor.enrol, name="two-factor-enrol"),
    path("admin/two-factor/verify/", two_factor.verify, name="two-factor-verify"),
    # The admin's logout refuses users it does not admit, such as those without a second factor.
    path(
        "admin/two-factor/sign-out/",
        LogoutView.as_view(next_page="admin:login"),
        name="two-factor-sign-out",
    ),
    path("admin/evidence-check/", admin.site.admin_view(evidence_check), name="evidence-check"),
    path("admin/statistics/", admin.site.admin_view(statistics_view), name="staff-statistics"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("api.urls")),
]
