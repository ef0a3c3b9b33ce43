"""Partner token authentication: ``Authorization: Token <key>`` or ``Bearer <key>``."""

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from api.models import PartnerToken

KEYWORDS = ("token", "bearer")


class PartnerUser(AnonymousUser):
    """Stands for a partner in ``request.user``: not a staff account, no Django permissions."""

    def __init__(self, partner):
        self.partner = partner

    def __str__(self):
        return f"partner {self.partner}"


class PartnerTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header:
            return None
        if header[0].lower() not in KEYWORDS or len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as “Authorization: Token <key>” or “Authorization: Bearer <key>”."
            )
        try:
            token = PartnerToken.objects.get_from_key(header[1])
        except PartnerToken.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.") from None
        if token.has_expired:
            raise exceptions.AuthenticationFailed("This token has expired.")
        if not token.partner.is_active:
            raise exceptions.AuthenticationFailed("This partner's access is suspended.")
        PartnerToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return PartnerUser(token.partner), token

    def authenticate_header(self, request):
        return 'Token realm="casetracker partner API"'


class IsPartner(permissions.BasePermission):
    """Deny by default: only requests authenticated with a usable partner token, reads only."""

    def has_permission(self, request, view):
        return isinstance(request.auth, PartnerToken) and request.method in permissions.SAFE_METHODS


class IsPartnerOrStaff(permissions.BasePermission):
    """For the schema and docs pages: a partner token, or a signed-in staff member."""

    def has_permission(self, request, view):
        user = request.user
        staff = bool(user and user.is_authenticated and user.is_staff and user.is_active)
        return request.method in permissions.SAFE_METHODS and (
            isinstance(request.auth, PartnerToken) or staff
        )
