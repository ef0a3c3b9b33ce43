"""The admin site with two-factor sign-in, and the security log's admin.

The apps register their admins on ``django.contrib.admin.site`` as usual; ``install()``
(called from ``CasetrackerConfig.ready()``) turns that same site into a StaffAdminSite, so
every registration keeps working and no URL changes.
"""

from django.conf import settings
from django.contrib import admin

from casetracker.admin import ReadOnlyAdmin
from casetracker.integrity import AuditLink, head_link
from casetracker.models import AccountChange
from casetracker.security import SecurityEvent
from casetracker.two_factor import StaffAuthenticationForm

# How many account changes and security events the admin home page lists.
RECENT_ACCOUNT_CHANGES = 10
RECENT_SECURITY_EVENTS = 10

# The home page's work lists, contributed by the apps above this one (cases.home): each a
# function of the request returning a panel (a dict with a "template" and its context) or
# None when the user has nothing to see there.
HOME_PANELS = []


def home_panel(function):
    """Register a panel of the admin home page (decorator)."""
    HOME_PANELS.append(function)
    return function


class StaffAdminSite(admin.AdminSite):
    """The admin, open only to active staff who passed the second factor in this session
    (when ``settings.REQUIRE_2FA``, read on every request)."""

    # No "View site" link: there is no public site yet, and "/" leads back to the admin.
    site_url = None
    login_form = StaffAuthenticationForm
    login_template = "admin/staff_login.html"
    index_template = "admin/staff_index.html"

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        if not settings.REQUIRE_2FA:
            return True
        is_verified = getattr(request.user, "is_verified", None)  # set by OTPMiddleware
        return callable(is_verified) and is_verified()

    def index(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        # The audit chain's head, for those who keep a copy of it outside the server.
        if request.user.has_perm("casetracker.view_auditlink"):
            extra_context["audit_head"] = head_link()
        # Who created, re-roled, reset or (de)activated which staff account lately, so that
        # every Administrator sees what any one of them did (casetracker.accounts).
        if request.user.has_perm("casetracker.view_accountchange"):
            changes = AccountChange.objects.visible_to(request.user)
            changes = changes.select_related("actor", "account")
            extra_context["account_changes"] = changes[:RECENT_ACCOUNT_CHANGES]
        if request.user.has_perm("casetracker.view_securityevent"):
            extra_context["security_events"] = SecurityEvent.objects.all()[:RECENT_SECURITY_EVENTS]
        extra_context["home_panels"] = [
            panel for panel in (function(request) for function in HOME_PANELS) if panel
        ]
        return super().index(request, extra_context)


class SecurityEventAdmin(ReadOnlyAdmin):
    """The security log, read-only for everyone: superusers and Administrators may view it."""

    list_display = ("created_at", "kind", "username", "ip_address", "path", "detail")
    list_filter = ("kind", "created_at")
    search_fields = ("username", "ip_address", "path")
    date_hierarchy = "created_at"
    list_per_page = 100


class AuditLinkAdmin(ReadOnlyAdmin):
    """The audit chain (casetracker.integrity), read-only for everyone."""

    list_display = ("position", "created_at", "record_type", "record_pk", "hash")
    search_fields = ("=hash", "=content_hash")
    list_per_page = 100


def install():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin.site.__class__ = StaffAdminSite
    admin.site.register(SecurityEvent, SecurityEventAdmin)
    admin.site.register(AuditLink, AuditLinkAdmin)
    # django-otp registers an admin for devices that can show their secret keys; devices are
    # managed by their owners (enrolment) and reset with `manage.py reset_two_factor`.
    if admin.site.is_registered(TOTPDevice):
        admin.site.unregister(TOTPDevice)
