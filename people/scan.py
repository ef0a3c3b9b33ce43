"""The duplicate scan: everyone compared with whoever may be the same person, at any size.

Who is compared. People who share a name match key (people.names.match_keys: two names
scored the same always share one) form a block.

- A block of at most BLOCK_PAIRWISE names: every pair of its people is scored.
- A bigger block (a common name; the big keys are found once at the start of a run, by
  one grouped read of the key index) is compared in sub-blocks: people who also share a
  birth decade (their birth intervals widened by the years matching tolerates, so two
  births close enough to agree always share one, and meet there if it is small), a place
  of origin at prefecture level, a father's name key, or the phonetic form of a name (the
  same name in any script); and every person with the WINDOW people next to them in the
  order of their names' phonetic forms, then births, then places. A sub-block of at most
  BLOCK_PAIRWISE: every pair; a bigger one: each person with its WINDOW neighbours in that
  order. The work grows with the people, not with the square of a common name's bearers,
  and nobody is left out.
- A pair sharing a small block is scored there once (its first shared small key, read from
  the stored keys). A pair sharing only big blocks is scored in each of them that brings
  it together, so that no block's sub-blocks and order are missed; big blocks of the very
  same people (the key variants of one name) are compared once.
- In a big block, a pair whose only agreement is the name is not listed: a name borne by
  hundreds is no evidence by itself (a birth date, place of origin or father must agree as
  well). The import and the add-person check still show such namesakes where they look.
- From one block each person keeps its TOP_K best candidates (a pair stays if either side
  keeps it): four hundred bearers of one name would otherwise make eighty thousand pairs
  to review.

In bounded memory: blocks are read in key order, BATCH_ROWS key rows at a time (a bigger
block alone); each batch is scored (reads only), then its pairs are written in bulk with
their history and committed with the point reached (DuplicateScan.done_through), so that
a run that stopped (a worker restarted, Ctrl-C) is continued where it was.

The people changed only: the run after a finished one compares the people changed since
that one started (their records, names or family ties, read from the audit history, so
deletions count; with a margin for long imports, whose history is dated when their
transaction began) with those sharing their keys, and nobody else.

At the end of a run, the open pairs it covered and did not list again (a pair kept by
neither side's TOP_K, compared in no block any more, or listed before by an import) are
scored once more on their own: those no longer alike (a name corrected, a fact now
conflicting) are withdrawn, deleted with their history; the others stay. Pairs staff
decided stay as they are.
"""

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from people import matching, names
from people.models import (
    CandidateStatus,
    DuplicateCandidate,
    DuplicateScan,
    MatchingRules,
    Person,
    PersonName,
    PersonNameKey,
    Relationship,
    name_match_keys,
)

BLOCK_PAIRWISE = 300  # names sharing a key: at most this many, every pair is compared
WINDOW = 20  # in bigger blocks, each person is compared with this many next in name order
TOP_K = 10  # candidates a person keeps from one block
BATCH_ROWS = 20_000  # key rows scored and committed together
KEY_CHUNK = 500  # keys read at a time when only changed people are compared
DECADES = 3  # a birth interval touching more decades than this does not sub-block
# How far before the last scan's start the people changed are read: an import's history is
# dated when its transaction began, and may commit after a scan started.
SINCE_MARGIN = datetime.timedelta(hours=2)

CHUNK = matching.CHUNK  # SQLite's limit on parameters

COUNTS = (
    "pairs compared",
    "created",
    "updated",
    "unchanged",
    "kept",
    "rechecked",
    "withdrawn",
)


def _no_progress(total: int) -> Callable[..., None]:
    return lambda n=1: None


class ScanMovedOn(Exception):
    """Another run of the same scan committed a batch meanwhile: this one stops."""


@dataclass
class Batch:
    """Blocks read together: name key → the people bearing it; the last key they reach."""

    blocks: dict[str, set[int]]
    through: str
    rows: int


@dataclass
class Run:
    scan: DuplicateScan
    changed: set[int] | None  # None: everyone
    big: set[str] = field(default_factory=set)
    # Fingerprints of the big blocks compared: a name's key variants (people.names) make
    # blocks of the same people, whose pairs are the same; each is compared once.
    big_done: set[bytes] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)


def scan_duplicates(
    *, everyone: bool = False, progress: Callable[[int], Callable[..., None]] = _no_progress
) -> dict[str, int]:
    """Run the scan, or continue the one that stopped half-way; returns its figures.

    Compares the people changed since the last finished scan started (everyone the first
    time, or with ``everyone``). ``progress(total)`` is called once with the number of key
    rows to read and returns what is called with each batch's count. Attribute the writes
    with casetracker.audit.acting_as(). Each batch commits on its own: do not call inside a
    transaction that must stay whole.
    """
    run = _begin(everyone)
    scan = run.scan
    if run.changed is not None:
        keys = _keys_of(run.changed)
        run.big = _big_keys(keys)  # all of them, also when continuing past some
        # Compared in Python, as they were sorted: the database's collation may differ.
        keys = [key for key in keys if key > scan.done_through]
        batches, total = _changed_batches(keys), _rows_of(keys)
    else:
        run.big = _big_keys()
        batches = _all_batches(after=scan.done_through)
        total = PersonNameKey.objects.filter(key__gt=scan.done_through).count()
    advance = progress(total)
    run.counts = {name: int(scan.counts.get(name, 0)) for name in COUNTS}
    for batch in batches:
        # Scored outside the transaction (reads only): SQLite holds its one write lock for
        # the store alone.
        found, compared = _score_batch(run, batch)
        with transaction.atomic():
            _claim(scan)
            _add(run.counts, _store(found, scan.started_at))
            run.counts["pairs compared"] += compared
            scan.done_through = batch.through
            scan.counts = _figures(run)
            scan.save(update_fields=["done_through", "counts"])
            advance(batch.rows)  # a cancelled job stops here: the batch is rolled back
    _recheck(run)
    with transaction.atomic():
        _claim(scan)
        scan.finished_at = timezone.now()
        scan.counts = _figures(run)
        scan.save(update_fields=["finished_at", "counts"])
    return scan.counts


def _figures(run: Run) -> dict[str, int]:
    figures = dict(run.counts)
    figures["big keys"] = len(run.big)
    if run.changed is not None:
        figures["people changed"] = len(run.changed)
    return figures


def _add(counts: dict[str, int], more: dict[str, int]) -> None:
    for name, value in more.items():
        counts[name] = counts.get(name, 0) + value


# --- Which run, and whom it covers ------------------------------------------------------------


def _begin(everyone: bool) -> Run:
    """The unfinished scan to continue (of the same reach), or a new one."""
    unfinished = DuplicateScan.objects.filter(finished_at__isnull=True).first()
    if unfinished is not None and (unfinished.changed_since is None or not everyone):
        scan = unfinished
    else:
        # An abandoned narrower run is replaced: its pairs are found again or withdrawn.
        DuplicateScan.objects.filter(finished_at__isnull=True).delete()
        last = DuplicateScan.objects.filter(finished_at__isnull=False).first()
        since = None if everyone or last is None else last.started_at
        scan = DuplicateScan.objects.create(changed_since=since)
    changed = None
    if scan.changed_since is not None:
        changed = changed_people(scan.changed_since - SINCE_MARGIN, scan.started_at)
    return Run(scan, changed)


def changed_people(since: datetime.datetime, until: datetime.datetime) -> set[int]:
    """Ids of the people whose record, names or family ties changed after ``since`` and no
    later than ``until`` (read from the audit history: created, changed or deleted), and of
    their relatives (a father's renamed record changes how his children are compared).
    Bounded by ``until`` (the run's start), a continued run covers the same people; later
    changes are the next run's."""
    ids: set[int] = set()
    window = {"history_date__gt": since, "history_date__lte": until}
    ids |= set(Person.history.filter(**window).values_list("id", flat=True).distinct())
    ids |= set(PersonName.history.filter(**window).values_list("person_id", flat=True).distinct())
    for pair in Relationship.history.filter(**window).values_list("from_person_id", "to_person_id"):
        ids.update(pair)
    ids.discard(None)
    family: set[int] = set()
    for chunk in _chunks(sorted(ids)):
        for pair in Relationship.objects.filter(
            Q(from_person__in=chunk) | Q(to_person__in=chunk)
        ).values_list("from_person_id", "to_person_id"):
            family.update(pair)
    return ids | family


def _keys_of(people: set[int]) -> list[str]:
    """The name keys of ``people``, sorted (in Python)."""
    keys: set[str] = set()
    for chunk in _chunks(sorted(people)):
        keys |= set(
            PersonNameKey.objects.filter(name__person__in=chunk)
            .order_by()
            .values_list("key", flat=True)
            .distinct()
        )
    return sorted(keys)


def _rows_of(keys: list[str]) -> int:
    rows = 0
    for chunk in _chunks(keys):
        rows += PersonNameKey.objects.filter(key__in=chunk).count()
    return rows


def _big_keys(keys: list[str] | None = None) -> set[str]:
    """The keys borne by more than BLOCK_PAIRWISE names (of ``keys``, or of everyone): one
    grouped read of the key index, held for the whole run so that every batch agrees on
    which blocks are big."""
    rows = PersonNameKey.objects.order_by()

    def grouped(q):
        return (
            q.values("key")
            .annotate(names=Count("pk"))
            .filter(names__gt=BLOCK_PAIRWISE)
            .values_list("key", flat=True)
        )

    if keys is None:
        return set(grouped(rows))
    big: set[str] = set()
    for chunk in _chunks(keys):
        big |= set(grouped(rows.filter(key__in=chunk)))
    return big


def _all_batches(*, after: str) -> Iterator[Batch]:
    """Every block after the key ``after``, in key order, BATCH_ROWS key rows at a time
    (each block whole: a block bigger than that is read alone)."""
    rows_of = PersonNameKey.objects.order_by("key").values_list("key", "name__person_id")
    while True:
        rows = list(rows_of.filter(key__gt=after)[:BATCH_ROWS])
        if not rows:
            return
        through = rows[-1][0]
        if len(rows) == BATCH_ROWS:
            whole = [row for row in rows if row[0] != through]
            if whole:
                through = whole[-1][0]
            else:  # one block fills the batch
                whole = list(rows_of.filter(key=through))
            rows = whole
        yield Batch(_group(rows), through, len(rows))
        after = through


def _changed_batches(keys: list[str]) -> Iterator[Batch]:
    """The blocks of ``keys`` (sorted), KEY_CHUNK keys at a time."""
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        rows = list(
            PersonNameKey.objects.filter(key__in=chunk).values_list("key", "name__person_id")
        )
        yield Batch(_group(rows), chunk[-1], len(rows))


def _group(rows: Iterable[tuple[str, int]]) -> dict[str, set[int]]:
    blocks: dict[str, set[int]] = defaultdict(set)
    for key, person_id in rows:
        blocks[key].add(person_id)
    return blocks


def _claim(scan: DuplicateScan) -> None:
    """Lock the scan's row; stop if another run of it has moved on since this one read it."""
    current = DuplicateScan.objects.select_for_update().filter(pk=scan.pk).first()
    if (
        current is None
        or current.finished_at is not None
        or current.done_through != scan.done_through
    ):
        raise ScanMovedOn


# --- Scoring a batch of blocks --------------------------------------------------------------


@dataclass
class Found:
    score: float
    reasons: list[str]
    details: dict


def _initial_blocks(blocks: dict[str, set[int]]) -> dict[str, set[int]]:
    """The batch's blocks less those of initials without anyone who has one (most of them),
    and less the marks: a block of an initial key ("xK.LJP") is compared only where some of
    its people have the initial (they bear its mark, "yK.LJP"), each of them with the rest.
    Returns the initial blocks' people with the initial, by key; ``blocks`` is trimmed."""
    wanted = [key for key in blocks if key.startswith(names.INITIAL_KEY)]
    having: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(wanted):
        marks = [names.INITIAL_MARK + key[1:] for key in chunk]
        for mark, person_id in PersonNameKey.objects.filter(key__in=marks).values_list(
            "key", "name__person_id"
        ):
            having[names.INITIAL_KEY + mark[1:]].add(person_id)
    for key in list(blocks):
        if key.startswith(names.INITIAL_MARK) or (
            key.startswith(names.INITIAL_KEY) and not having.get(key)
        ):
            del blocks[key]
    return having


def _score_batch(run: Run, batch: Batch) -> tuple[dict[tuple[int, int], Found], int]:
    """The pairs of the batch's blocks to list, and how many pairs were compared."""
    having_initial = _initial_blocks(batch.blocks)
    members = set().union(*batch.blocks.values()) if batch.blocks else set()
    profiles = {pk: profile for pk, (_person, profile) in matching.load_profiles(members).items()}
    keys = _stored_keys(profiles)
    found: dict[tuple[int, int], Found] = {}
    seen: set[tuple[int, int]] = set()
    compared = 0
    for key, people in batch.blocks.items():
        people = sorted(pk for pk in people if pk in profiles)
        big = key in run.big
        if key in having_initial:
            # An initial with everyone its block brings: the people who have it are few.
            # Those still in the block (a name may have changed since the batch was read).
            having = having_initial[key] & set(people)
            pairs = sorted({(min(i, o), max(i, o)) for i in having for o in people if o != i})
        elif big:
            fingerprint = _fingerprint(people)
            if fingerprint in run.big_done:
                continue
            run.big_done.add(fingerprint)
            pairs = _neighbour_pairs(people, profiles)
        else:
            pairs = combinations(people, 2)
        scored, similarity = [], matching.memoised_similarity()
        for a, b in pairs:
            if run.changed is not None and a not in run.changed and b not in run.changed:
                continue
            if (a, b) in seen or (
                key not in having_initial and not _scored_here(key, keys[a] & keys[b], run.big)
            ):
                continue
            seen.add((a, b))
            compared += 1
            result = matching.alike(profiles[a], profiles[b], similarity, possible=True)
            if result is not None and (not big or _corroborated(result[2])):
                scored.append((a, b, Found(*result)))
        for a, b, result in _top(scored):
            found.setdefault((a, b), result)
    return found, compared


def _fingerprint(people: list[int]) -> bytes:
    return hashlib.blake2b(",".join(map(str, people)).encode(), digest_size=16).digest()


def _stored_keys(profiles: dict) -> dict[int, frozenset[str]]:
    """Each person's name keys as stored (the blocks they are in), all but those of
    initials."""
    keys: dict[int, set[str]] = {pk: set() for pk in profiles}
    for chunk in _chunks(sorted(profiles)):
        for person_id, key in PersonNameKey.objects.filter(name__person__in=chunk).values_list(
            "name__person_id", "key"
        ):
            # The keys of initials are read in their own way (_initial_blocks).
            if not key.startswith((names.INITIAL_KEY, names.INITIAL_MARK)):
                keys[person_id].add(key)
    return {pk: frozenset(found) for pk, found in keys.items()}


def _scored_here(key: str, shared: frozenset[str], big: set[str]) -> bool:
    """Whether a pair sharing the keys ``shared`` is scored in the block of ``key``: in its
    first shared small block; with none, in each shared big block."""
    small = shared - big
    return key == min(small) if small else key in big


def _corroborated(details: dict) -> bool:
    """Whether a fact besides the name agrees (or nearly: a birth a year or two apart)."""
    return any(row["verdict"] in ("agrees", "close") for row in details["facts"])


def _neighbour_pairs(people: list[int], profiles: dict) -> set[tuple[int, int]]:
    """The pairs a big block's sub-blocks and name order bring together (module docstring)."""
    order = {pk: _order(profiles[pk]) for pk in people}
    ranked = sorted(people, key=order.__getitem__)
    pairs = _window(ranked)
    groups: dict[str, list[int]] = defaultdict(list)
    for pk in ranked:
        for sub in _subkeys(profiles[pk]):
            groups[sub].append(pk)
    for group in groups.values():
        if len(group) <= BLOCK_PAIRWISE:
            pairs.update(combinations(sorted(group), 2))
        else:
            pairs |= _window(group)
    return pairs


def _window(ranked: list[int]) -> set[tuple[int, int]]:
    pairs = set()
    for i, a in enumerate(ranked):
        for b in ranked[i + 1 : i + 1 + WINDOW]:
            pairs.add((a, b) if a < b else (b, a))
    return pairs


def _order(profile: matching.Profile) -> tuple:
    forms = sorted(prepared.romanised for _name, prepared in profile.names)
    birth = profile.birth[0] if profile.birth and profile.birth[0] else datetime.date.min
    return (forms[0] if forms else "", birth, profile.place_path)


def _subkeys(profile: matching.Profile) -> set[str]:
    subkeys = {"n" + prepared.romanised for _name, prepared in profile.names}
    if profile.birth and profile.birth[0] and profile.birth[1]:
        tolerance = matching.BIRTH_TOLERANCE_YEARS
        first = (profile.birth[0].year - tolerance) // 10
        last = (profile.birth[1].year + tolerance) // 10
        if last - first < DECADES:
            subkeys |= {f"y{decade}" for decade in range(first, last + 1)}
    levels = profile.place_path.strip("/").split("/")
    if len(levels) >= 3:  # prefecture or below
        subkeys.add("o" + "/".join(levels[:3]))
    for father in profile.fathers:
        subkeys |= {"f" + key for key in name_match_keys(father)}
    return subkeys


def _top(scored: list[tuple[int, int, Found]]) -> list[tuple[int, int, Found]]:
    """The pairs among ``scored`` that one of their two people keeps among its TOP_K best."""
    by_person: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for index, (a, b, result) in enumerate(scored):
        by_person[a].append((-result.score, b, index))
        by_person[b].append((-result.score, a, index))
    kept = set()
    for rows in by_person.values():
        rows.sort()
        kept.update(index for _score, _other, index in rows[:TOP_K])
    return [scored[index] for index in sorted(kept)]


# --- Writing the pairs -----------------------------------------------------------------------


def _store(found: dict[tuple[int, int], Found], stamp: datetime.datetime) -> dict[str, int]:
    """Create, update or confirm the pairs ``found``, in bulk, with their history."""
    counts = dict.fromkeys(["created", "updated", "unchanged", "kept"], 0)
    if not found:
        return counts
    existing = {}
    for chunk in _chunks(sorted({a for a, _b in found})):
        for candidate in DuplicateCandidate.objects.filter(person_a__in=chunk).defer(
            "decision_reason"
        ):
            pair = (candidate.person_a_id, candidate.person_b_id)
            if pair in found:
                existing[pair] = candidate
    new, changed, confirmed = [], [], []
    now = timezone.now()
    for (a, b), result in sorted(found.items()):
        stored = {"reasons": list(result.reasons), **matching.oriented(result.details, True)}
        score = round(result.score, 4)
        candidate = existing.get((a, b))
        if candidate is None:
            new.append(
                DuplicateCandidate(
                    person_a_id=a, person_b_id=b, score=score, reasons=stored, scored_at=stamp
                )
            )
        elif candidate.status != CandidateStatus.OPEN:
            counts["kept"] += 1
        elif candidate.score == score and candidate.reasons == stored:
            confirmed.append(candidate.pk)
        else:
            candidate.score, candidate.reasons = score, stored
            candidate.updated_at, candidate.scored_at = now, stamp
            changed.append(candidate)
    counts["created"] = _create(new, stamp)
    if changed:
        # With their history (DomainQuerySet): the score and reasons changed.
        DuplicateCandidate.objects.bulk_update(
            changed, ["score", "reasons", "updated_at", "scored_at"], batch_size=500
        )
        counts["updated"] = len(changed)
    for chunk in _chunks(confirmed):
        # Bookkeeping only (left out of the history): no history row for "found again".
        DuplicateCandidate._base_manager.filter(pk__in=chunk).update(scored_at=stamp)
    counts["unchanged"] = len(confirmed)
    return counts


def _create(new: list[DuplicateCandidate], stamp) -> int:
    """Insert ``new`` pairs in bulk; if one was recorded meanwhile (an import, the
    add-person check), one by one."""
    if not new:
        return 0
    try:
        with transaction.atomic():
            DuplicateCandidate.objects.bulk_create(new, batch_size=500)  # with history
        return len(new)
    except IntegrityError:
        created = 0
        for candidate in new:
            candidate.pk, candidate._state.adding = None, True
            try:
                with transaction.atomic():
                    candidate.save()
            except IntegrityError:
                continue  # recorded meanwhile: that record stands
            created += 1
        return created


def _recheck(run: Run) -> None:
    """Score once more, on their own, the open pairs this run covered and did not list again
    (a chunk at a time, each committed with the figures); withdraw, with their history,
    those no longer alike, and keep the others."""
    stale = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).filter(
        Q(scored_at__isnull=True) | Q(scored_at__lt=run.scan.started_at)
    )
    if run.changed is None:
        reaches = [stale]
    else:
        reaches = (
            stale.filter(Q(person_a__in=chunk) | Q(person_b__in=chunk))
            for chunk in _chunks(sorted(run.changed))
        )
    for reach in reaches:
        after = 0
        while True:
            # Each pair of a chunk leaves the reach (scored again, or deleted): read on by id.
            pairs = list(
                reach.filter(pk__gt=after)
                .order_by("pk")
                .values_list("pk", "person_a_id", "person_b_id")[:CHUNK]
            )
            if not pairs:
                break
            after = pairs[-1][0]
            _recheck_pairs(run, pairs)


def _recheck_pairs(run: Run, pairs: list[tuple[int, int, int]]) -> None:
    profiles = {
        pk: profile
        for pk, (_person, profile) in matching.load_profiles(
            {person for _pk, a, b in pairs for person in (a, b)}
        ).items()
    }
    alike: dict[tuple[int, int], Found] = {}
    gone: list[int] = []
    similarity = matching.memoised_similarity()
    for pk, a, b in pairs:
        if a not in profiles or b not in profiles:
            continue  # a person deleted: the pair went with them
        result = matching.alike(profiles[a], profiles[b], similarity, possible=True)
        if result is None:
            gone.append(pk)
        else:
            alike[(a, b)] = Found(*result)
    withdrawn = 0
    with transaction.atomic():
        _claim(run.scan)
        _store(alike, run.scan.started_at)
        # Locked, and read again as open and not found meanwhile: a pair staff decided while
        # this ran, or that another scan or an import found alike since, stays.
        for candidate in (
            DuplicateCandidate.objects.select_for_update()
            .filter(pk__in=gone, status=CandidateStatus.OPEN)
            .filter(Q(scored_at__isnull=True) | Q(scored_at__lt=run.scan.started_at))
            .defer("decision_reason")
        ):
            candidate.delete()
            withdrawn += 1
        run.counts["rechecked"] += len(pairs)
        run.counts["withdrawn"] += withdrawn
        run.scan.counts = _figures(run)
        run.scan.save(update_fields=["counts"])


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def rebuild_keys(progress=lambda iterable, total: iterable) -> int:
    """Recompute every stored match key (after people.names changes how keys are made), and
    forget any stopped scan: the next one starts afresh."""
    names = PersonName.objects.only("pk", "name").order_by("pk")
    total, batch = names.count(), []
    for name in progress(names.iterator(chunk_size=2000), total=total):
        batch.append(name)
        if len(batch) >= 2000:
            PersonNameKey.sync(batch)
            batch = []
    PersonNameKey.sync(batch)
    # A stopped scan's place in the key order means nothing once the keys change.
    DuplicateScan.objects.filter(finished_at__isnull=True).delete()
    MatchingRules.record()
    return total
