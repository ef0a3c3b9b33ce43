"""The translation catalogues are complete and sound: every entry of the project's catalogue
(and of the supplements in languages/django_gaps/) is translated, none is fuzzy, every
translation keeps its placeholders, and each compiled .mo holds exactly what its .po says."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

LANGUAGES = ["kk", "ru", "zh_Hans"]
PLURAL_FORMS = {"kk": 2, "ru": 4, "zh_Hans": 1}
CATALOGUES = [
    Path(root) / language / "LC_MESSAGES" / "django.po"
    for root in settings.LOCALE_PATHS
    for language in LANGUAGES
]
# %(name)s, %s, %d, {name}, %% — what a translation must carry over unchanged.
PLACEHOLDER = re.compile(r"%\([^)]+\)[sdfr]|%[sdfr]|%%|\{[A-Za-z_0-9]*\}")


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


def catalogue_id(path: Path) -> str:
    return str(path.relative_to(settings.BASE_DIR))


@pytest.fixture(params=CATALOGUES, ids=catalogue_id)
def catalogue(request):
    path = request.param
    assert path.exists(), f"{catalogue_id(path)} is missing: run `make messages`"
    return path, polib.pofile(str(path))


def test_the_project_catalogue_exists_for_every_language():
    for language in LANGUAGES:
        assert (settings.BASE_DIR / "locale" / language / "LC_MESSAGES" / "django.po").exists()


def test_every_entry_is_translated_and_none_is_fuzzy(catalogue):
    path, po = catalogue
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    assert not untranslated, f"{catalogue_id(path)}: untranslated: {untranslated[:20]}"
    assert not fuzzy, f"{catalogue_id(path)}: fuzzy: {fuzzy[:20]}"


def test_every_translation_keeps_its_placeholders(catalogue):
    path, po = catalogue
    language = path.parent.parent.name
    wrong = []
    for entry in po:
        if entry.msgid_plural:
            assert len(entry.msgstr_plural) == PLURAL_FORMS[language], entry.msgid
            for form, text in entry.msgstr_plural.items():
                allowed = [placeholders(entry.msgid_plural)]
                if form == 0 and PLURAL_FORMS[language] == 2:
                    # Kazakh's first form is n == 1 alone: it may say it as the English does.
                    allowed.append(placeholders(entry.msgid))
                if placeholders(text) not in allowed:
                    wrong.append((entry.msgid_plural, form, text))
        elif placeholders(entry.msgstr) != placeholders(entry.msgid):
            wrong.append((entry.msgid, entry.msgstr))
    assert not wrong, f"{catalogue_id(path)}: placeholders differ: {wrong[:10]}"


def test_the_compiled_catalogue_matches_its_source(catalogue):
    path, po = catalogue
    mo_path = path.with_suffix(".mo")
    assert mo_path.exists(), f"{catalogue_id(mo_path)} is missing: run `make messages`"
    compiled = {(entry.msgctxt, entry.msgid): entry for entry in polib.mofile(str(mo_path))}
    for entry in po.translated_entries():
        got = compiled.get((entry.msgctxt, entry.msgid))
        assert got is not None, f"{catalogue_id(mo_path)} lacks {entry.msgid!r}"
        if entry.msgid_plural:
            assert got.msgstr_plural == entry.msgstr_plural, entry.msgid
        else:
            assert got.msgstr == entry.msgstr, entry.msgid


def test_a_lost_placeholder_is_caught():
    # The check above can fail: a translation that drops %(reference)s is found.
    assert placeholders("Case %(reference)s was verified.") != placeholders("Іс тексерілді.")
    assert placeholders("%(count)d cases, %(percent)s%%") == placeholders("%(percent)s%% %(count)d")
