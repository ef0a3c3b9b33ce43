"""UN submissions: a case sent to the Working Group on Arbitrary Detention or as an urgent
appeal, tracked from the draft to the opinion adopted; the consent that allows it; and the
log of every draft generated (submissions.services, submissions.drafts)."""

import itertools
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cases.models import Case
from casetracker.audit import AuditedHistory
from casetracker.fields import EncryptedTextField
from casetracker.models import DomainQuerySet, StaffStampedModel
from people.models import Person


class Mechanism(models.TextChoices):
    WGAD = "wgad", _("Working Group on Arbitrary Detention (regular communication)")
    URGENT_APPEAL = "urgent_appeal", _("Special procedures: urgent appeal")


class Status(models.TextChoices):
    DRAFTED = "drafted", _("Drafted")
    SENT = "sent", _("Sent")
    TRANSMITTED = "transmitted", _("Transmitted to the government")
    REPLIED = "replied", _("Government replied")
    OPINION_ADOPTED = "opinion_adopted", _("Opinion adopted")
    FOLLOW_UP = "follow_up", _("Follow-up")


# The dates each status needs. The Working Group may adopt an opinion without the
# government's reply, and the organisation may never learn when it was transmitted.
DATES_NEEDED = {
    Status.SENT: ("sent_on",),
    Status.TRANSMITTED: ("sent_on", "transmitted_on"),
    Status.REPLIED: ("sent_on", "replied_on"),
    Status.OPINION_ADOPTED: ("sent_on",),
    Status.FOLLOW_UP: ("sent_on",),
}


class Category(models.TextChoices):
    """The Working Group's five categories of arbitrary deprivation of liberty."""

    I = "I", _("Category I: no legal basis can be invoked to justify the detention")  # noqa: E741
    II = (
        "II",
        _(
            "Category II: it results from the exercise of rights and freedoms (expression, "
            "religion, assembly, association…)"
        ),
    )
    III = "III", _("Category III: the norms of a fair trial were gravely violated")
    IV = (
        "IV",
        _(
            "Category IV: prolonged administrative custody of asylum seekers, immigrants or "
            "refugees without review"
        ),
    )
    V = (
        "V",
        _(
            "Category V: discrimination on grounds such as national, ethnic or social origin, "
            "language or religion"
        ),
    )


class Finding(models.TextChoices):
    NONE = "", _("No finding yet")
    ARBITRARY = "arbitrary", _("Arbitrary")
    NOT_ARBITRARY = "not_arbitrary", _("Not arbitrary")
    FILED = "filed", _("Filed without an opinion on the merits (e.g. after release)")


class WarrantShown(models.TextChoices):
    UNKNOWN = "", _("Not known")
    YES = "yes", _("Yes")
    NO = "no", _("No")


# "23/2025": the Working Group numbers its opinions per session year.
OPINION_NUMBER = re.compile(r"^\d{1,3}/\d{4}$")


def check_categories(value) -> None:
    if not isinstance(value, list) or any(code not in Category.values for code in value):
        raise ValidationError(
            gettext("Choose among the categories %(codes)s.") % {"codes": ", ".join(Category)}
        )


class SubmissionQuerySet(DomainQuerySet):
    def visible_to(self, user):
        """Submissions of the cases ``user`` may see (need to know)."""
        return self.filter(case__in=Case.objects.visible_to(user))

    def opinions(self):
        """Opinions the Working Group adopted: public facts, shown to partners for the
        published cases (api.public)."""
        return self.filter(mechanism=Mechanism.WGAD).exclude(
            Q(opinion_number="") | Q(adopted_on__isnull=True) | Q(finding="")
        )


class Submission(StaffStampedModel):
    """One communication about one case to a UN mechanism, from the draft to what came back.

    The fields under "For the draft" are written by staff for the submission and go into the
    generated draft as they are (submissions.drafts); ``internal_notes`` never does. What
    staff write is encrypted at rest like every restricted text: before it is sent, it says
    which family is preparing a submission and what they did. Only the opinion's number,
    date, finding, categories and link are public (api.public.UNOpinionSerializer)."""

    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        related_name="un_submissions",
        verbose_name=_("case"),
    )
    mechanism = models.CharField(
        _("mechanism"), max_length=20, choices=Mechanism, default=Mechanism.WGAD
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status, default=Status.DRAFTED, db_index=True
    )
    # --- For the draft ------------------------------------------------------------------
    arrest_forces = EncryptedTextField(
        _("forces that carried out the arrest"),
        blank=True,
        help_text=_("E.g. “plain-clothes officers of the Yining City Public Security Bureau”."),
    )
    warrant_shown = models.CharField(
        _("warrant shown"), max_length=3, choices=WarrantShown, blank=True, default=""
    )
    reasons_given = EncryptedTextField(
        _("reasons given by the authorities"),
        blank=True,
        help_text=_("What the authorities told the person or the family, if anything."),
    )
    arbitrary_categories = models.JSONField(
        _("categories of arbitrary detention"),
        default=list,
        blank=True,
        validators=[check_categories],
        help_text=_("The Working Group's categories this detention falls under."),
    )
    arbitrariness = EncryptedTextField(
        _("why the detention is arbitrary"),
        blank=True,
        help_text=_("The argument, category by category, in English."),
    )
    domestic_steps = EncryptedTextField(
        _("domestic steps taken"),
        blank=True,
        help_text=_(
            "Requests by the family, lawyers refused, petitions, letters to the authorities, "
            "in English."
        ),
    )
    risk = EncryptedTextField(
        _("risk the person faces"),
        blank=True,
        help_text=_("For an urgent appeal: the imminent risk (health, torture, execution…)."),
    )
    # --- The tracker ----------------------------------------------------------------------
    sent_on = models.DateField(_("sent on"), null=True, blank=True)
    un_reference = models.CharField(
        _("UN reference"),
        max_length=100,
        blank=True,
        help_text=_("The reference the UN gave it, e.g. “UA CHN 3/2025”."),
    )
    transmitted_on = models.DateField(_("transmitted to the government on"), null=True, blank=True)
    replied_on = models.DateField(_("government replied on"), null=True, blank=True)
    opinion_number = models.CharField(
        _("opinion number"),
        max_length=10,
        blank=True,
        help_text=_("As the Working Group numbers it, e.g. “23/2025”."),
    )
    adopted_on = models.DateField(_("opinion adopted on"), null=True, blank=True)
    finding = models.CharField(_("finding"), max_length=15, choices=Finding, blank=True, default="")
    found_categories = models.JSONField(
        _("categories found"),
        default=list,
        blank=True,
        validators=[check_categories],
        help_text=_("The categories the opinion found the detention to fall under."),
    )
    opinion_url = models.URLField(
        _("opinion on the web"),
        max_length=500,
        blank=True,
        help_text=_("The opinion on the OHCHR website. Public once the case is published."),
    )
    follow_up = EncryptedTextField(
        _("follow-up"),
        blank=True,
        help_text=_("What was done after the opinion or the reply, and what came of it."),
    )
    internal_notes = EncryptedTextField(
        _("internal notes"),
        blank=True,
        help_text=_("Restricted. Staff only: never in a draft, never shown to partners."),
    )

    objects = SubmissionQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("UN submission")
        verbose_name_plural = _("UN submissions")
        permissions = [
            ("generate_draft", _("Can generate UN submission drafts of verified cases")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(mechanism="wgad") | Q(opinion_number="", adopted_on__isnull=True),
                name="submissions_submission_opinion_only_wgad",
            ),
        ]

    def __str__(self):
        """Reads self.case: select_related("case") when listing submissions."""
        return (
            f"{self.case.reference} · {self.get_mechanism_display()} · {self.get_status_display()}"
        )

    def clean(self):
        errors = {}
        for field in DATES_NEEDED.get(self.status, ()):
            if not getattr(self, field):
                errors[field] = _("The status “%(status)s” needs this date.") % {
                    "status": self.get_status_display()
                }
        opinion = any((self.opinion_number, self.adopted_on, self.finding, self.found_categories))
        if opinion and self.mechanism != Mechanism.WGAD:
            errors["mechanism"] = _(
                "Only the Working Group on Arbitrary Detention adopts opinions."
            )
        elif opinion or self.status == Status.OPINION_ADOPTED:
            if self.status not in (Status.OPINION_ADOPTED, Status.FOLLOW_UP):
                errors["status"] = _(
                    "An opinion is recorded with the status “Opinion adopted” or “Follow-up”."
                )
            # The Working Group may file a case (after a release, say) without a numbered
            # opinion: then the date and the finding are enough.
            needed = ("adopted_on", "finding")
            if self.finding != Finding.FILED:
                needed = ("opinion_number", *needed)
            for field in needed:
                if not getattr(self, field):
                    errors.setdefault(
                        field, _("An adopted opinion needs its number, date and finding.")
                    )
        if self.opinion_number and not OPINION_NUMBER.match(self.opinion_number):
            errors["opinion_number"] = _("Write the number as the Working Group does: “23/2025”.")
        if self.found_categories and self.finding != Finding.ARBITRARY:
            errors["found_categories"] = _(
                "Categories are found only in an opinion of arbitrariness."
            )
        dates = [
            ("sent_on", self.sent_on),
            ("transmitted_on", self.transmitted_on),
            ("replied_on", self.replied_on),
        ]
        known = [(field, day) for field, day in dates if day]
        for (_field, earlier), (later_field, later) in itertools.pairwise(known):
            if later < earlier:
                errors.setdefault(later_field, _("This date comes before the step before it."))
        if self.adopted_on and self.sent_on and self.adopted_on < self.sent_on:
            errors.setdefault("adopted_on", _("The opinion cannot be adopted before it was sent."))
        today = timezone.localdate()
        for field, day in [*dates, ("adopted_on", self.adopted_on)]:
            if day and day > today:
                errors.setdefault(field, _("This date is in the future."))
        if errors:
            raise ValidationError(errors)

    @property
    def is_opinion(self) -> bool:
        return bool(
            self.mechanism == Mechanism.WGAD
            and self.opinion_number
            and self.adopted_on
            and self.finding
        )


class UNConsent(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown — not yet asked")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# A merge keeps the first of two consents in this order: a refusal or a withdrawal always
# wins; "not yet asked" says nothing, and never undoes an answer the other record holds.
RESTRICTIVE = [UNConsent.WITHDRAWN, UNConsent.REFUSED, UNConsent.GRANTED, UNConsent.UNKNOWN]


class ConsentMeans(models.TextChoices):
    SIGNED_FORM = "signed_form", _("Signed form")
    RECORDED_CALL = "recorded_call", _("Recorded call or message")
    IN_PERSON = "in_person", _("In person, before a staff member")
    WRITTEN_MESSAGE = "written_message", _("Written message (e-mail, letter)")


class SubmissionConsent(StaffStampedModel):
    """Whether the person, or their family, agreed that their case may be submitted to UN
    mechanisms: a purpose of its own, apart from consent to publish (people.Person.consent).
    A draft is generated only while it is granted (submissions.services)."""

    person = models.OneToOneField(
        Person,
        on_delete=models.PROTECT,
        related_name="un_consent",
        verbose_name=_("person"),
    )
    state = models.CharField(
        _("consent to UN submission"), max_length=10, choices=UNConsent, default=UNConsent.UNKNOWN
    )
    given_on = models.DateField(_("given or changed on"), null=True, blank=True)
    means = models.CharField(_("recorded as"), max_length=20, choices=ConsentMeans, blank=True)
    record = EncryptedTextField(
        _("who gave it and where the record is kept"),
        blank=True,
        help_text=_(
            "Restricted. E.g. “his wife, in person at the Almaty office; signed form in the "
            "consent binder”. Never in a draft."
        ),
    )

    objects = DomainQuerySet.as_manager()
    history = AuditedHistory()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("consent to UN submission")
        verbose_name_plural = _("consents to UN submission")

    def __str__(self):
        """Reads self.person: select_related("person") when listing consents."""
        return f"{self.person} · {self.get_state_display()}"

    @classmethod
    def settle_merge(cls, survivor: Person, absorbed: Person) -> int:
        """Two records of one person merged (people.services.merge_people): one consent
        stays, the more restrictive of the two (RESTRICTIVE), and keeps what both say of who
        gave it. Both rows are locked: a withdrawal saved meanwhile is not lost. Returns the
        records settled."""
        rows = cls._base_manager.select_for_update().filter(person__in=[survivor, absorbed])
        by_person = {row.person_id: row for row in rows.order_by("pk")}
        theirs = by_person.get(absorbed.pk)
        if theirs is None:
            return 0
        ours = by_person.get(survivor.pk)
        if ours is None:
            theirs.person = survivor
            theirs.save()
            return 1
        if RESTRICTIVE.index(theirs.state) < RESTRICTIVE.index(ours.state):
            ours.state, ours.given_on, ours.means = theirs.state, theirs.given_on, theirs.means
        if theirs.record and theirs.record not in ours.record:
            ours.record = "\n\n".join(part for part in (ours.record, theirs.record) if part)
        ours.save()
        theirs.delete()
        return 1

    def clean(self):
        if self.state != UNConsent.UNKNOWN:
            errors = {}
            if not self.given_on:
                errors["given_on"] = _("Say when it was given, refused or withdrawn.")
            if not self.means:
                errors["means"] = _("Say how it was recorded.")
            if self.given_on and self.given_on > timezone.localdate():
                errors["given_on"] = _("This date is in the future.")
            if errors:
                raise ValidationError(errors)


class Variant(models.TextChoices):
    WGAD = "wgad", _("Working Group on Arbitrary Detention: model questionnaire")
    URGENT_APPEAL = "urgent_appeal", _("Urgent appeal")


class DraftQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The draft log is append-only.")

    def delete(self):
        raise PermissionError("The draft log is append-only.")


class DraftLog(models.Model):
    """One draft generated: who, when, of which case and submission, and the SHA-256 of the
    file, so that a draft found later can be matched to its generation. Written by
    submissions.services only; append-only (a PostgreSQL trigger refuses UPDATE and DELETE)."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("user"),
    )
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="+", verbose_name=_("case")
    )
    submission = models.ForeignKey(
        Submission,
        on_delete=models.PROTECT,
        related_name="drafts",
        verbose_name=_("submission"),
    )
    variant = models.CharField(_("draft"), max_length=20, choices=Variant)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, db_index=True)
    size = models.PositiveIntegerField(_("size (bytes)"))
    missing = models.JSONField(
        _("information missing"),
        default=list,
        blank=True,
        help_text=_("What the questionnaire asks and the case lacked when it was generated."),
    )

    objects = DraftQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("generated draft")
        verbose_name_plural = _("draft log")
        default_permissions = ("view",)

    def __str__(self):
        return gettext("%(at)s %(variant)s of %(case)s by %(user)s") % {
            "at": f"{self.at:%Y-%m-%d %H:%M}",
            "variant": self.get_variant_display(),
            "case": self.case.reference,
            "user": self.user,
        }

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The draft log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The draft log is append-only.")
