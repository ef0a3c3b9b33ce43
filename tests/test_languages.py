"""Choosing the interface language: Accept-Language decides a first visit, the switcher on every
page changes it (a cookie for anonymous pages, the account for staff), and a staff member's
choice is applied at each sign-in and survives sign-out."""

import pytest
from django.conf import settings
from django.urls import reverse

from languages.models import LanguagePreference
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "a long enough passphrase"
COOKIE = settings.LANGUAGE_COOKIE_NAME


def html_lang(response):
    text = response.content.decode()
    start = text.index("<html lang=") + len('<html lang="')
    return text[start : text.index('"', start)]


def sign_in(client, user):
    return client.post(
        reverse("admin:login"),
        {"username": user.username, "password": PASSWORD, "next": reverse("admin:index")},
    )


@pytest.fixture
def staff():
    return make_user("language_staff", password=PASSWORD)


@pytest.mark.parametrize(
    "header, expected",
    [("kk", "kk"), ("ru-RU,ru;q=0.9", "ru"), ("zh-CN,zh;q=0.9", "zh-hans"), ("fr", "en")],
)
def test_first_visit_speaks_the_browsers_language(client, header, expected):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE=header)
    assert response.status_code == 200
    assert html_lang(response) == expected
    assert response["Content-Language"] == expected


def test_the_login_page_offers_every_language_named_in_itself(client):
    text = client.get(reverse("admin:login")).content.decode()
    assert f'action="{reverse("set_language")}"' in text
    for code, name in [
        ("en", "English"),
        ("kk", "Қазақ"),
        ("ru", "Русский"),
        ("zh-hans", "简体中文"),
    ]:
        assert f'value="{code}" lang="{code}"' in text
        assert name in text


def test_switching_on_an_anonymous_page_sets_the_cookie_and_returns(client):
    response = client.post(
        reverse("set_language"), {"language": "ru", "next": reverse("admin:login")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:login")
    assert response.cookies[COOKIE].value == "ru"
    assert html_lang(client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="kk")) == "ru"


def test_the_cookie_is_httponly_and_samesite(client):
    response = client.post(reverse("set_language"), {"language": "kk", "next": "/admin/"})
    morsel = response.cookies[COOKIE]
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"


def test_an_unknown_language_changes_nothing(client, staff):
    client.force_login(staff)
    response = client.post(reverse("set_language"), {"language": "xx", "next": "/admin/"})
    assert COOKIE not in response.cookies
    assert not LanguagePreference.objects.exists()


def test_next_elsewhere_is_not_followed(client):
    response = client.post(
        reverse("set_language"), {"language": "kk", "next": "https://evil.example/"}
    )
    assert "evil.example" not in response.get("Location", "")


def test_switching_needs_a_post(client):
    assert client.get(reverse("set_language"), {"language": "kk"}).status_code == 405


def test_a_signed_in_choice_is_stored_on_the_account(client, staff):
    client.force_login(staff)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/admin/"})
    assert LanguagePreference.objects.get(user=staff).language == "zh-hans"
    assert html_lang(client.get(reverse("admin:index"))) == "zh-hans"


def test_the_accounts_language_is_applied_at_sign_in_on_another_browser(client, staff):
    LanguagePreference.objects.create(user=staff, language="kk")
    response = sign_in(client, staff)  # a browser with no language cookie
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "kk"
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(page) == "kk"


def test_the_choice_survives_sign_out_and_sign_in(client, staff):
    sign_in(client, staff)
    client.post(reverse("set_language"), {"language": "ru", "next": "/admin/"})
    client.post(reverse("admin:logout"))
    assert html_lang(client.get(reverse("admin:login"))) == "ru"  # the cookie stayed
    client.cookies.pop(COOKIE)
    sign_in(client, staff)
    assert html_lang(client.get(reverse("admin:index"))) == "ru"  # the account has it


def test_an_account_without_a_choice_adopts_the_one_made_before_signing_in(client, staff):
    client.post(reverse("set_language"), {"language": "kk", "next": "/admin/login/"})
    sign_in(client, staff)
    assert LanguagePreference.objects.get(user=staff).language == "kk"


def test_a_browser_default_is_not_stored_as_a_choice(client, staff):
    client.post(
        reverse("admin:login"),
        {"username": staff.username, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    assert not LanguagePreference.objects.exists()


def test_one_users_choice_does_not_reach_another(client, staff):
    LanguagePreference.objects.create(user=staff, language="zh-hans")
    other = make_user("other_staff", password=PASSWORD)
    sign_in(client, other)
    assert html_lang(client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en")) == "en"


def test_a_user_still_to_give_a_second_factor_can_switch_language(client, staff, settings):
    settings.REQUIRE_2FA = True
    client.force_login(staff)
    enrol = reverse("two-factor-enrol")
    page = client.get(enrol)
    assert page.status_code == 200
    assert reverse("set_language") in page.content.decode()
    response = client.post(reverse("set_language"), {"language": "kk", "next": enrol})
    assert response.status_code == 302
    assert response["Location"] == enrol
    assert LanguagePreference.objects.get(user=staff).language == "kk"
    assert html_lang(client.get(enrol)) == "kk"


def test_the_404_page_does_not_echo_the_address_in_the_switcher(client, settings):
    settings.PUBLIC_SITE = False  # the admin's 404 page (with the site on, the site's own)
    response = client.get("/no-such-page-anywhere/")
    assert response.status_code == 404
    assert 'name="next" value=""' in response.content.decode()


def test_the_public_websites_404_page_does_not_echo_the_address_in_its_language_links(client):
    response = client.get("/no-such-page-anywhere/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "no-such-page-anywhere" not in html
    assert "?next=/" in html
