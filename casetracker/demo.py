"""Demo data: the 2024 Xinjiang arrests case from the report the product was conceived from,
and clearly marked fictional records so that restricted data exists from day one.

Every record has a fixed public id derived from a key, so loading twice changes nothing.
"""

import secrets
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from api.models import Partner
from cases import services
from cases.models import (
    Case,
    Charge,
    ChargeBasis,
    DetentionEvent,
    EventKind,
    Incident,
    Location,
)
from casetracker import roles
from casetracker.audit import acting_as
from people.models import (
    Affiliation,
    Consent,
    Ethnicity,
    Gender,
    NameKind,
    Organisation,
    OrganisationKind,
    Person,
    PersonName,
    Relationship,
    RelationshipKind,
)
from sources.models import Access, Citation, Credibility, Reliability, Source, SourceKind

FICTIONAL = "[FICTIONAL SAMPLE DATA]"
DEMO_PARTNER = "Demo partner (fictional)"
NAMESPACE = uuid.UUID("6f1d0a52-8c1e-4c59-9a57-2a4d3b0c7e11")

DEMO_USERS = [
    # (username, role, description)
    ("dataentry", roles.DATA_ENTRY, "enters people, cases and sources"),
    ("verifier", roles.VERIFIER, "checks and verifies cases"),
    ("administrator", roles.ADMINISTRATOR, "manages users, vocabularies and partners"),
]


def uid(key: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, key)


def _get_or_create(model, key: str, **fields):
    obj = model.objects.filter(uid=uid(key)).first()
    if obj is None:
        m2m = {name: fields.pop(name) for name in list(fields) if name in _m2m_names(model)}
        obj = model(uid=uid(key), **fields)
        obj.full_clean()
        obj.save()
        for name, values in m2m.items():
            getattr(obj, name).set(values)
    return obj


def _m2m_names(model) -> set[str]:
    return {f.name for f in model._meta.many_to_many}


def _person(key: str, names: list[tuple[str, str, str, str, bool]], **fields) -> Person:
    person = _get_or_create(Person, key, **fields)
    for i, (name, script, language, kind, preferred) in enumerate(names):
        _get_or_create(
            PersonName,
            f"{key}/name/{i}",
            person=person,
            name=name,
            script=script,
            language=language,
            kind=kind,
            is_preferred=preferred,
        )
    person.refresh_from_db()
    return person


def credentials_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-logins.txt"


def _demo_passwords() -> dict[str, str]:
    """Random demo passwords, generated once and kept (owner-readable only) under var/."""
    path = credentials_file()
    if path.exists():
        pairs = (line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)
        stored = dict(pairs)
        if all(username in stored for username, _, _ in DEMO_USERS):
            return stored
    passwords = {username: secrets.token_urlsafe(12) for username, _, _ in DEMO_USERS}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # also when an older file was left readable by others
    path.write_text("".join(f"{user} {pw}\n" for user, pw in passwords.items()))
    return passwords


def load_users() -> list[tuple[str, str, str, str]]:
    """Create a demo user per role; returns (username, password, role, description)."""
    User = get_user_model()
    passwords = _demo_passwords()
    logins = []
    for username, role, description in DEMO_USERS:
        user, created = User.objects.get_or_create(
            username=username, defaults={"is_staff": True, "first_name": role}
        )
        if created or not user.check_password(passwords[username]):
            user.set_password(passwords[username])
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
        logins.append((username, passwords[username], role, description))
    return logins


@transaction.atomic
def load_demo() -> list[tuple[str, str, str, str]]:
    roles.setup_roles()
    logins = load_users()
    entered_by = get_user_model().objects.get(username="dataentry")
    # Every record below is attributed, in its history, to the demo data-entry user.
    with acting_as(entered_by, "Demo data (load_demo)"):
        _load_records(entered_by)
    _publish_seed_case(entered_by, get_user_model().objects.get(username="verifier"))
    _get_or_create(
        Partner,
        "partner/demo",
        name=DEMO_PARTNER,
        contact_name="Fictional contact",
        notes=f"{FICTIONAL} A partner for trying the API: "
        f'python manage.py issue_token --partner "{DEMO_PARTNER}"',
    )
    return logins


def _publish_seed_case(entered_by, verifier) -> None:
    """The seed case goes through the workflow like any case: submitted by the data-entry
    user, verified and published by the verifier (once; later runs leave it as it is)."""
    case = Case.objects.get(uid=uid("case/kanat-yerezhep"))
    if case.transitions.exists():
        return
    services.submit_for_review(case, entered_by, "Demo: both sources cited.")
    services.verify(case, verifier, reason="Demo: RFA and Atajurt's list agree.")
    services.publish(case, verifier, "Demo: already public record (RFA, 2024-11-05).")


def _load_records(entered_by) -> None:

    kazakhstan = Location.objects.get(name_en="Kazakhstan", parent=None)
    xinjiang = Location.objects.get(name_en="Xinjiang Uyghur Autonomous Region")
    urumqi = Location.objects.get(name_en="Ürümqi", parent=xinjiang)
    almaty = _get_or_create(
        Location,
        "place/almaty",
        kind="prefecture",
        parent=kazakhstan,
        name_en="Almaty",
        name_kk="Алматы",
        name_zh="阿拉木图",
    )

    # --- Organisations named in the report -------------------------------------------------
    atajurt = _get_or_create(
        Organisation,
        "org/atajurt",
        name="Atajurt Kazakh Human Rights",
        name_kk="Атажұрт еріктілері",
        name_ru="Атажурт",
        abbreviation="Atajurt",
        kind=OrganisationKind.NGO,
        location=almaty,
        description="Almaty-based group documenting Kazakhs detained in Xinjiang.",
    )
    rfa = _get_or_create(
        Organisation,
        "org/rfa",
        name="Radio Free Asia",
        name_kk="Азат Азия радиосы",
        name_ru="Радио Свободная Азия",
        name_zh="自由亚洲电台",
        abbreviation="RFA",
        kind=OrganisationKind.MEDIA,
        website="https://www.rfa.org/",
    )
    xjtv = _get_or_create(
        Organisation,
        "org/xjtv",
        name="Xinjiang Television",
        name_kk="Шыңжаң телевизиясы",
        name_ru="Синьцзянское телевидение",
        name_zh="新疆电视台",
        abbreviation="XJTV",
        kind=OrganisationKind.MEDIA,
        location=urumqi,
    )
    xjtv_kazakh = _get_or_create(
        Organisation,
        "org/xjtv-kazakh",
        name="Xinjiang Television Kazakh-language service",
        name_kk="Шыңжаң телевизиясының қазақ тіліндегі қызметі",
        name_ru="Казахская служба Синьцзянского телевидения",
        name_zh="新疆电视台哈萨克语频道",
        kind=OrganisationKind.MEDIA,
        parent=xjtv,
        location=urumqi,
    )
    _get_or_create(
        Organisation,
        "org/xjtv-kazakh-children",
        name="Kazakh children's programme department",
        kind=OrganisationKind.MEDIA,
        parent=xjtv_kazakh,
        location=urumqi,
    )
    xjdaily = _get_or_create(
        Organisation,
        "org/xjdaily",
        name="Xinjiang Daily",
        name_kk="Шыңжаң газеті",
        name_ru="Синьцзян жибао",
        name_zh="新疆日报",
        kind=OrganisationKind.MEDIA,
        location=urumqi,
    )
    _get_or_create(
        Organisation,
        "org/xjdaily-kazakh",
        name="Xinjiang Daily Kazakh-language department",
        name_zh="新疆日报哈萨克文编辑部",
        kind=OrganisationKind.MEDIA,
        parent=xjdaily,
        location=urumqi,
    )
    _get_or_create(
        Organisation,
        "org/xuar-propaganda",
        name="CCP Xinjiang Uyghur Autonomous Region Committee Propaganda Department",
        name_zh="中共新疆维吾尔自治区委员会宣传部",
        kind=OrganisationKind.PARTY,
        location=urumqi,
    )

    # --- People ------------------------------------------------------------------------------
    kanat = _person(
        "person/kanat-yerezhep",
        [
            ("Kanat Yerezhep", "Latn", "en", NameKind.TRANSLITERATION, True),
            ("Қанат Ережеп", "Cyrl", "kk", NameKind.NATIVE, False),
            ("قانات ەرەجەپ", "Arab", "kk", NameKind.NATIVE, False),
        ],
        gender=Gender.MALE,
        ethnicity=Ethnicity.KAZAKH,
        citizenship="CN",
        occupation="Former director of Xinjiang TV's Kazakh-language service",
        public_summary=(
            "Former director of the Kazakh-language service of Xinjiang Television, named by "
            "Atajurt among Kazakh officials and intellectuals detained in Xinjiang."
        ),
        consent=Consent.PUBLIC_RECORD,
        created_by=entered_by,
        updated_by=entered_by,
    )
    _get_or_create(
        Affiliation,
        "affiliation/kanat-xjtv",
        person=kanat,
        organisation=xjtv_kazakh,
        role="Director",
        is_former=True,
    )
    bilash = _person(
        "person/serikzhan-bilash",
        [
            ("Serikzhan Bilash", "Latn", "en", NameKind.TRANSLITERATION, True),
            ("Серікжан Біләш", "Cyrl", "kk", NameKind.NATIVE, False),
        ],
        gender=Gender.MALE,
        ethnicity=Ethnicity.KAZAKH,
        occupation="Founder of Atajurt Kazakh Human Rights",
        consent=Consent.PUBLIC_RECORD,
        created_by=entered_by,
        updated_by=entered_by,
    )
    _get_or_create(
        Affiliation,
        "affiliation/bilash-atajurt",
        person=bilash,
        organisation=atajurt,
        role="Founder",
    )

    # --- The 2024 wave, the case, its events -------------------------------------------------
    wave = _get_or_create(
        Incident,
        "incident/2024-kazakh-intellectuals",
        name="2024 arrests of Kazakh officials and intellectuals in Xinjiang",
        date="2024-04/2024-11",
        description=(
            "Since April 2024, dozens of Kazakh officials, journalists, writers and scholars "
            "from Ürümqi, Ili and elsewhere reported secretly detained on charges such as "
            "treason and separatism; the Xinjiang Daily Kazakh-language department nearly "
            "ceased operations."
        ),
    )
    case = _get_or_create(
        Case,
        "case/kanat-yerezhep",
        person=kanat,
        incidents=[wave],
        public_summary=(
            "Former director of Xinjiang TV's Kazakh-language service. Detained at some time "
            "between 2019 and 2023; his family was notified verbally by the authorities only "
            "in April 2024. Accused of separatism and treason; the authorities have not "
            "disclosed specific charges."
        ),
        created_by=entered_by,
        updated_by=entered_by,
    )
    detained = _get_or_create(
        DetentionEvent,
        "event/kanat-detained",
        case=case,
        kind=EventKind.DETAINED,
        date="2019/2023",
        location=xinjiang,
        charges=[
            Charge.objects.get(name="Splitting the state"),
            Charge.objects.get(name="Treason"),
        ],
        charge_basis=ChargeBasis.REPORTED,
        description="Detained at an unknown date between 2019 and 2023.",
    )
    notified = _get_or_create(
        DetentionEvent,
        "event/kanat-family-notified",
        case=case,
        kind=EventKind.FAMILY_NOTIFIED,
        date="2024-04",
        location=xinjiang,
        description="The authorities notified the family of the detention, verbally.",
    )

    # --- Sources and citations -------------------------------------------------------------
    rfa_report = _get_or_create(
        Source,
        "source/rfa-2024-11-05",
        title="Over thirty Kazakhs secretly arrested in Xinjiang, Atajurt says",
        kind=SourceKind.NEWS_REPORT,
        publisher=rfa,
        published="2024-11-05",
        language="en",
        reliability=Reliability.B,
        access=Access.PUBLIC,
        created_by=entered_by,
        updated_by=entered_by,
    )
    atajurt_list = _get_or_create(
        Source,
        "source/atajurt-list-2024",
        title="Atajurt list of Kazakh officials and intellectuals detained in Xinjiang since 2024",
        kind=SourceKind.NGO_REPORT,
        publisher=atajurt,
        author="Atajurt Kazakh Human Rights",
        published="2024-11-05",
        language="kk",
        reliability=Reliability.B,
        access=Access.PUBLIC,
        created_by=entered_by,
        updated_by=entered_by,
    )
    citations = [
        (
            "citation/rfa-case",
            rfa_report,
            {"case": case},
            "paragraph 3",
            "Serikzhan Bilash names the former Xinjiang TV Kazakh-language director Kanat "
            "Yerezhep among the Kazakh officials and intellectuals arrested since April.",
            "including former Xinjiang TV Kazakh-language director Kanat Yerezhep",
            Credibility.PROBABLY_TRUE,
        ),
        (
            "citation/rfa-detained",
            rfa_report,
            {"event": detained},
            "paragraph 4",
            "Some of those named were detained between 2019 and 2023.",
            "some individuals were detained between 2019 and 2023",
            Credibility.PROBABLY_TRUE,
        ),
        (
            "citation/rfa-notified",
            rfa_report,
            {"event": notified},
            "paragraph 4",
            "Families received only verbal notification from the authorities in April 2024.",
            "their families only received verbal notification from authorities in April",
            Credibility.PROBABLY_TRUE,
        ),
        (
            "citation/atajurt-case",
            atajurt_list,
            {"case": case},
            "list of detainees",
            "Atajurt's list names Kanat Yerezhep, accused of separatism or treason.",
            "",
            Credibility.PROBABLY_TRUE,
        ),
    ]
    for key, source, subject, locator, claim, quote, credibility in citations:
        _get_or_create(
            Citation,
            key,
            source=source,
            locator=locator,
            claim=claim,
            quote=quote,
            credibility=credibility,
            **subject,
        )

    _load_fictional(entered_by, xinjiang)


def _load_fictional(entered_by, xinjiang) -> None:
    """Restricted data that the real case does not have: a draft case, a testifier, a
    confidential testimony, internal notes. None of it is about real people."""
    ili = Location.objects.get(name_en="Ili Kazakh Autonomous Prefecture")
    detainee = _person(
        "person/fictional-detainee",
        [
            ("Aigul Sample", "Latn", "en", NameKind.TRANSLITERATION, True),
            ("Айгүл Сампл", "Cyrl", "kk", NameKind.NATIVE, False),
        ],
        gender=Gender.FEMALE,
        ethnicity=Ethnicity.KAZAKH,
        birth_date="1968~",
        place_of_origin=ili,
        occupation=f"{FICTIONAL} Retired schoolteacher",
        internal_notes=f"{FICTIONAL} Sister fears reprisals if the case is published.",
        contact_details=f"{FICTIONAL} Sister: +7 700 000 0000 (call after 18:00 Almaty time)",
        consent=Consent.UNKNOWN,
        created_by=entered_by,
        updated_by=entered_by,
    )
    testifier = _person(
        "person/fictional-testifier",
        # A name that does not say what she is: a stolen database must not tell.
        [
            ("Saule Sample", "Latn", "en", NameKind.TRANSLITERATION, True),
            ("Сәуле Сампл", "Cyrl", "kk", NameKind.NATIVE, False),
        ],
        gender=Gender.FEMALE,
        ethnicity=Ethnicity.KAZAKH,
        occupation=f"{FICTIONAL} Relative living in Almaty",
        internal_notes=f"{FICTIONAL} Testified in person at the Almaty office.",
        created_by=entered_by,
        updated_by=entered_by,
    )
    _get_or_create(
        Relationship,
        "relationship/fictional-testifier-of",
        from_person=testifier,
        kind=RelationshipKind.TESTIFIER_OF,
        to_person=detainee,
        notes=f"{FICTIONAL} Do not contact through relatives still in Xinjiang.",
    )
    _get_or_create(
        Relationship,
        "relationship/fictional-sibling-of",
        from_person=testifier,
        kind=RelationshipKind.SIBLING_OF,
        to_person=detainee,
    )
    draft = _get_or_create(
        Case,
        "case/fictional-draft",
        person=detainee,
        public_summary=f"{FICTIONAL} Retired teacher reported detained in Ili in 2018.",
        internal_notes=f"{FICTIONAL} Awaiting a second source before review.",
        created_by=entered_by,
        updated_by=entered_by,
    )
    event = _get_or_create(
        DetentionEvent,
        "event/fictional-detained",
        case=draft,
        kind=EventKind.DETAINED,
        date="2018-10~",
        location=ili,
        charges=[Charge.objects.get(name="Unknown or not disclosed")],
        description=f"{FICTIONAL} Taken from her home by local police.",
    )
    testimony = _get_or_create(
        Source,
        "source/fictional-testimony",
        # Titles are not encrypted: a confidential source's title must not identify its
        # speaker (the author, encrypted, does).
        title=f"{FICTIONAL} Testimony recorded at the Almaty office, June 2024",
        kind=SourceKind.TESTIMONY,
        author="Saule Sample",
        published="2024-06-12",
        language="kk",
        reliability=Reliability.C,
        access=Access.CONFIDENTIAL,
        notes=f"{FICTIONAL} Recorded at the Almaty office; the recording stays offline.",
        created_by=entered_by,
        updated_by=entered_by,
    )
    _get_or_create(
        Citation,
        "citation/fictional-testimony",
        source=testimony,
        event=event,
        locator="recording, 04:10",
        claim="The sister saw police take her from her home in October 2018.",
        credibility=Credibility.POSSIBLY_TRUE,
    )
