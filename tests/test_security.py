"""Staff account security: two-factor sign-in, lockout, sessions, headers and the security log.

The rest of the suite runs with REQUIRE_2FA and django-axes off (tests/settings.py); these tests
turn them on where they matter.
"""

import logging
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from casetracker import roles
from casetracker.security import SIGNED_IN_AT, SecurityEvent
from casetracker.sites import StaffAdminSite
from tests.factories import make_event, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
STRONG_KEY = "k3Yq0Zr9vB2mXw7LpT4sN8dH1fJ6cG5aU0eR3iO9yQ2wE7tP4xS1zV8bN6mK3jL5"
HERE = "203.0.113.5"  # documentation addresses (RFC 5737)
ELSEWHERE = "198.51.100.9"
FAILED_LOGIN_MESSAGE = "Please enter the correct username, password and authentication code"


@pytest.fixture
def staff():
    return make_user("aigerim", password=PASSWORD)


@pytest.fixture
def require_2fa(settings):
    settings.REQUIRE_2FA = True


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True


def add_device(user):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _totp(device, at=None):
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at if at is not None else time.time()
    return totp


def current_code(device):
    """The code the staff member's app shows now."""
    return f"{_totp(device).token():06d}"


def wrong_code(device):
    """A code that no step the device accepts around now would produce."""
    now = time.time()
    valid = {_totp(device, now + d * device.step).token() for d in range(-2, 3)}
    return f"{next(n for n in range(10**6) if n not in valid):06d}"


def sign_in(client, username="aigerim", password=PASSWORD, code="", ip=HERE):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "otp_token": code, "next": "/admin/"},
        REMOTE_ADDR=ip,
    )


def signed_in(client):
    return "_auth_user_id" in client.session


# --- two-factor sign-in ----------------------------------------------------------------------


def test_staff_without_a_device_are_sent_to_enrolment_not_the_admin(client, staff, require_2fa):
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two-factor-enrol"))


def test_staff_with_a_device_are_asked_for_a_code_before_the_admin(client, staff, require_2fa):
    add_device(staff)
    client.force_login(staff)
    response = client.get(reverse("admin:index"))
    assert response["Location"].startswith(reverse("two-factor-verify"))


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/cases/case/",
        "/admin/auth/user/",
        "/admin/password_change/",
        "/admin/casetracker/securityevent/",
        "/evidence/9d1c5a52-3f0e-4b8a-a6a4-2f6d2f0c7e11/download/",
    ],
)
def test_an_unverified_superuser_reaches_no_page_but_the_second_factor(
    client, superuser, require_2fa, url
):
    client.force_login(superuser)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two-factor-enrol"))


def test_the_admin_site_reads_REQUIRE_2FA_on_every_request(rf, settings, superuser):
    request = rf.get("/admin/")
    request.user = superuser  # no OTPMiddleware: not verified
    site = StaffAdminSite()
    settings.REQUIRE_2FA = True
    assert not site.has_permission(request)
    settings.REQUIRE_2FA = False
    assert site.has_permission(request)


def test_enrolment_from_first_sign_in_to_the_admin(client, staff, require_2fa):
    assert sign_in(client).status_code == 302
    response = client.get("/admin/")
    assert response["Location"] == reverse("two-factor-enrol") + "?next=%2Fadmin%2F"
    page = client.get(response["Location"])
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    response = client.post(response["Location"], {"otp_token": current_code(device)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_enrolment_page_shows_the_key_to_type_in(client, staff, require_2fa):
    client.force_login(staff)
    page = client.get(reverse("two-factor-enrol"))
    device = TOTPDevice.objects.get(user=staff)
    assert page.context["secret"].replace(" ", "") in device.config_url


def test_a_wrong_code_at_enrolment_leaves_the_device_unconfirmed(client, staff, require_2fa):
    client.force_login(staff)
    client.get(reverse("two-factor-enrol"))
    device = TOTPDevice.objects.get(user=staff)
    response = client.post(reverse("two-factor-enrol"), {"otp_token": wrong_code(device)})
    assert response.status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/admin/").status_code == 302


def test_a_password_alone_cannot_enrol_a_second_device(client, staff, require_2fa):
    add_device(staff)
    client.force_login(staff)
    response = client.get(reverse("two-factor-enrol"))
    assert response["Location"] == reverse("two-factor-verify")
    assert TOTPDevice.objects.filter(user=staff).count() == 1


def test_signing_in_with_the_right_code_opens_the_admin(client, staff, require_2fa):
    device = add_device(staff)
    assert sign_in(client, code=current_code(device)).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_signing_in_with_a_wrong_code_fails(client, staff, require_2fa):
    device = add_device(staff)
    response = sign_in(client, code=wrong_code(device))
    assert response.status_code == 200
    assert FAILED_LOGIN_MESSAGE in response.content.decode()
    assert not signed_in(client)


def test_signing_in_without_a_code_fails_once_the_user_has_a_device(client, staff, require_2fa):
    add_device(staff)
    response = sign_in(client, code="")
    assert FAILED_LOGIN_MESSAGE in response.content.decode()
    assert not signed_in(client)


def test_a_wrong_code_gets_the_same_message_as_a_wrong_password(client, staff, require_2fa):
    device = add_device(staff)
    wrong_password = sign_in(client, password="not-the-password", code=current_code(device))
    wrong_token = sign_in(client, code=wrong_code(device))
    errors = [r.context["form"].non_field_errors() for r in (wrong_password, wrong_token)]
    assert errors[0] == errors[1]


def test_the_code_page_verifies_a_session_signed_in_without_one(client, staff, require_2fa):
    device = add_device(staff)
    client.force_login(staff)
    response = client.post(
        reverse("two-factor-verify"), {"otp_token": current_code(device), "next": "/admin/"}
    )
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_code_page_refuses_a_wrong_code(client, staff, require_2fa):
    device = add_device(staff)
    client.force_login(staff)
    client.post(reverse("two-factor-verify"), {"otp_token": wrong_code(device)})
    assert client.get("/admin/").status_code == 302


def test_the_code_page_never_sends_the_user_to_another_site(client, staff, require_2fa):
    device = add_device(staff)
    client.force_login(staff)
    response = client.post(
        reverse("two-factor-verify"),
        {"otp_token": current_code(device), "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("admin:index")


def test_an_unverified_user_can_sign_out(client, staff, require_2fa):
    client.force_login(staff)
    response = client.post(reverse("two-factor-sign-out"))
    assert response["Location"] == reverse("admin:login")
    assert not signed_in(client)


def test_reset_two_factor_sends_the_user_back_to_enrolment(client, staff, require_2fa):
    device = add_device(staff)
    sign_in(client, code=current_code(device))
    call_command("reset_two_factor", "aigerim", stdout=StringIO())
    assert not TOTPDevice.objects.filter(user=staff).exists()
    assert client.get("/admin/")["Location"].startswith(reverse("two-factor-enrol"))


# --- the one switch: REQUIRE_2FA -------------------------------------------------------------


def run_with_real_settings(tmp_path, *command, **env):
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "DEMO", "VAR_DIR", "DATABASE_URL", "REQUIRE_2FA"}
    }
    environ.update(DJANGO_SETTINGS_MODULE="casetracker.settings", VAR_DIR=str(tmp_path), **env)
    return subprocess.run(  # noqa: S603 (the commands are fixed in the tests below)
        [sys.executable, *command],
        cwd=django_settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {"DEBUG": "false", "DEMO": "false", "SECRET_KEY": STRONG_KEY}


def test_production_refuses_to_start_with_REQUIRE_2FA_false(tmp_path):
    setup = ("-c", "import django; django.setup()")
    result = run_with_real_settings(tmp_path, *setup, **PRODUCTION, REQUIRE_2FA="false")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "REQUIRE_2FA" in result.stderr


def test_the_demo_may_turn_REQUIRE_2FA_off(tmp_path):
    setup = ("-c", "import django; django.setup()")
    result = run_with_real_settings(tmp_path, *setup, DEMO="true", REQUIRE_2FA="false")
    assert result.returncode == 0, result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    check = ("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    result = run_with_real_settings(
        tmp_path, *check, **PRODUCTION, ALLOWED_HOSTS="casetracker.example.org"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- brute-force lockout ---------------------------------------------------------------------


def fail_five_times(client, ip=HERE):
    for _ in range(5):
        sign_in(client, password="wrong-password", ip=ip)


def test_after_five_failures_the_right_password_fails_too(client, staff, axes_on):
    fail_five_times(client)
    response = sign_in(client)
    assert response.status_code == 200
    assert not signed_in(client)


def test_a_locked_out_sign_in_looks_like_an_ordinary_failure(client, staff, axes_on):
    ordinary = sign_in(client, password="wrong-password")
    fail_five_times(client)
    locked = sign_in(client)
    assert locked.status_code == ordinary.status_code
    assert locked.templates[0].name == ordinary.templates[0].name
    assert locked.context["form"].non_field_errors() == ordinary.context["form"].non_field_errors()
    assert b"locked" not in locked.content.lower()


def test_a_refused_sign_in_still_takes_the_time_of_a_password_check(
    client, staff, axes_on, monkeypatch
):
    fail_five_times(client)
    hashed = []
    monkeypatch.setattr("casetracker.security.make_password", hashed.append)
    sign_in(client)
    assert len(hashed) == 1


def test_the_lockout_holds_one_username_at_one_address(client, staff, axes_on):
    fail_five_times(client, ip=HERE)
    assert sign_in(client, ip=ELSEWHERE).status_code == 302
    assert signed_in(client)


def test_a_locked_address_still_lets_another_user_sign_in(client, staff, axes_on):
    make_user("bolat", password=PASSWORD)
    fail_five_times(client, ip=HERE)
    assert sign_in(client, username="bolat", ip=HERE).status_code == 302


def test_wrong_codes_count_towards_the_lockout(client, staff, axes_on, require_2fa):
    device = add_device(staff)
    for _ in range(5):
        sign_in(client, code=wrong_code(device))
    device.refresh_from_db()
    device.throttle_reset()  # django-otp's own throttle aside: this is the lockout's doing
    sign_in(client, code=current_code(device))
    assert not signed_in(client)


def test_the_lockout_lasts_15_minutes_after_5_failures():
    assert django_settings.AXES_FAILURE_LIMIT == 5
    assert django_settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


# --- sessions --------------------------------------------------------------------------------


def test_signing_in_gives_a_new_session_id(client, staff):
    before = client.session.session_key
    sign_in(client)
    after = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()


def test_every_request_renews_the_30_minute_idle_timeout(admin_client):
    assert django_settings.SESSION_COOKIE_AGE == 30 * 60
    admin_client.get("/admin/")
    session = Session.objects.get(session_key=admin_client.session.session_key)
    expected = timezone.now() + timedelta(minutes=30)
    assert abs(session.expire_date - expected) < timedelta(seconds=30)


def test_an_idle_session_past_its_expiry_is_signed_out(admin_client):
    key = admin_client.session.session_key
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    response = admin_client.get("/admin/")
    assert response["Location"].startswith(reverse("admin:login"))


def age_session(client, seconds):
    session = client.session
    session[SIGNED_IN_AT] = int(time.time()) - seconds
    session.save()


def test_a_session_ends_12_hours_after_sign_in_however_active(admin_client):
    age_session(admin_client, 12 * 60 * 60 + 1)
    response = admin_client.get("/admin/")
    assert response["Location"].startswith(reverse("admin:login"))
    assert response.wsgi_request.user.is_anonymous


def test_a_session_younger_than_12_hours_stays_signed_in(admin_client):
    age_session(admin_client, 12 * 60 * 60 - 60)
    assert admin_client.get("/admin/").status_code == 200


def test_disabling_a_user_ends_their_session(client, superuser):
    client.force_login(superuser)
    superuser.is_active = False
    superuser.save()
    response = client.get("/admin/")
    assert response["Location"].startswith(reverse("admin:login"))
    assert response.wsgi_request.user.is_anonymous


def test_the_session_cookie_is_secure_and_hidden_from_scripts(client, staff):
    client.post(reverse("admin:login"), {"username": "aigerim", "password": PASSWORD}, secure=True)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME]
    assert cookie["secure"]
    assert cookie["httponly"]


# --- security headers ------------------------------------------------------------------------


def csp_directives(response):
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_admin_pages_send_a_strict_content_security_policy(client):
    directives = csp_directives(client.get(reverse("admin:login")))
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert not any("unsafe" in source for sources in directives.values() for source in sources)


def test_https_responses_carry_hsts_frame_denial_and_referrer_policy(client):
    response = client.get(reverse("admin:login"), secure=True)
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def inline_scripts(html):
    """Opening tags of scripts that run inline code (data blocks and src= scripts aside)."""
    return [
        attrs
        for attrs in SCRIPT_TAG.findall(html)
        if "src=" not in attrs and 'type="application/json"' not in attrs
    ]


def test_the_admin_login_has_no_inline_script_or_style(client):
    html = client.get(reverse("admin:login")).content.decode()
    assert inline_scripts(html) == []
    assert "<style" not in html
    assert " style=" not in html


@pytest.mark.parametrize(
    "url",
    [
        lambda: reverse("admin:index"),
        lambda: reverse("admin:cases_case_changelist"),
        lambda: reverse("admin:cases_detentionevent_change", args=[make_event().pk]),
        lambda: reverse("admin:auth_user_change", args=[make_user().pk]),
        lambda: reverse("admin:casetracker_securityevent_changelist"),
    ],
    ids=["index", "changelist", "change-form-with-inline", "user-form", "security-log"],
)
def test_admin_pages_have_no_inline_script_or_style(admin_client, url):
    html = admin_client.get(url()).content.decode()
    assert inline_scripts(html) == []
    assert "<style" not in html
    assert " style=" not in html


def test_the_enrolment_page_has_no_inline_script_or_style(client, staff, require_2fa):
    client.force_login(staff)
    html = client.get(reverse("two-factor-enrol")).content.decode()
    assert inline_scripts(html) == []
    assert "<style" not in html
    assert " style=" not in html


# --- the security log ------------------------------------------------------------------------


@pytest.fixture
def security_log(caplog):
    caplog.set_level(logging.INFO, logger="casetracker.security")
    return caplog


def logged(caplog, kind):
    return [r for r in caplog.records if r.name == "casetracker.security" and r.event == kind]


def test_a_failed_sign_in_is_logged_without_the_password(client, staff, security_log):
    sign_in(client, password="my-secret-guess", ip=HERE)
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_FAILED)
    assert (event.username, event.ip_address, event.path) == ("aigerim", HERE, "/admin/login/")
    assert logged(security_log, "login_failed")
    assert "my-secret-guess" not in security_log.text
    assert not SecurityEvent.objects.filter(detail__contains="my-secret-guess").exists()


def test_a_sign_in_is_logged(client, staff, security_log):
    sign_in(client)
    assert SecurityEvent.objects.filter(kind="login", username="aigerim", ip_address=HERE).exists()
    assert logged(security_log, "login")
    assert PASSWORD not in security_log.text


def test_a_sign_out_is_logged(admin_client, security_log):
    admin_client.post(reverse("admin:logout"))
    assert SecurityEvent.objects.filter(kind="logout", username="root").exists()
    assert logged(security_log, "logout")


def test_a_lockout_is_logged(client, staff, axes_on, security_log):
    fail_five_times(client)
    assert SecurityEvent.objects.filter(kind="lockout", username="aigerim").exists()
    assert logged(security_log, "lockout")
    assert "wrong-password" not in security_log.text


def test_a_wrong_code_is_logged_without_the_code(client, staff, require_2fa, security_log):
    device = add_device(staff)
    code = wrong_code(device)
    sign_in(client, code=code)
    assert SecurityEvent.objects.filter(kind="otp_failed", username="aigerim").exists()
    assert code not in security_log.text


def test_enrolment_is_logged(client, staff, require_2fa, security_log):
    client.force_login(staff)
    client.get(reverse("two-factor-enrol"))
    device = TOTPDevice.objects.get(user=staff)
    client.post(reverse("two-factor-enrol"), {"otp_token": current_code(device)})
    assert SecurityEvent.objects.filter(kind="otp_enrolled", username="aigerim").exists()


def test_a_missing_evidence_file_asked_for_by_staff_is_logged(admin_client, security_log):
    url = reverse("evidence-download", args=[uuid.uuid4()])
    assert admin_client.get(url).status_code == 404
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.EVIDENCE_DOWNLOAD)
    assert (event.username, event.path) == ("root", url)
    assert event.detail.endswith("outcome=refused")
    assert logged(security_log, "evidence_download")


def test_a_refused_admin_page_is_logged(client, staff, security_log):
    client.force_login(staff)  # staff without a role
    assert client.get(reverse("admin:cases_case_add")).status_code == 403
    assert SecurityEvent.objects.filter(kind="access_denied", username="aigerim").exists()
    assert logged(security_log, "access_denied")


def test_a_not_found_page_for_anonymous_visitors_is_not_logged(client):
    client.get(reverse("evidence-download", args=[uuid.uuid4()]))
    assert not SecurityEvent.objects.exists()


# --- the security log's admin ----------------------------------------------------------------


def test_administrators_can_read_the_security_log(client, administrator):
    client.force_login(administrator)
    url = reverse("admin:casetracker_securityevent_changelist")
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("view", ["add", "delete", "change"])
def test_nobody_can_add_change_or_delete_security_events(admin_client, view):
    event = SecurityEvent.objects.create(kind="login", username="someone")
    args = [] if view == "add" else [event.pk]
    response = admin_client.post(reverse(f"admin:casetracker_securityevent_{view}", args=args))
    assert response.status_code == 403
    assert SecurityEvent.objects.filter(pk=event.pk, username="someone").exists()


def test_data_entry_staff_cannot_read_the_security_log(client):
    roles.setup_roles()
    user = make_user("typist")
    user.groups.add(Group.objects.get(name=roles.DATA_ENTRY))
    client.force_login(user)
    url = reverse("admin:casetracker_securityevent_changelist")
    assert client.get(url).status_code == 403
