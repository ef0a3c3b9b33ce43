"""Partner token authentication: ``Authorization: Token <key>`` or ``Bearer <key>``."""

import datetime

from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import authentication, exceptions, permissions

from api.models import PartnerToken

KEYWORDS = ("token", "bearer")
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


class PartnerUser(AnonymousUser):
    """Stands for a partner in ``request.user``: not a staff account, no Django permissions."""

    def __init__(self, partner):
        self.partner = partner

    def __str__(self):
        return gettext("partner %(name)s") % {"name": self.partner}


class PartnerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header:
            return None
        if header[0].lower() not in KEYWORDS or len(header) != 2:
            raise exceptions.AuthenticationFailed(
                gettext(
                    "Send the token as “Authorization: Token <key>” or “Authorization: Bearer "
                    "<key>”."
                )
            )
        try:
            token = PartnerToken.objects.get_from_key(header[1])
        except PartnerToken.DoesNotExist:
            raise exceptions.AuthenticationFailed(gettext("Invalid or revoked token.")) from None
        if token.has_expired:
            raise exceptions.AuthenticationFailed(gettext("This token has expired."))
        if not token.partner.is_active:
            raise exceptions.AuthenticationFailed(gettext("This partner's access is suspended."))
        # When it was last used, to the minute: a write a minute at most, not one a request
        # (every request of a partner's script would queue on the token's row).
        now = timezone.now()
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
        PartnerToken.objects.filter(stale, pk=token.pk).update(last_used_at=now)
        return PartnerUser(token.partner), token

    def authenticate_header(self, request):
        return 'Token realm="casetracker partner API"'


class ReadPermission(permissions.BasePermission):
    """Deny by default, reads only: a request passes when it reads (GET, HEAD, OPTIONS) and
    ``may_read`` says its caller may. ``may_read`` alone tells a write by a reader (answered
    405, api.views.ReadOnly) from a write by anyone else (401 or 403)."""

    def may_read(self, request) -> bool:
        raise NotImplementedError

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS and self.may_read(request)


class IsPartner(ReadPermission):
    """Only requests authenticated with a usable partner token."""

    def may_read(self, request) -> bool:
        return isinstance(request.auth, PartnerToken)


class IsPartnerOrStaff(ReadPermission):
    """For the schema and docs pages: a partner token, or a signed-in staff member."""

    def may_read(self, request) -> bool:
        user = request.user
        staff = bool(user and user.is_authenticated and user.is_staff and user.is_active)
        return isinstance(request.auth, PartnerToken) or staff
