"""Session lifetime, the second-factor gate and the refused-access log (README "Staff account
security"). Their places in ``settings.MIDDLEWARE`` matter; the comments there say why."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseRedirect

from casetracker import two_factor
from casetracker.security import SIGNED_IN_AT, SecurityEvent, record


class SessionLifetimeMiddleware:
    """Signs out a session SESSION_ABSOLUTE_AGE seconds after it signed in, however active.

    The idle timeout is Django's own (SESSION_COOKIE_AGE, renewed on every request). A session
    without a sign-in time is older than this rule and ends too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            signed_in_at = request.session.get(SIGNED_IN_AT)
            if signed_in_at is None or time.time() - signed_in_at > settings.SESSION_ABSOLUTE_AGE:
                request.logout_reason = "session reached its maximum age"
                logout(request)  # the request goes on as an anonymous one
        return self.get_response(request)


class SecondFactorMiddleware:
    """With REQUIRE_2FA, a signed-in user not yet verified by a TOTP code in this session may
    only open the enrolment and code pages and sign out; anything else redirects there.

    This covers every URL (the admin, evidence downloads, whatever comes next); the admin site
    checks verification again itself (casetracker.sites.StaffAdminSite).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.REQUIRE_2FA
            and user.is_authenticated
            and not user.is_verified()
            and request.path not in two_factor.open_paths()
        ):
            url = two_factor.next_step_url(user)
            if request.method == "GET":
                url += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(url)
        return self.get_response(request)


class RefusedAccessLogMiddleware:
    """Records 403 and 404 answers to signed-in staff on the admin: staff probing for records
    they may not see is worth knowing about. Evidence downloads log every attempt, refused
    ones included, themselves (sources.views)."""

    watched_prefixes = ("/admin/",)

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code in (403, 404)
            and request.user.is_authenticated
            and request.user.is_staff
            and request.path.startswith(self.watched_prefixes)
        ):
            kind = (
                SecurityEvent.Kind.ACCESS_DENIED
                if response.status_code == 403
                else SecurityEvent.Kind.NOT_FOUND
            )
            record(kind, request, request.user.get_username(), f"HTTP {response.status_code}")
        return response
