"""An export's language: the data dictionary and the XLSX headings and dictionary sheet in
the language asked for (command --language, the admin form, the API's language parameter or
Accept-Language), recorded in the manifest; CSV and JSON keep their English column codes."""

import io
import json
import zipfile

import pytest
from django.core.management import CommandError
from django.utils import translation

from exports.tables import tables
from tests import partner_api
from tests.exports import csv_rows, export, files_of, xlsx_sheets
from tests.factories import make_case, make_event, person_named, publish
from tests.jobs import export_from_admin
from tests.partner_api import API, token_header

pytestmark = pytest.mark.django_db

# The API test environment (tests/partner_api.py).
api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

EXPORT_PAGE = "/admin/cases/case/export/"
EXPORT_URL = API + "exports/cases.zip"
UNKNOWN = "Unknown language fr: choose from en, kk, ru, zh-hans"


@pytest.fixture
def published_case():
    case = make_case(person_named("Kanat Yerezhep", "Қанат Ережеп"), public_summary="Held.")
    make_event(case, date="2019/2023")
    return publish(case)


def in_language(language, text):
    with translation.override(language):
        return translation.gettext(text)


def headings(language):
    with translation.override(language):
        return {table.sheet: table.headings() for table in tables()}


def manifest(files):
    return json.loads(files["manifest.json"])


def unzip(response):
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("language", ["en", "kk", "ru", "zh-hans"])
def test_the_command_writes_the_dictionary_and_headings_in_the_language(
    tmp_path, published_case, language
):
    files = files_of(export(tmp_path, "bundle", "--language", language))
    assert manifest(files)["language"] == language
    dictionary = files["DATA-DICTIONARY.md"].decode()
    title = in_language(language, "casetracker case export: data dictionary")
    assert dictionary.startswith(f"# {title}\n")
    sheets = xlsx_sheets(files["cases.xlsx"], headings=True)
    for sheet, expected in headings(language).items():
        assert sheets[sheet][0] == expected, sheet
    # The stable codes, whatever the language.
    for table in tables():
        assert csv_rows(files[table.filename])[0] == table.header()
    assert json.loads(files["cases.json"])[0]["reference"] == published_case.reference


def test_headings_are_the_field_names_people_see_in_the_admin(tmp_path, published_case):
    files = files_of(export(tmp_path, "bundle", "--language", "en"))
    cases = xlsx_sheets(files["cases.xlsx"], headings=True)["Cases"][0]
    assert cases[:2] == ["Reference", "Public ID"]
    assert "Current situation" in cases and "Date of birth" in cases
    events = xlsx_sheets(files["cases.xlsx"], headings=True)["Events"][0]
    assert "Place where it happened: name in Russian" in events


def test_the_same_export_in_two_languages_differs_only_in_words_for_people(
    tmp_path, published_case
):
    english = files_of(export(tmp_path, "en", "--language", "en"))
    kazakh = files_of(export(tmp_path, "kk", "--language", "kk"))
    for name in ("cases.csv", "events.csv", "names.csv", "sources.csv", "cases.json"):
        assert english[name] == kazakh[name], name


def test_the_command_refuses_an_unknown_language(tmp_path, published_case):
    # A command speaks the site's language (English), as manage.py starts in it.
    with translation.override("en"), pytest.raises(CommandError, match=UNKNOWN):
        export(tmp_path, "bundle", "--language", "fr")
    assert not (tmp_path / "bundle").exists()


def test_the_admin_export_defaults_to_the_readers_language(client, data_entry, published_case):
    client.force_login(data_entry)
    page = client.get(EXPORT_PAGE, HTTP_ACCEPT_LANGUAGE="ru")
    assert page.context["form"]["language"].initial == "ru"
    response = export_from_admin(
        client, {"scope": "all", "formats": ["csv", "xlsx"]}, HTTP_ACCEPT_LANGUAGE="ru"
    )
    assert manifest(unzip(response))["language"] == "ru"


def test_the_admin_export_takes_the_language_chosen(client, data_entry, published_case):
    client.force_login(data_entry)
    response = export_from_admin(
        client,
        {"scope": "all", "formats": ["xlsx"], "language": "zh-hans"},
        HTTP_ACCEPT_LANGUAGE="ru",
    )
    files = unzip(response)
    assert manifest(files)["language"] == "zh-hans"
    sheets = xlsx_sheets(files["cases.xlsx"], headings=True)
    assert sheets["Cases"][0] == headings("zh-hans")["Cases"]


def test_the_admin_export_refuses_a_language_it_does_not_offer(client, data_entry, published_case):
    client.force_login(data_entry)
    response = client.post(EXPORT_PAGE, {"scope": "all", "formats": ["csv"], "language": "fr"})
    assert response.status_code == 200  # the form again, saying why
    assert response.context["form"].errors["language"]


def test_a_partner_asks_for_a_language(client, key, published_case):
    response = client.get(EXPORT_URL, {"language": "kk"}, **token_header(key))
    assert response.status_code == 200
    assert manifest(unzip(response))["language"] == "kk"


def test_a_partner_gets_the_accept_language_by_default(client, key, published_case):
    response = client.get(EXPORT_URL, HTTP_ACCEPT_LANGUAGE="ru", **token_header(key))
    assert manifest(unzip(response))["language"] == "ru"
    response = client.get(EXPORT_URL, **token_header(key))
    assert manifest(unzip(response))["language"] == "en"


def test_a_partner_asking_for_an_unknown_language_is_told_which_exist(client, key, published_case):
    response = client.get(EXPORT_URL, {"language": "fr"}, **token_header(key))
    assert response.status_code == 400
    [message] = response.json()["language"]
    assert "en, kk, ru, zh-hans" in message


# --- the partner API's messages ------------------------------------------------------------


@pytest.mark.parametrize("language", ["kk", "ru", "zh-hans"])
def test_api_error_messages_follow_accept_language_and_field_names_do_not(client, key, language):
    response = client.get(
        API + "cases/", {"colour": "red"}, HTTP_ACCEPT_LANGUAGE=language, **token_header(key)
    )
    assert response.status_code == 400
    [message] = response.json()["colour"]  # the parameter's name stays as sent
    with translation.override(language):
        expected = translation.gettext("Unknown parameter. Accepted: %(names)s.")
    assert expected != "Unknown parameter. Accepted: %(names)s."  # the catalogue has it
    assert message.startswith(expected.split("%(names)s")[0])
    assert "cursor" in message  # parameter names are never translated
