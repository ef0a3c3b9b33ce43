"""Partner groups, their API tokens (stored hashed), and the log of what they asked for."""

from datetime import timedelta

from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from casetracker.audit import AuditedHistory
from casetracker.fields import EncryptedCharField, EncryptedEmailField, EncryptedTextField
from casetracker.models import DomainModel

DEFAULT_TOKEN_DAYS = 365


class Partner(DomainModel):
    """A group that reads published cases through the API: an NGO, a newsroom, a UN team."""

    name = models.CharField(max_length=200, unique=True)
    organisation = models.ForeignKey(
        "people.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partner_accounts",
        help_text="The organisation, if it is also recorded among organisations.",
    )
    # Encrypted at rest, like every contact detail: a seized database must not say who at a
    # partner group works with the rights group.
    contact_name = EncryptedCharField(max_length=200, blank=True)
    contact_email = EncryptedEmailField(blank=True)
    is_active = models.BooleanField(
        "active",
        default=True,
        help_text="Untick to cut off every token of this partner at once.",
    )
    notes = EncryptedTextField(blank=True, help_text="Restricted. Staff only.")

    history = AuditedHistory()

    class Meta:
        ordering = ["name"]
        verbose_name = "partner"
        verbose_name_plural = "partners"

    def __str__(self):
        return self.name

    def issue_token(self, name: str = "", days: int = DEFAULT_TOKEN_DAYS):
        """Create a token; returns (token, key). The key is shown once and never stored."""
        if days < 1:
            raise ValueError("A token must be valid for at least one day.")
        return PartnerToken.objects.create_key(
            partner=self,
            name=(name or f"{self.name} token")[:50],
            expiry_date=timezone.now() + timedelta(days=days),
        )


class PartnerTokenManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        # A request needs the partner's name and status, not its encrypted contacts and notes.
        return (
            super()
            .get_usable_keys()
            .select_related("partner")
            .defer("partner__contact_name", "partner__contact_email", "partner__notes")
        )


class PartnerToken(AbstractAPIKey):
    """An API token of a partner: only a SHA-512 hash of the key is stored."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="tokens")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = PartnerTokenManager()
    # Issuing and revoking are audited; the history holds the hash, never the key.
    history = AuditedHistory()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "partner token"
        verbose_name_plural = "partner tokens"


class ApiRequest(models.Model):
    """One token-authenticated API request: who asked for what. Never the token itself."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="requests")
    token_name = models.CharField(max_length=50)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    query = models.CharField(max_length=1000, blank=True)
    status = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "API request"
        verbose_name_plural = "API request log"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.partner} {self.method} {self.path}"
