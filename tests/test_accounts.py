"""Staff accounts: nobody changes their own roles, status or password in the user admin; every
change to someone else's account is recorded (AccountChange and the security log) and shown to
Administrators; and four-eyes holds across accounts that one person may be behind."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from cases import services
from cases.readiness import ERROR, step_checks
from casetracker.audit import acting_as
from casetracker.integrity import AuditLink, verify_chain
from casetracker.models import AccountChange
from casetracker.roles import ADMINISTRATOR, DATA_ENTRY, VERIFIER
from casetracker.security import SecurityEvent
from tests.factories import fresh, in_review, make_user, staff_in

pytestmark = pytest.mark.django_db

Kind = AccountChange.Kind
NEW_PASSWORD = "a new long passphrase 42"


def change_data(user, **changes):
    """The user admin's change form for ``user`` as it stands, with ``changes``."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(pk) for pk in user.groups.values_list("pk", flat=True)],
        "user_permissions": [],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def group_pk(name):
    return str(Group.objects.get(name=name).pk)


def roles_of(user):
    return set(user.groups.values_list("name", flat=True))


def post_change(client, user, **changes):
    return client.post(
        reverse("admin:auth_user_change", args=[user.pk]), change_data(user, **changes)
    )


def grant(client, user, *roles):
    groups = [group_pk(role) for role in roles] + change_data(user)["groups"]
    response = post_change(client, user, groups=groups)
    assert response.status_code == 302, response.context and response.context["errors"]


def create_account(client, username):
    data = {
        "username": username,
        "usable_password": "true",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }
    response = client.post(reverse("admin:auth_user_add"), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    return get_user_model().objects.get(username=username)


def set_password(client, user):
    data = {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    return client.post(reverse("admin:auth_user_password_change", args=[user.pk]), data)


@pytest.fixture
def as_administrator(client, administrator):
    client.force_login(administrator)
    return client


@pytest.fixture
def as_superuser(client, superuser):
    client.force_login(superuser)
    return client


# --- nobody changes their own account ----------------------------------------------------------


def test_an_administrator_cannot_give_themselves_the_verifier_role(as_administrator, administrator):
    groups = [group_pk(ADMINISTRATOR), group_pk(VERIFIER)]
    post_change(as_administrator, administrator, groups=groups)
    assert roles_of(administrator) == {ADMINISTRATOR}
    assert not AccountChange.objects.exists()


def test_an_administrator_cannot_deactivate_themselves(as_administrator, administrator):
    post_change(as_administrator, administrator, is_active="")
    administrator.refresh_from_db()
    assert administrator.is_active


def test_an_administrator_cannot_drop_their_own_administrator_role(as_administrator, administrator):
    post_change(as_administrator, administrator, groups=[])
    assert roles_of(administrator) == {ADMINISTRATOR}


def test_an_administrator_still_changes_their_own_name(as_administrator, administrator):
    response = post_change(as_administrator, administrator, first_name="Aigerim")
    assert response.status_code == 302
    administrator.refresh_from_db()
    assert administrator.first_name == "Aigerim"
    assert roles_of(administrator) == {ADMINISTRATOR}


@pytest.mark.parametrize("persona", ["administrator", "superuser"])
def test_the_own_account_page_shows_roles_and_status_without_inputs(request, client, persona):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    response = client.get(reverse("admin:auth_user_change", args=[user.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("groups", "is_active", "is_staff", "is_superuser", "user_permissions"):
        assert f'name="{field}"' not in html
    assert reverse("admin:password_change") in html
    assert 'href="../password/"' not in html  # the set-password form, for others only


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_administrator_cannot_set_their_own_password_in_the_user_admin(
    as_administrator, administrator, method
):
    url = reverse("admin:auth_user_password_change", args=[administrator.pk])
    data = {"usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = getattr(as_administrator, method)(url, data if method == "post" else None)
    assert response.status_code == 403
    administrator.refresh_from_db()
    assert not administrator.check_password(NEW_PASSWORD)


def test_the_own_password_is_changed_where_the_old_one_is_asked_for(client):
    user = make_user("aigul", password="the old passphrase 1")
    client.force_login(user)
    data = {
        "old_password": "the old passphrase 1",
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    }
    assert client.post(reverse("admin:password_change"), data).status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_superuser_cannot_remove_their_own_superuser_status(as_superuser, superuser):
    post_change(as_superuser, superuser, is_superuser="")
    superuser.refresh_from_db()
    assert superuser.is_superuser


def test_a_superuser_cannot_give_themselves_a_role(as_superuser, superuser):
    staff_in(DATA_ENTRY, "someone")  # the roles exist
    post_change(as_superuser, superuser, groups=[group_pk(VERIFIER)])
    assert roles_of(superuser) == set()


def test_a_superuser_cannot_deactivate_themselves(as_superuser, superuser):
    post_change(as_superuser, superuser, is_active="")
    superuser.refresh_from_db()
    assert superuser.is_active


def test_a_superuser_cannot_set_their_own_password_in_the_user_admin(as_superuser, superuser):
    response = set_password(as_superuser, superuser)
    assert response.status_code == 403
    superuser.refresh_from_db()
    assert not superuser.check_password(NEW_PASSWORD)


# --- changes to others' accounts, recorded -----------------------------------------------------


def test_an_administrator_still_manages_others_roles(as_administrator, data_entry):
    grant(as_administrator, data_entry, VERIFIER)
    assert roles_of(data_entry) == {DATA_ENTRY, VERIFIER}
    post_change(as_administrator, data_entry, groups=[group_pk(VERIFIER)])
    assert roles_of(data_entry) == {VERIFIER}


def test_an_administrator_still_sets_someone_elses_password(as_administrator, data_entry):
    assert set_password(as_administrator, data_entry).status_code == 302
    data_entry.refresh_from_db()
    assert data_entry.check_password(NEW_PASSWORD)


def only_change(actor, account):
    """The one AccountChange and the one security event recorded, checked to name both."""
    [change] = AccountChange.objects.all()
    assert (change.actor, change.account) == (actor, account)
    [event] = SecurityEvent.objects.exclude(kind__in=["login", "logout"])
    assert event.username == actor.username
    assert event.detail.startswith(f"whom={account.username} ")
    return change, event


def test_creating_an_account_is_recorded(as_administrator, administrator):
    account = create_account(as_administrator, "newcomer")
    change, event = only_change(administrator, account)
    assert change.kind == Kind.CREATED
    assert (event.kind, event.detail) == (
        SecurityEvent.Kind.ACCOUNT_CREATED,
        "whom=newcomer created",
    )


def test_granting_the_verifier_role_is_recorded(as_administrator, administrator, data_entry):
    grant(as_administrator, data_entry, VERIFIER)
    change, event = only_change(administrator, data_entry)
    assert (change.kind, change.role) == (Kind.ROLE_GRANTED, VERIFIER)
    assert event.kind == SecurityEvent.Kind.ROLES_CHANGED
    assert event.detail == "whom=data_entry granted=Verifier"


def test_removing_a_role_is_recorded(as_administrator, administrator, verifier):
    post_change(as_administrator, verifier, groups=[])
    change, event = only_change(administrator, verifier)
    assert (change.kind, change.role) == (Kind.ROLE_REMOVED, VERIFIER)
    assert event.detail == "whom=verifier removed=Verifier"


def test_setting_someone_elses_password_is_recorded(as_administrator, administrator, verifier):
    set_password(as_administrator, verifier)
    change, event = only_change(administrator, verifier)
    assert change.kind == Kind.PASSWORD_RESET
    assert (event.kind, event.detail) == (
        SecurityEvent.Kind.PASSWORD_RESET,
        "whom=verifier password set",
    )


def test_deactivating_an_account_is_recorded(as_administrator, administrator, verifier):
    post_change(as_administrator, verifier, is_active="")
    change, event = only_change(administrator, verifier)
    assert change.kind == Kind.DEACTIVATED
    assert (event.kind, event.detail) == (
        SecurityEvent.Kind.ACCOUNT_STATUS,
        "whom=verifier deactivated",
    )


def test_reactivating_an_account_is_recorded(as_administrator, administrator):
    dormant = make_user("dormant", is_active=False)
    post_change(as_administrator, dormant, is_active="on")
    change, _ = only_change(administrator, dormant)
    assert change.kind == Kind.ACTIVATED


def test_making_someone_superuser_is_recorded(as_superuser, superuser, verifier):
    post_change(as_superuser, verifier, is_superuser="on")
    change, event = only_change(superuser, verifier)
    assert (change.kind, change.role) == (Kind.ROLE_GRANTED, AccountChange.SUPERUSER)
    assert event.detail == "whom=verifier granted=superuser status"


def test_a_save_that_changes_no_role_or_status_records_nothing(as_administrator, verifier):
    post_change(as_administrator, verifier, first_name="Dana")
    assert not AccountChange.objects.exists()
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ROLES_CHANGED).exists()


def test_an_invalid_password_form_records_nothing(as_administrator, verifier):
    url = reverse("admin:auth_user_password_change", args=[verifier.pk])
    data = {"usable_password": "true", "password1": NEW_PASSWORD, "password2": "different"}
    assert as_administrator.post(url, data).status_code == 200
    assert not AccountChange.objects.exists()


def test_the_audit_chain_verifies_after_account_changes(as_administrator):
    account = create_account(as_administrator, "newcomer")
    staff_in(DATA_ENTRY, "someone")
    grant(as_administrator, account, DATA_ENTRY)
    set_password(as_administrator, account)
    changes = list(AccountChange.objects.values_list("pk", flat=True))
    assert len(changes) == 3
    linked = AuditLink.objects.filter(record_type="casetracker.accountchange")
    assert sorted(linked.values_list("record_pk", flat=True)) == sorted(changes)
    report = verify_chain()
    assert report.ok, report


def test_the_account_change_log_is_append_only(as_administrator, data_entry):
    grant(as_administrator, data_entry, VERIFIER)
    change = AccountChange.objects.get()
    with pytest.raises(PermissionError):
        change.save()
    with pytest.raises(PermissionError):
        change.delete()
    with pytest.raises(PermissionError):
        AccountChange.objects.update(role="Data entry")
    with pytest.raises(PermissionError):
        AccountChange.objects.all().delete()


@pytest.mark.postgresql
def test_postgresql_refuses_a_raw_update_of_the_account_change_log(as_administrator, data_entry):
    grant(as_administrator, data_entry, VERIFIER)
    refused = pytest.raises(DatabaseError, match="append-only")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE casetracker_accountchange SET role = 'Data entry'")


# --- who sees account changes ------------------------------------------------------------------


def test_administrators_see_recent_account_changes_on_the_home_page(as_administrator, data_entry):
    grant(as_administrator, data_entry, VERIFIER)
    html = as_administrator.get(reverse("admin:index")).content.decode()
    assert 'id="account-changes"' in html
    assert "role granted: Verifier" in html
    assert "<td>administrator</td>" in html
    assert "<td>data_entry</td>" in html


def test_data_entry_staff_do_not_see_account_changes_on_the_home_page(client, data_entry):
    admin = staff_in(ADMINISTRATOR, "administrator")
    client.force_login(admin)
    grant(client, data_entry, VERIFIER)
    client.force_login(data_entry)
    html = client.get(reverse("admin:index")).content.decode()
    assert 'id="account-changes"' not in html
    assert "role granted" not in html


def test_administrators_read_the_account_change_log(as_administrator):
    url = reverse("admin:casetracker_accountchange_changelist")
    assert as_administrator.get(url).status_code == 200


def test_data_entry_staff_cannot_read_the_account_change_log(client, data_entry):
    client.force_login(data_entry)
    url = reverse("admin:casetracker_accountchange_changelist")
    assert client.get(url).status_code == 403


def test_nobody_adds_account_changes_in_the_admin(admin_client):
    assert admin_client.get(reverse("admin:casetracker_accountchange_add")).status_code == 403


# --- four-eyes across accounts -----------------------------------------------------------------


@pytest.fixture
def alice(db):
    """An Administrator who also enters cases: two hats on one head."""
    user = staff_in(ADMINISTRATOR, "alice")
    user.groups.add(Group.objects.get(name=DATA_ENTRY))
    return user


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def refused_reason(case, user):
    with pytest.raises(services.TransitionRefused) as refusal:
        services.verify(case, user)
    return str(refusal.value)


def test_verify_is_refused_to_an_account_the_submitter_created(as_alice, alice):
    puppet = create_account(as_alice, "puppet")
    puppet.groups.add(Group.objects.get(name=VERIFIER))  # given by someone else
    case = in_review(alice)
    reason = refused_reason(case, puppet)
    assert "set up by someone who created, submitted or changed this case" in reason
    assert "alice" not in reason
    assert fresh(case).review_state == "in_review"


def test_verify_is_refused_to_an_account_the_submitter_made_verifier(as_alice, alice):
    colleague = make_user("colleague")
    grant(as_alice, colleague, VERIFIER)
    case = in_review(alice)
    assert "set up by someone" in refused_reason(case, colleague)


def test_verify_is_refused_to_an_account_whose_password_the_submitter_set(
    as_alice, alice, verifier
):
    set_password(as_alice, verifier)
    case = in_review(alice)
    assert "set up by someone" in refused_reason(case, verifier)


def test_verify_is_refused_to_a_verifier_who_created_the_submitters_account(client):
    boss = staff_in(ADMINISTRATOR, "boss")
    boss.groups.add(Group.objects.get(name=VERIFIER))
    client.force_login(boss)
    puppet = create_account(client, "typist")
    puppet.groups.add(Group.objects.get(name=DATA_ENTRY))  # given by someone else
    case = in_review(puppet)
    assert "You created or set the password of the account" in refused_reason(case, boss)


def test_verify_is_refused_when_an_editor_since_submission_set_up_the_verifier(
    as_alice, alice, data_entry
):
    colleague = make_user("colleague")
    grant(as_alice, colleague, VERIFIER)
    case = in_review(data_entry)
    case.public_summary = "Corrected summary."
    with acting_as(alice):
        case.save()
    assert "set up by someone" in refused_reason(fresh(case), colleague)


def test_an_unrelated_verifier_verifies(as_alice, alice, verifier):
    case = in_review(alice)
    services.verify(case, verifier)
    assert fresh(case).review_state == "verified"


def test_accounts_set_up_by_someone_not_on_the_case_may_verify_it(as_alice, data_entry):
    colleague = create_account(as_alice, "colleague")
    grant(as_alice, colleague, VERIFIER)
    case = in_review(data_entry)
    services.verify(case, colleague)
    assert fresh(case).review_state == "verified"


def test_only_the_data_entry_role_given_by_the_submitter_does_not_tie(as_alice, alice):
    colleague = make_user("colleague")
    grant(as_alice, colleague, DATA_ENTRY)
    colleague.groups.add(Group.objects.get(name=VERIFIER))  # given by someone else
    case = in_review(alice)
    services.verify(case, colleague)
    assert fresh(case).review_state == "verified"


def test_the_verify_page_shows_the_same_refusal(as_alice, alice):
    colleague = make_user("colleague")
    grant(as_alice, colleague, VERIFIER)
    case = in_review(alice)
    check = step_checks(case, colleague, "verify")[0]
    assert check.level == ERROR
    assert check.text == refused_reason(case, colleague)


def test_a_superusers_account_is_not_found_for_an_administrator_like_a_missing_one(
    client, administrator, superuser
):
    client.force_login(administrator)
    missing = get_user_model().objects.order_by("-pk").first().pk + 1000
    hidden = client.get(reverse("admin:auth_user_change", args=[superuser.pk]))
    absent = client.get(reverse("admin:auth_user_change", args=[missing]))
    assert hidden.status_code == absent.status_code == 404


def test_changes_to_a_superusers_account_are_not_shown_to_administrators(
    client, administrator, superuser
):
    AccountChange.objects.create(actor=superuser, account=superuser, kind=Kind.PASSWORD_RESET)
    client.force_login(administrator)
    home = client.get(reverse("admin:index"))
    assert list(home.context["account_changes"]) == []
    listed = client.get(reverse("admin:casetracker_accountchange_changelist"))
    assert list(listed.context["cl"].result_list) == []
