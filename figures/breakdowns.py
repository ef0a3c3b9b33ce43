"""The statistics: breakdowns of a set of cases, counted from their facts (figures.models).
One module for every surface (the partner API, the exports, the staff page), so that they
never disagree.

``compute(snapshots)`` takes the published snapshots to count (a filtered queryset of
``PublishedCase``, or None for all) and returns each breakdown's rows with their exact
counts; ``suppress(statistics, min_cell)`` then hides the small counts for outputs that
leave the organisation (``STATISTICS_MIN_CELL``). ``compute_staff(user, cases)`` counts
the same breakdowns, and the staff's own (``STAFF_BREAKDOWNS``), over every case the user
may see (figures.staff), published or not.

Each breakdown is a handful of grouped queries over narrow, indexed tables; nothing is read
per case. Uncertain values are never forced into one bin: a case counts in a bin only if
everything it may be lies in that bin, and the rest are counted as "too uncertain".
"""

import datetime
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import Case as SQLCase
from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, gettext_lazy, ngettext

from api import public
from cases.models import CaseStatus, Charge, EvidenceLevel, Location, LocationKind, ReviewState
from figures import cache, staff, tally
from figures.models import (
    CaseFactCharge,
    CaseFactPlace,
    CaseFacts,
    ChargesState,
    PlaceRole,
    Precision,
    PublishedFactCharge,
    PublishedFactPlace,
    PublishedFacts,
    SentenceKind,
)
from languages.services import local_name
from people.models import Ethnicity, Gender

# Bands: (lowest, highest or None for no upper end), both inclusive, in the unit of the facts.
AGE_BANDS = [(0, 17), (18, 29), (30, 39), (40, 49), (50, 59), (60, 69), (70, None)]
SENTENCE_BANDS = [(0, 11), (12, 59), (60, 119), (120, 179), (180, 239), (240, None)]  # months
NOTIFIED_BANDS = [(0, 7), (8, 31), (32, 183), (184, 366), (367, None)]  # days
HELD_BANDS = [(0, 0), (1, 1), (2, 3), (4, 5), (6, 7), (8, None)]  # whole years

UNCERTAIN = "uncertain"
UNKNOWN = "unknown"


@dataclass
class Breakdown:
    name: str
    label: str
    # A partition: every case in exactly one row, so that the rows add up to the total (or
    # to the cases the breakdown is about) and one hidden count could be worked out from
    # the others (suppress() hides a second one).
    partition: bool
    rows: list[dict] = field(default_factory=list)
    note: str = ""


@dataclass
class Statistics:
    total: int
    breakdowns: dict[str, Breakdown]
    min_cell: int = 1
    total_suppressed: bool = False

    def as_dict(self) -> dict:
        return {
            "min_cell": self.min_cell,
            "total": {"count": None if self.total_suppressed else self.total},
            "breakdowns": {
                name: {"label": b.label, "note": b.note, "rows": b.rows}
                for name, b in self.breakdowns.items()
            },
        }


def row(value, label, count, **extra) -> dict:
    return {"value": value, "label": str(label), "count": count, "suppressed": False, **extra}


@dataclass(frozen=True)
class Tables:
    """The facts of one kind of count: per published case (partners, the public) or per
    case (staff)."""

    facts: type
    charge: type
    place: type


PUBLISHED = Tables(PublishedFacts, PublishedFactCharge, PublishedFactPlace)
STAFF = Tables(CaseFacts, CaseFactCharge, CaseFactPlace)


@dataclass
class Counting:
    """What a query counts (figures.tally.live): ``facts`` (a queryset of ``tables.facts``)
    and their keys (``keys``, for the charges and places tables; None when every row is
    counted)."""

    tables: Tables
    facts: QuerySet
    keys: object

    def linked(self, model) -> QuerySet:
        """The charges or places rows of the facts counted."""
        rows = model.objects.all()
        return rows if self.keys is None else rows.filter(facts_id__in=self.keys)


# Each breakdown: the dimensions it counts by (figures.tally) and how its rows are worked
# out from their counts (a dict of Counters) and today.
BREAKDOWNS = {
    "detention_year": (["detained_years"], lambda k, today: detention_years(k, today)),
    "status": (
        ["status"],
        lambda k, today: choices(
            k["status"], "status", gettext_lazy("Current situation"), CaseStatus
        ),
    ),
    "charges": ([tally.CHARGE], lambda k, today: charges(k[tally.CHARGE])),
    "charges_disclosed": (
        ["charges_state"],
        lambda k, today: choices(
            k["charges_state"],
            "charges_disclosed",
            gettext_lazy("Whether charges are known"),
            ChargesState,
        ),
    ),
    **{
        name: (
            [tally.PLACE, f"{role}_precision"],
            lambda k, today, role=role, kind=kind: places(k, role, kind),
        )
        for name, (role, kind) in {
            "detention_prefecture": (PlaceRole.DETENTION, LocationKind.PREFECTURE),
            "detention_county": (PlaceRole.DETENTION, LocationKind.COUNTY),
            "origin_prefecture": (PlaceRole.ORIGIN, LocationKind.PREFECTURE),
            "origin_county": (PlaceRole.ORIGIN, LocationKind.COUNTY),
        }.items()
    },
    "ethnicity": (
        ["ethnicity"],
        lambda k, today: choices(k["ethnicity"], "ethnicity", gettext_lazy("Ethnicity"), Ethnicity),
    ),
    "gender": (
        ["gender"],
        lambda k, today: choices(k["gender"], "gender", gettext_lazy("Gender"), Gender),
    ),
    "age_at_detention": (["age"], lambda k, today: age_at_detention(k["age"])),
    "sentence": (["sentence"], lambda k, today: sentence(k["sentence"])),
    "family_notified": (["notified"], lambda k, today: family_notified(k["notified"])),
    "time_held": (["held"], lambda k, today: time_held(k["held"], today)),
}
NAMES = list(BREAKDOWNS)

# Only on the staff's page: the team's own work.
STAFF_BREAKDOWNS = {
    "evidence_level": (
        ["evidence_level"],
        lambda k, today: choices(
            k["evidence_level"], "evidence_level", gettext_lazy("Evidence level"), EvidenceLevel
        ),
    ),
    "review_state": (
        ["review_state"],
        lambda k, today: choices(
            k["review_state"], "review_state", gettext_lazy("Review state"), ReviewState
        ),
    ),
    "added_month": (
        ["added"],
        lambda k, today: per_month(
            k["added"], "added_month", gettext_lazy("Cases added, by month")
        ),
    ),
    "verified_month": (
        ["verified"],
        lambda k, today: per_month(
            k["verified"],
            "verified_month",
            gettext_lazy("Cases verified, by month"),
            gettext_lazy(
                "The month each case was last verified; cases never verified are left out."
            ),
        ),
    ),
}
STAFF_NAMES = [*NAMES, *STAFF_BREAKDOWNS]


def compute(snapshots=None, only: set[str] | None = None, today=None) -> Statistics:
    """Every breakdown of the published cases in ``snapshots`` (all when None: from the kept
    counts), or those named in ``only``. ``today`` is for time in detention so far (default:
    today)."""
    today = today or timezone.localdate()
    wanted = chosen(BREAKDOWNS, only)
    if snapshots is None:
        return counted(tally.stored(cache.PUBLISHED, names=dimensions(wanted)), wanted, today)
    with selection(snapshots) as selected:
        facts = PublishedFacts.objects.filter(snapshot_id__in=selected)
        counts = tally.live(Counting(PUBLISHED, facts, selected), dimensions(wanted))
        return counted(counts, wanted, today)


def compute_staff(
    user, cases=None, only: set[str] | None = None, today=None, archived: bool = False
) -> Statistics:
    """Every breakdown, the staff's own included, of the cases in ``cases`` (a queryset of
    Case; all when None) that ``user`` may see (figures.staff.counted_for: need to know
    applies), or those named in ``only``. Archived cases count only with ``archived``.
    Exact counts: the page is the staff's, and counts only what its reader may see.

    All cases are counted from the kept counts of the classes everyone counts, with the
    sensitive cases the reader is assigned to counted by query (a few)."""
    today = today or timezone.localdate()
    wanted = chosen(BREAKDOWNS | STAFF_BREAKDOWNS, only)
    names = dimensions(wanted)
    if cases is None:
        counts = tally.stored(cache.STAFF, staff.classes(user, archived), names)
        seen = staff.sensitive_seen(user, archived)
        if seen is not None:
            counts = tally.merged(
                counts, tally.live(Counting(STAFF, seen, seen.values("pk")), names)
            )
        return counted(counts, wanted, today)
    with selection(cases) as selected:
        facts = staff.counted_for(user, archived=archived).filter(case_id__in=selected)
        counts = tally.live(Counting(STAFF, facts, facts.values("pk")), names)
        return counted(counts, wanted, today)


def chosen(breakdowns: dict, only: set[str] | None) -> dict:
    return {name: b for name, b in breakdowns.items() if only is None or name in only}


def dimensions(breakdowns: dict) -> set[str]:
    """The dimensions these breakdowns count by, and the total."""
    return {"total"}.union(*(names for names, _ in breakdowns.values()))


def counted(counts: dict, breakdowns: dict, today) -> Statistics:
    return Statistics(
        total=counts["total"][()],
        breakdowns={name: make(counts, today) for name, (_, make) in breakdowns.items()},
    )


SELECTED = "figures_selected"


@contextmanager
def selection(records):
    """The keys of the records (snapshots or cases) a filter selects, worked out once: a
    temporary table of this connection, which every breakdown's query reads (a filter such
    as "held in this prefecture" reads the events of every case; run in each of some thirty
    queries, it costs thirty times). None for all of them. In a read-only transaction (an
    export's consistent read on PostgreSQL), where no table can be made, the filter itself."""
    if records is None:
        yield None
        return
    keys = records.order_by().values("pk")
    try:
        sql, params = keys.query.sql_with_params()
    except EmptyResultSet:  # a filter that selects nothing, known before any query
        yield keys
        return
    if read_only():
        yield keys
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SELECTED}")
        cursor.execute(f"CREATE TEMPORARY TABLE {SELECTED} AS {sql}", params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {SELECTED}")  # its size, for the planner
        # A constant table name, no value from outside: nothing to inject.
        yield RawSQL(f"SELECT * FROM {SELECTED}", [])  # noqa: S608, S611
        # Not on an error: the savepoint's rollback takes the table with it, and a statement
        # in an aborted transaction would hide the error.
        cursor.execute(f"DROP TABLE IF EXISTS {SELECTED}")


def read_only() -> bool:
    """Whether this connection may write nothing now (not even a temporary table)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT current_setting('transaction_read_only')")
            return cursor.fetchone()[0] == "on"
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA query_only")
            return bool(cursor.fetchone()[0])
    return False


# --- as a table (statistics.csv, the XLSX sheet, the admin's downloads) -------------------

TABLE_HEADER = ["breakdown", "value", "detail", "label", "count", "suppressed"]


def table(statistics: Statistics) -> list[list]:
    """The statistics as rows of TABLE_HEADER: the total first, then every breakdown's rows.
    A hidden count is an empty cell with ``suppressed`` true."""

    def flag(hidden: bool) -> str:
        return "true" if hidden else "false"

    total = None if statistics.total_suppressed else statistics.total
    rows = [["total", "", "", gettext("Cases counted"), total, flag(statistics.total_suppressed)]]
    for name, breakdown in statistics.breakdowns.items():
        for r in breakdown.rows:
            detail = r.get("certainty") or (r.get("charge") or {}).get("article") or ""
            rows.append([name, r["value"], detail, r["label"], r["count"], flag(r["suppressed"])])
    return rows


# --- small counts ------------------------------------------------------------------------


def suppress(statistics: Statistics, min_cell: int) -> Statistics:
    """Hide every count from 1 to ``min_cell`` - 1 (count None, suppressed True), the total
    included: a count that small can point at one person. In a partition (whose rows add up),
    a single hidden count could be worked out from the total and the rest, so the next
    smallest count is hidden with it. Zeros are shown: they reveal no one."""
    statistics.min_cell = min_cell
    small = lambda count: count is not None and 0 < count < min_cell  # noqa: E731
    statistics.total_suppressed = small(statistics.total)
    for breakdown in statistics.breakdowns.values():
        hidden = [r for r in breakdown.rows if small(r["count"])]
        if breakdown.partition and len(hidden) == 1:
            shown = sorted(
                (r for r in breakdown.rows if r["count"] and all(r is not h for h in hidden)),
                key=lambda r: r["count"],
            )
            hidden += shown[:1]
        for r in hidden:
            r["count"], r["suppressed"] = None, True
    return statistics


# --- the breakdowns ------------------------------------------------------------------------


def choices(counts: Counter, name: str, label, vocabulary) -> Breakdown:
    """A row for each value of ``vocabulary`` (counts: (value,): cases)."""
    counts = {key[0]: n for key, n in counts.items()}
    rows = [row(value, text, counts.pop(value, 0)) for value, text in vocabulary.choices]
    unrecorded = counts.pop(None, 0)
    # A value no longer among the choices (a vocabulary changed since): counted, as it is.
    rows += [row(value, value, n) for value, n in sorted(counts.items(), key=str) if n]
    if unrecorded:
        rows.append(row(UNKNOWN, gettext("Not recorded"), unrecorded))
    return Breakdown(name, str(label), True, rows)


def per_month(counts: Counter, name: str, label, note="") -> Breakdown:
    """Cases per calendar month (counts: (first day of the month, ISO),: cases), every month
    from the first to the last (months without any shown as 0)."""
    months = Counter()
    for (first,), n in counts.items():
        day = datetime.date.fromisoformat(first)
        months[day.year, day.month] += n
    rows = []
    if months:
        year, month = min(months)
        while (year, month) <= max(months):
            first = datetime.date(year, month, 1)
            rows.append(
                row(
                    f"{year:04d}-{month:02d}",
                    date_format(first, "YEAR_MONTH_FORMAT"),
                    months.get((year, month), 0),
                )
            )
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return Breakdown(name, str(label), False, rows, str(note))


def last_year(low: int, high: int | None, today) -> int:
    """The last year a first detention may have been in: no later than this year (an open
    end, or a dating such as "202X" that runs into years not yet come, runs to now)."""
    return max(low, today.year) if high is None or high > today.year else high


def last_year_sql(today):
    """last_year() as SQL, over the facts' columns."""
    runs_on = Q(detained_year_high__isnull=True) | Q(detained_year_high__gt=today.year)
    return SQLCase(
        When(runs_on, then=Greatest(F("detained_year_low"), Value(today.year))),
        default=F("detained_year_high"),
        output_field=IntegerField(),
    )


def detention_years(counts: dict, today) -> Breakdown:
    """Per year, the cases first detained in that year for certain (the whole of the
    detention's dating lies in it) and the cases whose dating spans that year among others
    ("2019/2023" counts in each of 2019 to 2023 as "somewhere in this range", never as
    known). Ranges are not summed: one case appears in every year its range covers."""
    exact, spans = Counter(), Counter()
    undated = 0
    for (low, high), n in counts["detained_years"].items():
        if low is None:
            undated += n
            continue
        high = last_year(low, high, today)
        if low == high:
            exact[low] += n
        else:
            for year in range(low, high + 1):
                spans[year] += n
    rows = []
    for year in sorted(set(exact) | set(spans)):
        rows.append(
            row(
                str(year),
                gettext("%(year)s, known") % {"year": year},
                exact[year],
                year=year,
                certainty="exact",
            )
        )
        rows.append(
            row(
                str(year),
                gettext("%(year)s, somewhere in a range") % {"year": year},
                spans[year],
                year=year,
                certainty="range",
            )
        )
    rows.append(row(None, gettext("No date of detention"), undated, year=None, certainty="undated"))
    return Breakdown(
        "detention_year",
        gettext("First detention, by year"),
        False,
        rows,
        gettext(
            "A case counts as known in a year only when its first detention is dated within "
            "that year. A case dated only as a range (e.g. 2019/2023) counts as "
            "“somewhere in a range” in each year the range covers, so those counts overlap "
            "and must not be added up."
        )
        + " "
        + gettext(
            "A dating left open (2019/..), or one that runs into years to come (202X), counts "
            "up to this year."
        ),
    )


def charges(named: Counter) -> Breakdown:
    counts = {key[0]: n for key, n in named.items() if n}
    serializer = public.ChargeSerializer(context={})  # addresses as paths
    rows = [
        row(
            str(charge.uid),
            local_name(charge, "name"),
            counts[charge.pk],
            charge=serializer.to_representation(charge),
        )
        for charge in Charge.objects.filter(pk__in=counts)
    ]
    rows.sort(key=lambda r: (-r["count"], r["charge"]["article"], r["label"]))
    return Breakdown(
        "charges",
        gettext("Charges (PRC Criminal Law)"),
        False,
        rows,
        gettext(
            "A case is counted under each charge it names, so the rows add up to more than "
            "the cases. See “Whether charges are known” for the cases without charges."
        ),
    )


def places(k: dict, role: str, kind: str) -> Breakdown:
    counts = {
        pk: n
        for (of_role, of_kind, pk), n in k[tally.PLACE].items()
        if (of_role, of_kind) == (role, kind) and n
    }
    serializer = public.LocationSerializer(context={})  # addresses as paths
    rows = [
        row(
            str(place.uid),
            local_name(place),
            counts[place.pk],
            place=serializer.to_representation(place),
        )
        for place in Location.objects.filter(pk__in=counts).select_related("parent")
    ]
    rows.sort(key=lambda r: (-r["count"], r["label"]))
    # The cases with no place at this level: known only more vaguely, or not at all.
    finest = Precision.PREFECTURE if kind == LocationKind.PREFECTURE else Precision.COUNTY
    known = {key[0]: n for key, n in k[f"{role}_precision"].items()}
    counts = {
        "vaguer": sum(n for level, n in known.items() if Precision.NONE < level < finest),
        "none": known.get(Precision.NONE, 0),
    }
    level = gettext("prefecture") if kind == LocationKind.PREFECTURE else gettext("county")
    rows.append(
        row(
            UNCERTAIN,
            gettext("Place known, not its %(level)s") % {"level": level},
            counts["vaguer"],
        )
    )
    rows.append(row(UNKNOWN, gettext("No place recorded"), counts["none"]))
    labels = {
        (PlaceRole.DETENTION, LocationKind.PREFECTURE): gettext(
            "Place of detention, by prefecture"
        ),
        (PlaceRole.DETENTION, LocationKind.COUNTY): gettext("Place of detention, by county"),
        (PlaceRole.ORIGIN, LocationKind.PREFECTURE): gettext("Place of origin, by prefecture"),
        (PlaceRole.ORIGIN, LocationKind.COUNTY): gettext("Place of origin, by county"),
    }
    note = (
        gettext(
            "A person held in several places counts in each, so the rows can add up to more "
            "than the cases."
        )
        if role == PlaceRole.DETENTION
        else ""
    )
    # A person comes from one place: each case is in one row of the origin breakdowns, which
    # therefore add up to the total (so a hidden count needs another hidden with it).
    return Breakdown(f"{role}_{kind}", labels[role, kind], role == PlaceRole.ORIGIN, rows, note)


def band_label(low: int, high: int | None, unit: str) -> str:
    if high is None:
        return {
            "years": gettext("%(low)s years or more"),
            "months": gettext("%(low)s months or more"),
            "days": gettext("%(low)s days or more"),
        }[unit] % {"low": low}
    if unit == "years" and low == high == 0:  # whole years held: not yet one
        return gettext("Under 1 year")
    if low == high:
        count = low
        return {
            "years": ngettext("%(count)s year", "%(count)s years", count),
            "months": ngettext("%(count)s month", "%(count)s months", count),
            "days": ngettext("%(count)s day", "%(count)s days", count),
        }[unit] % {"count": count}
    # The plural follows the upper end ("2–3 года", "5–9 лет").
    return {
        "years": ngettext("%(low)s–%(high)s year", "%(low)s–%(high)s years", high),
        "months": ngettext("%(low)s–%(high)s month", "%(low)s–%(high)s months", high),
        "days": ngettext("%(low)s–%(high)s day", "%(low)s–%(high)s days", high),
    }[unit] % {"low": low, "high": high}


def band_of(low, high, bands) -> SQLCase:
    """SQL: the index of the band that holds both ``low`` and ``high`` (columns); -1 when
    they fall in different bands or one of them cannot be known (an open end); None when
    neither is known."""
    whens = [
        When(Q(**{f"{low}__isnull": True}) & Q(**{f"{high}__isnull": True}), then=None),
        When(Q(**{f"{low}__isnull": True}) | Q(**{f"{high}__isnull": True}), then=Value(-1)),
    ]
    for index, (start, end) in enumerate(bands):
        inside = Q(**{f"{low}__gte": start})
        if end is not None:
            inside &= Q(**{f"{high}__lte": end})
        whens.append(When(inside, then=Value(index)))
    return SQLCase(*whens, default=Value(-1), output_field=IntegerField())


def band_index(low, high, bands) -> int | None:
    """band_of() in Python, over values."""
    if low is None and high is None:
        return None
    if low is None or high is None:
        return -1
    for index, (start, end) in enumerate(bands):
        if low >= start and (end is None or high <= end):
            return index
    return -1


def banded(counts, band, bands, unit, name, label, unknown_label, note="", labels=None):
    """A partition by ``band`` (a key's values -> band_index()) of the cases counted under
    each key of ``counts``, the bands named by ``labels`` or by their bounds in ``unit``."""
    by_band = Counter()
    for key, n in counts.items():
        by_band[band(*key)] += n
    rows = [
        row(
            f"{start}-{'' if end is None else end}",
            labels[index] if labels else band_label(start, end, unit),
            by_band.get(index, 0),
        )
        for index, (start, end) in enumerate(bands)
    ]
    rows.append(row(UNCERTAIN, gettext("Too uncertain to place in one band"), by_band.get(-1, 0)))
    rows.append(row(UNKNOWN, unknown_label, by_band.get(None, 0)))
    return Breakdown(name, str(label), True, rows, note)


# Each banded breakdown's cases, band (band_of()) and bands, as SQL over the facts: the rule
# for listing a row's cases (in_row), the same as the counts' (figures.tally's dimensions
# and the band_index() of the breakdowns below).
BANDINGS = {
    "age_at_detention": lambda facts, today: (
        facts,
        band_of("age_low", "age_high", AGE_BANDS),
        AGE_BANDS,
    ),
    "sentence": lambda facts, today: (
        facts.filter(sentence_kind=SentenceKind.TERM),
        band_of("sentence_months", "sentence_months", SENTENCE_BANDS),
        SENTENCE_BANDS,
    ),
    "family_notified": lambda facts, today: (
        facts.filter(tally.DIMENSIONS["notified"].only),
        band_of("notified_low", "notified_high", NOTIFIED_BANDS),
        NOTIFIED_BANDS,
    ),
    "time_held": lambda facts, today: (
        facts.filter(tally.DIMENSIONS["held"].only),
        held_band(today),
        HELD_BANDS,
    ),
}


def age_at_detention(counts: Counter) -> Breakdown:
    """counts: (youngest, oldest): cases."""
    return banded(
        counts,
        lambda low, high: band_index(low, high, AGE_BANDS),
        AGE_BANDS,
        "years",
        "age_at_detention",
        gettext("Age at first detention"),
        gettext("Birth date or detention date not known"),
        gettext(
            "From the birth date and the date of first detention. A case counts in a band only "
            "if every age its dates allow lies in it."
        ),
    )


def sentence(counts: Counter) -> Breakdown:
    """counts: (sentence kind, months): cases."""
    terms, other = Counter(), Counter()
    for (kind, months), n in counts.items():
        if kind == SentenceKind.TERM:
            terms[months,] += n
        elif kind:
            other[kind] += n
    term = banded(
        terms,
        lambda months: band_index(months, months, SENTENCE_BANDS),
        SENTENCE_BANDS,
        "months",
        "sentence",
        "",
        "",
        labels=[
            gettext("Under 1 year"),
            gettext("1–4 years"),
            gettext("5–9 years"),
            gettext("10–14 years"),
            gettext("15–19 years"),
            gettext("20 years or more"),
        ],
    )
    rows = [r for r in term.rows if r["value"] not in (UNCERTAIN, UNKNOWN)]
    rows += [
        row(kind, label, other.get(kind, 0))
        for kind, label in SentenceKind.choices
        if kind != SentenceKind.TERM
    ]
    return Breakdown(
        "sentence",
        gettext("Sentences passed"),
        True,
        rows,
        gettext("The last sentence of each sentenced case, as the sources give it."),
    )


def family_notified(counts: Counter) -> Breakdown:
    """counts: (fewest days, most days): cases, of those with a dated first detention."""
    return banded(
        counts,
        lambda low, high: band_index(low, high, NOTIFIED_BANDS),
        NOTIFIED_BANDS,
        "days",
        "family_notified",
        gettext("Time from detention to the family being notified"),
        gettext("Family not known to have been notified"),
        gettext("Cases with a dated first detention."),
        labels=[
            gettext("Within a week"),
            gettext("Within a month"),
            gettext("Within six months"),
            gettext("Within a year"),
            gettext("More than a year"),
        ],
    )


def years_ago(today: datetime.date, years: int) -> datetime.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def held_band(today: datetime.date) -> SQLCase:
    """SQL: whole years since the first detention: at least since its latest possible day
    (none for an open end), at most since its earliest."""
    whens = [When(detained_earliest__isnull=True, then=None)]
    for index, (start, end) in enumerate(HELD_BANDS):
        inside = Q(detained_latest__lte=years_ago(today, start)) if start else Q()
        if end is not None:
            inside &= Q(detained_earliest__gt=years_ago(today, end + 1))
        whens.append(When(inside, then=Value(index)))
    return SQLCase(*whens, default=Value(-1), output_field=IntegerField())


def held_index(earliest: str | None, latest: str | None, today: datetime.date) -> int | None:
    """held_band() in Python, over a first detention's earliest and latest day (ISO)."""
    if earliest is None:
        return None
    earliest = datetime.date.fromisoformat(earliest)
    latest = datetime.date.fromisoformat(latest) if latest else None
    for index, (start, end) in enumerate(HELD_BANDS):
        inside = not start or (latest is not None and latest <= years_ago(today, start))
        if end is not None:
            inside = inside and earliest > years_ago(today, end + 1)
        if inside:
            return index
    return -1


def time_held(counts: Counter, today: datetime.date) -> Breakdown:
    """Whole years since the first detention, for the cases still held (held_band):
    counts: (earliest day, latest day): cases."""
    return banded(
        counts,
        lambda earliest, latest: held_index(earliest, latest, today),
        HELD_BANDS,
        "years",
        "time_held",
        gettext("Time in detention so far"),
        gettext("Date of detention not known"),
        gettext("Cases whose current situation is detained or sentenced, in whole years."),
    )


# --- the cases of one row (the staff's links from a chart to the case list) ----------------

# The breakdowns that count a column's values, and the column.
CHOICE_COLUMNS = {
    "status": "status",
    "charges_disclosed": "charges_state",
    "ethnicity": "ethnicity",
    "gender": "gender",
    "evidence_level": "evidence_level",
    "review_state": "review_state",
}
PLACE_BREAKDOWNS = {
    "detention_prefecture": (PlaceRole.DETENTION, LocationKind.PREFECTURE),
    "detention_county": (PlaceRole.DETENTION, LocationKind.COUNTY),
    "origin_prefecture": (PlaceRole.ORIGIN, LocationKind.PREFECTURE),
    "origin_county": (PlaceRole.ORIGIN, LocationKind.COUNTY),
}
MONTH_COLUMNS = {"added_month": "added_on", "verified_month": "verified_on"}


def row_key(name: str, r: dict) -> str:
    """What names a row of breakdown ``name`` for in_row(): its value, and for the years of
    detention its certainty too (a year has a row of each)."""
    if name == "detention_year":
        return f"{r.get('year') or ''}:{r['certainty']}"
    return "" if r["value"] is None else str(r["value"])


def is_uid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def is_number(text: str) -> bool:
    """A whole number written in ASCII digits (str.isdigit() takes "²" too)."""
    return text.isascii() and text.isdigit() and len(text) <= 9


def in_row(facts, name: str, key: str, today=None):
    """The facts among ``facts`` that breakdown ``name`` counts in the row ``key``
    (row_key()), by the rule that counted them; None when there is no such row."""
    today = today or timezone.localdate()
    if not key.isprintable():  # a control character (NUL) no value holds, nor a database
        return None
    if name in CHOICE_COLUMNS:
        column = CHOICE_COLUMNS[name]
        if column == "evidence_level":
            if key == UNKNOWN:
                return facts.filter(evidence_level__isnull=True)
            if not is_number(key):
                return None
        return facts.filter(**{column: key})
    if name == "charges":
        if not is_uid(key):
            return None
        named = CaseFactCharge.objects.filter(facts=OuterRef("pk"), charge__uid=key)
        return facts.filter(Exists(named))
    if name in PLACE_BREAKDOWNS:
        role, kind = PLACE_BREAKDOWNS[name]
        precision = f"{role}_precision"
        finest = Precision.PREFECTURE if kind == LocationKind.PREFECTURE else Precision.COUNTY
        if key == UNCERTAIN:
            return facts.filter(**{f"{precision}__gt": Precision.NONE, f"{precision}__lt": finest})
        if key == UNKNOWN:
            return facts.filter(**{precision: Precision.NONE})
        if not is_uid(key):
            return None
        places = CaseFactPlace.objects.filter(
            facts=OuterRef("pk"), role=role, kind=kind, location__uid=key
        )
        return facts.filter(Exists(places))
    if name == "sentence" and key in SentenceKind.values and key != SentenceKind.TERM:
        return facts.filter(sentence_kind=key)
    if name in BANDINGS:
        subset, band, bands = BANDINGS[name](facts, today)
        index = {f"{start}-{'' if end is None else end}": i for i, (start, end) in enumerate(bands)}
        index |= {UNCERTAIN: -1}
        if key == UNKNOWN and name != "sentence":
            return subset.annotate(band=band).filter(band__isnull=True)
        if key not in index:
            return None
        return subset.annotate(band=band).filter(band=index[key])
    if name == "detention_year":
        year, _, certainty = key.partition(":")
        if certainty == "undated":
            return facts.filter(detained_year_low__isnull=True)
        if not is_number(year) or certainty not in ("exact", "range"):
            return None
        year = int(year)
        # As detention_years(): a case whose dating lies in one year (to its last_year()) is
        # known in it; any other counts in every year from its first to its last.
        dated = facts.annotate(year_to=last_year_sql(today))
        if certainty == "exact":
            return dated.filter(detained_year_low=year, year_to=year)
        return dated.filter(detained_year_low__lte=year, year_to__gte=year).exclude(
            year_to=F("detained_year_low")
        )
    if name in MONTH_COLUMNS:
        column = MONTH_COLUMNS[name]
        year, _sep, month = key.partition("-")
        if not (is_number(year) and is_number(month) and 1 <= int(month) <= 12):
            return None
        year, month = int(year), int(month)
        if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
            return None
        return facts.filter(**{f"{column}__year": year, f"{column}__month": month})
    return None
