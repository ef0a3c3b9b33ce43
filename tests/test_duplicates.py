"""Finding people recorded twice: match keys kept on every write path, candidate lookup by
index, the find_duplicates scan, and the admin's review queue and add-person warning."""

import importlib
import json
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from people.matching import find_people, record_candidates
from people.models import (
    CandidateStatus,
    DuplicateCandidate,
    Person,
    PersonName,
    PersonNameKey,
    Relationship,
    name_match_keys,
    name_stored_keys,
)
from tests.admin_forms import AdminForm, assert_saved, errors_of
from tests.factories import make_case, make_location, make_person, person_named

pytestmark = pytest.mark.django_db


def stored_keys(name: PersonName) -> set[str]:
    return set(PersonNameKey.objects.filter(name=name).values_list("key", flat=True))


def candidates():
    return list(DuplicateCandidate.objects.order_by("pk"))


def scan(*args):
    out = StringIO()
    call_command("find_duplicates", *args, stdout=out)
    return out.getvalue()


# --- match keys on every write path ------------------------------------------------------------


def test_saving_a_name_stores_its_match_keys():
    name = make_person("Қанат Ережеп").names.get()
    assert stored_keys(name) == name_stored_keys("Қанат Ережеп") != set()


def test_renaming_a_name_replaces_its_keys():
    name = make_person("Kanat Yerezhep").names.get()
    name.name = "Aigul Serikqyzy"
    name.save()
    assert stored_keys(name) == name_stored_keys("Aigul Serikqyzy")


def test_deleting_a_name_deletes_its_keys():
    person = make_person("Kanat Yerezhep")
    extra = PersonName.objects.create(person=person, name="Қанат Ережеп", language="kk")
    extra.delete()
    assert not PersonNameKey.objects.filter(name_id=extra.pk).exists()


def test_bulk_created_names_get_keys_and_search_forms():
    person = Person.objects.create()
    created = PersonName.objects.bulk_create(
        [PersonName(person=person, name="卡纳提·叶热杰普", language="zh")]
    )
    name = PersonName.objects.get(pk=created[0].pk)
    assert stored_keys(name) == name_stored_keys("卡纳提·叶热杰普")
    assert name.search_name == "卡纳提 叶热杰普"
    assert Person.objects.get(pk=person.pk).display_name == "卡纳提·叶热杰普"


def test_bulk_updated_names_get_new_keys():
    name = make_person("Kanat Yerezhep").names.get()
    name.name = "Aigul Serikqyzy"
    PersonName.objects.bulk_update([name], ["name"])
    assert stored_keys(name) == name_stored_keys("Aigul Serikqyzy")


def test_a_queryset_update_of_names_rewrites_their_keys():
    name = make_person("Kanat Yerezhep").names.get()
    PersonName.objects.filter(pk=name.pk).update(name="Aigul Serikqyzy")
    assert stored_keys(name) == name_stored_keys("Aigul Serikqyzy")
    assert PersonName.objects.get(pk=name.pk).search_name == "aigul serikqyzy"


def test_the_data_migration_computes_keys_for_names_already_stored():
    name = make_person("Kanat Yerezhep").names.get()
    PersonNameKey.objects.all().delete()
    migration = importlib.import_module("people.migrations.0004_name_match_keys")
    migration.compute_keys(apps, None)
    assert stored_keys(name) == name_match_keys("Kanat Yerezhep")


# --- finding people -------------------------------------------------------------------------


@pytest.fixture
def kanat():
    return person_named("Kanat Yerezhep", "Қанат Ережеп", "قانات ەرەجەپ", birth_date="1960")


@pytest.mark.parametrize("spelling", ["Qanat Erejep", "卡纳提·叶热杰普", "Yerezhep Kanat"])
def test_find_people_finds_a_person_by_another_spelling(kanat, spelling):
    assert [match.person for match in find_people([spelling])] == [kanat]


def test_find_people_says_which_names_matched_and_how_they_read(kanat):
    (match,) = find_people(["卡纳提·叶热杰普"])
    assert "卡纳提·叶热杰普" in match.reasons[0]
    assert match.details["names"][0]["query_romanised"]


def test_find_people_keeps_apart_a_namesake_with_a_different_fathers_name(kanat):
    assert find_people(["Kanat Serikbay"]) == []


def test_a_birth_year_that_agrees_raises_the_score_and_says_so(kanat):
    plain = find_people(["Qanat Erejep"])[0]
    agreeing = find_people(["Qanat Erejep"], birth_year=1960)[0]
    assert agreeing.score >= plain.score
    assert any("Birth dates agree" in reason for reason in agreeing.reasons)


def test_a_birth_year_far_apart_keeps_two_people_apart(kanat):
    person_named("Kanat Yerezhep", birth_date="1995")
    found = find_people(["Kanat Yerezhep"], birth_year=1960)
    assert [m.person for m in found] == [kanat]


def test_a_different_place_of_origin_lowers_the_score():
    yining, altay = make_location("Yining"), make_location("Altay")
    person_named("Kanat Yerezhep", place_of_origin=yining)
    same = find_people(["Kanat Yerezhep"], place_of_origin=yining)
    other = find_people(["Kanat Yerezhep"], place_of_origin=altay.pk)
    assert same and other
    assert same[0].score > other[0].score
    assert any("Places of origin differ" in r for r in other[0].reasons)


def test_a_fathers_name_that_differs_keeps_two_people_apart(kanat):
    father = person_named("Serik Tursyn", gender="male")
    Relationship.objects.create(from_person=kanat, kind="child_of", to_person=father)
    assert find_people(["Kanat Yerezhep"], father_name="Nurlan Bekov") == []
    assert [m.person for m in find_people(["Kanat Yerezhep"], father_name="Серик Турсын")] == [
        kanat
    ]


def test_find_people_looks_only_in_the_given_people(kanat):
    assert find_people(["Qanat Erejep"], queryset=Person.objects.exclude(pk=kanat.pk)) == []
    assert find_people(["Qanat Erejep"], exclude_ids=[kanat.pk]) == []


def queries_to_find(names):
    with CaptureQueriesContext(connection) as ctx:
        find_people(names)
    return len(ctx.captured_queries)


def test_candidate_lookup_queries_do_not_grow_with_the_people(kanat):
    few = queries_to_find(["Qanat Erejep"])
    for i in range(20):
        person_named(f"Aigul Nurbek{'ov' * (i % 3)} {i}")
    person_named("Qanat Erejep")
    person_named("Kanat Yerezhepuly")
    assert len(find_people(["Qanat Erejep"])) == 3
    assert queries_to_find(["Qanat Erejep"]) == few


# --- record_candidates (the import calls it) --------------------------------------------------


def test_record_candidates_stores_an_open_pair_in_canonical_order(kanat):
    newcomer = person_named("Qanat Erejep")
    assert record_candidates(newcomer, find_people(["Qanat Erejep"], exclude_ids=[newcomer.pk]))
    (candidate,) = candidates()
    assert (candidate.person_a, candidate.person_b, candidate.status) == (
        kanat,
        newcomer,
        CandidateStatus.OPEN,
    )
    assert candidate.reasons["names"][0]["person_b"] == "Qanat Erejep"


def test_record_candidates_leaves_a_dismissed_pair_dismissed(kanat):
    newcomer = person_named("Qanat Erejep")
    DuplicateCandidate.objects.create(
        person_a=kanat, person_b=newcomer, score=0.9, status=CandidateStatus.DISMISSED
    )
    matches = find_people(["Qanat Erejep"], exclude_ids=[newcomer.pk])
    assert record_candidates(newcomer, matches) == 0
    assert candidates()[0].status == CandidateStatus.DISMISSED


# --- find_duplicates ---------------------------------------------------------------------------


@pytest.fixture
def twins(kanat):
    return kanat, person_named("Qanat Erejep", "卡纳提·叶热杰普")


def test_find_duplicates_stores_the_pair_with_its_score_and_reasons(twins):
    scan()
    (candidate,) = candidates()
    assert {candidate.person_a, candidate.person_b} == set(twins)
    assert 0.85 <= candidate.score <= 1
    assert candidate.reasons["reasons"][0].startswith("Names match")


def test_find_duplicates_leaves_different_people_alone(twins):
    person_named("Aigul Serikqyzy")
    person_named("Kanat Serikbay")
    scan()
    assert len(candidates()) == 1


def test_running_find_duplicates_again_stores_each_pair_once(twins):
    scan()
    output = scan()
    assert len(candidates()) == 1
    assert "0 new possible duplicates" in output


def test_find_duplicates_updates_the_score_when_the_facts_change(twins):
    scan()
    before = candidates()[0].score
    Person.objects.filter(pk=twins[1].pk).update(birth_date="1962")
    scan()
    assert candidates()[0].score < before
    assert "Birth dates differ slightly (1960 / 1962)." in candidates()[0].reasons["reasons"]
    assert candidates()[0].history.count() == 2


def test_a_pair_marked_different_people_stays_so_after_a_new_scan(twins):
    scan()
    DuplicateCandidate.objects.update(status=CandidateStatus.DISMISSED)
    scan()
    assert [c.status for c in candidates()] == [CandidateStatus.DISMISSED]


def test_an_open_pair_no_longer_alike_is_withdrawn(twins):
    scan()
    for name in twins[1].names.all():
        name.name = f"Aigul Serikqyzy {name.pk}"
        name.save()
    assert "1 no longer alike and withdrawn" in scan()
    assert candidates() == []


def test_find_duplicates_records_the_given_user_in_the_audit_trail(twins, verifier):
    scan("--as", "verifier")
    assert candidates()[0].history.get().history_user == verifier


def test_find_duplicates_refuses_an_unknown_user(twins):
    with pytest.raises(CommandError, match="No active user"):
        scan("--as", "nobody")


def test_find_duplicates_draws_no_progress_bar_when_not_in_a_terminal(twins):
    assert "it/s" not in scan()


def test_find_duplicates_can_rebuild_the_keys(twins):
    PersonNameKey.objects.all().delete()
    assert "Recomputed the match keys of 5 names" in scan("--rebuild-keys")
    assert len(candidates()) == 1


def test_find_duplicates_finds_the_demo_person_under_other_spellings(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    seed = Person.objects.get(display_name="Kanat Yerezhep")
    latin, chinese = person_named("Qanat Erejep"), person_named("卡纳提·叶热杰普")
    scan()
    pairs = {(c.person_a_id, c.person_b_id) for c in candidates()}
    assert {(seed.pk, latin.pk), (seed.pk, chinese.pk)} <= pairs


# --- the review queue in the admin ------------------------------------------------------------


@pytest.fixture
def candidate(twins):
    scan()
    return candidates()[0]


def review_url(candidate, view="change"):
    return reverse(f"admin:people_duplicatecandidate_{view}", args=[candidate.pk])


@pytest.fixture
def as_persona(request, client):
    def sign_in(persona):
        user = request.getfixturevalue(persona)
        client.force_login(user)
        return client

    return sign_in


REVIEW_MATRIX = [
    # persona, sees the queue, may merge, may mark as different people
    ("data_entry", True, False, True),
    ("verifier", True, True, True),
    ("administrator", True, False, False),
    ("no_role", False, False, False),
]


@pytest.mark.parametrize(("persona", "sees", "merges", "dismisses"), REVIEW_MATRIX)
def test_review_queue_listing_by_role(as_persona, candidate, persona, sees, merges, dismisses):
    response = as_persona(persona).get(reverse("admin:people_duplicatecandidate_changelist"))
    assert response.status_code == (200 if sees else 403)


@pytest.mark.parametrize(("persona", "sees", "merges", "dismisses"), REVIEW_MATRIX)
def test_merging_from_the_review_page_by_role(
    as_persona, candidate, persona, sees, merges, dismisses
):
    client = as_persona(persona)
    response = client.post(review_url(candidate, "merge"), {"survivor": "a", "reason": "Same."})
    assert response.status_code == (302 if sees else 403)
    assert Person.objects.count() == (1 if merges else 2)


@pytest.mark.parametrize(("persona", "sees", "merges", "dismisses"), REVIEW_MATRIX)
def test_marking_different_people_from_the_review_page_by_role(
    as_persona, candidate, persona, sees, merges, dismisses
):
    response = as_persona(persona).post(review_url(candidate, "dismiss"), {"reason": "No."})
    assert response.status_code == (302 if sees else 403)
    candidate.refresh_from_db()
    expected = CandidateStatus.DISMISSED if dismisses else CandidateStatus.OPEN
    assert candidate.status == expected


def test_the_review_page_shows_both_people_side_by_side_with_the_reasons(
    as_persona, candidate, twins
):
    response = as_persona("verifier").get(review_url(candidate))
    assert response.status_code == 200
    page = response.content.decode()
    for name in ("Қанат Ережеп", "قانات ەرەجەپ", "卡纳提·叶热杰普", "Names match"):
        assert name in page
    assert page.count("Merge into") == 2
    assert "Not the same person" in page


def fathered(*children, name="Serik Tursyn"):
    father = person_named(name, "Серик Турсын", gender="male")
    for child in children:
        Relationship.objects.create(from_person=child, kind="child_of", to_person=father)
    return father


def test_stored_reasons_name_no_relative(twins):
    father = fathered(*twins)
    scan()
    (candidate,) = candidates()
    assert "Fathers' names agree." in candidate.reasons["reasons"]
    stored = json.dumps(candidate.reasons, ensure_ascii=False)
    assert "Serik" not in stored
    assert "Серик" not in stored
    assert {"fact": "father", "verdict": "agrees"} in candidate.reasons["facts"]
    assert father.pk not in (candidate.person_a_id, candidate.person_b_id)


def test_a_fathers_name_given_to_a_search_is_not_echoed(kanat):
    fathered(kanat)
    (match,) = find_people(["Kanat Yerezhep"], father_name="Серик Турсын")
    assert "Fathers' names agree." in match.reasons
    assert "Серик" not in json.dumps([match.reasons, match.details], ensure_ascii=False)


def test_a_hidden_father_neither_shows_nor_counts_in_the_review_queue(as_persona, twins):
    scan()
    without_father = candidates()[0].score
    father = fathered(*twins, name="Nurlan Bekov")
    make_case(father, sensitive=True)  # data_entry is not assigned to it
    scan()
    (candidate,) = candidates()
    assert candidate.score == without_father
    stored = json.dumps(candidate.reasons, ensure_ascii=False)
    assert "Nurlan" not in stored
    assert "Fathers'" not in stored
    page = as_persona("data_entry").get(review_url(candidate)).content.decode()
    assert "Nurlan" not in page
    assert "Fathers'" not in page


def test_a_relatives_name_stored_by_an_earlier_version_is_not_shown(as_persona, candidate):
    candidate.reasons["reasons"].append("Fathers' names differ (“Nurlan Bekov” / “Serik Tursyn”).")
    DuplicateCandidate.objects.filter(pk=candidate.pk).update(reasons=candidate.reasons)
    client = as_persona("verifier")
    page = client.get(review_url(candidate)).content.decode()
    assert "Fathers&#x27; names differ." in page
    assert "Nurlan" not in page


def test_the_review_page_offers_data_entry_no_merge(as_persona, candidate):
    page = as_persona("data_entry").get(review_url(candidate)).content.decode()
    assert "Merge into" not in page
    assert "Not the same person" in page


def test_merging_from_the_review_page_keeps_the_chosen_record(as_persona, candidate):
    survivor = candidate.person_b
    response = as_persona("verifier").post(review_url(candidate, "merge"), {"survivor": "b"})
    assert response["Location"] == reverse("admin:people_person_change", args=[survivor.pk])
    assert list(Person.objects.all()) == [survivor]


def test_the_merge_and_dismiss_addresses_accept_only_post(as_persona, candidate):
    client = as_persona("verifier")
    assert client.get(review_url(candidate, "merge")).status_code == 405
    assert client.get(review_url(candidate, "dismiss")).status_code == 405


def test_a_pair_with_someone_the_user_may_not_see_is_not_listed(as_persona, candidate, twins):
    make_case(twins[1], sensitive=True)
    client = as_persona("data_entry")
    listed = client.get(reverse("admin:people_duplicatecandidate_changelist"))
    assert list(listed.context["cl"].result_list) == []
    assert client.post(review_url(candidate, "dismiss")).status_code == 404
    assert candidates()[0].status == CandidateStatus.OPEN


def test_the_review_page_lists_each_records_cases(as_persona, candidate, twins):
    first, second = make_case(twins[0]), make_case(twins[1], sensitive=True)
    page = as_persona("verifier").get(review_url(candidate)).content.decode()
    assert first.reference in page
    assert second.reference in page


# --- the add-person warning -----------------------------------------------------------------


def add_person(client, *names, **fields):
    page = AdminForm(client, reverse("admin:people_person_add"))
    for i, name in enumerate(names):
        page.add_row(PersonName, name=name, language="en", is_preferred="on" if i == 0 else None)
    return page.post(**fields)


def test_adding_a_likely_duplicate_warns_with_links_before_saving(as_persona, kanat):
    response = add_person(as_persona("data_entry"), "Qanat Erejep", birth_date="1960")
    assert response.status_code == 200
    (warning,) = errors_of(response)
    assert "may be someone already recorded" in warning
    # The links are listed at the top of the page, with the checkbox (test_person_form).
    assert reverse("admin:people_person_change", args=[kanat.pk]) in response.content.decode()
    assert Person.objects.count() == 1


def test_confirming_a_different_person_saves_on_the_second_submit(as_persona, kanat):
    client = as_persona("data_entry")
    add_person(client, "Qanat Erejep")
    assert_saved(add_person(client, "Qanat Erejep", confirm_different_person="on"))
    assert Person.objects.count() == 2


def test_adding_a_new_name_saves_without_a_warning(as_persona, kanat):
    assert_saved(add_person(as_persona("data_entry"), "Aigul Serikqyzy"))


def test_the_warning_names_nobody_the_user_may_not_see(as_persona, kanat):
    make_case(kanat, sensitive=True)
    assert_saved(add_person(as_persona("data_entry"), "Qanat Erejep"))


def test_editing_a_person_does_not_warn_of_their_own_names(as_persona, kanat):
    person_named("Qanat Erejep")
    page = AdminForm(as_persona("verifier"), reverse("admin:people_person_change", args=[kanat.pk]))
    assert_saved(page.post())


def test_the_admin_search_of_the_queue_finds_a_pair_by_name(as_persona, candidate):
    response = as_persona("verifier").get(
        reverse("admin:people_duplicatecandidate_changelist"), {"q": "Kanat"}
    )
    assert list(response.context["cl"].result_list) == [candidate]


def test_the_queue_opens_on_the_pairs_still_to_review(as_persona, candidate, twins):
    decided = DuplicateCandidate.objects.create(
        person_a=twins[0],
        person_b=person_named("Kanat Yerezhepov"),
        score=0.9,
        status=CandidateStatus.DISMISSED,
    )
    client = as_persona("verifier")
    url = reverse("admin:people_duplicatecandidate_changelist")
    assert list(client.get(url).context["cl"].result_list) == [candidate]
    everything = client.get(url, {"status": "all"}).context["cl"].result_list
    assert set(everything) == {candidate, decided}
