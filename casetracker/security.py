"""The security log: sign-ins, sign-outs, failures, lockouts, two-factor events and refused
access, written to the ``casetracker.security`` logger and kept as :class:`SecurityEvent` rows.

Only the event, username, client address, path and a short detail are recorded: never a
password, a one-time code or a query string. The receivers are connected in
``CasetrackerConfig.ready()``; the middleware that records refused access is in
``casetracker.middleware``.
"""

import ipaddress
import logging
import secrets
import time

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger("casetracker.security")

# Session key: when this session signed in (seconds since the epoch), for the absolute timeout.
SIGNED_IN_AT = "casetracker_signed_in_at"


class SecurityEvent(models.Model):
    """One entry of the security log. Written by the application only; nobody edits it."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("signed in")
        LOGOUT = "logout", _("signed out")
        LOGIN_FAILED = "login_failed", _("failed sign-in")
        LOCKOUT = "lockout", _("locked out")
        OTP_ENROLLED = "otp_enrolled", _("two-factor set up")
        OTP_FAILED = "otp_failed", _("wrong two-factor code")
        OTP_RESET = "otp_reset", _("two-factor reset")
        ACCESS_DENIED = "access_denied", _("access refused (403)")
        NOT_FOUND = "not_found", _("not found (404)")
        EVIDENCE_DOWNLOAD = "evidence_download", _("evidence file download")
        EVIDENCE_CHECK = "evidence_check", _("evidence files checked")
        ACCOUNT_CREATED = "account_created", _("staff account created")
        ROLES_CHANGED = "roles_changed", _("roles changed")
        PASSWORD_RESET = "password_reset", _("password set by someone else")
        ACCOUNT_STATUS = "account_status", _("account activated or deactivated")

    created_at = models.DateTimeField(
        _("when"), default=timezone.now, editable=False, db_index=True
    )
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices, db_index=True)
    username = models.CharField(
        _("username"),
        max_length=150,
        blank=True,
        db_index=True,
        help_text=_("The account concerned, or the username typed in a failed sign-in."),
    )
    ip_address = models.GenericIPAddressField(
        _("IP address"),
        null=True,
        blank=True,
        help_text=_("The client's address, as the proxy saw it."),
    )
    path = models.CharField(
        _("path"), max_length=300, blank=True, help_text=_("The page asked for.")
    )
    # Written by the application in English, for machines and auditors: not translated.
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        # Only ever viewed: no role can be given the right to add, change or delete entries.
        default_permissions = ("view",)

    def __str__(self):
        who = self.username or gettext("anonymous")
        return f"{self.get_kind_display()}: {who}"


def client_ip(request) -> str | None:
    """The client's address (``AXES_CLIENT_IP_CALLABLE`` too).

    Behind the TLS proxy every connection comes from the proxy, so the client is the last
    address in X-Forwarded-For: the one our proxy appended (earlier ones the client may forge).
    """
    address = request.META.get("REMOTE_ADDR")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.BEHIND_TLS_PROXY and forwarded:
        address = forwarded.rsplit(",", 1)[-1].strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


# Logged at INFO; everything else (failures, lockouts, refusals, resets) at WARNING.
_ROUTINE = {SecurityEvent.Kind.LOGIN, SecurityEvent.Kind.LOGOUT, SecurityEvent.Kind.OTP_ENROLLED}


def record(kind: str, request=None, username: str = "", detail: str = "") -> SecurityEvent:
    """Log a security event and keep it in the database."""
    ip = client_ip(request) if request is not None else None
    path = (getattr(request, "path", "") or "")[:300]
    username = (username or "")[:150]
    level = logging.INFO if kind in _ROUTINE else logging.WARNING
    logger.log(
        level,
        "security event=%s username=%r ip=%s path=%r detail=%r",
        kind,
        username,
        ip,
        path,
        detail,
        extra={"event": kind, "username": username, "ip": ip, "path": path},
    )
    # The event and its link in the audit chain (casetracker.integrity) commit together.
    with transaction.atomic():
        return SecurityEvent.objects.create(
            kind=kind, username=username, ip_address=ip, path=path, detail=detail[:200]
        )


def lockout_response(request, original_response, credentials=None):
    """``AXES_LOCKOUT_CALLABLE``: a locked-out sign-in gets exactly the page an ordinary failed
    sign-in gets. A "locked" page would tell an attacker the lock exists, and when it lifts.

    Past the limit, django-axes refuses before any password is checked; hashing one anyway
    keeps the answer from coming back faster than a wrong password's would.
    """
    if (getattr(request, "axes_failures_since_start", 0) or 0) > settings.AXES_FAILURE_LIMIT:
        make_password(secrets.token_urlsafe())
    return original_response


# --- receivers ------------------------------------------------------------------------------


def on_login(sender, request, user, **kwargs):
    request.session[SIGNED_IN_AT] = int(time.time())
    record(SecurityEvent.Kind.LOGIN, request, user.get_username())


def on_logout(sender, request, user, **kwargs):
    username = user.get_username() if user is not None else ""
    record(SecurityEvent.Kind.LOGOUT, request, username, getattr(request, "logout_reason", ""))


def on_login_failed(sender, credentials, request=None, second_factor=False, **kwargs):
    # Django has already masked the password in ``credentials``; only the username is kept.
    kind = SecurityEvent.Kind.OTP_FAILED if second_factor else SecurityEvent.Kind.LOGIN_FAILED
    record(kind, request, str(credentials.get("username") or ""))


def on_locked_out(sender, request, username, ip_address, **kwargs):
    record(SecurityEvent.Kind.LOCKOUT, request, username or "")


def connect_receivers():
    from axes.signals import user_locked_out

    uid = "casetracker.security"
    user_logged_in.connect(on_login, dispatch_uid=f"{uid}.login")
    user_logged_out.connect(on_logout, dispatch_uid=f"{uid}.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid=f"{uid}.login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid=f"{uid}.locked_out")
