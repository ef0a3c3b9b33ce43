"""The public website (website app, mounted at "/" by casetracker.urls under tests/settings.py's
PUBLIC_SITE): only the published snapshots reach it, in every language; withdrawn cases answer
410 and merged people 301; every page is cacheable, conditional and, when asked, noindex."""

import base64
import datetime
import html
import re
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.urls import reverse
from django.utils.html import strip_tags

from cases import services
from cases.models import Case, PublicationRecord
from people.models import Consent, PersonName
from people.services import merge_people
from snapshots.models import PublishedCase
from tests import test_api_leaks
from tests.factories import (
    in_review,
    make_case,
    person_named,
    publish,
    published,
    set_case,
    verified,
)
from tests.tallies import counts_kept  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

# The leak scan's world (tests/test_api_leaks.py): a unique sentinel in every restricted field
# of the published cases, and hidden cases of every kind whose every value is one.
secret = test_api_leaks.secret
world = test_api_leaks.world

LANGUAGES = [code for code, _ in django_settings.LANGUAGES]
NOT_CRAWLED = ("/admin/", "/api/", "/static/", "/language/")


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def links_in(response) -> list[str]:
    """The same-site pages a response links to (not the admin, API, files or language links)."""
    hrefs = (html.unescape(h) for h in re.findall(r'href="([^"]*)"', response.content.decode()))
    return [h for h in hrefs if h.startswith("/") and not h.startswith(NOT_CRAWLED)]


def more_results(response) -> str | None:
    """The address of the "More results" link of a search page, if it has one."""
    found = re.search(r'href="(\?[^"]*)">More results<', response.content.decode())
    return "/search/" + html.unescape(found[1]) if found else None


def in_language(client, code):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = code
    return client


def crawl(client, *starts) -> dict:
    """Every page reachable from ``starts`` by same-site links: {address: response}."""
    seen, waiting = {}, list(starts)
    while waiting:
        address = waiting.pop()
        if address in seen:
            continue
        seen[address] = response = client.get(address)
        if response.status_code == 200 and "text/html" in response["Content-Type"]:
            waiting += [link for link in links_in(response) if link not in seen]
    return seen


def directives(response) -> set[str]:
    return set(response.get("Cache-Control", "").replace(" ", "").split(","))


def PUBLIC_FOR(seconds):
    return {"public", f"max-age={seconds}", "must-revalidate"}


def references_on(response) -> list[str]:
    return re.findall(r'href="/cases/([^/"]+)/"', response.content.decode())


@pytest.fixture
def demo(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    return Case.objects.get(person__display_name="Kanat Yerezhep")


# --- the demo's published case ---------------------------------------------------------------


@pytest.mark.parametrize("term", ["Қанат", "Kanat", "قانات", "卡纳提", "卡纳提·叶热杰普"])
def test_the_demo_case_is_found_by_its_name_in_every_script(client, demo, term):
    response = client.get("/search/", {"q": term})
    assert response.status_code == 200
    assert references_on(response) == [demo.reference]


def test_the_demo_case_page_shows_the_published_record_and_how_to_cite_it(client, demo):
    response = client.get(f"/cases/{demo.reference}/")
    page = text_of(response)
    assert response.status_code == 200
    for name in ["Kanat Yerezhep", "Қанат Ережеп", "قانات ەرەجەپ"]:
        assert name in page
    assert "Former director of Xinjiang TV's Kazakh-language service. Detained" in page
    assert "between 2019 and 2023" in page
    assert "Charge: Splitting the state (分裂国家罪), Criminal Law art. 103(1)" in strip_tags(page)
    assert "Charge: Treason (背叛国家罪), Criminal Law art. 102" in strip_tags(page)
    assert "Over thirty Kazakhs secretly arrested in Xinjiang, Atajurt says" in page
    assert "Atajurt list of Kazakh officials and intellectuals detained" in page
    assert "Cite this record" in page
    assert f"Kanat Yerezhep, {demo.reference}. http://testserver/cases/{demo.reference}/" in page


def test_the_demo_site_shows_none_of_the_demos_fictional_restricted_records(client, demo):
    for code in LANGUAGES:
        pages = crawl(in_language(client, code), "/", "/search/?q=Aigul", "/search/?q=Сәуле")
        assert f"/cases/{demo.reference}/" in pages
        for address, response in pages.items():
            for value in test_api_leaks.DEMO_SECRETS:
                assert value not in text_of(response), (code, address, value)


# --- the leak crawl --------------------------------------------------------------------------


def planted_names(world):
    """Every spelling of every person who must stay hidden (each holds a sentinel)."""
    shown = [world.person.pk, world.other.person_id]
    return list(
        PersonName.objects.exclude(person__in=shown)
        .filter(name__contains="zqleak")
        .values_list("name", flat=True)
    )


def leaks(responses, secret, echoed=""):
    """The sentinels in ``responses``, but those the request itself carried (a search term is
    repeated in the search box and the language links)."""
    asked = set(secret.found_in(echoed))
    return [
        (address, label)
        for address, response in responses.items()
        for label in secret.found_in(response.content.decode() + str(response.headers))
        if label not in asked
    ]


@pytest.mark.parametrize("code", LANGUAGES)
def test_no_restricted_value_reaches_any_page_of_the_site(client, world, secret, code):
    pages = crawl(in_language(client, code), "/", "/search/?q=Kanat", "/search/?q=Aynur")
    assert f"/cases/{world.case.reference}/" in pages
    assert f"/cases/{world.other.reference}/" in pages
    assert f"/people/{world.person.uid}/" in pages
    assert {r.status_code for r in pages.values()} == {200}
    assert leaks(pages, secret) == []


@pytest.mark.parametrize("code", LANGUAGES)
def test_searching_for_a_hidden_persons_name_finds_nothing_and_shows_nothing(
    client, world, secret, code
):
    names = planted_names(world)
    assert len(names) > 20
    for name in names:
        response = in_language(client, code).get("/search/", {"q": name})
        assert response.context["found"] == [], secret.found_in(name)
        assert leaks({name: response}, secret, echoed=name) == []


def test_every_hidden_case_and_person_is_not_found_and_shows_nothing(client, world, secret):
    hidden = list(world.hidden.values())
    asked = {
        f"/cases/{h.case.reference}/": client.get(f"/cases/{h.case.reference}/") for h in hidden
    }
    for person in [*(h.person for h in hidden), world.testifier, world.relative]:
        if person != world.person:
            asked[f"/people/{person.uid}/"] = client.get(f"/people/{person.uid}/")
    assert {address: r.status_code for address, r in asked.items()} == dict.fromkeys(asked, 404)
    assert leaks(asked, secret) == []


def test_a_withdrawn_case_shows_its_reference_alone(client, world, secret):
    response = client.get(f"/cases/{world.withdrawn.case.reference}/")
    assert response.status_code == 410
    assert leaks({"withdrawn": response}, secret) == []


def test_the_crawl_sees_a_restricted_value_put_in_a_public_field(client, world, secret):
    planted = secret("planted in a public summary")
    set_case(world.case, public_summary=f"Detained. {planted}")
    pages = crawl(client, "/")
    assert leaks(pages, secret) == [
        (f"/cases/{world.case.reference}/", "planted in a public summary")
    ]


def test_a_published_persons_page_lists_only_the_published_case(client, world):
    response = client.get(f"/people/{world.person.uid}/")
    assert references_on(response) == [world.case.reference]


# --- withdrawn and unknown cases ---------------------------------------------------------------


def test_a_case_withdrawn_from_publication_is_gone_with_the_date(client, data_entry, verifier):
    case = published(data_entry, verifier)
    services.unpublish(case, verifier, "The family asked us to.")
    PublicationRecord.objects.filter(case=case).update(
        withdrawn_at=datetime.datetime(2025, 3, 14, 12, tzinfo=datetime.UTC)
    )
    response = client.get(f"/cases/{case.reference}/")
    assert response.status_code == 410
    assert "withdrawn from publication on March 14, 2025" in text_of(response)
    assert case.person.display_name not in text_of(response)


def test_a_gone_page_may_be_kept_like_any_other(client, settings, data_entry, verifier):
    settings.PUBLIC_SITE_CACHE_SECONDS = 90
    case = published(data_entry, verifier)
    services.unpublish(case, verifier, "Published by mistake.")
    assert directives(client.get(f"/cases/{case.reference}/")) == PUBLIC_FOR(90)


def test_a_reference_never_used_is_not_found(client, db):
    assert client.get("/cases/XJ-2099-99999/").status_code == 404


def test_a_draft_cases_reference_is_not_found_rather_than_gone(client, data_entry):
    case = make_case(created_by=data_entry)
    assert client.get(f"/cases/{case.reference}/").status_code == 404


def test_a_verified_case_never_published_is_not_found(client, data_entry, verifier):
    case = verified(data_entry, verifier)
    assert client.get(f"/cases/{case.reference}/").status_code == 404


# --- merged people ---------------------------------------------------------------------------


def published_person(name):
    person = person_named(name, consent=Consent.GRANTED)
    publish(make_case(person))
    return person


def merged_and_republished(survivor, absorbed, verifier):
    merge_people(survivor, absorbed, user=verifier)
    for case in survivor.cases.all():  # back in review after the merge: verified again
        publish(case)


@pytest.mark.parametrize("absorbed_was_published", [True, False])
def test_a_merged_away_person_is_redirected_for_good_to_the_survivor(
    client, verifier, absorbed_was_published
):
    kanat = published_person("Kanat Yerezhep")
    qanat = (published_person if absorbed_was_published else person_named)("Qanat Erejep")
    merged_and_republished(kanat, qanat, verifier)
    response = client.get(f"/people/{qanat.uid}/")
    assert response.status_code == 301
    assert response["Location"] == f"/people/{kanat.uid}/"
    assert client.get(response["Location"]).status_code == 200


def test_a_merged_away_person_whose_survivor_is_unpublished_is_not_found_like_the_api(
    client, verifier
):
    # As GET /api/v1/people/<uid>/ (tests/test_merge.py): a 301 would name the uid of a person
    # no published case shows.
    kanat = person_named("Kanat Yerezhep", consent=Consent.GRANTED)
    qanat = published_person("Qanat Erejep")
    merge_people(kanat, qanat, user=verifier)  # the case goes back to review
    response = client.get(f"/people/{qanat.uid}/")
    assert response.status_code == 404
    assert str(kanat.uid) not in response.get("Location", "")


# --- caching, methods, robots ----------------------------------------------------------------


@pytest.fixture
def case_page(data_entry, verifier):
    return f"/cases/{published(data_entry, verifier).reference}/"


@pytest.mark.parametrize("address", ["/", "/search/?q=Person", "/robots.txt"])
def test_a_page_may_be_kept_by_anyone_for_the_time_set(client, settings, address):
    settings.PUBLIC_SITE_CACHE_SECONDS = 123
    assert directives(client.get(address)) == PUBLIC_FOR(123)


def test_a_case_page_may_be_kept_for_the_time_set(client, settings, case_page):
    settings.PUBLIC_SITE_CACHE_SECONDS = 60
    assert directives(client.get(case_page)) == PUBLIC_FOR(60)


def test_a_second_visit_with_the_etag_is_not_modified(client, case_page):
    first = client.get(case_page)
    assert first["ETag"]
    again = client.get(case_page, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""


def test_a_not_modified_answer_says_how_long_the_page_may_still_be_kept(
    client, settings, case_page
):
    # RFC 9110 15.4.5: a 304 carries the Cache-Control a 200 would have had.
    settings.PUBLIC_SITE_CACHE_SECONDS = 60
    etag = client.get(case_page)["ETag"]
    again = client.get(case_page, HTTP_IF_NONE_MATCH=etag)
    assert directives(again) == PUBLIC_FOR(60)


def test_the_etag_of_another_languages_page_is_not_taken_for_this_one(client, case_page):
    first = client.get(case_page, HTTP_ACCEPT_LANGUAGE="en")
    other = client.get(case_page, HTTP_ACCEPT_LANGUAGE="ru", HTTP_IF_NONE_MATCH=first["ETag"])
    assert other.status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_a_page_refuses_anything_but_reading(client, case_page, method):
    assert getattr(client, method)(case_page).status_code == 405
    assert getattr(client, method)("/").status_code == 405


def test_a_page_answers_a_head_request(client, case_page):
    assert client.head(case_page).status_code == 200


def test_a_page_carries_the_projects_content_security_policy(client, case_page):
    policy = client.get(case_page)["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy


def test_with_noindex_every_page_asks_search_engines_to_stay_away(client, settings, case_page):
    settings.PUBLIC_SITE_NOINDEX = True
    for address in ["/", case_page, "/search/?q=x", "/robots.txt"]:
        assert client.get(address)["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in text_of(client.get(case_page))
    assert client.get("/robots.txt").content.decode() == "User-agent: *\nDisallow: /\n"


def test_without_noindex_pages_may_be_indexed_but_not_the_admin_or_api(client, settings, case_page):
    settings.PUBLIC_SITE_NOINDEX = False
    response = client.get(case_page)
    assert "X-Robots-Tag" not in response
    assert 'name="robots"' not in text_of(response)
    robots = client.get("/robots.txt").content.decode()
    assert robots == "User-agent: *\nDisallow: /admin/\nDisallow: /api/\n"


# --- the home page ---------------------------------------------------------------------------


def published_cases(count):
    return [publish(make_case(person_named(f"Aynur Tursun {i}"))) for i in range(count)]


@pytest.mark.usefixtures("counts_kept")
def test_the_home_page_hides_a_total_below_the_minimum_cell(client, settings):
    settings.STATISTICS_MIN_CELL = 3
    published_cases(2)
    page = text_of(client.get("/"))
    assert 'class="total"' not in page
    assert "2 published cases" not in page


@pytest.mark.usefixtures("counts_kept")
def test_the_home_page_shows_a_total_at_the_minimum_cell(client, settings):
    settings.STATISTICS_MIN_CELL = 3
    published_cases(3)
    assert "3 published cases." in text_of(client.get("/"))


def test_the_home_page_lists_only_published_cases(client, data_entry, verifier):
    shown = published(data_entry, verifier)
    unpublished = verified(data_entry, verifier)
    reviewed = in_review(data_entry)
    assert references_on(client.get("/")) == [shown.reference]
    page = text_of(client.get("/"))
    assert unpublished.person.display_name not in page
    assert reviewed.person.display_name not in page


# --- search pages ----------------------------------------------------------------------------


def search_all(client, term) -> tuple[list[str], int]:
    """The references found by following "More results" to the end, and the pages read."""
    found, address, pages = [], f"/search/?q={term}", 0
    while address:
        response = client.get(address)
        assert response.status_code == 200
        found += references_on(response)
        address, pages = more_results(response), pages + 1
    return found, pages


def test_more_results_lead_through_every_match_once(client, monkeypatch):
    monkeypatch.setattr("website.pages.PAGE_SIZE", 2)
    cases = published_cases(5)
    found, pages = search_all(client, "Aynur")
    assert pages == 3
    assert sorted(found) == sorted(c.reference for c in cases)


def test_matches_changed_at_the_same_moment_are_each_listed_once(client, monkeypatch):
    monkeypatch.setattr("website.pages.PAGE_SIZE", 2)
    cases = published_cases(5)
    PublishedCase.objects.update(updated_at=datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC))
    found, pages = search_all(client, "Aynur")
    assert pages == 3
    assert sorted(found) == sorted(c.reference for c in cases)


@pytest.mark.parametrize(
    "after",
    [
        "!!!",
        "not-a-cursor",
        base64.urlsafe_b64encode(b"x|y").decode(),
        base64.urlsafe_b64encode(b"2024-02-30T00:00:00+00:00|1").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
        base64.urlsafe_b64encode(b"2024-01-01T00:00:00|1").decode(),  # no time zone
    ],
)
def test_a_malformed_cursor_is_ignored(client, after):
    published_cases(1)
    response = client.get("/search/", {"q": "Aynur", "after": after})
    assert response.status_code == 200


def test_a_cursor_past_the_largest_key_does_not_crash(client):
    published_cases(1)
    cursor = base64.urlsafe_b64encode(b"2030-01-01T00:00:00+00:00|" + b"9" * 30).decode()
    assert client.get("/search/", {"q": "Aynur", "after": cursor}).status_code == 200


# --- the language link -----------------------------------------------------------------------


def test_the_language_link_remembers_the_choice_and_goes_back(client, db):
    response = client.get("/language/kk/", {"next": "/search/?q=Kanat"})
    assert response.status_code == 302
    assert response["Location"] == "/search/?q=Kanat"
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "kk"
    assert client.get("/")["Content-Language"] == "kk"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", ""])
def test_the_language_link_never_sends_the_reader_off_site(client, db, target):
    response = client.get("/language/ru/", {"next": target})
    assert response["Location"] == reverse("website:home")


def test_an_unknown_language_is_not_found(client, db):
    assert client.get("/language/xx/", {"next": "/"}).status_code == 404


# --- what the review of the first version found ---------------------------------------------


def test_a_name_added_during_a_correction_does_not_find_the_case(client, data_entry, verifier):
    case = published(data_entry, verifier)
    # Staff add a name from a confidential source: the case goes back to review and partners
    # (and the site) keep its last verified version, which does not have that name.
    PersonName.objects.create(
        person=case.person, name="Zhaksylyk Omarbekuly", script="Latn", language="kk"
    )
    assert PublishedCase.objects.get(case=case).held_since is not None
    response = client.get("/search/", {"q": "Zhaksylyk Omarbekuly"})
    assert references_on(response) == []
    assert client.get(f"/cases/{case.reference}/").status_code == 200


def test_a_signed_in_visitor_gets_pages_no_shared_cache_keeps(client, data_entry, case_page):
    client.force_login(data_entry)
    assert directives(client.get(case_page)) == {"private", "no-store"}


def test_a_reference_in_lower_case_is_sent_to_its_one_address(client, case_page):
    response = client.get(case_page.lower())
    assert response.status_code == 301
    assert response["Location"] == case_page


@pytest.mark.parametrize("address", ["/cases/%00/", "/cases/not-a-reference/"])
def test_an_address_that_is_no_reference_is_not_found(client, address):
    assert client.get(address).status_code == 404


@pytest.mark.parametrize("term", ["\x00", "-", " , ", "Kan\x00at"])
def test_a_search_for_nothing_or_a_nul_lists_nothing(client, data_entry, verifier, term):
    published(data_entry, verifier)
    response = client.get("/search/", {"q": term})
    assert response.status_code == 200
    assert references_on(response) == []


def test_the_search_cursor_carries_the_reference_not_the_internal_key(client, monkeypatch):
    monkeypatch.setattr("website.pages.PAGE_SIZE", 1)
    people = [published_person("Aigerim Testova"), published_person("Aigerim Testova")]
    following = more_results(client.get("/search/", {"q": "Aigerim"}))
    cursor = re.search(r"after=([^&\"]+)", following)[1]
    decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    references = {case.reference for person in people for case in person.cases.all()}
    assert decoded.split("|")[1] in references


@pytest.mark.parametrize(("term", "name"), [("王", "Yuan Bekov"), ("艾", "Erlan Bekov")])
def test_a_short_romanisation_does_not_find_everyone_who_starts_with_it(client, term, name):
    published_person(name)
    assert references_on(client.get("/search/", {"q": term})) == []
