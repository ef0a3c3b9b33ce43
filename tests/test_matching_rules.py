"""When people.names' rules change (RULES_VERSION), migrate queues the duplicate scan with
every match key recomputed, and the scan scores the open pairs again under the new rules."""

from io import StringIO

import pytest
from django.apps import apps

from jobs import services as jobs
from jobs.models import Job, Kind, State
from people import names, signals
from people.models import (
    CandidateStatus,
    DuplicateCandidate,
    MatchingRules,
    PersonName,
    PersonNameKey,
    name_stored_keys,
)
from people.tasks import scan_duplicates
from tests.factories import person_named
from tests.jobs import run_jobs

pytestmark = pytest.mark.django_db


def migrated() -> str:
    out = StringIO()
    signals.rescan_when_the_rules_changed(
        sender=None,
        app_config=apps.get_app_config("people"),
        using="default",
        stdout=out,
        verbosity=1,
    )
    return out.getvalue()


def scans() -> list[Job]:
    return list(Job.objects.filter(kind=Kind.DUPLICATES))


def stored_keys(name: PersonName) -> set[str]:
    return set(PersonNameKey.objects.filter(name=name).values_list("key", flat=True))


def rules_were(version: int) -> None:
    MatchingRules.objects.all().delete()
    MatchingRules.objects.create(version=version)


def test_the_test_database_is_migrated_under_the_current_rules():
    assert MatchingRules.current()
    assert MatchingRules.objects.get().version == names.RULES_VERSION


def test_a_migrate_under_the_same_rules_queues_nothing():
    person_named("Kanat Yerezhep")
    assert migrated() == ""
    assert scans() == []


def test_a_migrate_with_no_names_records_the_rules_and_queues_nothing():
    rules_were(names.RULES_VERSION - 1)
    assert migrated() == ""
    assert MatchingRules.current() and scans() == []


def test_a_migrate_after_the_rules_changed_recomputes_the_keys_and_scores_again():
    # Two spellings of one Uyghur name, their keys as rules that read the apostrophe as a
    # letter of the 2017 Kazakh alphabet made them (Mes'ut = Meshut): no key shared, no pair.
    first = person_named("Mes'ut Tursun", birth_date="1975")
    second = person_named("Месут Турсун", birth_date="1975")
    written = PersonName.objects.get(person=first)
    PersonNameKey.objects.filter(name=written).delete()
    PersonNameKey.objects.create(name=written, key="pSTT.TSN", spelling=written.name)
    rules_were(names.RULES_VERSION - 1)

    out = migrated()

    (job,) = scans()
    assert job.state == State.QUEUED
    assert job.parameters == {"rebuild_keys": True, "everyone": True}
    assert f"background job {job.pk}" in out
    assert not MatchingRules.current()  # not before the keys are recomputed
    run_jobs()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.error
    assert stored_keys(written) == name_stored_keys("Mes'ut Tursun")
    assert MatchingRules.current()
    pair = DuplicateCandidate.objects.get()
    assert {pair.person_a_id, pair.person_b_id} == {first.pk, second.pk}
    assert pair.status == CandidateStatus.OPEN
    assert migrated() == "" and len(scans()) == 1  # done: nothing more to queue


def test_a_scan_already_waiting_is_not_doubled_and_the_next_migrate_asks_again():
    person_named("Kanat Yerezhep")
    waiting = jobs.start(scan_duplicates, Kind.DUPLICATES, parameters={"everyone": False})
    rules_were(names.RULES_VERSION - 1)
    out = migrated()
    assert scans() == [waiting]
    assert "find_duplicates --rebuild-keys --background" in out
    assert not MatchingRules.current()
    Job.objects.filter(pk=waiting.pk).update(state=State.SUCCEEDED)
    migrated()
    assert len(scans()) == 2


def test_a_migrate_back_to_before_the_rules_table_does_nothing(monkeypatch):
    person_named("Kanat Yerezhep")
    rules_were(names.RULES_VERSION - 1)
    monkeypatch.setattr(signals.connection.introspection, "table_names", lambda *args, **kwargs: [])
    assert migrated() == ""
    assert scans() == []
