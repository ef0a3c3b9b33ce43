"""Uncertain dates, written in the Library of Congress Extended Date/Time Format (EDTF).

Staff type the date as the source gives it ("2019/2023", "2024-04", "2024-04~", "201X"); the
value is stored as entered, and two derived DateFields hold its earliest and latest possible
day for filtering and sorting. The derived fields are computed in ``pre_save``, so every ORM
save path keeps them in step (``save()``, ``create()``, ``bulk_create()``);
``save(update_fields=…)``, ``bulk_update()`` and ``update()`` go through
:mod:`casetracker.models`, which adds them.

Bounds are the *strict* bounds of the value: "2024-04~" (about April 2024) spans April 2024.
The qualifiers ``~`` (approximate) and ``?`` (uncertain) are kept in the text and shown to
readers; they do not widen the bounds.
"""

import datetime
from dataclasses import dataclass
from functools import lru_cache

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from edtf import parse_edtf, struct_time_to_date
from edtf.parser.edtf_exceptions import EDTFParseException
from edtf.parser.parser_classes import UnspecifiedIntervalSection

EXAMPLES = "2024-04-05, 2024-04, 2024, 2019/2023, 2024-04~, 2024-04?, 201X, 2019/.., ../2020"

EDTF_HELP = (
    "Date as the source gives it, in EDTF: 2024-04-05 (a day), 2024-04 (a month), "
    "2024 (a year), 2019/2023 (sometime between), 2024-04~ (about), 2024-04? (uncertain), "
    "201X (some year in the 2010s), 2019/.. (from 2019, end open). Leave empty if unknown."
)


@dataclass(frozen=True)
class EDTFBounds:
    earliest: datetime.date | None
    latest: datetime.date | None


def _bound(parsed, end: str) -> datetime.date | None:
    """The earliest ("lower") or latest ("upper") day of a parsed value.

    An open ("2019/..") or unknown ("2019/") interval end has no bound. The library reports
    open ends as infinity and invents a date ten years off for unknown ones; neither is a fact.
    """
    section = getattr(parsed, end, None)
    if isinstance(section, UnspecifiedIntervalSection):
        return None
    struct = parsed.lower_strict() if end == "lower" else parsed.upper_strict()
    return struct_time_to_date(struct) if hasattr(struct, "tm_year") else None


@lru_cache(maxsize=4096)
def edtf_bounds(value: str) -> EDTFBounds:
    """Parse an EDTF string and return its earliest and latest day.

    Raises ValidationError (code ``invalid_edtf``) with accepted examples when the value is
    not EDTF, names an impossible day, runs backwards, or falls outside years 1–9999.
    An empty value has no bounds.
    """
    value = (value or "").strip()
    if not value:
        return EDTFBounds(None, None)
    try:
        parsed = parse_edtf(value)
    except (EDTFParseException, ValueError, TypeError):
        raise _invalid(value, "it is not a date in EDTF") from None
    try:
        earliest, latest = _bound(parsed, "lower"), _bound(parsed, "upper")
    except (ValueError, OverflowError, TypeError):
        raise _invalid(value, "that day does not exist, or the year is outside 1–9999") from None
    if earliest is None and latest is None:
        raise _invalid(value, "at least one end of the interval must be a date")
    if earliest and latest and earliest > latest:
        raise _invalid(value, "the interval ends before it starts")
    return EDTFBounds(earliest, latest)


def _invalid(value: str, why: str) -> ValidationError:
    return ValidationError(
        "“%(value)s” is not a valid date: %(why)s. Accepted forms: %(examples)s.",
        code="invalid_edtf",
        params={"value": value, "why": why, "examples": EXAMPLES},
    )


def validate_edtf(value: str) -> None:
    edtf_bounds(value)


class EDTFField(models.CharField):
    """An EDTF date string. Declare its bounds with :class:`EDTFBoundField` fields."""

    description = "Date in EDTF (Extended Date/Time Format)"
    default_validators = [validate_edtf]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("help_text", EDTF_HELP)
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip() if isinstance(value, str) else value


class EDTFBoundField(models.DateField):
    """The earliest or latest day of the EDTF field named by ``source``, derived on save."""

    EARLIEST, LATEST = "earliest", "latest"

    def __init__(self, *args, source: str, bound: str, **kwargs):
        if bound not in (self.EARLIEST, self.LATEST):
            raise ValueError("bound must be 'earliest' or 'latest'")
        self.source, self.bound = source, bound
        kwargs["editable"] = False
        kwargs["null"] = True
        kwargs["blank"] = True
        kwargs.setdefault("db_index", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        for key in ("editable", "null", "blank"):
            kwargs.pop(key, None)
        kwargs["source"], kwargs["bound"] = self.source, self.bound
        return name, path, args, kwargs

    def bound_of(self, value: str) -> datetime.date | None:
        return getattr(edtf_bounds(value), self.bound)

    def pre_save(self, model_instance, add):
        value = self.bound_of(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        try:
            source = self.model._meta.get_field(self.source)
        except Exception:
            source = None
        if not isinstance(source, EDTFField):
            errors.append(
                checks.Error(
                    f"{self.name} derives from {self.source!r}, which is not an EDTFField.",
                    obj=self,
                    id="casetracker.E001",
                )
            )
        return errors


def bound_fields(model: type[models.Model]) -> list[EDTFBoundField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EDTFBoundField)]
