"""Plain factory helpers: make_x(**kw) with sensible defaults that a test can override, staff in
a role, cases built through the workflow, and stored states written directly."""

import itertools
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases import publication, services
from cases.models import (
    Case,
    CaseTransition,
    Charge,
    DetentionEvent,
    Incident,
    Location,
    LocationKind,
    ReviewState,
)
from casetracker import roles
from casetracker.text import detect_script
from people.models import Consent, Organisation, OrganisationKind, Person, PersonName
from sources.models import Access, Citation, Source, SourceKind

_seq = itertools.count(1)


def make_user(username=None, **kw):
    kw.setdefault("is_staff", True)
    user = get_user_model().objects.create_user(username or f"user{next(_seq)}", **kw)
    return user


def make_person(name=None, **kw):
    person = Person.objects.create(**kw)
    PersonName.objects.create(
        person=person, name=name or f"Person {next(_seq)}", is_preferred=True, language="en"
    )
    person.refresh_from_db()
    return person


def make_location(name=None, kind=LocationKind.COUNTRY, parent=None, **kw):
    return Location.objects.create(
        name_en=name or f"Place {next(_seq)}", kind=kind, parent=parent, **kw
    )


def make_organisation(name=None, **kw):
    kw.setdefault("kind", OrganisationKind.MEDIA)
    return Organisation.objects.create(name=name or f"Organisation {next(_seq)}", **kw)


def make_case(person=None, **kw):
    return Case.objects.create(person=person or make_person(), **kw)


def make_event(case=None, **kw):
    kw.setdefault("kind", "detained")
    return DetentionEvent.objects.create(case=case or make_case(), **kw)


def make_incident(name=None, **kw):
    return Incident.objects.create(name=name or f"Incident {next(_seq)}", **kw)


def make_charge(name=None, **kw):
    return Charge.objects.create(name=name or f"Charge {next(_seq)}", **kw)


def make_source(title=None, **kw):
    kw.setdefault("kind", SourceKind.NEWS_REPORT)
    kw.setdefault("access", Access.PUBLIC)
    return Source.objects.create(title=title or f"Source {next(_seq)}", **kw)


def make_citation(source=None, **kw):
    if not {"case", "event", "person"} & kw.keys():
        kw["case"] = make_case()
    kw.setdefault("claim", "The source says so.")
    return Citation.objects.create(source=source or make_source(), **kw)


def staff_in(role, username):
    roles.setup_roles()
    user = make_user(username)
    user.groups.add(Group.objects.get(name=role))
    return user


# --- cases through the workflow --------------------------------------------------------------


def fresh(case):
    """The case as stored now (services write their own copy of it)."""
    return Case.objects.get(pk=case.pk)


def cited_case(created_by, *, consent=Consent.GRANTED, kind=SourceKind.TESTIMONY, **kw):
    """A draft with one event, cited by one source (a testimony: evidence level 2)."""
    person = make_person(consent=consent)
    case = make_case(person, created_by=created_by, updated_by=created_by, **kw)
    event = make_event(case, date="2024-04")
    make_citation(make_source(kind=kind), event=event)
    return fresh(case)


def in_review(created_by, **kw):
    case = cited_case(created_by, **kw)
    services.submit_for_review(case, created_by, "Ready for review.")
    return fresh(case)


def verified(created_by, by, **kw):
    case = in_review(created_by, **kw)
    services.verify(case, by)
    return fresh(case)


def published(created_by, by, **kw):
    case = verified(created_by, by, **kw)
    services.publish(case, by)
    return fresh(case)


@contextmanager
def without_reopening():
    """Write fixture states directly: writes inside do not send a verified case back to review
    (the services mark their own writes the same way)."""
    token = services._in_transition.set(True)
    try:
        yield
    finally:
        services._in_transition.reset(token)


def last_transition(case):
    return CaseTransition.objects.filter(case=case).order_by("-at", "-pk").first()


def published_pks():
    return set(Case.objects.published().values_list("pk", flat=True))


# --- stored states, written directly ---------------------------------------------------------


LANGUAGE_OF_SCRIPT = {"Latn": "en", "Cyrl": "kk", "Arab": "kk", "Hani": "zh"}


def person_named(*names, consent=Consent.PUBLIC_RECORD, **fields):
    """A person with these names, the first preferred."""
    person = Person.objects.create(consent=consent, **fields)
    for i, name in enumerate(names):
        PersonName.objects.create(
            person=person,
            name=name,
            language=LANGUAGE_OF_SCRIPT.get(detect_script(name), "und"),
            is_preferred=i == 0,
        )
    person.refresh_from_db()
    return person


def set_case(case, **fields):
    """Write fields of a case directly, as stored state, and keep its publication record."""
    with without_reopening():
        Case.objects.filter(pk=case.pk).update(**fields)
    publication.sync([case.pk])
    return Case.objects.get(pk=case.pk)


PUBLISHED = {
    "review_state": ReviewState.VERIFIED,
    "is_published": True,
    "evidence_level": 3,
    "archived_at": None,
    "sensitive": False,
}


def publish(case, **overrides):
    """Put a draft straight into the published set, as if verified and published."""
    now = timezone.now()
    return set_case(case, verified_at=now, published_at=now, **{**PUBLISHED, **overrides})


def place(name, kind, parent, **kw):
    """The place of that name in ``parent``: the one the gazetteer ships (cases 0008: Yining
    County, Tekes County…), given ``kw``, or a new one."""
    shipped = Location.objects.filter(parent=parent, name_en=name, kind=kind).first()
    if shipped is None:
        return make_location(name, kind=kind, parent=parent, **kw)
    for field, value in kw.items():
        setattr(shipped, field, value)
    if kw:
        shipped.save()
    return shipped


def seeded_place(name):
    return Location.objects.get(name_en=name)


@contextmanager
def raises_constraint(name):
    """Expect the database to refuse a write because of the constraint ``name``.

    PostgreSQL names every constraint in its error, SQLite only its check constraints.
    """
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        yield
    message = str(excinfo.value)
    if connection.vendor == "postgresql" or "CHECK constraint" in message:
        assert name in message
