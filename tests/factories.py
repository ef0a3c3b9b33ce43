"""Plain factory helpers: make_x(**kw) with sensible defaults that a test can override."""

import itertools

from django.contrib.auth import get_user_model

from cases.models import Case, Charge, DetentionEvent, Incident, Location, LocationKind
from people.models import Organisation, OrganisationKind, Person, PersonName
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
