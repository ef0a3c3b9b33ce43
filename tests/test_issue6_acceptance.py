"""The duplicates issue's "done when", on the demo data and through the commands staff run:
a list spelling the demo's Kanat Yerezhep as "Qanat Erejep" and "卡纳提·叶热杰普" is imported,
both new people are flagged as possible duplicates of him, and merging them leaves one person
with every spelling, every case and both histories, with the audit chain intact."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from casetracker.demo import uid
from people.models import CandidateStatus, DuplicateCandidate, Person, PersonAlias
from people.services import merge_people
from tests.import_files import rows_to_csv

pytestmark = pytest.mark.django_db

LIST = [
    {
        "person_external_id": "AJ-P-7",
        "name_latin": "Qanat Erejep",
        "case_external_id": "AJ-C-7",
        "case_public_summary": "Journalist detained in Xinjiang.",
    },
    {
        "person_external_id": "AJ-P-8",
        "name_chinese": "卡纳提·叶热杰普",
        "case_external_id": "AJ-C-8",
        "case_public_summary": "Named on a court notice.",
    },
]


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = str(tmp_path)
    call_command("load_demo", stdout=StringIO())
    return Person.objects.get(uid=uid("person/kanat-yerezhep"))


@pytest.fixture
def imported(demo, tmp_path):
    path = tmp_path / "atajurt-list.csv"
    path.write_bytes(rows_to_csv(LIST))
    out = StringIO()
    call_command("import_cases", str(path), "--as", "dataentry", "--group", "Atajurt", stdout=out)
    return [Person.objects.get(names__name=name) for name in ("Qanat Erejep", "卡纳提·叶热杰普")]


def test_both_imported_spellings_are_flagged_as_the_demo_person(demo, imported):
    for person in imported:
        first, second = DuplicateCandidate.ordered(person.pk, demo.pk)
        pair = DuplicateCandidate.objects.get(person_a_id=first, person_b_id=second)
        assert pair.status == CandidateStatus.OPEN


def test_merging_them_leaves_one_person_with_every_spelling_case_and_history(demo, imported):
    verifier = get_user_model().objects.get(username="verifier")
    spellings = {n for p in (demo, *imported) for n in p.names.values_list("name", flat=True)}
    cases = {c for p in (demo, *imported) for c in p.cases.values_list("reference", flat=True)}
    absorbed = [(p.pk, p.uid) for p in imported]
    for person in imported:
        merge_people(demo, person, user=verifier, reason="Same man: the list's two spellings.")

    assert set(demo.names.values_list("name", flat=True)) == spellings
    assert {"Kanat Yerezhep", "Қанат Ережеп", "Qanat Erejep", "卡纳提·叶热杰普"} <= spellings
    assert set(demo.cases.values_list("reference", flat=True)) == cases and len(cases) == 3
    for pk, old_uid in absorbed:
        assert not Person.objects.filter(pk=pk).exists()
        assert PersonAlias.resolve(old_uid) == demo
        kinds = set(Person.history.filter(id=pk).values_list("history_type", flat=True))
        assert kinds == {"+", "-"}  # created by the import, removed by the merge: both kept
    assert demo.history.count() > 1
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("OK")
