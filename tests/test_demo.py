"""The demo: the real 2024 Xinjiang case, marked fictional restricted data, and demo logins."""

import re
import stat
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from cases.models import Case, DetentionEvent, EventKind, ReviewState
from casetracker import roles
from casetracker.demo import DEMO_USERS, FICTIONAL
from people.models import Affiliation, Person, PersonName, Relationship, RelationshipKind
from sources.models import Access, Citation, Source

pytestmark = pytest.mark.django_db

DEMO_USERNAMES = [username for username, _, _ in DEMO_USERS]


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def load_demo():
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(var_dir):
    return load_demo()


def printed_logins(output):
    """{username: password} from the lines load_demo prints for each demo user."""
    logins = {}
    for line in output.splitlines():
        match = re.match(r"^\s+(\S+)\s+(\S+)\s+(.+?):", line)
        if match and match[1] in DEMO_USERNAMES:
            logins[match[1]] = match[2]
    return logins


def row_counts():
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models(include_auto_created=True)
    }


def person_named(name):
    return Person.objects.get(names__name=name)


def kanat_case():
    return Case.objects.get(person=person_named("Kanat Yerezhep"))


# --- loading twice ---------------------------------------------------------------------------


def test_loading_the_demo_twice_leaves_every_table_with_the_same_row_count(var_dir):
    load_demo()
    first = row_counts()
    load_demo()
    assert row_counts() == first


def test_the_row_count_comparison_covers_history_users_groups_and_many_to_many_tables(demo):
    counts = row_counts()
    for label in (
        "people.HistoricalPerson",
        "cases.HistoricalCase",
        "sources.HistoricalCitation",
        "auth.User",
        "auth.Group",
        "auth.Group_permissions",
        "cases.Case_incidents",
        "cases.DetentionEvent_charges",
    ):
        assert counts[label] > 0, label


def test_loading_the_demo_twice_keeps_the_same_case_references(var_dir):
    load_demo()
    first = sorted(Case.objects.values_list("uid", "reference"))
    load_demo()
    assert sorted(Case.objects.values_list("uid", "reference")) == first


def test_loading_the_demo_twice_keeps_the_same_person_names(var_dir):
    fields = ("pk", "uid", "person__uid", "name", "script", "language", "kind", "is_preferred")
    load_demo()
    first = list(PersonName.objects.order_by("pk").values_list(*fields))
    load_demo()
    assert list(PersonName.objects.order_by("pk").values_list(*fields)) == first


def test_loading_the_demo_twice_keeps_the_same_citations(var_dir):
    load_demo()
    first = sorted(Citation.objects.values_list("pk", "uid"))
    load_demo()
    assert sorted(Citation.objects.values_list("pk", "uid")) == first


# --- the real case from the Atajurt / RFA report ------------------------------------------


def test_kanat_yerezhep_is_named_in_latin_script(demo):
    name = PersonName.objects.get(name="Kanat Yerezhep")
    assert name.script == "Latn"
    assert name.is_preferred


def test_kanat_yerezhep_is_also_named_in_kazakh_cyrillic_and_arabic_script(demo):
    names = person_named("Kanat Yerezhep").names.all()
    assert {(n.script, n.language) for n in names} >= {("Cyrl", "kk"), ("Arab", "kk")}


def test_kanat_yerezheps_case_has_a_detention_between_2019_and_2023(demo):
    assert kanat_case().events.filter(kind=EventKind.DETAINED, date="2019/2023").exists()


def test_kanat_yerezheps_family_was_notified_in_april_2024(demo):
    assert kanat_case().events.filter(kind=EventKind.FAMILY_NOTIFIED, date="2024-04").exists()


def test_the_detention_carries_the_charges_of_treason_and_splitting_the_state(demo):
    detained = DetentionEvent.objects.get(case=kanat_case(), kind=EventKind.DETAINED)
    charges = set(detained.charges.values_list("name", flat=True))
    assert {"Treason", "Splitting the state"} <= charges


def test_kanat_yerezheps_case_belongs_to_an_incident(demo):
    assert kanat_case().incidents.exists()


def test_the_radio_free_asia_report_of_5_november_2024_is_cited_for_the_case(demo):
    rfa = Source.objects.get(publisher__name="Radio Free Asia", published="2024-11-05")
    case = kanat_case()
    cited = Citation.objects.filter(source=rfa)
    assert cited.filter(case=case).exists() or cited.filter(event__case=case).exists()


def test_an_atajurt_source_is_cited_for_the_case(demo):
    case = kanat_case()
    assert (
        Citation.objects.filter(source__publisher__abbreviation="Atajurt", case=case).exists()
        or Citation.objects.filter(
            source__publisher__abbreviation="Atajurt", event__case=case
        ).exists()
    )


def test_serikzhan_bilash_is_the_founder_of_atajurt(demo):
    assert Affiliation.objects.filter(
        person=person_named("Serikzhan Bilash"),
        organisation__abbreviation="Atajurt",
        role="Founder",
    ).exists()


def test_kanat_yerezhep_formerly_worked_at_the_xinjiang_tv_kazakh_language_service(demo):
    affiliation = Affiliation.objects.get(
        person=person_named("Kanat Yerezhep"),
        organisation__name="Xinjiang Television Kazakh-language service",
    )
    assert affiliation.is_former
    assert affiliation.organisation.parent.name == "Xinjiang Television"


def test_the_real_case_is_not_marked_as_fictional(demo):
    case = kanat_case()
    assert FICTIONAL not in case.public_summary
    assert FICTIONAL not in case.person.occupation


# --- restricted sample data, all of it marked fictional -------------------------------------


def test_the_demo_has_a_draft_case(demo):
    assert Case.objects.filter(review_state=ReviewState.DRAFT).exists()


def test_the_demo_has_a_confidential_source(demo):
    assert Source.objects.filter(access=Access.CONFIDENTIAL).exists()


def relationships_of_testifiers():
    # The kind is encrypted: the database cannot filter on it.
    return [r for r in Relationship.objects.all() if r.kind == RelationshipKind.TESTIFIER_OF]


def test_the_demo_has_a_testifier_relationship(demo):
    assert relationships_of_testifiers()


def test_the_demo_has_internal_notes(demo):
    assert Person.objects.exclude(internal_notes="").exists()
    assert Case.objects.exclude(internal_notes="").exists()


def test_every_person_but_the_two_from_the_report_is_marked_fictional(demo):
    real = {person_named("Kanat Yerezhep").pk, person_named("Serikzhan Bilash").pk}
    fictional = Person.objects.exclude(pk__in=real)
    assert fictional.count() >= 2
    for person in fictional:
        assert person.occupation.startswith(FICTIONAL), person
        assert person.internal_notes.startswith(FICTIONAL), person


def test_every_case_but_the_seed_case_is_marked_fictional(demo):
    others = Case.objects.exclude(person=person_named("Kanat Yerezhep"))
    assert others.exists()
    for case in others:
        assert case.public_summary.startswith(FICTIONAL)
        assert case.internal_notes.startswith(FICTIONAL)


def test_every_source_that_is_not_public_is_marked_fictional(demo):
    for source in Source.objects.exclude(access=Access.PUBLIC):
        assert source.title.startswith(FICTIONAL), source
        assert source.notes.startswith(FICTIONAL), source


def test_every_testifier_relationship_is_marked_fictional(demo):
    for relationship in relationships_of_testifiers():
        assert relationship.notes.startswith(FICTIONAL)
        assert relationship.from_person.occupation.startswith(FICTIONAL)
        assert relationship.to_person.occupation.startswith(FICTIONAL)


# --- demo mode only --------------------------------------------------------------------------


def test_load_demo_refuses_to_run_outside_demo_mode(settings, var_dir):
    settings.DEMO = False
    with pytest.raises(CommandError, match="DEMO=true"):
        load_demo()


def test_load_demo_outside_demo_mode_creates_no_rows(settings, var_dir):
    settings.DEMO = False
    before = row_counts()
    with pytest.raises(CommandError):
        load_demo()
    assert row_counts() == before


def test_load_demo_outside_demo_mode_writes_no_credentials_file(settings, var_dir):
    settings.DEMO = False
    with pytest.raises(CommandError):
        load_demo()
    assert list(var_dir.iterdir()) == []


# --- demo logins -----------------------------------------------------------------------------


def test_load_demo_prints_a_password_for_every_demo_user(demo):
    logins = printed_logins(demo)
    assert sorted(logins) == sorted(DEMO_USERNAMES)
    assert all(len(password) >= 12 for password in logins.values())


@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_a_demo_user_can_log_in_with_the_printed_password(demo, client, username):
    assert client.login(username=username, password=printed_logins(demo)[username])


@pytest.mark.parametrize("username", DEMO_USERNAMES)
def test_a_demo_user_cannot_log_in_with_a_wrong_password(demo, client, username):
    assert not client.login(username=username, password=printed_logins(demo)[username] + "x")


@pytest.mark.parametrize(("username", "role", "_description"), DEMO_USERS)
def test_each_demo_user_is_staff_in_its_role_only(demo, username, role, _description):
    user = get_user_model().objects.get(username=username)
    assert user.is_staff
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [role]


def test_the_demo_users_cover_every_role(demo):
    assert {role for _, role, _ in DEMO_USERS} == set(roles.ROLES)


def test_the_credentials_file_is_readable_by_its_owner_only(demo, var_dir):
    path = var_dir / "demo-logins.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_credentials_file_holds_the_printed_passwords(demo, var_dir):
    stored = dict(
        line.split(" ", 1) for line in (var_dir / "demo-logins.txt").read_text().splitlines()
    )
    assert stored == printed_logins(demo)


def test_a_second_run_prints_the_same_passwords(demo):
    assert printed_logins(load_demo()) == printed_logins(demo)


def test_a_second_run_keeps_the_passwords_working(demo, client):
    load_demo()
    for username, password in printed_logins(demo).items():
        assert client.login(username=username, password=password), username
