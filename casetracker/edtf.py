"""Uncertain dates, written in the Library of Congress Extended Date/Time Format (EDTF).

Staff type the date as the source gives it ("2019/2023", "2024-04", "2024-04~", "201X"); the
value is stored as entered, and two derived DateFields hold its earliest and latest possible
day for filtering and sorting. The derived fields are computed in ``pre_save``, so every ORM
save path keeps them in step (``save()``, ``create()``, ``bulk_create()``);
``save(update_fields=…)``, ``bulk_update()`` and ``update()`` go through
:mod:`casetracker.models`, which adds them.

Bounds are the *strict* bounds of the value: "2024-04~" (about April 2024) spans April 2024.
The qualifiers ``~`` (approximate), ``?`` (uncertain) and ``%`` (both) are kept in the text and
shown to readers; they do not widen the strict bounds. They widen the *approximate window*
(:func:`edtf_window`): a qualified end moves out by one unit of its precision — a day, a month,
a season (three months) or a year — so "2018-03~" is also found by a search for February or
April 2018 when the search asks for approximate dates too. Unqualified values have the same
window as bounds.
"""

import calendar
import datetime
import re
from dataclasses import dataclass
from functools import lru_cache

from django.core import checks
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import formats
from django.utils.translation import gettext, gettext_lazy
from edtf import parse_edtf, struct_time_to_date
from edtf.parser.edtf_exceptions import EDTFParseException
from edtf.parser.parser_classes import UnspecifiedIntervalSection

EXAMPLES = (
    "2024-04-05, 2024-04, 2024, 2024-21, 2019/2023, 2024-04~, ~2024-04, 2024-04?, 2024-04%, "
    "201X, 19XX, 2019/.., ../2020"
)

# The model fields' help text as migrations recorded it; forms show EDTF_FORM_HELP instead.
EDTF_HELP = (
    "Date as the source gives it, in EDTF: 2024-04-05 (a day), 2024-04 (a month), "
    "2024 (a year), 2019/2023 (sometime between), 2024-04~ (about), 2024-04? (uncertain), "
    "201X (some year in the 2010s), 2019/.. (from 2019, end open). Leave empty if unknown."
)

EDTF_FORM_HELP = gettext_lazy(
    "Date as the source gives it, in EDTF. A day: 2024-04-05. A month: 2024-04. A year: 2024. "
    "A season: 2024-21 (spring; 22 summer, 23 autumn, 24 winter). Sometime between: "
    "2019/2023 (or 2019-03/2020-06). About: 2024-04~ or ~2024-04. Uncertain: 2024-04?. "
    "About and uncertain: 2024-04%. Some year in a decade: 201X; in a century: 19XX. "
    "From a date, end open: 2019/..; up to a date: ../2020. Leave empty if unknown."
)

QUALIFIERS = "~?%"


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


# A year, month or day, qualified as a whole or not ("2019", "2019-04~", "2019-04-05?").
_CALENDAR_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?[~?%]?")


def _calendar_date(value: str) -> EDTFBounds | None:
    match = _CALENDAR_DATE.fullmatch(value)
    if match is None:
        return None
    year, month, day = (int(part) if part else None for part in match.groups())
    if year == 0:
        return None
    if month is None:
        return EDTFBounds(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    if not 1 <= month <= 12:
        return None  # seasons, quarters, halves: the grammar's
    if day is None:
        last = calendar.monthrange(year, month)[1]
        return EDTFBounds(datetime.date(year, month, 1), datetime.date(year, month, last))
    try:
        exact = datetime.date(year, month, day)
    except ValueError:
        return None
    return EDTFBounds(exact, exact)


def _calendar_bounds(value: str) -> EDTFBounds | None:
    """The bounds of a year, month or day, or of an interval between two of them ("2019",
    "2019-04~", "2019-04-05", "2017/2019-06"), computed without the EDTF grammar, which takes
    milliseconds a value: most dates are of these forms, and imports and generated data bring
    them by the million. A qualifier on the whole date (~ ? %) leaves its strict bounds as
    they are. None for anything else (seasons, unspecified digits, open ends, impossible days,
    intervals that run backwards), which the grammar parses or refuses with its message."""
    start, slash, end = value.partition("/")
    first = _calendar_date(start)
    if not slash or first is None:
        return first
    last = _calendar_date(end)
    if last is None or first.earliest > last.latest:
        return None
    return EDTFBounds(first.earliest, last.latest)


@lru_cache(maxsize=65_536)
def edtf_bounds(value: str) -> EDTFBounds:
    """Parse an EDTF string and return its earliest and latest day.

    Raises ValidationError (code ``invalid_edtf``) with accepted examples when the value is
    not EDTF, names an impossible day, runs backwards, or falls outside years 1–9999.
    An empty value has no bounds.
    """
    value = (value or "").strip()
    if not value:
        return EDTFBounds(None, None)
    if (plain := _calendar_bounds(value)) is not None:
        return plain
    try:
        parsed = parse_edtf(value)
    except (EDTFParseException, ValueError, TypeError):
        raise _invalid(value, gettext_lazy("it is not a date in EDTF")) from None
    try:
        earliest, latest = _bound(parsed, "lower"), _bound(parsed, "upper")
    except (ValueError, OverflowError, TypeError):
        raise _invalid(
            value, gettext_lazy("that day does not exist, or the year is outside 1–9999")
        ) from None
    if earliest is None and latest is None:
        raise _invalid(value, gettext_lazy("at least one end of the interval must be a date"))
    if earliest and latest and earliest > latest:
        raise _invalid(value, gettext_lazy("the interval ends before it starts"))
    return EDTFBounds(earliest, latest)


def _months(end: str) -> int:
    """One unit of the precision an interval end is written to, in months (0: a day): a
    month, a season (three months) or a year ("201X~", about the 2010s: a year either side)."""
    parts = [part.strip(QUALIFIERS) for part in end.strip(QUALIFIERS).split("-") if part]
    # Unspecified digits are not precision: "2019-XX~" is about 2019, "201X~" about the 2010s
    # (both a year either side), "2019-05-XX~" about May 2019.
    while parts and "X" in parts[-1].upper():
        parts.pop()
    if len(parts) >= 3:
        return 0
    if len(parts) == 2:
        return 3 if parts[1].isdigit() and 21 <= int(parts[1]) <= 41 else 1
    return 12


def _add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by whole months, kept within the month it lands in (31 → 30, 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return day.replace(
        year=year, month=month, day=min(day.day, (following - datetime.timedelta(days=1)).day)
    )


def _widen(day: datetime.date, end: str, direction: int) -> datetime.date:
    months = _months(end)
    if months == 0:
        return day + datetime.timedelta(days=direction)
    if direction < 0:
        return _add_months(day, -months)
    # The last day of the unit after: 2024-04-30 becomes 2024-05-31.
    return _add_months(day + datetime.timedelta(days=1), months) - datetime.timedelta(days=1)


@lru_cache(maxsize=65_536)
def edtf_window(value: str) -> EDTFBounds:
    """The approximate window of an EDTF value: its bounds, with each end that is qualified
    (``~``, ``?``, ``%`` anywhere in it) moved out by one unit of its precision."""
    bounds = edtf_bounds(value)
    text = (value or "").strip()
    if not any(q in text for q in QUALIFIERS):
        return bounds
    lower_text, _, upper_text = text.partition("/")
    upper_text = upper_text or lower_text
    earliest, latest = bounds.earliest, bounds.latest
    try:
        if earliest and any(q in lower_text for q in QUALIFIERS):
            earliest = _widen(earliest, lower_text, -1)
        if latest and any(q in upper_text for q in QUALIFIERS):
            latest = _widen(latest, upper_text, +1)
    except (OverflowError, ValueError):
        return bounds  # at the edge of the calendar: no wider than the bounds
    return EDTFBounds(earliest, latest)


def _invalid(value: str, why: str) -> ValidationError:
    return ValidationError(
        gettext_lazy("“%(value)s” is not a valid date: %(why)s. Accepted forms: %(examples)s."),
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

    def formfield(self, **kwargs):
        # Every accepted form with an example, translatable; the model keeps the text its
        # migrations recorded, so that rewording it needs no migration in every app.
        if self.help_text == EDTF_HELP:
            kwargs.setdefault("help_text", EDTF_FORM_HELP)
        return super().formfield(**kwargs)


class EDTFBoundField(models.DateField):
    """The earliest or latest day of the EDTF field named by ``source``, derived on save:
    strict (``earliest``, ``latest``) or of the approximate window (``window_earliest``,
    ``window_latest``: :func:`edtf_window`)."""

    EARLIEST, LATEST = "earliest", "latest"
    WINDOW_EARLIEST, WINDOW_LATEST = "window_earliest", "window_latest"

    def __init__(self, *args, source: str, bound: str, **kwargs):
        if bound not in (self.EARLIEST, self.LATEST, self.WINDOW_EARLIEST, self.WINDOW_LATEST):
            raise ValueError("bound must be earliest, latest, window_earliest or window_latest")
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
        if self.bound.startswith("window_"):
            return getattr(edtf_window(value), self.bound.removeprefix("window_"))
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


# --- in words ----------------------------------------------------------------------------------
# Readers see dates in words in their language ("between 2019 and 2023", "about April 2024");
# the stored value, exports and the API keep the EDTF text.

_SEASONS = {
    # EDTF codes 21–24 (seasons), 25–32 (seasons of the northern, then southern hemisphere).
    **dict.fromkeys((21, 25, 29), "spring"),
    **dict.fromkeys((22, 26, 30), "summer"),
    **dict.fromkeys((23, 27, 31), "autumn"),
    **dict.fromkeys((24, 28, 32), "winter"),
}


def _season(code: int, year: str) -> str | None:
    name = _SEASONS.get(code)
    if name == "spring":
        return gettext("spring %(year)s") % {"year": year}
    if name == "summer":
        return gettext("summer %(year)s") % {"year": year}
    if name == "autumn":
        return gettext("autumn %(year)s") % {"year": year}
    if name == "winter":
        return gettext("winter %(year)s") % {"year": year}
    if 33 <= code <= 36:
        return gettext("quarter %(quarter)s of %(year)s") % {"quarter": code - 32, "year": year}
    if code in (40, 41):
        return gettext("half %(half)s of %(year)s") % {"half": code - 39, "year": year}
    return None


def _point_in_words(text: str, in_interval: bool) -> str | None:
    """One date (no "/") in words, or None if it is not a form this renders."""
    approximate = "~" in text or "%" in text
    uncertain = "?" in text or "%" in text
    parts = [part.strip(QUALIFIERS) for part in text.strip(QUALIFIERS).split("-")]
    if not parts or not (len(parts[0]) == 4 and parts[0][:2].isdigit()):
        return None
    year, rest = parts[0], parts[1:]
    if any(part == "" for part in rest) or len(rest) > 2:
        return None
    if rest and "X" in rest[0].upper():  # "2019-XX", "2019-XX-XX": some time in 2019
        rest = []
    if len(rest) == 2 and "X" in rest[1].upper():  # "2019-05-XX": some day in May 2019
        rest = rest[:1]
    if not all(part.isdigit() for part in rest):
        return None
    if "X" in year.upper():
        digits = year.upper().index("X")
        if not year[:digits].isdigit() or rest:
            return None
        first = int(year[:digits].ljust(4, "0"))
        last = int(year[:digits].ljust(4, "9"))
        words = (
            f"{first}–{last}"
            if in_interval
            else gettext("between %(start)s and %(end)s") % {"start": first, "end": last}
        )
    elif not year.isdigit():
        return None
    elif not rest:
        words = year
    else:
        month = int(rest[0])
        if month > 12:
            words = _season(month, year)
            if words is None or len(rest) > 1:
                return None
        else:
            try:
                if len(rest) == 1:
                    day = datetime.date(int(year), month, 1)
                    words = formats.date_format(day, "YEAR_MONTH_FORMAT")
                else:
                    day = datetime.date(int(year), month, int(rest[1]))
                    words = formats.date_format(day, "DATE_FORMAT")
            except ValueError:
                return None
    if approximate and uncertain:
        return gettext("about %(date)s (uncertain)") % {"date": words}
    if approximate:
        return gettext("about %(date)s") % {"date": words}
    if uncertain:
        return gettext("%(date)s (uncertain)") % {"date": words}
    return words


def edtf_in_words(value: str | None) -> str:
    """An EDTF value as a reader says it, in the active language: "2019/2023" is "between 2019
    and 2023", "2024-04~" "about April 2024", "2019/.." "2019 or later", "../2020" "2020 or
    earlier", "201X" "between 2010 and 2019", "2024-04?" "April 2024 (uncertain)". Empty is "";
    a form this does not render (sets, exponent years) is returned as written."""
    text = (value or "").strip()
    if not text:
        return ""
    if "/" not in text:
        return _point_in_words(text, in_interval=False) or text
    start_text, _, end_text = text.partition("/")
    start = None if start_text in ("", "..") else _point_in_words(start_text, in_interval=True)
    end = None if end_text in ("", "..") else _point_in_words(end_text, in_interval=True)
    if start_text not in ("", "..") and start is None:
        return text
    if end_text not in ("", "..") and end is None:
        return text
    if start and end:
        return gettext("between %(start)s and %(end)s") % {"start": start, "end": end}
    if start and end_text == "..":
        return gettext("%(start)s or later") % {"start": start}
    if start:
        return gettext("from %(start)s, end unknown") % {"start": start}
    if end and start_text == "..":
        return gettext("%(end)s or earlier") % {"end": end}
    if end:
        return gettext("until %(end)s, start unknown") % {"end": end}
    return text
