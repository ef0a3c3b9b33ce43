"""Finding the people a name may belong to, in the database.

people.names scores two name strings; this module finds candidate people by their stored
match keys (an indexed lookup, never a scan of everyone), scores whole people (their best
pair of names, adjusted by birth date, place of origin and father's name where both sides
know them), and records pairs for review. The duplicate scan (people.scan), the admin's
add-person warning, the admin's and the API's name search, and the bulk import all go
through here, so that they agree on who may be whom.
"""

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import product

from django.apps import apps
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from casetracker.text import fold
from people import names as matcher
from people.models import (
    CandidateStatus,
    DuplicateCandidate,
    Gender,
    Person,
    PersonName,
    PersonNameKey,
    Relationship,
    RelationshipKind,
    name_match_keys,
)

# How facts move a score. Agreement is weak evidence (many people share a birth year or a
# home county); a clear conflict is strong evidence of two different people.
AGREES = 0.05
BIRTH_CLOSE = -0.05  # intervals a year or two apart: a misremembered or misread year
BIRTH_CONFLICT = -0.25
PLACE_CONFLICT = -0.10
FATHER_CONFLICT = -0.25
BIRTH_TOLERANCE_YEARS = 2

# The reasons a score gives, for staff. Written in English, as a pair stores them
# (DuplicateCandidate.reasons: what the scan found, kept like a log line), and translated when
# shown: translated_reasons() reads each back through the template it was made from.
NAMES_MATCH = gettext_noop(
    "Names match (%(score)s): “%(first)s” (%(first_romanised)s) and “%(second)s” "
    "(%(second_romanised)s)."
)
BIRTH_AGREES = gettext_noop("Birth dates agree (%(first)s / %(second)s).")
BIRTH_DIFFERS_SLIGHTLY = gettext_noop("Birth dates differ slightly (%(first)s / %(second)s).")
BIRTH_DIFFERS = gettext_noop("Birth dates differ (%(first)s / %(second)s).")
PLACES_AGREE = gettext_noop("Places of origin agree (%(first)s / %(second)s).")
PLACES_DIFFER = gettext_noop("Places of origin differ (%(first)s / %(second)s).")
FATHERS_AGREE = gettext_noop("Fathers' names agree.")
FATHERS_DIFFER = gettext_noop("Fathers' names differ.")
INITIAL_ONLY = gettext_noop(
    "An initial could stand for the other's name: a possible duplicate, not proof of one person."
)
REASON_TEMPLATES = (
    NAMES_MATCH,
    INITIAL_ONLY,
    BIRTH_AGREES,
    BIRTH_DIFFERS_SLIGHTLY,
    BIRTH_DIFFERS,
    PLACES_AGREE,
    PLACES_DIFFER,
    FATHERS_AGREE,
    FATHERS_DIFFER,
)

# SQLite limits the number of parameters in one statement.
CHUNK = 2000


@dataclass(frozen=True)
class PersonMatch:
    """A person a name (or a person) may be: the score and the reasons, for staff."""

    person: Person
    score: float
    reasons: tuple[str, ...]
    # Structured: {"names": [{"query", "match", "query_romanised", "match_romanised",
    # "score"}], "facts": [{"fact", "verdict", "query", "match"}]}.
    details: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def shown_reasons(self) -> list[str]:
        """The reasons in the reader's language (translated_reasons)."""
        return translated_reasons(self.reasons)


@dataclass
class Profile:
    """What scoring knows of one side: its names (prepared once), birth interval, place of
    origin and fathers' names."""

    names: list[tuple[str, object]]
    birth: tuple[datetime.date | None, datetime.date | None] | None = None
    birth_text: str = ""
    place_path: str = ""
    place_name: str = ""
    fathers: list[str] = field(default_factory=list)


def prepared(names: Iterable[str]) -> list[tuple[str, object]]:
    seen, result = set(), []
    for name in names:
        name = (name or "").strip()
        if name and name not in seen:
            seen.add(name)
            result.append((name, matcher.prepare(name)))
    return result


def _years_apart(a, b) -> int:
    """Whole years between two (earliest, latest) intervals; 0 if they overlap. An open end
    overlaps everything on its side."""
    (a_lo, a_hi), (b_lo, b_hi) = a, b
    if a_hi and b_lo and a_hi < b_lo:
        return b_lo.year - a_hi.year
    if b_hi and a_lo and b_hi < a_lo:
        return a_lo.year - b_hi.year
    return 0


def memoised_similarity():
    """people.names.similarity_prepared remembering each pair of spellings it scored (its
    two arguments' order does not matter): the candidates for a common name hold the same
    few spellings many times over. Make one per search or block, not for a whole run."""
    memo: dict[tuple[str, str], float] = {}
    similarity = matcher.similarity_prepared

    def memoised(a, b) -> float:
        pair = (a.text, b.text) if a.text <= b.text else (b.text, a.text)
        value = memo.get(pair)
        if value is None:
            value = memo[pair] = similarity(a, b)
        return value

    return memoised


def births_rule_out(query: Profile, other: Profile) -> bool:
    """Whether the birth dates alone keep the two below SAME_PERSON_THRESHOLD, however alike
    their names: a clear conflict costs more than every other fact can give back. Cheap: the
    duplicate scan asks it before scoring names."""
    if not (query.birth and other.birth):
        return False
    outweighs = 1.0 + 2 * AGREES + BIRTH_CONFLICT < matcher.SAME_PERSON_THRESHOLD
    return outweighs and _years_apart(query.birth, other.birth) > BIRTH_TOLERANCE_YEARS


def score_profiles(
    query: Profile, other: Profile, similarity=matcher.similarity_prepared, possible=False
) -> tuple[float, list[str], dict]:
    """Score two people (or a name list and a person); symmetric in its two arguments.
    ``similarity`` scores two prepared names (the scan passes a memoised one). With
    ``possible``, a pair whose best names differ by an initial is worked out from
    POSSIBLE_DUPLICATE_THRESHOLD on, and its score stays below SAME_PERSON_THRESHOLD whatever
    the facts: an initial is never proof of one person."""
    best, pair, initial = 0.0, None, False
    for (a, prep_a), (b, prep_b) in product(query.names, other.names):
        value = similarity(prep_a, prep_b)
        # Held below the threshold by an initial (one that is only an extra word is not).
        limited = value < matcher.SAME_PERSON_THRESHOLD and (
            prep_a.has_initial or prep_b.has_initial
        )
        # On a tie, the pair without an initial: the same score in either order.
        if value > best or (value == best and initial and not limited):
            best, pair, initial = value, (a, b), limited
    floor = _floor(possible and initial)
    if pair is None or best + 3 * AGREES < floor:
        # No fact can lift it to a match: skip the reasons (most blocked pairs end here).
        return best, [], {"names": [], "facts": []}
    a, b = pair
    roman_a, roman_b = matcher.romanise(a), matcher.romanise(b)
    reasons = [
        NAMES_MATCH
        % {
            "score": f"{best:.2f}",
            "first": a,
            "first_romanised": roman_a,
            "second": b,
            "second_romanised": roman_b,
        }
    ]
    details = {
        "names": [
            {
                "query": a,
                "match": b,
                "query_romanised": roman_a,
                "match_romanised": roman_b,
                "score": round(best, 3),
            }
        ],
        "facts": [],
    }
    score = best

    def fact(name, verdict, q, m, adjust, template):
        nonlocal score
        score += adjust
        reasons.append(template if q is None else template % {"first": q, "second": m})
        row = {"fact": name, "verdict": verdict}
        if q is not None:
            row |= {"query": q, "match": m}
        details["facts"].append(row)

    if query.birth and other.birth:
        gap = _years_apart(query.birth, other.birth)
        q, m = query.birth_text, other.birth_text
        if gap == 0:
            fact("birth_date", "agrees", q, m, AGREES, BIRTH_AGREES)
        elif gap <= BIRTH_TOLERANCE_YEARS:
            fact("birth_date", "close", q, m, BIRTH_CLOSE, BIRTH_DIFFERS_SLIGHTLY)
        else:
            fact("birth_date", "conflicts", q, m, BIRTH_CONFLICT, BIRTH_DIFFERS)
    if query.place_path and other.place_path:
        q, m = query.place_name, other.place_name
        if query.place_path.startswith(other.place_path) or other.place_path.startswith(
            query.place_path
        ):
            fact("place_of_origin", "agrees", q, m, AGREES, PLACES_AGREE)
        else:
            fact("place_of_origin", "conflicts", q, m, PLACE_CONFLICT, PLACES_DIFFER)
    if query.fathers and other.fathers:
        # Never the names: a relative (and the family tie, whose kind is encrypted) must not
        # reach the reasons, stored in the clear and shown to whoever reviews the pair.
        value = max(matcher.similarity(f, g) for f, g in product(query.fathers, other.fathers))
        if value >= matcher.SAME_PERSON_THRESHOLD:
            fact("father", "agrees", None, None, AGREES, FATHERS_AGREE)
        else:
            fact("father", "conflicts", None, None, FATHER_CONFLICT, FATHERS_DIFFER)
    if initial:
        reasons.insert(1, INITIAL_ONLY)
        details["names"][0]["initial"] = True
        score = min(score, matcher.INITIAL_CEILING)
    return max(0.0, min(1.0, score)), reasons, details


def _floor(possible: bool) -> float:
    return matcher.POSSIBLE_DUPLICATE_THRESHOLD if possible else matcher.SAME_PERSON_THRESHOLD


# --- Loading what scoring needs -------------------------------------------------------------

# Read by nothing that scores or shows a match.
RESTRICTED_PERSON_FIELDS = ("internal_notes", "contact_details")


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def load_profiles(person_ids: Iterable[int]) -> dict[int, tuple[Person, Profile]]:
    """Person and Profile of each id, in three queries per chunk of ids whatever the count."""
    ids = sorted(set(person_ids))
    result: dict[int, tuple[Person, Profile]] = {}
    for chunk in _chunks(ids):
        # Not the encrypted notes and contacts: decrypting them would cost more than scoring.
        people = (
            Person.objects.filter(pk__in=chunk)
            .select_related("place_of_origin")
            .defer(*RESTRICTED_PERSON_FIELDS)
        )
        names: dict[int, list[str]] = {}
        for person_id, name in PersonName.objects.filter(person_id__in=chunk).values_list(
            "person_id", "name"
        ):
            names.setdefault(person_id, []).append(name)
        fathers = _fathers(chunk)
        for person in people:
            place = person.place_of_origin
            birth = None
            if person.birth_date_earliest or person.birth_date_latest:
                birth = (person.birth_date_earliest, person.birth_date_latest)
            result[person.pk] = (
                person,
                Profile(
                    names=prepared(names.get(person.pk, [])),
                    birth=birth,
                    birth_text=person.birth_date,
                    place_path=place.path if place else "",
                    place_name=str(place) if place else "",
                    fathers=fathers.get(person.pk, []),
                ),
            )
    return result


def _fathers(person_ids: list[int]) -> dict[int, list[str]]:
    """Names of each person's recorded fathers (a male parent, either direction).

    Only fathers who are the subject of no sensitive case: the same for every user (a score
    must not depend on who ran the scan), and nothing need-to-know moves a score."""
    Case = apps.get_model("cases", "Case")  # cases sits above this app
    sensitive = Case._base_manager.filter(sensitive=True).values("person_id")
    # The kind is encrypted: selected by people here, by kind below (in Python).
    rows = Relationship.objects.filter(
        (Q(from_person__in=person_ids, to_person__gender=Gender.MALE) & ~Q(to_person__in=sensitive))
        | (
            Q(to_person__in=person_ids, from_person__gender=Gender.MALE)
            & ~Q(from_person__in=sensitive)
        )
    ).values_list(
        "kind",
        "from_person_id",
        "to_person_id",
        "from_person__display_name",
        "to_person__display_name",
        "from_person__gender",
        "to_person__gender",
    )
    fathers: dict[int, list[str]] = {}
    ids, male = set(person_ids), Gender.MALE
    for kind, from_id, to_id, from_name, to_name, from_gender, to_gender in rows:
        if kind == RelationshipKind.CHILD_OF and from_id in ids and to_gender == male:
            child, father = from_id, to_name
        elif kind == RelationshipKind.PARENT_OF and to_id in ids and from_gender == male:
            child, father = to_id, from_name
        else:
            continue
        if father:
            fathers.setdefault(child, []).append(father)
    return fathers


def _place(place_of_origin) -> tuple[str, str]:
    if place_of_origin is None:
        return "", ""
    if not hasattr(place_of_origin, "path"):
        Location = Person._meta.get_field("place_of_origin").related_model
        place_of_origin = Location.objects.filter(pk=place_of_origin).first()
        if place_of_origin is None:
            return "", ""
    return place_of_origin.path, str(place_of_origin)


# --- The interface ---------------------------------------------------------------------------


def candidate_ids(names: Iterable[str], queryset=None, exclude_ids: Iterable[int] = ()) -> set[int]:
    """Ids of people in ``queryset`` with a name sharing a match key with one of ``names``:
    one indexed query."""
    keys = set()
    for name in names:
        keys |= name_match_keys(name or "")
    if not keys:
        return set()
    hits = PersonNameKey.objects.filter(key__in=keys)
    if queryset is not None:
        hits = hits.filter(name__person__in=queryset.values("pk"))
    exclude_ids = list(exclude_ids)
    if exclude_ids:
        hits = hits.exclude(name__person__in=exclude_ids)
    return set(hits.values_list("name__person_id", flat=True).distinct())


def find_people(
    names: Iterable[str],
    *,
    queryset=None,
    birth_year: int | None = None,
    father_name: str | None = None,
    place_of_origin=None,
    exclude_ids: Iterable[int] = (),
    limit: int | None = 10,
) -> list[PersonMatch]:
    """The people ``names`` may denote, best first, scored at or above
    ``people.names.SAME_PERSON_THRESHOLD``; only people in ``queryset`` (default: everyone).

    ``birth_year``, ``father_name`` and ``place_of_origin`` (a Location or its id), where
    known, raise or lower the score as they agree or conflict with the person's record. A
    fixed number of queries, however many people there are.
    """
    names = [name for name in names if name and name.strip()]
    if queryset is None:
        queryset = Person.objects.all()
    ids = candidate_ids(names, queryset, exclude_ids)
    if not ids:
        return []
    query = _query_profile(names, birth_year, father_name, *_place(place_of_origin))
    return _best(query, load_profiles(ids).values(), limit)


def _query_profile(names, birth_year, father_name, place_path, place_name) -> Profile:
    """The Profile of what a search knows: find_people()'s and find_people_many()'s."""
    query = Profile(names=prepared(names))
    if birth_year:
        query.birth = (datetime.date(birth_year, 1, 1), datetime.date(birth_year, 12, 31))
        query.birth_text = str(birth_year)
    if father_name and father_name.strip():
        query.fathers = [father_name.strip()]
    query.place_path, query.place_name = place_path, place_name
    return query


def alike(
    query: Profile, other: Profile, similarity=matcher.similarity_prepared, possible=False
) -> tuple[float, list[str], dict] | None:
    """score_profiles' (score, reasons, details) if the two score at or above
    SAME_PERSON_THRESHOLD, else None; births that rule the pair out skip the scoring. With
    ``possible`` (the duplicate scan), also a pair with an initial at or above
    POSSIBLE_DUPLICATE_THRESHOLD, for review as a possible duplicate."""
    if births_rule_out(query, other):
        return None
    scored = score_profiles(query, other, similarity, possible)
    initial = bool(scored[2]["names"]) and scored[2]["names"][0].get("initial", False)
    return scored if scored[0] >= _floor(possible and initial) else None


def _best(query: Profile, candidates, limit: int | None) -> list[PersonMatch]:
    """The candidates (Person, Profile) scoring at or above the threshold, best first."""
    matches, similarity = [], memoised_similarity()
    for person, profile in candidates:
        scored = alike(query, profile, similarity)
        if scored is not None:
            score, reasons, details = scored
            matches.append(PersonMatch(person, score, tuple(reasons), details))
    matches.sort(key=lambda m: (-m.score, m.person.display_name, m.person.pk))
    return matches if limit is None else matches[:limit]


@dataclass(frozen=True)
class PeopleQuery:
    """One search of find_people_many(): find_people()'s arguments for one name list."""

    names: tuple[str, ...]
    birth_year: int | None = None
    father_name: str | None = None
    place_of_origin: object = None  # a Location or its id
    exclude_ids: tuple[int, ...] = ()


# Searches answered together by find_people_many(): bounds the profiles held in memory.
MANY_BATCH = 2000


def find_people_many(
    queries: Iterable[PeopleQuery], *, queryset=None, limit: int | None = 10
) -> list[list[PersonMatch]]:
    """find_people() for each of ``queries``, in order, with the same results, in a number of
    queries that grows with the searches only by batches of MANY_BATCH (the bulk import's
    duplicate search): per batch one match-key lookup for every name, one check of which
    candidates ``queryset`` holds, and load_profiles() of all of them; scoring is in Python.
    """
    queries = list(queries)
    if queryset is None:
        queryset = Person.objects.all()
    results: list[list[PersonMatch]] = []
    for start in range(0, len(queries), MANY_BATCH):
        results += _find_batch(queries[start : start + MANY_BATCH], queryset, limit)
    return results


def _find_batch(queries: list[PeopleQuery], queryset, limit) -> list[list[PersonMatch]]:
    names_of = [[n for n in q.names if n and n.strip()] for q in queries]
    keys_of = []
    for names in names_of:
        keys = set()
        for name in names:
            keys |= name_match_keys(name)
        keys_of.append(keys)
    # One lookup of every key (find_people: candidate_ids())...
    people_by_key: dict[str, set[int]] = {}
    all_keys = sorted(set().union(*keys_of))
    for chunk in _chunks(all_keys):
        for key, person_id in PersonNameKey.objects.filter(key__in=chunk).values_list(
            "key", "name__person_id"
        ):
            people_by_key.setdefault(key, set()).add(person_id)
    wanted_of = []
    for query, keys in zip(queries, keys_of, strict=True):
        wanted = set().union(*(people_by_key.get(key, ()) for key in keys))
        wanted_of.append(wanted - set(query.exclude_ids))
    # ...then which of the candidates the queryset holds, once for all of them...
    candidates = sorted(set().union(*wanted_of))
    allowed = set()
    for chunk in _chunks(candidates):
        allowed |= set(queryset.filter(pk__in=chunk).values_list("pk", flat=True))
    profiles = load_profiles(allowed)
    places = _places([q.place_of_origin for q in queries])
    results = []
    for query, names, wanted in zip(queries, names_of, wanted_of, strict=True):
        found = [profiles[pk] for pk in sorted(wanted & allowed) if pk in profiles]
        if not found:
            results.append([])
            continue
        place = places.get(_place_key(query.place_of_origin), ("", ""))
        profile = _query_profile(names, query.birth_year, query.father_name, *place)
        results.append(_best(profile, found, limit))
    return results


def _place_key(place_of_origin):
    if place_of_origin is None:
        return None
    return getattr(place_of_origin, "pk", place_of_origin)


def _places(places) -> dict:
    """_place() of many places of origin (Locations or ids), ids read in one query."""
    found, ids = {}, set()
    for place in places:
        if place is None:
            continue
        if hasattr(place, "path"):
            found[place.pk] = (place.path, str(place))
        else:
            ids.add(place)
    ids -= found.keys()
    if ids:
        Location = Person._meta.get_field("place_of_origin").related_model
        for place in Location.objects.filter(pk__in=ids):
            found[place.pk] = (place.path, str(place))
    return found


# Words shorter than this are looked up at the start of names only: a trigram index
# (casetracker.postgres) serves ``LIKE '%term%'`` from three characters on; "li" inside a
# word would match half of two million names and read them all.
MIN_INFIX = 3
# The shortest word of a romanised term that search_people() looks for across scripts.
ROMANISED_MIN = 4
LATIN_LETTER = re.compile("[a-z]")


def name_text_filter(folded: str) -> Q:
    """PersonName rows whose folded name contains ``folded`` (already fold()ed): anywhere when
    its longest word has MIN_INFIX characters or more, else at the start of the name."""
    if max(len(word) for word in folded.split(" ")) >= MIN_INFIX:
        return Q(search_name__contains=folded)
    return Q(search_name__startswith=folded)


def search_people(term: str, queryset):
    """People of ``queryset`` with a name that contains the folded ``term`` (any script,
    any case; a term of one or two letters at the start of a name), or that people.names
    takes for the same name: ``Qanat Erejep`` finds "Kanat Yerezhep". Used by the admin's
    and the API's name search.

    Two queries: the spellings sharing a match key with the term (similar_people()), then
    the people whose names contain the text or bear a spelling found the same, read through
    indexes (trigrams on PostgreSQL), never a scan of every name.
    """
    folded = fold(term or "")
    if not folded:
        return queryset
    found = PersonName.objects.filter(name_text_filter(folded)).order_by().values("person_id")
    # A name in one script contains the term written in another through its romanisation:
    # "卡纳提" or "Қанат" alone finds "Kanat Yerezhep" as "Kanat" does. (A whole name is
    # found across scripts by its match keys below; a part of one only this way.) Only for
    # a term with no Latin letter, whose romanisation has a word of ROMANISED_MIN letters:
    # "王" ("uan") or "艾" ("e") would find a large part of the archive.
    romanised = fold(matcher.romanise(term))
    if (
        not LATIN_LETTER.search(folded)
        and romanised
        and max(len(word) for word in romanised.split(" ")) >= ROMANISED_MIN
    ):
        found = found.union(
            PersonName.objects.filter(name_text_filter(romanised)).order_by().values("person_id")
        )
    # A UNION, not an OR: the database makes the set of people first, then reads them by
    # key. With an OR it may walk the whole list in order, testing every person.
    found = found.union(similar_people([term]))
    return queryset.filter(pk__in=found)


def similar_people(names: Iterable[str]):
    """The ids (``person_id`` values of a queryset) of the people that find_people(names)
    finds, with nothing but the names to weigh: the same people, for a fraction of the work.

    A name that shares no match key with ``names`` never scores as the same name, so only the
    spellings stored with those keys are scored, each once however many people bear it,
    read from the key table's index alone; then the people bearing the spellings that score
    as the same name. What a search costs grows with the distinct spellings sharing a key,
    not with the people in the database.
    """
    query = prepared(names)
    keys = set()
    for name, _prepared in query:
        keys |= name_match_keys(name)
    hits = PersonNameKey.objects.filter(key__in=sorted(keys)).order_by()
    spellings = hits.values_list("spelling", flat=True).distinct() if keys else []
    same = [
        spelling
        for spelling in spellings
        if any(
            matcher.similarity_prepared(asked, matcher.prepare(spelling.strip()))
            >= matcher.SAME_PERSON_THRESHOLD
            for _name, asked in query
        )
    ]
    if not same:
        # Nobody, as a query that runs (an index lookup of a key no name has) rather than one
        # Django leaves out: search_people()'s UNION must stay a UNION, or PostgreSQL may walk
        # every person in list order testing each (200 ms for a given name at 200,000).
        nobody = PersonNameKey.objects.filter(key="", spelling="").order_by()
        return nobody.values("name__person_id")
    return hits.filter(spelling__in=same).values("name__person_id")


def person_profile(person: Person) -> Profile:
    return load_profiles([person.pk])[person.pk][1]


# --- Recording candidate pairs ---------------------------------------------------------------


def oriented(details: dict, query_is_a: bool) -> dict:
    """``details`` of a PersonMatch (query, match) as stored on a pair (person_a, person_b)."""
    first, second = ("query", "match") if query_is_a else ("match", "query")

    def turn(row):
        out = {k: v for k, v in row.items() if not k.startswith(("query", "match"))}
        for side, label in ((first, "person_a"), (second, "person_b")):
            for k, v in row.items():
                if k.startswith(side):
                    out[label + k[len(side) :]] = v
        return out

    return {
        "names": [turn(row) for row in details.get("names", [])],
        "facts": [turn(row) for row in details.get("facts", [])],
    }


def _template_pattern(template: str) -> re.Pattern:
    """A pattern that reads the values back out of a reason made from ``template``."""
    return re.compile(re.sub(r"%\\\((\w+)\\\)s", r"(?P<\1>.*?)", re.escape(template)))


_REASON_PATTERNS = [(template, _template_pattern(template)) for template in REASON_TEMPLATES]


def translated_reason(reason: str) -> str:
    """A reason (stored in English) in the active language; a text made from no known
    template (an earlier version's wording) as it is."""
    for template, pattern in _REASON_PATTERNS:
        found = pattern.fullmatch(reason)
        if found:
            return gettext(template) % found.groupdict()
    return reason


def translated_reasons(reasons: Iterable[str]) -> list[str]:
    """The reasons of a PersonMatch (or of a stored pair), for staff, in their language."""
    return [translated_reason(reason) for reason in reasons]


def shown_reasons(stored: dict | None) -> list[str]:
    """The reasons of a stored pair, for staff, in their language: a relative's name that an
    earlier version stored (“Fathers' names agree (“X” / “Y”).”) cut to the verdict."""
    shown = []
    for reason in (stored or {}).get("reasons") or []:
        if reason.startswith("Fathers' names agree"):
            reason = FATHERS_AGREE
        elif reason.startswith("Fathers' names differ"):
            reason = FATHERS_DIFFER
        shown.append(reason)
    return translated_reasons(shown)


def store_candidate(first_id: int, second_id: int, score: float, reasons, details) -> str:
    """Create or update the pair's candidate. Returns what happened: "created", "updated",
    "unchanged" or "kept" (dismissed or merged pairs are left as staff decided)."""
    a, b = DuplicateCandidate.ordered(first_id, second_id)
    stored = {"reasons": list(reasons), **oriented(details, query_is_a=first_id == a)}
    score, now = round(score, 4), timezone.now()
    candidate = DuplicateCandidate.objects.filter(person_a_id=a, person_b_id=b).first()
    if candidate is None:
        DuplicateCandidate.objects.create(
            person_a_id=a, person_b_id=b, score=score, reasons=stored, scored_at=now
        )
        return "created"
    if candidate.status != CandidateStatus.OPEN:
        return "kept"
    if candidate.score == score and candidate.reasons == stored:
        # Found alike again: the next scan must not withdraw it (people.scan). Bookkeeping
        # left out of the history: no history row for it.
        DuplicateCandidate._base_manager.filter(pk=candidate.pk).update(scored_at=now)
        return "unchanged"
    candidate.score, candidate.reasons, candidate.scored_at = score, stored, now
    candidate.save(update_fields=["score", "reasons", "updated_at", "scored_at"])
    return "updated"


def record_candidates(person: Person, matches: Iterable[PersonMatch]) -> int:
    """Store or update open candidate pairs of ``person`` with each match (dismissed pairs
    stay dismissed); returns how many of these pairs are open. Attribute the writes with
    casetracker.audit.acting_as()."""
    pairs = []
    for match in matches:
        if match.person.pk == person.pk:
            continue
        store_candidate(person.pk, match.person.pk, match.score, match.reasons, match.details)
        pairs.append(DuplicateCandidate.ordered(person.pk, match.person.pk))
    if not pairs:
        return 0
    pair_filter = Q()
    for a, b in pairs:
        pair_filter |= Q(person_a_id=a, person_b_id=b)
    return DuplicateCandidate.objects.filter(pair_filter, status=CandidateStatus.OPEN).count()
