"""The statistics: breakdowns of a set of published cases, counted from their facts
(figures.models). One module for every surface (the partner API, the exports, the staff
page), so that they never disagree.

``compute(snapshots)`` takes the published snapshots to count (a filtered queryset of
``PublishedCase``, or None for all) and returns each breakdown's rows with their exact
counts; ``suppress(statistics, min_cell)`` then hides the small counts for outputs that
leave the organisation (``STATISTICS_MIN_CELL``).

Each breakdown is a handful of grouped queries over narrow, indexed tables; nothing is read
per case. Uncertain values are never forced into one bin: a case counts in a bin only if
everything it may be lies in that bin, and the rest are counted as "too uncertain".
"""

import datetime
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Case as SQLCase
from django.db.models import Count, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, ngettext

from api import public
from cases.models import CaseStatus, Charge, Location, LocationKind
from figures.models import (
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
# Still held: the situations in which time in detention goes on counting.
STILL_HELD = [CaseStatus.DETAINED, CaseStatus.SENTENCED]

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


# Each breakdown: (the facts counted, the keys of the snapshots selected or None for all of
# them, today) -> Breakdown. Facts, charges and places are keyed by the snapshot's key.
BREAKDOWNS = {
    "detention_year": lambda facts, selected, today: detention_years(facts, today),
    "status": lambda facts, selected, today: choices(
        facts, "status", "status", gettext_lazy("Current situation"), CaseStatus
    ),
    "charges": lambda facts, selected, today: charges(facts, selected),
    "charges_disclosed": lambda facts, selected, today: choices(
        facts,
        "charges_disclosed",
        "charges_state",
        gettext_lazy("Whether charges are known"),
        ChargesState,
    ),
    "detention_prefecture": lambda facts, selected, today: places(
        facts, selected, PlaceRole.DETENTION, LocationKind.PREFECTURE
    ),
    "detention_county": lambda facts, selected, today: places(
        facts, selected, PlaceRole.DETENTION, LocationKind.COUNTY
    ),
    "origin_prefecture": lambda facts, selected, today: places(
        facts, selected, PlaceRole.ORIGIN, LocationKind.PREFECTURE
    ),
    "origin_county": lambda facts, selected, today: places(
        facts, selected, PlaceRole.ORIGIN, LocationKind.COUNTY
    ),
    "ethnicity": lambda facts, selected, today: choices(
        facts, "ethnicity", "ethnicity", gettext_lazy("Ethnicity"), Ethnicity
    ),
    "gender": lambda facts, selected, today: choices(
        facts, "gender", "gender", gettext_lazy("Gender"), Gender
    ),
    "age_at_detention": lambda facts, selected, today: age_at_detention(facts),
    "sentence": lambda facts, selected, today: sentence(facts),
    "family_notified": lambda facts, selected, today: family_notified(facts),
    "time_held": lambda facts, selected, today: time_held(facts, today),
}
NAMES = list(BREAKDOWNS)


def compute(snapshots=None, only: set[str] | None = None, today=None) -> Statistics:
    """Every breakdown of the published cases in ``snapshots`` (all when None), or those
    named in ``only``. ``today`` is for time in detention so far (default: today)."""
    today = today or timezone.localdate()
    with selection(snapshots) as selected:
        facts = PublishedFacts.objects.all()
        if selected is not None:
            facts = facts.filter(snapshot_id__in=selected)
        return Statistics(
            total=facts.count(),
            breakdowns={
                name: make(facts, selected, today)
                for name, make in BREAKDOWNS.items()
                if only is None or name in only
            },
        )


SELECTED = "figures_selected"


@contextmanager
def selection(snapshots):
    """The keys of the snapshots a filter selects, worked out once: a temporary table of
    this connection, which every breakdown's query reads (a filter such as "held in this
    prefecture" reads the events of every case; run in each of some thirty queries, it
    costs thirty times). None for all of them."""
    if snapshots is None:
        yield None
        return
    sql, params = snapshots.values("pk").query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SELECTED}")
        cursor.execute(f"CREATE TEMPORARY TABLE {SELECTED} AS {sql}", params)
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {SELECTED}")  # its size, for the planner
        try:
            # A constant table name, no value from outside: nothing to inject.
            yield RawSQL(f"SELECT * FROM {SELECTED}", [])  # noqa: S608, S611
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {SELECTED}")


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


def choices(facts, name: str, column: str, label, vocabulary) -> Breakdown:
    counts = dict(facts.values_list(column).annotate(n=Count("pk")).values_list(column, "n"))
    rows = [row(value, text, counts.pop(value, 0)) for value, text in vocabulary.choices]
    # A value no longer among the choices (a vocabulary changed since): counted, as it is.
    rows += [row(value, value, n) for value, n in sorted(counts.items(), key=str)]
    return Breakdown(name, str(label), True, rows)


def detention_years(facts, today) -> Breakdown:
    """Per year, the cases first detained in that year for certain (the whole of the
    detention's dating lies in it) and the cases whose dating spans that year among others
    ("2019/2023" counts in each of 2019 to 2023 as "somewhere in this range", never as
    known). Ranges are not summed: one case appears in every year its range covers."""
    pairs = (
        facts.filter(detained_year_low__isnull=False)
        .values_list("detained_year_low", "detained_year_high")
        .annotate(n=Count("pk"))
    )
    exact, spans = Counter(), Counter()
    for low, high, n in pairs:
        high = today.year if high is None else high  # open-ended: up to now
        if low == high:
            exact[low] += n
        else:
            for year in range(low, max(low, high) + 1):
                spans[year] += n
    undated = facts.filter(detained_year_low__isnull=True).count()
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
        ),
    )


def charges(facts, selected) -> Breakdown:
    named = PublishedFactCharge.objects.all()
    if selected is not None:  # only the charges of the cases selected
        named = named.filter(facts_id__in=selected)
    counts = named.values_list("charge").annotate(n=Count("facts")).values_list("charge", "n")
    counts = dict(counts)
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


def places(facts, selected, role: str, kind: str) -> Breakdown:
    in_kind = PublishedFactPlace.objects.filter(role=role, kind=kind)
    if selected is not None:  # only the places of the cases selected
        in_kind = in_kind.filter(facts_id__in=selected)
    counts = dict(
        in_kind.values_list("location").annotate(n=Count("facts")).values_list("location", "n")
    )
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
    precision = f"{role}_precision"
    counts = facts.aggregate(
        vaguer=Count(
            "pk", filter=Q(**{f"{precision}__gt": Precision.NONE, f"{precision}__lt": finest})
        ),
        none=Count("pk", filter=Q(**{precision: Precision.NONE})),
    )
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


def banded(facts, band, bands, unit, name, label, unknown_label, note="", labels=None):
    """A partition of ``facts`` by ``band`` (an SQL expression: band_of()), the bands named
    by ``labels`` or by their bounds in ``unit``."""
    counts = dict(
        facts.annotate(band=band)
        .values_list("band")
        .annotate(n=Count("pk"))
        .values_list("band", "n")
    )
    rows = [
        row(
            f"{start}-{'' if end is None else end}",
            labels[index] if labels else band_label(start, end, unit),
            counts.get(index, 0),
        )
        for index, (start, end) in enumerate(bands)
    ]
    rows.append(row(UNCERTAIN, gettext("Too uncertain to place in one band"), counts.get(-1, 0)))
    rows.append(row(UNKNOWN, unknown_label, counts.get(None, 0)))
    return Breakdown(name, str(label), True, rows, note)


def age_at_detention(facts) -> Breakdown:
    return banded(
        facts,
        band_of("age_low", "age_high", AGE_BANDS),
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


def sentence(facts) -> Breakdown:
    sentenced = facts.exclude(sentence_kind="")
    term = banded(
        sentenced.filter(sentence_kind=SentenceKind.TERM),
        band_of("sentence_months", "sentence_months", SENTENCE_BANDS),
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
    other = dict(
        sentenced.exclude(sentence_kind=SentenceKind.TERM)
        .values_list("sentence_kind")
        .annotate(n=Count("pk"))
        .values_list("sentence_kind", "n")
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


def family_notified(facts) -> Breakdown:
    dated = facts.filter(detained_year_low__isnull=False)
    return banded(
        dated,
        band_of("notified_low", "notified_high", NOTIFIED_BANDS),
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


def time_held(facts, today: datetime.date) -> Breakdown:
    """Whole years since the first detention, for the cases still held: at least since its
    latest possible day (none for an open end), at most since its earliest."""

    def years_ago(years: int) -> datetime.date:
        try:
            return today.replace(year=today.year - years)
        except ValueError:  # 29 February
            return today.replace(year=today.year - years, day=28)

    whens = [When(detained_earliest__isnull=True, then=None)]
    for index, (start, end) in enumerate(HELD_BANDS):
        inside = Q(detained_latest__lte=years_ago(start)) if start else Q()
        if end is not None:
            inside &= Q(detained_earliest__gt=years_ago(end + 1))
        whens.append(When(inside, then=Value(index)))
    return banded(
        facts.filter(status__in=STILL_HELD),
        SQLCase(*whens, default=Value(-1), output_field=IntegerField()),
        HELD_BANDS,
        "years",
        "time_held",
        gettext("Time in detention so far"),
        gettext("Date of detention not known"),
        gettext("Cases whose current situation is detained or sentenced, in whole years."),
    )
