"""generate_synthetic: made-up people at scale, written as the application writes records
(history, audit chain, derived columns), deterministic for a seed, never shown to partners."""

import json
from collections import Counter
from datetime import date
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import override_settings

from cases import services
from cases.models import Case, CaseTransition, DetentionEvent, PublicationRecord
from casetracker.edtf import edtf_bounds
from casetracker.integrity import AuditLink, chained_models, verify_chain
from people.models import Person, PersonName, PersonNameKey, name_stored_keys, refresh_display_names
from snapshots import writer
from snapshots.models import PublishedCase
from sources.models import Citation
from synthetic.generator import latest_status
from tests.exports import csv_records, export, files_of
from tests.factories import make_case
from tests.partner_api import (  # noqa: F401 (fixtures)
    api_views_run_outside_a_transaction,
    fresh_throttle_counters,
    get_json,
)

pytestmark = pytest.mark.django_db


def generate(persons=60, seed=1, **options):
    options.setdefault("workers", 1)
    call_command("generate_synthetic", persons=persons, seed=seed, **options)


def snapshot() -> dict:
    """What a seed decides about each person, keyed by uid (database keys left out)."""
    people = {}
    for person in Person.objects.filter(synthetic=True).prefetch_related("names", "cases"):
        case = person.cases.get()
        people[str(person.uid)] = {
            "names": [(n.name, n.script, n.language, n.is_preferred) for n in person.names.all()],
            "born": person.birth_date,
            "origin": person.place_of_origin_id,
            "ethnicity": person.ethnicity,
            "consent": person.consent,
            "case": (str(case.uid), case.reference, case.status, case.workflow_state),
            "level": case.evidence_level,
            "events": list(case.events.order_by("pk").values_list("kind", "date", "facility__uid")),
            "citations": Citation.objects.filter(case=case).count(),
        }
    return people


def test_generated_records_pass_the_audit_chain_check():
    generate()
    report = verify_chain()
    assert report.ok, report.problem
    history_rows = sum(model._base_manager.count() for model in chained_models())
    assert AuditLink.objects.count() == history_rows == report.records


def test_every_record_has_its_creation_in_the_history():
    generate(persons=20)
    for model in (Person, PersonName, Case, DetentionEvent, Citation):
        created = set(model.history.filter(history_type="+").values_list("id", flat=True))
        assert created == set(model.objects.values_list("pk", flat=True)), model


def test_each_workflow_step_is_a_history_row_and_a_log_entry():
    generate(persons=80)
    for case in Case.objects.filter(synthetic=True):
        steps = list(case.transitions.order_by("at", "pk").values_list("from_state", "to_state"))
        states = ["draft", *(to for _, to in steps)]
        assert [before for before, _ in steps] == states[:-1]
        assert states[-1] == case.workflow_state
        assert case.history.count() == 1 + len(steps)
        assert case.version == 1 + len(steps)


class Rollback(Exception):
    pass


def test_a_seed_gives_the_same_records():
    with pytest.raises(Rollback), transaction.atomic():
        generate(persons=25, seed=3)
        first = snapshot()
        raise Rollback
    generate(persons=25, seed=3, batch=7)
    assert snapshot() == first
    assert len(first) == 25


def test_another_seed_gives_other_records():
    generate(persons=10, seed=4)
    first = {names["names"][0] for names in snapshot().values()}
    generate(persons=10, seed=5)
    assert len({names["names"][0] for names in snapshot().values()}) > len(first)


def test_synthetic_cases_never_reach_partners(client, key):
    generate(persons=80)
    flagged = Case.objects.filter(synthetic=True, is_published=True, review_state="verified")
    assert flagged.exists()
    assert not Case.objects.published().exists()
    assert not PublicationRecord.objects.exists()
    assert not PublishedCase.objects.exists()
    assert get_json(client, "cases/", key)["results"] == []


def test_staff_exports_leave_synthetic_cases_out(tmp_path, verifier):
    generate(persons=30)
    real = make_case(reference="CT-2024-90001")
    bundle = export(tmp_path, "staff", "--include-unpublished", "--as", verifier.username)
    cases = csv_records(files_of(bundle)["cases.csv"])
    assert [row["reference"] for row in cases] == [real.reference]


def test_a_benchmark_database_publishes_them_with_their_publication_records():
    with override_settings(PUBLISH_SYNTHETIC_DATA=True):
        generate(persons=80)
        published = set(Case.objects.published().values_list("pk", flat=True))
        incremental = dict(PublishedCase.objects.values_list("case_id", "document"))
        # The snapshots written batch by batch are those a rebuild writes from the records.
        PublishedCase.objects.all().delete()
        writer.rebuild()
        rebuilt = dict(PublishedCase.objects.values_list("case_id", "document"))
    assert len(published) > 10
    records = set(PublicationRecord.objects.values_list("case_id", flat=True))
    assert records == published == set(incremental)
    assert rebuilt == incremental


def test_derived_columns_are_what_the_application_computes():
    generate(persons=80)
    cases = list(Case.objects.filter(synthetic=True))
    assert Case.derived_statuses([c.pk for c in cases]) == {c.pk: c.status for c in cases}
    assert len({c.status for c in cases}) >= 4
    for name in PersonName.objects.all():
        stored = set(PersonNameKey.objects.filter(name=name).values_list("key", flat=True))
        assert stored == name_stored_keys(name.name), name.name
    for event in DetentionEvent.objects.all():
        bounds = edtf_bounds(event.date)
        assert (event.date_earliest, event.date_latest) == (bounds.earliest, bounds.latest)
    history = Person.history.count()
    refresh_display_names(Person.objects.values_list("pk", flat=True))
    assert Person.history.count() == history  # nothing to correct
    for case in Case.objects.filter(review_state="verified").select_related("person"):
        assert case.evidence_level == services.suggest_evidence_level(case), case.reference


def test_generated_records_pass_the_models_own_validation():
    generate(persons=40)
    for model in (Person, PersonName, Case, DetentionEvent, Citation):
        for record in model.objects.all():
            record.full_clean()


def test_the_data_is_varied_like_an_archive():
    generate(persons=400)
    people = Person.objects.filter(synthetic=True)
    assert {"kazakh", "uyghur", "kyrgyz"} <= set(people.values_list("ethnicity", flat=True))
    assert set(PersonName.objects.values_list("script", flat=True)) == {
        "Latn",
        "Cyrl",
        "Arab",
        "Hans",
    }
    per_person = Counter(PersonName.objects.values_list("person_id", flat=True))
    assert set(per_person.values()) == {1, 2, 3, 4}
    per_case = Counter(DetentionEvent.objects.values_list("case_id", flat=True))
    assert min(per_case.values()) == 1
    assert max(per_case.values()) <= 6
    dates = set(DetentionEvent.objects.values_list("date", flat=True))
    forms = {
        "day": lambda d: len(d) == 10,
        "month": lambda d: len(d) == 7 and not d.endswith("~"),
        "year": lambda d: d.isdigit(),
        "about": lambda d: d.endswith("~"),
        "uncertain": lambda d: d.endswith("?"),
        "interval": lambda d: "/" in d,
        "season": lambda d: len(d) == 7 and 21 <= int(d[5:7] or 0) <= 24,
        "decade": lambda d: d.endswith("X"),
        "unknown": lambda d: d == "",
    }
    for form, test in forms.items():
        assert any(test(d) for d in dates), form
    states = Counter(case.workflow_state for case in Case.objects.all())
    assert set(states) >= {"draft", "in_review", "verified", "published"}
    assert states["published"] > states["draft"]


def test_planted_duplicates_are_the_same_person_spelled_otherwise(tmp_path):
    planted = tmp_path / "planted.jsonl"
    generate(persons=300, duplicates=0.2, planted=str(planted))
    pairs = [json.loads(line) for line in planted.read_text().splitlines()]
    assert len(pairs) > 30
    for pair in pairs:
        first = Person.objects.get(uid=pair["first"])
        copy = Person.objects.get(uid=pair["duplicate"])
        assert (first.ethnicity, first.gender) == (copy.ethnicity, copy.gender)
        if first.birth_date and copy.birth_date:  # the same day, however precisely given
            assert first.birth_date_earliest <= copy.birth_date_latest
            assert copy.birth_date_earliest <= first.birth_date_latest


def test_refuses_a_database_that_holds_real_cases():
    make_case()
    with pytest.raises(CommandError, match="real cases"):
        generate(persons=5)
    generate(persons=5, alongside_real_data=True)
    assert Person.objects.filter(synthetic=True).count() == 5


def test_running_again_adds_only_the_batches_not_yet_written():
    generate(persons=20, batch=10)
    links = AuditLink.objects.count()
    generate(persons=30, batch=10)
    assert Person.objects.filter(synthetic=True).count() == 30
    assert AuditLink.objects.count() > links
    generate(persons=30, batch=10)
    assert Person.objects.filter(synthetic=True).count() == 30


def test_latest_status_follows_the_latest_dated_event():
    def event(pk, kind, earliest, latest):
        return {"id": pk, "kind": kind, "date_earliest": earliest, "date_latest": latest}

    day = date
    detained = event(1, "detained", day(2018, 1, 1), day(2018, 12, 31))
    released = event(2, "released", day(2019, 1, 1), day(2019, 12, 31))
    notified = event(3, "family_notified", day(2020, 1, 1), day(2020, 1, 1))  # says nothing
    assert latest_status([detained, released, notified]) == "released"
    undated = event(4, "died", None, None)
    assert latest_status([detained, undated]) == "detained"
    open_ended = event(5, "disappeared", day(2017, 1, 1), None)  # 2017/.. : still going on
    assert latest_status([released, open_ended]) == "disappeared"


def test_staff_pages_list_synthetic_records(admin_client):
    generate(persons=30)
    for page in ("/admin/cases/case/", "/admin/people/person/", "/admin/cases/detentionevent/"):
        response = admin_client.get(page)
        assert response.status_code == 200, page
    case = Case.objects.filter(synthetic=True).first()
    assert admin_client.get(f"/admin/cases/case/{case.pk}/change/").status_code == 200


def test_the_transition_log_holds_every_step_with_its_user():
    generate(persons=40)
    users = set(CaseTransition.objects.values_list("user__username", flat=True))
    assert users == {"synthetic-entry", "synthetic-verifier"}


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("vocabularies_kept")
def test_several_workers_write_one_unbroken_chain():
    generate(persons=60, batch=10, workers=2)
    assert Person.objects.filter(synthetic=True).count() == 60
    report = verify_chain()
    assert report.ok, report.problem


def test_statistics_are_brought_up_to_date_each_time_the_people_have_doubled():
    from synthetic.management.commands import generate_synthetic as command

    with mock.patch.object(command, "analyse", wraps=command.analyse) as analyse:
        generate(persons=80, batch=10)  # 10 at first: 20, 40 and 80 people are doublings
    assert analyse.call_count == 3
    with mock.patch.object(command, "analyse", wraps=command.analyse) as analyse:
        generate(persons=150, batch=10)  # 80 here already: the next doubling is at 160
    assert Person.objects.filter(synthetic=True).count() == 150
    assert analyse.call_count == 0
