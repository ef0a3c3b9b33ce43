"""No lost updates: a save based on an older version of a case, person or source is refused,
names who changed it in between, and keeps their values."""

import pytest
from django.db import transaction
from django.db.models import F
from django.db.models.signals import pre_save
from django.test import Client
from django.urls import reverse

from cases.models import Case, CaseStatus, DetentionEvent
from casetracker.models import ConcurrentEditError
from casetracker.roles import DATA_ENTRY
from people.models import Person, PersonName
from sources.models import Source
from tests.admin_forms import AdminForm, assert_saved, errors_of
from tests.factories import make_case, make_person, make_source, staff_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return staff_in(DATA_ENTRY, "alice")


@pytest.fixture
def bob():
    return staff_in(DATA_ENTRY, "bob")


# model → (a factory, a text field staff edit, the admin URL name of its change page)
RECORDS = {
    "case": (lambda: make_case(), "public_summary", "admin:cases_case_change"),
    "person": (lambda: make_person("Kanat Yerezhep"), "occupation", "admin:people_person_change"),
    "source": (lambda: make_source("Radio report"), "notes", "admin:sources_source_change"),
}


def reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def stale_save(obj):
    """Save in a block of its own: Person and Source saves, unlike Case saves, are not atomic
    themselves, and a refused one leaves the surrounding transaction unusable."""
    with transaction.atomic():
        obj.save()


# --- two copies of one record ----------------------------------------------------------------


@pytest.mark.parametrize("record", list(RECORDS))
def test_saving_a_stale_copy_is_refused_naming_who_changed_it(alice, bob, record):
    make, field, _ = RECORDS[record]
    obj = make()
    first, second = reload(obj), reload(obj)
    setattr(first, field, "Alice's version.")
    first.updated_by = alice
    first.save()
    setattr(second, field, "Bob's version.")
    second.updated_by = bob
    with pytest.raises(ConcurrentEditError, match="changed by alice") as conflict:
        stale_save(second)
    assert conflict.value.changed_by == alice
    assert getattr(reload(obj), field) == "Alice's version."


@pytest.mark.parametrize("record", list(RECORDS))
def test_every_save_raises_the_version_by_one(record):
    make, field, _ = RECORDS[record]
    obj = reload(make())
    version = obj.version
    setattr(obj, field, "Changed.")
    obj.save()
    assert obj.version == reload(obj).version == version + 1


def test_the_refused_save_keeps_every_field_of_the_first(alice, bob):
    case = make_case()
    first, second = reload(case), reload(case)
    first.public_summary, first.internal_notes, first.updated_by = "A", "Alice's notes", alice
    first.save()
    second.internal_notes, second.updated_by = "Bob's notes", bob
    with pytest.raises(ConcurrentEditError):
        stale_save(second)
    stored = reload(case)
    assert (stored.public_summary, stored.internal_notes, stored.updated_by) == (
        "A",
        "Alice's notes",
        alice,
    )
    assert stored.version == case.version + 1


def test_a_reloaded_copy_saves_after_a_conflict(alice, bob):
    case = make_case()
    first, second = reload(case), reload(case)
    first.updated_by = alice
    first.save()
    with pytest.raises(ConcurrentEditError):
        stale_save(second)
    second = reload(case)
    second.public_summary, second.updated_by = "Bob's version.", bob
    second.save()
    assert reload(case).public_summary == "Bob's version."


def test_a_derived_status_change_is_not_an_edit():
    case = reload(make_case())
    DetentionEvent.objects.create(case=case, kind="detained", date="2024-04")
    assert reload(case).status == CaseStatus.DETAINED
    case.public_summary = "Detained in April 2024."
    case.save()  # the copy read before the event was added is not stale
    stored = reload(case)
    assert (stored.public_summary, stored.status) == ("Detained in April 2024.", "detained")


# --- through the admin -----------------------------------------------------------------------


@pytest.fixture
def two_browsers(alice, bob):
    alices, bobs = Client(), Client()
    alices.force_login(alice)
    bobs.force_login(bob)
    return alices, bobs


@pytest.mark.parametrize("record", list(RECORDS))
def test_a_stale_admin_form_is_refused_naming_who_changed_it(two_browsers, record):
    make, field, url_name = RECORDS[record]
    obj = make()
    url = reverse(url_name, args=[obj.pk])
    alices, bobs = two_browsers
    alices_page, bobs_page = AdminForm(alices, url), AdminForm(bobs, url)
    assert_saved(alices_page.post(**{field: "Alice's version."}))
    response = bobs_page.post(**{field: "Bob's version."})
    assert response.status_code == 200
    [error] = [message for message in errors_of(response) if "changed by" in message]
    assert "changed by alice" in error
    assert "changed by alice" in response.content.decode()
    assert getattr(reload(obj), field) == "Alice's version."


@pytest.mark.parametrize("record", list(RECORDS))
def test_an_admin_form_opened_after_the_change_saves(two_browsers, record):
    make, field, url_name = RECORDS[record]
    obj = make()
    url = reverse(url_name, args=[obj.pk])
    alices, bobs = two_browsers
    assert_saved(AdminForm(alices, url).post(**{field: "Alice's version."}))
    assert_saved(AdminForm(bobs, url).post(**{field: "Bob's version."}))
    assert getattr(reload(obj), field) == "Bob's version."


def test_an_admin_form_without_the_opened_version_is_refused(two_browsers):
    case = make_case()
    url = reverse("admin:cases_case_change", args=[case.pk])
    alices, _ = two_browsers
    page = AdminForm(alices, url)
    page.data.pop("opened_version")
    response = page.post(public_summary="Alice's version.")
    assert response.status_code == 200
    assert reload(case).public_summary == ""


def test_adding_an_event_does_not_make_an_open_case_form_stale(two_browsers):
    case = make_case()
    url = reverse("admin:cases_case_change", args=[case.pk])
    alices, bobs = two_browsers
    bobs_page = AdminForm(bobs, url)
    version = reload(case).version

    event_page = AdminForm(alices, reverse("admin:cases_detentionevent_add"))
    assert_saved(event_page.post(case=str(case.pk), kind="detained", date="2024-04"))
    assert reload(case).status == CaseStatus.DETAINED
    assert reload(case).version == version  # a derived value: no new version

    assert_saved(bobs_page.post(public_summary="Detained in April 2024."))
    stored = reload(case)
    assert (stored.public_summary, stored.status) == ("Detained in April 2024.", "detained")
    assert stored.events.count() == 1


def test_a_save_that_lands_after_the_form_check_is_reported_not_lost(two_browsers, alice):
    """Alice's save lands between the form's version check and Bob's write."""
    case = make_case(public_summary="As entered.")
    url = reverse("admin:cases_case_change", args=[case.pk])
    _, bobs = two_browsers
    page = AdminForm(bobs, url)

    def alice_saves_first(sender, instance, **kwargs):
        pre_save.disconnect(alice_saves_first, sender=Case)
        Case.objects.filter(pk=instance.pk).update(version=F("version") + 1, updated_by=alice)

    pre_save.connect(alice_saves_first, sender=Case, weak=False)
    try:
        response = page.post(public_summary="Bob's version.")
    finally:
        pre_save.disconnect(alice_saves_first, sender=Case)
    assert response.status_code == 302
    assert response["Location"] == url
    messages = [str(m) for m in bobs.get(url).context["messages"]]
    assert any("changed by alice" in message for message in messages)
    assert reload(case).public_summary == "As entered."


def test_a_person_form_is_not_made_stale_by_a_name_added_elsewhere(two_browsers):
    """Adding a name recomputes the display name (derived): an open person form stays valid."""
    person = make_person("Kanat Yerezhep")
    url = reverse("admin:people_person_change", args=[person.pk])
    _, bobs = two_browsers
    bobs_page = AdminForm(bobs, url)
    person.names.update(is_preferred=False)
    PersonName.objects.create(person=person, name="Қанат Ережеп", language="kk", is_preferred=True)
    assert reload(person).display_name == "Қанат Ережеп"
    assert_saved(bobs_page.post(occupation="Journalist"))
    assert reload(person).occupation == "Journalist"


def test_sources_and_people_are_compared_by_version_not_by_value(alice, bob):
    person, source = reload(make_person()), reload(make_source())
    for obj in (person, source):
        stale = reload(obj)
        obj.updated_by = alice
        obj.save()  # no field changed, still a new version
        stale.updated_by = bob
        with pytest.raises(ConcurrentEditError):
            stale_save(stale)
    assert isinstance(reload(person), Person)
    assert isinstance(reload(source), Source)
