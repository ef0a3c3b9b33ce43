"""Base pieces shared by the domain models of every app."""

import uuid

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casetracker.audit import record_bulk_history
from casetracker.edtf import EDTFBoundField, bound_fields, edtf_bounds
from casetracker.fields import LookupDigestField


def digest_fields(model: type[models.Model]) -> list[LookupDigestField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, LookupDigestField)]


class DomainQuerySet(models.QuerySet):
    """QuerySet base for every domain model: the only bulk write paths the project uses.

    Each writes history rows like single saves do (casetracker.audit), and keeps derived
    EDTF bounds right where Django skips ``Field.pre_save`` (``bulk_update()``, ``update()``).
    """

    def select_for_update(self, *args, **kwargs):
        # The audit chain's lock before any row lock, in the order every audited write takes
        # them: the other order can deadlock against a writer holding the chain.
        from casetracker.integrity import lock_chain

        lock_chain(self.db)
        return super().select_for_update(*args, **kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise ValueError("Conflict-skipping bulk inserts cannot be audited; save rows instead.")
        created = super().bulk_create(objs, *args, **kwargs)
        record_bulk_history(self.model, created, update=False)
        return created

    def bulk_update(self, objs, fields, batch_size=None):
        objs, fields = list(objs), list(fields)
        derived = [f for f in bound_fields(self.model) if f.source in fields]
        digests = [f for f in digest_fields(self.model) if f.source in fields]
        for obj in objs:
            for field in derived:
                setattr(obj, field.attname, field.bound_of(getattr(obj, field.source)))
            for field in digests:
                setattr(obj, field.attname, field.digest_of(getattr(obj, field.source)))
        fields += [f.name for f in (*derived, *digests) if f.name not in fields]
        # Django's bulk_update() runs update() per batch, which writes the history.
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def update(self, **kwargs):
        for field in digest_fields(self.model):
            if field.name in kwargs:
                raise ValueError(f"{field.name} is derived from {field.source}; update that.")
            if field.source in kwargs:
                if not isinstance(kwargs[field.source], str):
                    raise ValueError(f"{field.source} can only be updated to a literal value.")
                kwargs[field.name] = field.digest_of(kwargs[field.source])
        for field in bound_fields(self.model):
            if field.source not in kwargs:
                if field.name in kwargs:
                    raise ValueError(f"{field.name} is derived from {field.source}; update that.")
                continue
            value = kwargs[field.source]
            if isinstance(value, str | None):
                kwargs[field.name] = field.bound_of(value)
            elif field.name not in kwargs:
                # An expression (F(), Case()) has no bounds we can compute; bulk_update()
                # above passes the bounds alongside, computed row by row.
                raise ValueError(f"{field.source} can only be updated to a literal EDTF value.")
        pks = list(self.values_list("pk", flat=True))
        rows = super().update(**kwargs)
        # Re-read the rows as they now are, so their history shows the new values.
        record_bulk_history(self.model, self.model._base_manager.filter(pk__in=pks), update=True)
        return rows


class DomainModel(models.Model):
    """Timestamps and a stable public id for every record partners may one day see."""

    uid = models.UUIDField(
        _("public ID"),
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text=_("Permanent identifier shared with partners. Never changes."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed"), auto_now=True, db_index=True)

    objects = DomainQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None:
            # Saving only an EDTF field must still save the bounds derived from it.
            update_fields = set(update_fields)
            update_fields |= {f.name for f in bound_fields(type(self)) if f.source in update_fields}
        super().save(*args, update_fields=update_fields, **kwargs)


class StaffStampedModel(DomainModel):
    """Records which staff member created and last changed the record (set by the admin)."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("last changed by"),
    )

    # No verbose_name of its own: the admin never shows it, and one here would change the
    # migration state of every app whose models inherit it.
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text=_("Goes up by one on every save; a save based on an older version is refused."),
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # A refused save (ConcurrentEditError) leaves the caller's transaction usable.
        with transaction.atomic():
            super().save(*args, **kwargs)

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        """Save only if nobody saved this record since it was read (no lost updates)."""
        expected = self.version
        values = [
            (field, model, expected + 1 if field.attname == "version" else value)
            for field, model, value in values
        ]
        if not any(field.attname == "version" for field, _, _ in values):
            values.append((self._meta.get_field("version"), None, expected + 1))
        updated = super()._do_update(
            base_qs.filter(version=expected), using, pk_val, values, update_fields, forced_update
        )
        if updated:
            self.version = expected + 1
        elif base_qs.filter(pk=pk_val).exists():
            raise ConcurrentEditError(self)
        return updated


class ConcurrentEditError(Exception):
    """Someone else saved the record after this copy of it was read."""

    def __init__(self, instance):
        current = type(instance)._base_manager.filter(pk=instance.pk).first()
        by = getattr(current, "updated_by", None) if current else None
        when = current.updated_at if current else None
        self.changed_by, self.changed_at = by, when
        values = {
            "record": instance._meta.verbose_name,
            "user": (by.get_full_name() or by.get_username()) if by else "",
            "time": f"{when:%Y-%m-%d %H:%M}" if when else "",
        }
        if by and when:
            changed = gettext(
                "This %(record)s was changed by %(user)s at %(time)s UTC after you opened it."
            )
        elif when:
            changed = gettext("This %(record)s was changed at %(time)s UTC after you opened it.")
        elif by:
            changed = gettext("This %(record)s was changed by %(user)s after you opened it.")
        else:
            changed = gettext("This %(record)s was changed after you opened it.")
        not_saved = gettext(
            "Your changes were not saved: reload the page to see theirs, then make yours again."
        )
        super().__init__(f"{changed % values} {not_saved}")


class AccountChangeQuerySet(models.QuerySet):
    """Append-only, like the other logs; and the relation the four-eyes rule reads."""

    def visible_to(self, user):
        """Changes to accounts the user admin shows this user: superusers' accounts only to
        superusers (casetracker.accounts.StaffUserAdmin)."""
        return self if user.is_superuser else self.filter(account__is_superuser=False)

    def update(self, **kwargs):
        raise PermissionError("The account change log is append-only.")

    def delete(self):
        raise PermissionError("The account change log is append-only.")

    def bulk_create(self, objs, *args, **kwargs):
        from casetracker.integrity import append

        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            append(created, self.db)  # one link per change in the audit chain, as single saves
        return created

    def setting_up(self):
        """Changes after which the actor may be the person behind the account: they created
        it or set its password (they knew it), or gave it the power to verify cases or to
        manage accounts (they chose who holds it)."""
        from django.contrib.auth.models import Group

        from casetracker.roles import ADMINISTRATOR, VERIFIER

        powers = Q()
        for app_label, codename in AccountChange.POWERS:
            powers |= Q(
                permissions__content_type__app_label=app_label, permissions__codename=codename
            )
        # The roles by name too, whatever rights a superuser later gives or takes from them.
        empowering = [VERIFIER, ADMINISTRATOR, AccountChange.SUPERUSER]
        empowering += [AccountChange.permission(*power) for power in AccountChange.POWERS]
        return self.filter(
            Q(kind__in=AccountChange.CONTROL)
            | Q(
                Q(role__in=empowering) | Q(role__in=Group.objects.filter(powers).values("name")),
                kind=AccountChange.Kind.ROLE_GRANTED,
            )
        )

    def tying(self, account, people):
        """The changes, at any time, by which ``account`` and one of ``people`` (users or ids)
        may be in one person's hands: one of ``people`` set the account up
        (:meth:`setting_up`), or the account's holder created or set the password of one of
        theirs. The four-eyes rule across accounts (cases.services.check_four_eyes).

        Direct links only: every account descends from the first superuser's, so following
        links further would soon leave nobody free to verify anything.
        """
        account_id = getattr(account, "pk", account)
        people = {getattr(person, "pk", person) for person in people} - {None, account_id}
        set_up_by_them = self.setting_up().filter(account_id=account_id, actor_id__in=people)
        set_up_by_holder = self.filter(
            kind__in=AccountChange.CONTROL, actor_id=account_id, account_id__in=people
        )
        return set_up_by_them | set_up_by_holder


class AccountChange(models.Model):
    """One change to a staff account made in the user admin (casetracker.accounts): created,
    a role or status granted or removed, password set by someone else, activated,
    deactivated. Append-only; each row is a link of the audit chain and has its security
    event. The four-eyes rule reads it (cases.services.check_four_eyes)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("account created")
        ROLE_GRANTED = "role_granted", _("role granted")
        ROLE_REMOVED = "role_removed", _("role removed")
        PASSWORD_RESET = "password_reset", _("password set by someone else")
        ACTIVATED = "activated", _("activated")
        DEACTIVATED = "deactivated", _("deactivated")

    # ``role`` names a group, or one of these statuses, or a single permission.
    STAFF = "staff status"
    SUPERUSER = "superuser status"
    # What makes an account able to verify cases or to manage accounts (and so roles).
    POWERS = (("cases", "verify_case"), ("auth", "add_user"), ("auth", "change_user"))
    # Changes after which the actor knew the account's password.
    CONTROL = (Kind.CREATED, Kind.PASSWORD_RESET)

    created_at = models.DateTimeField(
        _("when"), default=timezone.now, editable=False, db_index=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("The staff member who made the change."),
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="account_changes",
        verbose_name=_("account"),
        help_text=_("The staff account that was changed."),
    )
    kind = models.CharField(_("change"), max_length=20, choices=Kind.choices)
    role = models.CharField(
        _("role"),
        max_length=160,
        blank=True,
        help_text=_(
            "The role, status or single permission granted or removed; empty for other changes."
        ),
    )

    objects = AccountChangeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("account change")
        verbose_name_plural = _("account changes")
        # Only ever viewed: no role can be given the right to add, change or delete entries.
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["role_granted", "role_removed"]) & ~Q(role="")
                    | ~Q(kind__in=["role_granted", "role_removed"]) & Q(role="")
                ),
                name="casetracker_accountchange_role_iff_role_change",
            ),
        ]

    def __str__(self):
        what = f"{self.get_kind_display()}: {self.role}" if self.role else self.get_kind_display()
        return f"{self.account} — {what}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The account change log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The account change log is append-only.")

    @staticmethod
    def permission(app_label: str, codename: str) -> str:
        """How ``role`` names a single permission."""
        return f"permission {app_label}.{codename}"


def _interpolate(message, **values) -> str:
    return str(message) % values


# ``message % values``, translated when shown rather than when the model is defined (as
# verbose names must be); a lazy value among ``values`` is translated then too.
interpolate_lazy = lazy(_interpolate, str)


def edtf_bounds_pair(source: str, label) -> tuple[EDTFBoundField, EDTFBoundField]:
    """The two derived fields of an EDTF field; ``label`` is the field's verbose name (a
    gettext_lazy string, so that the derived names are translated whole).

    Usage: ``date_earliest, date_latest = edtf_bounds_pair("date", _("date"))``.
    """
    return (
        EDTFBoundField(
            interpolate_lazy(_("%(label)s, earliest possible day"), label=label),
            source=source,
            bound=EDTFBoundField.EARLIEST,
        ),
        EDTFBoundField(
            interpolate_lazy(_("%(label)s, latest possible day"), label=label),
            source=source,
            bound=EDTFBoundField.LATEST,
        ),
    )


def edtf_window_pair(source: str, label) -> tuple[EDTFBoundField, EDTFBoundField]:
    """The two derived fields of an EDTF field's approximate window (casetracker.edtf)."""
    return (
        EDTFBoundField(
            interpolate_lazy(_("%(label)s, earliest day, approximate dates widened"), label=label),
            source=source,
            bound=EDTFBoundField.WINDOW_EARLIEST,
        ),
        EDTFBoundField(
            interpolate_lazy(_("%(label)s, latest day, approximate dates widened"), label=label),
            source=source,
            bound=EDTFBoundField.WINDOW_LATEST,
        ),
    )


__all__ = [
    "AccountChange",
    "AuditLink",
    "DomainModel",
    "DomainQuerySet",
    "SecurityEvent",
    "StaffStampedModel",
    "edtf_bounds",
    "edtf_bounds_pair",
    "edtf_window_pair",
]


# The audit chain's and the security log's models live with the chain and the log.
from casetracker.integrity import AuditLink  # noqa: E402
from casetracker.security import SecurityEvent  # noqa: E402
