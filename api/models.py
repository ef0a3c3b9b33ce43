"""Partner groups, their API tokens (stored hashed), and the log of what they asked for."""

import uuid
from datetime import timedelta
from urllib.parse import quote, urlencode

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from casetracker.audit import AuditedHistory
from casetracker.fields import EncryptedCharField, EncryptedEmailField, EncryptedTextField
from casetracker.models import DomainModel

DEFAULT_TOKEN_DAYS = 365


class Partner(DomainModel):
    """A group that reads published cases through the API: an NGO, a newsroom, a UN team."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    organisation = models.ForeignKey(
        "people.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="partner_accounts",
        verbose_name=_("organisation"),
        help_text=_("The organisation, if it is also recorded among organisations."),
    )
    # Encrypted at rest, like every contact detail: a seized database must not say who at a
    # partner group works with the rights group.
    contact_name = EncryptedCharField(_("contact name"), max_length=200, blank=True)
    contact_email = EncryptedEmailField(_("contact email"), blank=True)
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_("Untick to cut off every token of this partner at once."),
    )
    notes = EncryptedTextField(_("notes"), blank=True, help_text=_("Restricted. Staff only."))

    history = AuditedHistory()

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self):
        return self.name

    def issue_token(self, name: str = "", days: int = DEFAULT_TOKEN_DAYS):
        """Create a token; returns (token, key). The key is shown once and never stored."""
        if days < 1:
            raise ValueError(gettext("A token must be valid for at least one day."))
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

    # The library's fields that staff see, as it defines them but for their names and help
    # in this project's translations.
    prefix = models.CharField(_("prefix"), max_length=8, unique=True, editable=False)
    created = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    name = models.CharField(
        _("name"),
        max_length=50,
        blank=False,
        default=None,
        help_text=_("A free-form name for the token. Need not be unique. 50 characters max."),
    )
    revoked = models.BooleanField(
        _("revoked"),
        blank=True,
        default=False,
        help_text=_("A revoked token can no longer be used. This cannot be undone."),
    )
    expiry_date = models.DateTimeField(
        _("expires"),
        blank=True,
        null=True,
        help_text=_("Once the token expires, it can no longer be used."),
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="tokens", verbose_name=_("partner")
    )
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)

    objects = PartnerTokenManager()
    # Issuing and revoking are audited; the history holds the hash, never the key.
    history = AuditedHistory()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("partner token")
        verbose_name_plural = _("partner tokens")


# The request log keeps every parameter's name, but values only of these: codes from a closed
# list, dates and times, numbers and page positions, and (if they are uids) records' uids.
# Free text (a search, a place given by its name) and the value of an unknown parameter
# (often a misspelt "search") are kept by name only: what partners look for stays theirs.
LOGGED_VALUES = frozenset(
    {
        "status",
        "ethnicity",
        "gender",
        "event_kind",
        "min_evidence_level",
        "date_from",
        "date_to",
        "dates",
        "updated_since",
        "since",
        "ordering",
        "page_size",
        "cursor",
        "format",
        "formats",
        "jsonl",
    }
)
LOGGED_UIDS = frozenset({"charge", "facility", "incident", "location"})


def _is_uid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def loggable_value(name: str, value: str) -> bool:
    """Whether a log may keep this parameter's value (else only its name)."""
    return name in LOGGED_VALUES or (name in LOGGED_UIDS and _is_uid(value))


def loggable_filters(filters: dict[str, list[str]]) -> dict[str, list[str]]:
    """The case filters of an export as its log keeps them: the values loggable_query keeps,
    and for a search or a place given by name only that it was given (an empty list)."""
    return {
        name: [value for value in values if loggable_value(name, value)]
        for name, values in filters.items()
    }


def loggable_query(params) -> str:
    """The query string to log for ``params`` (a QueryDict): ``search&status=detained`` for
    ``?search=Kanat&status=detained``."""
    parts = []
    for name, values in params.lists():
        for value in values:
            if loggable_value(name, value):
                parts.append(urlencode({name: value}))
            elif quote(name) not in parts:
                parts.append(quote(name))
    return "&".join(parts)


class ApiRequest(models.Model):
    """One token-authenticated API request: who asked for what. Never the token itself."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, related_name="requests", verbose_name=_("partner")
    )
    token_name = models.CharField(_("token name"), max_length=50)
    method = models.CharField(_("method"), max_length=10)
    path = models.CharField(_("path"), max_length=300)
    query = models.CharField(
        _("query"),
        max_length=1000,
        blank=True,
        help_text=_(
            "The parameters asked for. Values are kept only where they are codes, uids, "
            "dates, numbers or page positions; of a search, a place given by its name or an "
            "unknown parameter, only the name."
        ),
    )
    status = models.PositiveSmallIntegerField(_("status"))

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("API request")
        verbose_name_plural = _("API request log")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.partner} {self.method} {self.path}"
