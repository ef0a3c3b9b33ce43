"""The shared records synthetic cases point at: two staff accounts, facilities, authorities,
publishers, published reports and incidents. A few hundred rows, written once through the
ordinary save paths (history and audit chain as for any staff edit) and found again by their
uids on later runs, so that generating in several runs adds people and nothing else twice.

The places are the gazetteer that every database has (cases/data/gazetteer.csv); the charges
are the vocabulary of migration cases 0003.
"""

import random
import uuid
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from cases.models import Charge, FacilityType, Incident, Location, LocationKind
from casetracker.audit import acting_as
from people.models import Organisation, OrganisationKind
from sources.models import Access, Reliability, Source, SourceKind

NAMESPACE = uuid.UUID("6d1f2a4e-5b7c-4c1e-9a53-2f0d8e7b9c11")
REASON = "Synthetic data (generate_synthetic)"
ENTRY_USER, VERIFIER_USER = "synthetic-entry", "synthetic-verifier"

# Where each people mostly lives: prefecture English names from the gazetteer, with weights.
HOMELANDS = {
    "kazakh": {
        "Ili Kazakh Autonomous Prefecture": 40,
        "Altay Prefecture": 25,
        "Tacheng Prefecture": 20,
        "Changji Hui Autonomous Prefecture": 8,
        "Ürümqi": 5,
        "Bortala Mongol Autonomous Prefecture": 2,
    },
    "uyghur": {
        "Kashgar Prefecture": 30,
        "Hotan Prefecture": 20,
        "Aksu Prefecture": 15,
        "Ürümqi": 12,
        "Turpan": 8,
        "Ili Kazakh Autonomous Prefecture": 8,
        "Hami (Kumul)": 4,
        "Bayingolin Mongol Autonomous Prefecture": 3,
    },
    "kyrgyz": {
        "Kizilsu Kyrgyz Autonomous Prefecture": 75,
        "Aksu Prefecture": 15,
        "Kashgar Prefecture": 10,
    },
}

FACILITY_KINDS = [
    (FacilityType.INTERNMENT_CAMP, "internment camp", 50),
    (FacilityType.DETENTION_CENTRE, "detention centre", 30),
    (FacilityType.PRISON, "prison", 20),
]
PUBLISHERS = [
    ("Synthetic Rights Monitor", OrganisationKind.NGO),
    ("Synthetic Central Asia Watch", OrganisationKind.NGO),
    ("Synthetic Steppe Herald", OrganisationKind.MEDIA),
    ("Synthetic Testimony Project", OrganisationKind.NGO),
    ("Synthetic Open Archive", OrganisationKind.NGO),
    ("Synthetic Wire Service", OrganisationKind.MEDIA),
]
REPORTS = 120  # shared published reports and lists
LEAKS = 12  # leaked official documents (police lists, camp rosters)
INCIDENTS = [
    ("Synthetic mass detention, Ili, spring 2017", "2017-03/2017-05"),
    ("Synthetic border arrests, Tacheng, 2018", "2018"),
    ("Synthetic campaign against returnees, 2017–2018", "2017/2018"),
    ("Synthetic detention of imams, Kashgar, 2017", "2017~"),
    ("Synthetic transfers to prisons, autumn 2019", "2019-23"),
]


def uid(key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, key)


@dataclass
class Reference:
    """What the per-person generator draws from: keys and the few facts it needs of each."""

    entry_user_id: int
    verifier_user_id: int
    charges: list[int]
    undisclosed_charge: int | None
    counties: dict[str, list[int]]  # prefecture name → its counties' keys
    prefectures: dict[str, int]
    facilities: dict[int, list[int]] = field(default_factory=dict)  # county key → facilities
    police: dict[str, int] = field(default_factory=dict)  # prefecture name → its bureau
    courts: dict[str, int] = field(default_factory=dict)
    reports: list[tuple[int, str, int]] = field(default_factory=list)  # (key, kind, publisher)
    incidents: list[int] = field(default_factory=list)


def _get_or_create(model, key: str, **fields):
    found = model.objects.filter(uid=uid(key)).first()
    if found is not None:
        return found
    obj = model(uid=uid(key), **fields)
    obj.full_clean()
    obj.save()
    return obj


def _users():
    user_model = get_user_model()
    users = []
    for username in (ENTRY_USER, VERIFIER_USER):
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_active": False, "is_staff": False}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        users.append(user)
    return users


@transaction.atomic
def ensure(seed: int = 0) -> Reference:
    """The shared records, created on first use. ``seed`` only places facilities and dates
    reports: a later run with another seed finds the records the first one made."""
    rng = random.Random(f"reference:{seed}")
    entry, verifier = _users()
    prefectures = {
        place.name_en: place
        for place in Location.objects.filter(kind=LocationKind.PREFECTURE, uid__isnull=False)
    }
    counties: dict[str, list[int]] = {}
    for county in Location.objects.filter(kind=LocationKind.COUNTY, parent__isnull=False).order_by(
        "pk"
    ):
        parent = county.parent
        if parent.kind == LocationKind.PREFECTURE:
            counties.setdefault(parent.name_en, []).append(county.pk)
    charges = list(Charge.objects.order_by("pk").values_list("pk", "article"))
    reference = Reference(
        entry_user_id=entry.pk,
        verifier_user_id=verifier.pk,
        charges=[pk for pk, article in charges if article],
        undisclosed_charge=next((pk for pk, article in charges if not article), None),
        counties={name: keys for name, keys in counties.items() if keys},
        prefectures={name: place.pk for name, place in prefectures.items()},
    )
    with acting_as(entry, REASON):
        for name, place in sorted(prefectures.items()):
            reference.police[name] = _get_or_create(
                Organisation,
                f"police:{name}",
                name=f"Synthetic Public Security Bureau of {name}",
                kind=OrganisationKind.SECURITY,
                location=place,
            ).pk
            reference.courts[name] = _get_or_create(
                Organisation,
                f"court:{name}",
                name=f"Synthetic Intermediate People's Court of {name}",
                kind=OrganisationKind.COURT,
                location=place,
            ).pk
        for county in Location.objects.filter(
            pk__in=[pk for keys in reference.counties.values() for pk in keys]
        ).order_by("pk"):
            kinds = rng.sample(FACILITY_KINDS, k=rng.choice((1, 1, 2, 3)))
            for facility_type, label, _weight in kinds:
                facility = _get_or_create(
                    Location,
                    f"facility:{county.pk}:{facility_type}",
                    kind=LocationKind.FACILITY,
                    facility_type=facility_type,
                    parent=county,
                    name_en=f"Synthetic {label} of {county.name_en}",
                    latitude=county.latitude,
                    longitude=county.longitude,
                )
                reference.facilities.setdefault(county.pk, []).append(facility.pk)
        publishers = [
            _get_or_create(Organisation, f"publisher:{name}", name=name, kind=kind)
            for name, kind in PUBLISHERS
        ]
        for number in range(1, REPORTS + 1):
            publisher = publishers[number % len(publishers)]
            kind = (
                SourceKind.NEWS_REPORT
                if publisher.kind == OrganisationKind.MEDIA
                else SourceKind.NGO_REPORT
            )
            source = _get_or_create(
                Source,
                f"report:{number}",
                title=f"Synthetic report no. {number}",
                kind=kind,
                publisher=publisher,
                url=f"https://example.org/synthetic/report-{number}",
                published=str(2018 + rng.randrange(8)),
                language="en",
                reliability=rng.choice(
                    [Reliability.A, Reliability.B, Reliability.B, Reliability.C]
                ),
                access=Access.PUBLIC,
            )
            reference.reports.append((source.pk, kind, publisher.pk))
        for number in range(1, LEAKS + 1):
            source = _get_or_create(
                Source,
                f"leak:{number}",
                title=f"Synthetic leaked police list no. {number}",
                kind=SourceKind.LEAKED_DOCUMENT,
                publisher=publishers[number % len(publishers)],
                url=f"https://example.org/synthetic/leak-{number}",
                published=str(2019 + rng.randrange(5)),
                language="zh",
                reliability=Reliability.B,
                access=Access.PUBLIC,
            )
            reference.reports.append((source.pk, SourceKind.LEAKED_DOCUMENT, source.publisher_id))
        for name, date in INCIDENTS:
            reference.incidents.append(
                _get_or_create(Incident, f"incident:{name}", name=name, date=date).pk
            )
    return reference
