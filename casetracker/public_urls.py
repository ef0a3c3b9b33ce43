"""The addresses of a process serving the public website alone (PUBLIC_SITE_ONLY): the
website and its icon; no admin, staff sign-in, evidence downloads or partner API."""

from django.urls import include, path

from casetracker.urls import favicon

handler404 = "casetracker.errors.page_not_found"

urlpatterns = [
    path("", include("website.urls")),
    path("favicon.ico", favicon),
]
