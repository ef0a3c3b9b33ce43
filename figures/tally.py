"""How many cases hold each value the statistics break down by, found either way:

- ``live(counting, names)``: grouped queries over the facts a filter selects;
- ``stored(scope, classes, names)``: the counts of every case of these classes, kept in
  ``figures.models.Tally`` by the writes that change the facts, so that a page counting
  every case reads a few thousand rows however many cases there are.

A *dimension* is what one or more breakdowns count by: a tuple of a facts row's columns (the
years of the first detention, the bounds of the age, a month…), the charges a case names, or
its places. Its keys are the raw values, never the bands or the rows the breakdowns show
(figures.breakdowns works those out from the counts), so that what depends on today (the
time held so far, a dating that runs into years to come) is worked out when read, and new
bands need no recount.

``figures.facts.write`` and ``remove`` keep the stored counts, in the transaction of their
write: ``kept()`` reads the keys of the rows about to go, ``change()`` adds the new rows'
and takes the old ones' away. ``recount(scope)`` counts everything again from the facts
(rebuild_figures; the migration that made the table).
"""

import datetime
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BooleanField, Count, DateField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Cast, TruncMonth

from cases.models import CaseStatus
from figures.cache import STAFF
from figures.models import Tally

# Still held: the situations in which time in detention goes on counting.
STILL_HELD = [CaseStatus.DETAINED, CaseStatus.SENTENCED]
# The columns that say who may count a staff case (figures.staff.counted_for).
CLASS_COLUMNS = ("sensitive", "archived", "synthetic")
PUBLIC_CLASS = (False, False, False)


@dataclass(frozen=True)
class Dimension:
    name: str
    columns: tuple[str, ...]
    # The facts it counts when not all: the same rule as SQL and in Python.
    only: Q | None = None
    applies: Callable[[dict], bool] | None = None
    monthly: bool = False  # its one column, by calendar month
    staff: bool = False  # counted for the staff alone


FACTS = [
    Dimension("total", ()),
    Dimension("status", ("status",)),
    Dimension("charges_state", ("charges_state",)),
    Dimension("ethnicity", ("ethnicity",)),
    Dimension("gender", ("gender",)),
    Dimension("detention_precision", ("detention_precision",)),
    Dimension("origin_precision", ("origin_precision",)),
    Dimension("detained_years", ("detained_year_low", "detained_year_high")),
    Dimension("age", ("age_low", "age_high")),
    Dimension("sentence", ("sentence_kind", "sentence_months")),
    Dimension(
        "notified",
        ("notified_low", "notified_high"),
        only=Q(detained_year_low__isnull=False),
        applies=lambda values: values["detained_year_low"] is not None,
    ),
    Dimension(
        "held",
        ("detained_earliest", "detained_latest"),
        only=Q(status__in=STILL_HELD),
        applies=lambda values: values["status"] in STILL_HELD,
    ),
    Dimension("evidence_level", ("evidence_level",), staff=True),
    Dimension("review_state", ("review_state",), staff=True),
    Dimension("added", ("added_on",), monthly=True, staff=True),
    Dimension(
        "verified",
        ("verified_on",),
        only=Q(verified_on__isnull=False),
        applies=lambda values: values["verified_on"] is not None,
        monthly=True,
        staff=True,
    ),
]
DIMENSIONS = {dimension.name: dimension for dimension in FACTS}
# A charge a case names (its pk); a place at a counted level (role, level, pk).
CHARGE, PLACE = "charge", "place"


def plain(value):
    """A value as a key holds it: a day as ISO text (JSON has no dates)."""
    return value.isoformat() if isinstance(value, datetime.date) else value


def encode(key: tuple) -> str:
    return json.dumps(list(key), ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> tuple:
    return tuple(json.loads(text))


def month_of(day: datetime.date | None) -> datetime.date | None:
    return day.replace(day=1) if day else None


# --- counted by queries --------------------------------------------------------------------


def live(counting, names: Iterable[str]) -> dict[str, Counter]:
    """The counts of each key of dimensions ``names`` among the facts ``counting`` selects
    (figures.breakdowns.Counting): on PostgreSQL, the facts' own dimensions in one pass
    (grouping sets), the charges and the places in one query each; elsewhere one grouped
    query a dimension."""
    counts = defaultdict(Counter)
    names = set(names)
    own = [DIMENSIONS[name] for name in sorted(names - {CHARGE, PLACE})]
    if connection.vendor == "postgresql" and len(own) > 1:
        counts.update(in_one_pass(counting.facts, own))
        own = []
    for dimension in own:
        facts = counting.facts
        if dimension.only is not None:
            facts = facts.filter(dimension.only)
        if not dimension.columns:
            counts[dimension.name][()] = facts.count()
            continue
        columns = dimension.columns
        if dimension.monthly:
            facts, columns = facts.annotate(month=TruncMonth(columns[0])), ("month",)
        for *key, n in facts.values_list(*columns).annotate(n=Count("pk")):
            counts[dimension.name][tuple(plain(value) for value in key)] += n
    linked = []
    if CHARGE in names:
        rows = counting.linked(counting.tables.charge).values_list("charge")
        linked.append((CHARGE, rows))
    if PLACE in names:
        rows = counting.linked(counting.tables.place).values_list("role", "kind", "location")
        linked.append((PLACE, rows))
    for name, rows in linked:
        for *key, n in rows.annotate(n=Count("facts")):
            counts[name][tuple(key)] += n
    return counts


def in_one_pass(facts, dimensions: list[Dimension]) -> dict[str, Counter]:
    """live()'s counts of these dimensions in one query (PostgreSQL's GROUPING SETS): each
    dimension's columns under names of its own (a month truncated, a dimension that counts
    only some facts with a flag of whether the row counts), one grouping set each, the
    facts read once."""
    columns, sets = {}, []
    for index, dimension in enumerate(dimensions):
        names = []
        if dimension.only is not None:
            flag = f"d{index}_counts"
            columns[flag] = ExpressionWrapper(dimension.only, output_field=BooleanField())
            names.append(flag)
        for position, column in enumerate(dimension.columns):
            name = f"d{index}_{position}"
            # A month as a day (DATE_TRUNC gives a timestamp, which no converter reads here).
            month = Cast(TruncMonth(column), DateField())
            columns[name] = month if dimension.monthly else F(column)
            names.append(name)
        sets.append(names)
    selected = facts.order_by().annotate(**columns).values(*columns)
    try:
        sql, params = selected.query.sql_with_params()
    except EmptyResultSet:  # a filter known to select nothing before any query
        return {d.name: Counter({(): 0} if not d.columns else {}) for d in dimensions}
    quote = connection.ops.quote_name
    grouping = ", ".join("(" + ", ".join(quote(n) for n in names) + ")" for names in sets)
    # GROUPING(a, b…) is 0 for the rows of a set that groups by every one of them: the first
    # column of each set tells which set a row is of (no column is in two sets).
    marks = ", ".join(f"GROUPING({quote(names[0])})" if names else "0" for names in sets)
    listed = ", ".join(quote(name) for name in columns)
    query = (
        f"SELECT {marks}, {listed}, COUNT(*) FROM ({sql}) AS facts "  # noqa: S608 (our names)
        f"GROUP BY GROUPING SETS ({grouping})"
    )
    counts = defaultdict(Counter)
    position = {name: index for index, name in enumerate(columns)}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for row in cursor.fetchall():
            marked, values, n = row[: len(sets)], row[len(sets) : -1], row[-1]
            index = next((i for i, names in enumerate(sets) if names and marked[i] == 0), None)
            if index is None:  # no set's columns grouped: the row of the empty set, the total
                index = next(i for i, names in enumerate(sets) if not names)
            dimension = dimensions[index]
            key = [values[position[name]] for name in sets[index]]
            if dimension.only is not None and not key.pop(0):
                continue  # the facts this dimension does not count
            counts[dimension.name][tuple(plain(value) for value in key)] += n
    return counts


# --- kept by the writes --------------------------------------------------------------------


def stored(scope: str, classes: Q | None = None, names: Iterable[str] | None = None):
    """The kept counts of each key of dimensions ``names`` (all when None) over the cases of
    ``scope`` in ``classes`` (a condition on Tally's class columns; all when None)."""
    rows = Tally.objects.filter(scope=scope)
    if classes is not None:
        rows = rows.filter(classes)
    if names is not None:
        rows = rows.filter(dimension__in=list(names))
    counts = defaultdict(Counter)
    for name, key, n in rows.values_list("dimension", "key").annotate(n=Sum("cases")):
        if n:
            counts[name][decode(key)] = n
    return counts


def merged(*parts: dict) -> dict[str, Counter]:
    """The counts of several sets of cases that share none, added up."""
    counts = defaultdict(Counter)
    for part in parts:
        for name, keys in part.items():
            counts[name].update(keys)
    return counts


def keeps(models) -> bool:
    """Whether these facts keep counts (the historical models of a migration before the
    table's do not: the migration that made it counts them all)."""
    return getattr(models, "tally", None) is not None


def keys_of(values: dict, charges: Iterable[int], places: Iterable[tuple], staff: bool):
    """The (class, dimension, key) a facts row counts under, with its charges' pks and its
    places' (role, level, pk)."""
    group = tuple(values[column] for column in CLASS_COLUMNS) if staff else PUBLIC_CLASS
    for dimension in FACTS:
        if dimension.staff and not staff:
            continue
        if dimension.applies and not dimension.applies(values):
            continue
        raw = [values[column] for column in dimension.columns]
        if dimension.monthly:
            raw = [month_of(value) for value in raw]
        yield group, dimension.name, tuple(plain(value) for value in raw)
    for charge in sorted(set(charges)):
        yield group, CHARGE, (charge,)
    for place in sorted(set(places)):
        yield group, PLACE, tuple(place)


def columns_of(models) -> list[str]:
    staff = models.scope == STAFF
    columns = {c for d in FACTS if staff or not d.staff for c in d.columns}
    return sorted(columns | (set(CLASS_COLUMNS) if staff else set()))


def counted(models, rows: Iterable[dict], charges: dict, places: dict) -> Counter:
    """The keys of facts rows (dicts of columns_of() and the key), their charges and places
    (facts key: [charge pk] and [(role, level, place pk)])."""
    staff = models.scope == STAFF
    key = models.facts._meta.pk.attname
    keys = Counter()
    for values in rows:
        pk = values[key]
        keys.update(keys_of(values, charges.get(pk, ()), places.get(pk, ()), staff))
    return keys


def kept(models, keys: Iterable) -> Counter:
    """The keys the facts of ``keys`` (case or snapshot ids) count under now, read before
    they are replaced or removed. Empty when these facts keep no counts."""
    keys = list(keys)
    if not keys or not keeps(models):
        return Counter()
    key = models.facts._meta.pk.attname
    rows = models.facts.objects.filter(**{f"{key}__in": keys}).values(key, *columns_of(models))
    charges, places = defaultdict(list), defaultdict(list)
    named = models.charge.objects.filter(facts_id__in=keys)
    for facts_id, charge_id in named.values_list("facts_id", "charge_id"):
        charges[facts_id].append(charge_id)
    at = models.place.objects.filter(facts_id__in=keys)
    for facts_id, *place in at.values_list("facts_id", "role", "kind", "location_id"):
        places[facts_id].append(tuple(place))
    return counted(models, rows, charges, places)


# Rows of Tally a statement (under SQLite's limit on query parameters).
UPSERT_ROWS = 100


@dataclass
class Level:
    """An open batch: the savepoints open when it began, and its changes (Tally model ->
    Counter of (scope, class, dimension, key))."""

    savepoints: int
    changes: dict = field(default_factory=lambda: defaultdict(Counter))


class Pending(threading.local):
    """The batches open in this thread (batched()), innermost last."""

    def __init__(self):
        self.levels: list[Level] = []


PENDING = Pending()


def savepoints() -> int:
    return len(connection.savepoint_ids)


@contextmanager
def batched():
    """A transaction (a savepoint inside one) whose changes to the counts are applied once,
    when the outermost batch ends, all keys in one order, just before it commits: a row of
    counts (the total, say) is then held from there to the commit, not from the first
    write, and two writers at once always lock rows in the same order, so that neither
    waits for a row the other holds while holding one it wants (a deadlock). A batch that
    fails takes its changes with it, as its savepoint takes its writes; so does a savepoint
    opened inside a batch, whose changes are therefore applied at once (change())."""
    with transaction.atomic():
        PENDING.levels.append(Level(savepoints()))
        try:
            yield
            if len(PENDING.levels) == 1:
                for model, delta in PENDING.levels[-1].changes.items():
                    _apply(model, delta)
        except BaseException:
            PENDING.levels.pop()
            raise
        done = PENDING.levels.pop()
        if not PENDING.levels:
            return
        if done.savepoints == PENDING.levels[-1].savepoints + 1:  # right inside the other
            for model, delta in done.changes.items():
                PENDING.levels[-1].changes[model].update(delta)
        else:  # inside a savepoint that batch did not open, which may be rolled back alone
            for model, delta in done.changes.items():
                _apply(model, delta)


def change(models, before: Counter, after: Counter) -> None:
    """Take away the counts of ``before`` and add those of ``after`` (kept(), counted()):
    when the batch open ends (batched()), or at once outside one, or inside a savepoint the
    batch did not open (which may be rolled back on its own)."""
    if not keeps(models):
        return
    delta = Counter()
    for (group, name, key), n in after.items():
        delta[models.scope, group, name, key] += n
    for (group, name, key), n in before.items():
        delta[models.scope, group, name, key] -= n
    if PENDING.levels and PENDING.levels[-1].savepoints == savepoints():
        PENDING.levels[-1].changes[models.tally].update(delta)
    else:
        _apply(models.tally, delta)


def _apply(model, delta: Counter) -> None:
    """Change the counts, in one statement per hundred keys, in one order: a key new to the
    table is added, a key there has its count changed."""
    rows = sorted(
        (scope, group, name, encode(key), n) for (scope, group, name, key), n in delta.items() if n
    )
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ["scope", *CLASS_COLUMNS, "dimension", "key"]
    columns = ", ".join(quote(name) for name in names)
    cases = quote("cases")
    for start in range(0, len(rows), UPSERT_ROWS):
        chunk = rows[start : start + UPSERT_ROWS]
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
        params = [
            value for scope, group, name, key, n in chunk for value in (scope, *group, name, key, n)
        ]
        # Column and table names of our own model, quoted; every value a parameter.
        sql = (
            f"INSERT INTO {table} ({columns}, {cases}) VALUES {values} "  # noqa: S608
            f"ON CONFLICT ({columns}) DO UPDATE SET {cases} = {table}.{cases} + excluded.{cases}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


@transaction.atomic
def recount(models) -> int:
    """Every count of ``models.scope`` again, from its facts. The table is locked first on
    PostgreSQL, so that a write going on meanwhile changes the counts either before (and is
    counted here) or after (and changes the new counts): none is lost or counted twice.
    Returns the number of keys."""
    if not keeps(models):
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {models.tally._meta.db_table} IN EXCLUSIVE MODE")
    models.tally.objects.filter(scope=models.scope).delete()
    staff = models.scope == STAFF
    groups = list(CLASS_COLUMNS) if staff else []
    totals = Counter()
    for dimension in FACTS:
        if dimension.staff and not staff:
            continue
        facts = models.facts.objects.all()
        if dimension.only is not None:
            facts = facts.filter(dimension.only)
        columns = list(dimension.columns)
        if dimension.monthly:
            facts, columns = facts.annotate(month=TruncMonth(columns[0])), ["month"]
        if groups or columns:
            rows = facts.values_list(*groups, *columns).annotate(n=Count("pk"))
        else:  # the total of the published cases: no column to group by
            rows = [(facts.count(),)]
        for row in rows:
            group = tuple(row[: len(groups)]) if staff else PUBLIC_CLASS
            key = tuple(plain(value) for value in row[len(groups) : -1])
            totals[group, dimension.name, key] += row[-1]
    facts_groups = [f"facts__{column}" for column in groups]
    linked = [
        (CHARGE, models.charge.objects.values_list(*facts_groups, "charge_id")),
        (PLACE, models.place.objects.values_list(*facts_groups, "role", "kind", "location_id")),
    ]
    for name, rows in linked:
        for row in rows.annotate(n=Count("facts")):
            group = tuple(row[: len(groups)]) if staff else PUBLIC_CLASS
            totals[group, name, tuple(row[len(groups) : -1])] += row[-1]
    _apply(models.tally, Counter({(models.scope, *key): n for key, n in totals.items()}))
    return len(totals)
