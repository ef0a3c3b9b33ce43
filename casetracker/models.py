"""Base pieces shared by the domain models of every app."""

import uuid

from django.conf import settings
from django.db import models

from casetracker.edtf import EDTFBoundField, bound_fields, edtf_bounds


class DomainQuerySet(models.QuerySet):
    """QuerySet base for every domain model.

    Keeps derived EDTF bounds right on the two ORM write paths that skip ``Field.pre_save``:
    ``bulk_update()`` and ``update()``.
    """

    def bulk_update(self, objs, fields, batch_size=None):
        fields = list(fields)
        derived = [f for f in bound_fields(self.model) if f.source in fields]
        for obj in objs:
            for field in derived:
                setattr(obj, field.attname, field.bound_of(getattr(obj, field.source)))
        fields += [f.name for f in derived if f.name not in fields]
        return super().bulk_update(objs, fields, batch_size=batch_size)

    def update(self, **kwargs):
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
        return super().update(**kwargs)


class DomainModel(models.Model):
    """Timestamps and a stable public id for every record partners may one day see."""

    uid = models.UUIDField(
        "public ID",
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Permanent identifier shared with partners. Never changes.",
    )
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("last changed", auto_now=True, db_index=True)

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
        verbose_name="created by",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name="last changed by",
    )

    class Meta:
        abstract = True


def edtf_bounds_pair(source: str, label: str) -> tuple[EDTFBoundField, EDTFBoundField]:
    """The two derived fields of an EDTF field.

    Usage: ``date_earliest, date_latest = edtf_bounds_pair("date", "date")``.
    """
    return (
        EDTFBoundField(
            f"{label}, earliest possible day", source=source, bound=EDTFBoundField.EARLIEST
        ),
        EDTFBoundField(f"{label}, latest possible day", source=source, bound=EDTFBoundField.LATEST),
    )


__all__ = ["DomainModel", "DomainQuerySet", "StaffStampedModel", "edtf_bounds", "edtf_bounds_pair"]
