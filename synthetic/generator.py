"""Synthetic people and their cases, deterministic for a seed, at population scale.

Person number ``i`` of seed ``s`` is drawn from its own random stream (``"s:i"``), so the same
seed gives the same records whatever the batch size, and any person can be re-drawn alone
(planted duplicates re-draw the identity of the person they copy). Each person has:

- 1–4 spellings of a Kazakh, Uyghur or Kyrgyz name in Latin, Cyrillic, Arabic script and
  Chinese characters (synthetic/data/names.csv), common names far more often than rare ones;
- one case with 1–6 events (detained, then arrested, charged, tried, sentenced, transferred,
  released, disappeared, died, family notified…) dated in EDTF at every precision: days,
  months, years, seasons, decades, approximate, uncertain, intervals, unknown;
- places down to the county, facilities, authorities and charges with their articles;
- 1–4 citations of shared reports, leaked lists and the person's own testimonies, the
  evidence level the verifier would suggest from them;
- the workflow in proportions like a working archive's: drafts, cases in review, verified
  and published ones, a few sensitive or archived; each step a history row and a workflow
  log entry, as the services write them.

A share of people (``duplicates``) are second records of someone generated earlier: the same
person (names, birth year, origin) spelled in other scripts or forms, for the duplicate scan
to find. Every record is flagged ``synthetic``: never published unless PUBLISH_SYNTHETIC_DATA.
"""

import csv
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from django.utils import translation

from cases.models import (
    EVENT_STATUS,
    Case,
    CaseReferenceCounter,
    CaseStatus,
    CaseTransition,
    ChargeBasis,
    DetentionEvent,
    EventKind,
    EvidenceLevel,
    PublicationRecord,
    ReviewState,
    TransitionAction,
)
from casetracker.choices import Language, Script
from casetracker.text import fold
from figures import staff as staff_figures
from people.models import (
    KIND_OF_SCRIPT,
    Consent,
    Person,
    PersonName,
    PersonNameKey,
    name_stored_keys,
    shown_names,
)
from snapshots import writer as snapshots
from sources.models import DOCUMENTARY_KINDS, Access, Citation, Reliability, Source, SourceKind
from synthetic.reference import HOMELANDS, REASON, Reference
from synthetic.writer import BulkWriter

NAMES_FILE = Path(__file__).resolve().parent / "data" / "names.csv"

# Records are entered from EARLIEST to LATEST and steps taken until LAST_STEP (never after the
# time of the run): fixed, so that a seed gives the same records whenever it runs.
EARLIEST = datetime(2018, 6, 1, tzinfo=UTC)
LATEST = datetime(2025, 12, 31, tzinfo=UTC)
LAST_STEP = datetime(2026, 6, 30, tzinfo=UTC)
ETHNICITIES = [("kazakh", 55), ("uyghur", 36), ("kyrgyz", 7), ("unknown", 2)]
LANGUAGE = {"kazakh": Language.KAZAKH, "uyghur": Language.UYGHUR, "kyrgyz": Language.KYRGYZ}
PATRONYMIC = {
    # (son of, daughter of) after the father's name, in Cyrillic and in Latin letters.
    "kazakh": (("ұлы", "қызы"), ("uly", "kyzy")),
    "uyghur": (("оғли", "қизи"), ("oghli", "qizi")),
    "kyrgyz": (("уулу", "кызы"), ("uulu", "kyzy")),
}
SURNAME_STYLES = {  # the father's name alone, Russian-style -ov/-ova, or a patronymic
    "kazakh": [("plain", 55), ("ov", 33), ("patronymic", 12)],
    "uyghur": [("plain", 70), ("ov", 25), ("patronymic", 5)],
    "kyrgyz": [("plain", 40), ("ov", 25), ("patronymic", 35)],
}
FIRST_SCRIPT = [("Latn", 45), ("Cyrl", 35), ("Hans", 12), ("Arab", 8)]
SPELLINGS = [(1, 30), (2, 40), (3, 20), (4, 10)]
CONSENTS = [
    (Consent.GRANTED, 74),
    (Consent.PUBLIC_RECORD, 11),
    (Consent.UNKNOWN, 10),
    (Consent.REFUSED, 3),
    (Consent.WITHDRAWN, 2),
]
WORKFLOW = [("draft", 18), ("in_review", 11), ("verified", 8), ("published", 62), ("archived", 1)]
OUTCOMES = [
    ("detained", 24),
    ("sentenced", 32),
    ("released", 14),
    ("released_under_restrictions", 12),
    ("disappeared", 13),
    ("died", 3),
    ("unknown", 2),
]
OCCUPATIONS = [
    "Herder", "Farmer", "Teacher", "Imam", "Driver", "Trader", "Doctor", "Nurse", "Student",
    "Retired", "Accountant", "Engineer", "Journalist", "Writer", "Musician", "Cook", "Tailor",
    "Shopkeeper", "Civil servant", "Lawyer", "Construction worker", "Mechanic", "Poet",
    "University lecturer", "Businessman", "Veterinarian", "Pensioner", "Translator",
]  # fmt: skip
CLAIMS = [
    "Names the person among those taken on the date given.",
    "A relative describes the detention and the place of detention.",
    "Lists the person with the charge and the sentence.",
    "Reports the transfer to a prison.",
    "Reports that the family has had no news since the detention.",
    "A former detainee saw the person in the facility.",
    "Gives the sentence passed by the court.",
    "Reports the release under restrictions (house arrest, forced labour).",
]


@lru_cache(maxsize=1)
def name_pools() -> dict:
    """{(ethnicity, part, gender): [row, …]} from names.csv, most common first."""
    pools: dict = {}
    with NAMES_FILE.open(encoding="utf-8") as lines:
        rows = csv.DictReader(line for line in lines if line.strip() and not line.startswith("#"))
        for row in rows:
            key = (row["ethnicity"], row["part"], row["gender"] if row["part"] == "given" else "m")
            pools.setdefault(key, []).append(row)
    for key, rows in pools.items():
        if not rows:
            raise ValueError(f"names.csv has no names for {key}")
    return pools


@lru_cache(maxsize=64)
def _zipf(count: int) -> list[float]:
    """Cumulative weights of ranks 1…count: the first names far more common than the last."""
    total, cumulative = 0.0, []
    for rank in range(1, count + 1):
        total += 1 / rank**0.9
        cumulative.append(total)
    return cumulative


def _pick(rng: random.Random, weighted: list[tuple]) -> object:
    return rng.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]


@lru_cache(maxsize=500_000)
def _keys(name: str) -> tuple[str, ...]:
    return tuple(sorted(name_stored_keys(name)))


@dataclass(frozen=True)
class Identity:
    """Who a person is, apart from how a record spells it: what a planted duplicate copies."""

    uid: uuid.UUID
    ethnicity: str
    gender: str
    given: int
    family: int
    style: str
    birth: date
    prefecture: str
    county_rank: float


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def identity(seed: int, index: int, reference: Reference) -> Identity:
    rng = random.Random(f"{seed}:{index}:identity")
    ethnicity = _pick(rng, ETHNICITIES)
    people = "kazakh" if ethnicity == "unknown" else ethnicity
    gender = _pick(rng, [("male", 70), ("female", 28), ("unknown", 2)])
    pools = name_pools()
    given_pool = pools[(people, "given", "f" if gender == "female" else "m")]
    family_pool = pools[(people, "family", "m")]
    homes = [
        (name, weight) for name, weight in HOMELANDS[people].items() if name in reference.counties
    ]
    return Identity(
        uid=_uuid(rng),
        ethnicity=ethnicity,
        gender=gender,
        given=rng.choices(range(len(given_pool)), cum_weights=_zipf(len(given_pool)))[0],
        family=rng.choices(range(len(family_pool)), cum_weights=_zipf(len(family_pool)))[0],
        style=_pick(rng, SURNAME_STYLES[people]),
        birth=date(
            min(2004, max(1935, round(rng.gauss(1972, 13)))),
            1 + rng.randrange(12),
            1 + rng.randrange(28),
        ),
        prefecture=_pick(rng, homes) if homes else next(iter(reference.counties)),
        county_rank=rng.random(),
    )


# --- names -----------------------------------------------------------------------------------


def spellings(who: Identity) -> dict[str, tuple[str, str]]:
    """{form: (name, language)}: the person's name in every form a record may hold it."""
    people = "kazakh" if who.ethnicity == "unknown" else who.ethnicity
    pools = name_pools()
    female = who.gender == "female"
    given = pools[(people, "given", "f" if female else "m")][who.given]
    family = pools[(people, "family", "m")][who.family]
    (son, daughter), (son_latin, daughter_latin) = PATRONYMIC[people]
    language = LANGUAGE[people]

    def surname(stem: str, latin: bool) -> str:
        if who.style == "ov":
            return (
                stem + ("ova" if female else "ov") if latin else stem + ("ова" if female else "ов")
            )
        if who.style == "patronymic":
            suffix = (
                (daughter_latin if female else son_latin)
                if latin
                else (daughter if female else son)
            )
            return f"{stem} {suffix}"
        return stem

    return {
        "latin": (f"{given['latin']} {surname(family['latin'], True)}", Language.ENGLISH),
        "latin_alt": (f"{given['latin_alt']} {surname(family['latin_alt'], True)}", language),
        "cyrillic": (f"{given['cyrillic']} {surname(family['cyrillic'], False)}", language),
        "cyrillic_reversed": (
            f"{surname(family['cyrillic'], False)} {given['cyrillic']}",
            language,
        ),
        "latin_caps": (
            f"{surname(family['latin'], True)} {given['latin']}".upper(),
            Language.ENGLISH,
        ),
        "arabic": (f"{given['arabic']} {family['arabic']}", language),
        "chinese": (f"{given['chinese']}·{family['chinese']}", Language.CHINESE),
    }


SCRIPT_OF_FORM = {
    "latin": Script.LATIN,
    "latin_alt": Script.LATIN,
    "latin_caps": Script.LATIN,
    "cyrillic": Script.CYRILLIC,
    "cyrillic_reversed": Script.CYRILLIC,
    "arabic": Script.ARABIC,
    "chinese": Script.HAN_SIMPLIFIED,
}
FORMS_OF_SCRIPT = {
    "Latn": ["latin", "latin_alt", "latin_caps"],
    "Cyrl": ["cyrillic", "cyrillic_reversed"],
    "Arab": ["arabic"],
    "Hans": ["chinese"],
}


def chosen_names(rng: random.Random, who: Identity) -> list[tuple[str, str, str]]:
    """[(name, script, language)], the preferred first: 1–4 distinct spellings."""
    forms = spellings(who)
    wanted = _pick(rng, SPELLINGS)
    first = _pick(rng, FIRST_SCRIPT)
    order = [rng.choice(FORMS_OF_SCRIPT[first][:2])]
    others = [form for form in forms if form not in order]
    rng.shuffle(others)
    order += others
    chosen, seen = [], set()
    for form in order:
        name, language = forms[form]
        if (name, language) in seen or name in {n for n, _, _ in chosen}:
            continue
        seen.add((name, language))
        chosen.append((name, SCRIPT_OF_FORM[form], language))
        if len(chosen) == wanted:
            break
    return chosen


# --- dates -----------------------------------------------------------------------------------


def edtf_of(rng: random.Random, day: date, allow_unknown: bool = True) -> str:
    """``day`` as a source might give it: a day, a month, a year, a season, a decade, about,
    uncertain, an interval around it, or not at all."""
    roll = rng.random()
    if roll < 0.30:
        return day.isoformat()
    if roll < 0.45:
        return f"{day:%Y-%m}"
    if roll < 0.68:
        return str(day.year)
    if roll < 0.74:
        return f"{day.year}~"
    if roll < 0.79:
        return f"{day.year}?"
    if roll < 0.84:
        return f"{day:%Y-%m}~"
    if roll < 0.88 and 3 <= day.month <= 11:
        # Spring (21) March to May, summer (22), autumn (23); winter spans two years: no.
        return f"{day.year}-{21 + (day.month - 3) // 3}"
    if roll < 0.94:
        start = day.year - rng.randrange(2)
        return f"{start}/{start + 1 + rng.randrange(3)}"
    if roll < 0.97 or not allow_unknown:
        return f"{str(day.year)[:3]}X"
    return ""


def _day(rng: random.Random, start: date, days: int) -> date:
    return start + timedelta(days=rng.randrange(max(1, days)))


# --- the events of a case --------------------------------------------------------------------

AFTER_DETENTION = {
    # outcome → the kinds that follow the detention, in order (each kept with its chance)
    "detained": [
        (EventKind.ARRESTED, 0.4),
        (EventKind.TRANSFERRED, 0.4),
        (EventKind.FAMILY_NOTIFIED, 0.4),
    ],
    "sentenced": [
        (EventKind.ARRESTED, 0.6),
        (EventKind.CHARGED, 0.6),
        (EventKind.TRIED, 0.7),
        (EventKind.SENTENCED, 1.0),
        (EventKind.TRANSFERRED, 0.4),
    ],
    "released": [
        (EventKind.TRANSFERRED, 0.3),
        (EventKind.FAMILY_NOTIFIED, 0.3),
        (EventKind.RELEASED, 1.0),
    ],
    "released_under_restrictions": [
        (EventKind.TRANSFERRED, 0.3),
        (EventKind.RELEASED_UNDER_RESTRICTIONS, 1.0),
    ],
    "disappeared": [(EventKind.SIGHTED, 0.4), (EventKind.DISAPPEARED, 1.0)],
    "died": [(EventKind.SENTENCED, 0.4), (EventKind.TRANSFERRED, 0.3), (EventKind.DIED, 1.0)],
    "unknown": [(EventKind.SIGHTED, 0.3)],
}


def event_plan(rng: random.Random) -> list[tuple[str, date]]:
    """[(kind, day)] in order: a detention, then what the outcome brings, at most 6."""
    outcome = _pick(rng, OUTCOMES)
    day = _day(rng, date(2016, 6, 1), 6 * 365 if rng.random() < 0.85 else 8 * 365)
    events = [(EventKind.DETAINED, day)]
    for kind, chance in AFTER_DETENTION[outcome]:
        if rng.random() < chance and len(events) < 6:
            day = day + timedelta(days=10 + rng.randrange(400))
            events.append((kind, min(day, date(2026, 6, 30))))
    return events


def latest_status(events: list[dict]) -> str:
    """Case.derived_status() of events written in memory: the latest dated event that says
    where the person is (latest bound descending, open ends first; then earliest; then key)."""
    best, best_key = None, None
    for event in events:
        earliest, latest = event["date_earliest"], event["date_latest"]
        if event["kind"] not in EVENT_STATUS or (earliest is None and latest is None):
            continue
        key = (
            latest is None,
            latest or date.min,
            earliest is not None,
            earliest or date.min,
            event["id"],
        )
        if best_key is None or key > best_key:
            best, best_key = event, key
    return EVENT_STATUS[best["kind"]] if best else CaseStatus.UNKNOWN


def suggested_level(kinds: list[str], independent: int) -> int:
    """cases.services.suggest_evidence_level() for sources of these kinds."""
    if any(kind in DOCUMENTARY_KINDS for kind in kinds):
        return EvidenceLevel.DOCUMENTED
    if independent >= 2:
        return EvidenceLevel.CORROBORATED
    if any(kind in (SourceKind.TESTIMONY, SourceKind.INTERVIEW) for kind in kinds):
        return EvidenceLevel.TESTIMONY
    return EvidenceLevel.REPORTED


# --- one person ------------------------------------------------------------------------------


class Generator:
    """Draws people ``start … start+count-1`` of ``seed`` into a BulkWriter, batch by batch."""

    def __init__(self, seed: int, reference: Reference, duplicates: float = 0.02):
        self.seed = seed
        self.reference = reference
        self.duplicates = duplicates
        self.planted: list[tuple[uuid.UUID, uuid.UUID]] = []  # (first record, its duplicate)
        with translation.override(None):  # stored texts are English, whatever the caller's
            self.labels = {
                action: str(TransitionAction(action).label) for action in TransitionAction
            }
        self.now = None
        self.cases: list[int] = []  # the keys of the batch's cases

    def batch(self, writer: BulkWriter, start: int, count: int) -> None:
        """Queue people ``start`` … ``start + count - 1`` in ``writer`` (not flushed)."""
        self.now = writer.now
        self.cases = []
        drawn = [self._draw(index) for index in range(start, start + count)]
        years: dict[int, int] = {}
        for person in drawn:
            years[person["created"].year] = years.get(person["created"].year, 0) + 1
        references = {
            year: iter(CaseReferenceCounter.next_references(year, n))
            for year, n in sorted(years.items())
        }
        for person in drawn:
            self._write(writer, person, next(references[person["created"].year]))

    def record_publication(self) -> None:
        """After the batch is written: a publication record for each of its cases that
        Case.objects.published() holds (the one definition of it), since the time it was
        published, as cases.publication keeps them; and its published snapshot, written by
        the snapshot writer."""
        for start in range(0, len(self.cases), 2000):  # SQLite's limit on parameters
            published = Case.objects.published().filter(pk__in=self.cases[start : start + 2000])
            rows = list(published.values_list("pk", "published_at"))
            PublicationRecord.objects.bulk_create(
                PublicationRecord(case_id=pk, published_at=at) for pk, at in rows
            )
            # Without the audit chain's lock: nothing else writes these new cases, and the
            # other worker's batch need not wait while this one renders.
            snapshots.refresh((pk for pk, _at in rows), lock=False)

    def record_facts(self) -> None:
        """After the batch is written: the staff's statistics' facts of its cases
        (figures.staff), which the copy's rows send no signal for."""
        staff_figures.refresh(self.cases)

    def original(self, index: int) -> int:
        """The number of the person whose record ``index`` is a second record of (``index``
        itself if none): a duplicate of a duplicate is one of the first record."""
        while index:
            rng = random.Random(f"{self.seed}:{index}:copy")
            if rng.random() >= self.duplicates:
                break
            index = rng.randrange(index)
        return index

    def _draw(self, index: int) -> dict:
        """Everything random about person ``index``, before any key is given."""
        rng = random.Random(f"{self.seed}:{index}")
        who = identity(self.seed, index, self.reference)
        first = self.original(index)
        copy_of = None
        if first != index:
            copy_of = identity(self.seed, first, self.reference)
            who = Identity(**{**copy_of.__dict__, "uid": who.uid})
        span = int((LATEST - EARLIEST).total_seconds())
        created = min(EARLIEST + timedelta(seconds=rng.randrange(span)), self.now)
        return {"rng": rng, "who": who, "copy_of": copy_of, "created": created}

    def _write(self, writer: BulkWriter, person: dict, reference_number: str) -> None:
        rng, who, created = person["rng"], person["who"], person["created"]
        ref = self.reference
        entry = ref.entry_user_id
        counties = ref.counties[who.prefecture]
        county = counties[min(len(counties) - 1, int(who.county_rank * len(counties)))]
        consent = _pick(rng, CONSENTS)
        occupation = rng.choice(OCCUPATIONS)
        clock = iter(range(1, 10_000))

        def soon():
            return created + timedelta(seconds=next(clock))

        # The person and their names.
        names = chosen_names(rng, who)
        display_name, by_script = shown_names([(script, name) for name, script, _ in names])
        person_row = writer.add(
            Person,
            {
                "uid": who.uid,
                "created_at": created,
                "updated_at": created,
                "created_by_id": entry,
                "updated_by_id": entry,
                "display_name": display_name,
                "names_by_script": by_script,
                "gender": who.gender,
                "birth_date": edtf_of(rng, who.birth),
                "ethnicity": who.ethnicity,
                "citizenship": _pick(
                    rng, [("CN", 70), ("KZ", 12), ("CN KZ", 12), ("KG", 3), ("", 3)]
                ),
                "place_of_origin_id": county
                if rng.random() < 0.9
                else ref.prefectures.get(who.prefecture),
                "occupation": occupation,
                "public_summary": f"Synthetic record. {occupation}, detained in Xinjiang.",
                "consent": consent,
                "synthetic": True,
            },
        )
        if person["copy_of"] is not None:
            self.planted.append((person["copy_of"].uid, person_row["uid"]))
        writer.history(
            Person, person_row, history_type="+", at=created, user_id=entry, reason=REASON
        )
        for position, (name, script, language) in enumerate(names):
            at = soon()
            name_row = writer.add(
                PersonName,
                {
                    "uid": _uuid(rng),
                    "created_at": at,
                    "updated_at": at,
                    "person_id": person_row["id"],
                    "name": name,
                    "script": script,
                    "language": language,
                    "kind": KIND_OF_SCRIPT[script],
                    "is_preferred": position == 0,
                    "search_name": fold(name),
                },
            )
            writer.history(
                PersonName, name_row, history_type="+", at=at, user_id=entry, reason=REASON
            )
            for key in _keys(name):
                writer.add(PersonNameKey, {"name_id": name_row["id"], "key": key, "spelling": name})

        # The case, its events and citations.
        case_id = writer.key(Case)
        events = []
        for kind, day in event_plan(rng):
            at = soon()
            location = county if rng.random() < 0.8 else None
            facilities = ref.facilities.get(county) or []
            facility = rng.choice(facilities) if facilities and rng.random() < 0.6 else None
            if kind in (EventKind.TRIED, EventKind.SENTENCED):
                authority = ref.courts.get(who.prefecture)
            elif kind in (EventKind.DETAINED, EventKind.ARRESTED):
                authority = ref.police.get(who.prefecture) if rng.random() < 0.5 else None
            else:
                authority = None
            charged = kind in (EventKind.CHARGED, EventKind.SENTENCED) and rng.random() < 0.8
            event = writer.add(
                DetentionEvent,
                {
                    "uid": _uuid(rng),
                    "created_at": at,
                    "updated_at": at,
                    "case_id": case_id,
                    "kind": kind,
                    "date": edtf_of(rng, day),
                    "location_id": location if facility is None else county,
                    "facility_id": facility,
                    "authority_id": authority,
                    "charge_basis": _pick(
                        rng, [(ChargeBasis.OFFICIAL, 40), (ChargeBasis.REPORTED, 60)]
                    )
                    if charged
                    else "",
                    "sentence": f"{1 + rng.randrange(20)} years"
                    if kind == EventKind.SENTENCED and rng.random() < 0.85
                    else "",
                    "description": "",
                },
            )
            history = writer.history(
                DetentionEvent, event, history_type="+", at=at, user_id=entry, reason=REASON
            )
            if charged:
                if rng.random() < 0.15 and ref.undisclosed_charge:
                    charges = [ref.undisclosed_charge]
                else:
                    charges = sorted(
                        set(
                            rng.sample(
                                ref.charges, k=min(len(ref.charges), 1 + (rng.random() < 0.3))
                            )
                        )
                    )
                writer.m2m(DetentionEvent, "charges", event, charges, history_rows=[history])
            events.append(event)

        cited: list[tuple[int, str, str]] = []  # (source key, kind, independence)
        for _ in range(_pick(rng, [(1, 25), (2, 40), (3, 22), (4, 13)])):
            if rng.random() < 0.4:
                cited.append(self._testimony(writer, rng, soon(), entry))
            else:
                source, kind, publisher = rng.choice(ref.reports)
                cited.append((source, kind, f"publisher:{publisher}"))
        cited = list({source: (source, kind, key) for source, kind, key in cited}.values())
        for source, _kind, _key in cited:
            at = soon()
            target = rng.choice(events) if rng.random() < 0.3 else None
            citation = writer.add(
                Citation,
                {
                    "uid": _uuid(rng),
                    "created_at": at,
                    "updated_at": at,
                    "source_id": source,
                    "case_id": None if target else case_id,
                    "event_id": target["id"] if target else None,
                    "person_id": None,
                    "claim": rng.choice(CLAIMS),
                    "locator": f"p. {1 + rng.randrange(300)}" if rng.random() < 0.5 else "",
                    "quote": "",
                    "credibility": _pick(rng, [(1, 20), (2, 50), (3, 25), (6, 5)]),
                },
            )
            writer.history(
                Citation, citation, history_type="+", at=at, user_id=entry, reason=REASON
            )

        level = suggested_level([kind for _, kind, _ in cited], len({key for *_, key in cited}))
        self._case(writer, rng, person_row, case_id, reference_number, events, level, soon())

    def _testimony(self, writer, rng, at, entry) -> tuple[int, str, str]:
        """A testimony of the person's relative: a restricted source of its own."""
        kind = SourceKind.TESTIMONY if rng.random() < 0.8 else SourceKind.INTERVIEW
        author = f"Synthetic testifier {rng.getrandbits(40):010x}"
        source = writer.add(
            Source,
            {
                "uid": _uuid(rng),
                "created_at": at,
                "updated_at": at,
                "created_by_id": entry,
                "updated_by_id": entry,
                "title": "Synthetic testimony of a relative",
                "kind": kind,
                "publisher_id": None,
                "author": author,
                "url": "",
                "archive_url": "",
                "published": edtf_of(rng, at.date(), allow_unknown=False),
                "language": Language.KAZAKH,
                "reliability": _pick(
                    rng, [(Reliability.B, 40), (Reliability.C, 40), (Reliability.F, 20)]
                ),
                "access": _pick(rng, [(Access.RESTRICTED, 80), (Access.CONFIDENTIAL, 20)]),
                "notes": "",
                "archived_at": None,
            },
        )
        writer.history(Source, source, history_type="+", at=at, user_id=entry, reason=REASON)
        return source["id"], kind, f"author:{author.casefold()}"

    def _case(self, writer, rng, person, case_id, reference, events, level, created) -> None:
        """The case row through its workflow: one history row per step, one log entry per
        transition, as cases.services writes them; the row itself in its last state."""
        ref = self.reference
        entry, verifier = ref.entry_user_id, ref.verifier_user_id
        goal = _pick(rng, WORKFLOW)
        state = {
            "id": case_id,
            "uid": _uuid(rng),
            "created_at": created,
            "updated_at": created,
            "created_by_id": entry,
            "updated_by_id": entry,
            "version": 1,
            "reference": reference,
            "person_id": person["id"],
            "status": latest_status(events),
            "status_override": "",
            "review_state": ReviewState.DRAFT,
            "sensitive": rng.random() < 0.03,
            "evidence_level": None,
            "evidence_level_reason": "",
            "submitted_at": None,
            "verified_at": None,
            "verified_by_id": None,
            "is_published": False,
            "published_at": None,
            "archived_at": None,
            "public_summary": "Synthetic case for trials and benchmarks.",
            "internal_notes": "",
            "synthetic": True,
        }
        incidents = [rng.choice(ref.incidents)] if ref.incidents and rng.random() < 0.05 else []
        history = [
            writer.history(
                Case, dict(state), history_type="+", at=created, user_id=entry, reason=REASON
            )
        ]
        at, workflow = created, "draft"

        def step(action, user, stamp, reason="", **changes):
            """One workflow step: ``stamp`` is the column that takes the step's time."""
            nonlocal at, workflow
            at = min(
                at + timedelta(days=1 + rng.randrange(40), seconds=rng.randrange(86_400)),
                min(self.now, LAST_STEP),
            )
            before = workflow
            state.update(changes, version=state["version"] + 1, updated_at=at, updated_by_id=user)
            state[stamp] = at
            workflow = _workflow_state(state)
            history.append(
                writer.history(
                    Case,
                    dict(state),
                    history_type="~",
                    at=at,
                    user_id=user,
                    reason=f"{self.labels[action]}. {reason}",
                )
            )
            writer.add(
                CaseTransition,
                {
                    "case_id": case_id,
                    "action": action,
                    "from_state": before,
                    "to_state": workflow,
                    "user_id": user,
                    "at": at,
                    "reason": reason,
                    "evidence_level": changes.get("evidence_level"),
                },
            )

        if goal != "draft":
            step(TransitionAction.SUBMIT, entry, "submitted_at", review_state=ReviewState.IN_REVIEW)
        if goal in ("verified", "published", "archived"):
            step(
                TransitionAction.VERIFY,
                verifier,
                "verified_at",
                review_state=ReviewState.VERIFIED,
                evidence_level=level,
                verified_by_id=verifier,
            )
        if goal in ("published", "archived"):
            step(TransitionAction.PUBLISH, verifier, "published_at", is_published=True)
        if goal == "archived":
            step(
                TransitionAction.ARCHIVE,
                verifier,
                "archived_at",
                reason="Synthetic archiving.",
                is_published=False,
            )
        writer.add(Case, state)
        if incidents:
            writer.m2m(Case, "incidents", state, incidents, history_rows=history)
        self.cases.append(case_id)


def _workflow_state(state: dict) -> str:
    """Case.workflow_state of a row in memory."""
    if state["archived_at"]:
        return "archived"
    if state["is_published"] and state["review_state"] == ReviewState.VERIFIED:
        return "published"
    return state["review_state"]
