"""Finding English left in a translated page: the words a person reads (text, button values,
titles, placeholders, labels), less the data they show, which is never translated."""

import re
from html.parser import HTMLParser

from django.apps import apps
from django.db import models

WORD = re.compile(r"\b[A-Za-z]{3,}\b")

# Names and abbreviations that every language writes this way.
NOT_TRANSLATED = {
    "casetracker",
    "EDTF",
    "API",
    "CSV",
    "XLSX",
    "JSON",
    "JSONL",
    "PDF",
    "URL",
    "URLs",
    "SHA",
    "TOTP",
    "UUID",
    "UTC",
    "OpenAPI",
    "Swagger",
    "HTTP",
    "HTTPS",
    # An address written out as text (the public website's "Cite this record").
    "http",
    "https",
    "ZIP",
    "ISO",
    "GPS",
    "XUAR",
    "Atajurt",
    "UN",
    "WGAD",
    # UN submissions: the Working Group's category numbers, a UN reference's country code,
    # the UN human rights office, and the file format of the drafts.
    "III",
    "CHN",
    "OHCHR",
    "DOCX",
    "Word",
    "NGO",
    # The switcher names each language in itself.
    "English",
    # django-axes, the sign-in lockout: its name, shown beside its permissions.
    "Axes",
    # Product names that Django's own Russian and Chinese catalogues leave in English.
    "Control",
    "Command",
    "Mac",
    "Single",
    "Sing",
    "LDAP",
    # Names the project's examples and help give as they are written (an example value the
    # import must read as it is, a grading scheme's name, publishers' abbreviations).
    "Admiralty",
    "RFA",
    "XJTV",
    "Treason",
    "Art",
    "Kanat",
    "Yerezhep",
    "Qanat",
    "Erejep",
    "JSON Lines",
    "Lines",
    "uid",
    "zip",
    "Manifest",
    "UTF",
    "Zip",
    "Sign",
}
# Django's own admin icons carry English alt text that Django does not translate (the search
# magnifier, the yes/no/unknown of boolean columns): Django's part, not the project's.
DJANGO_ICONS = ("/static/admin/img/",)
# File names, commands and dotted code names (manage.py, manifest.json, people.matching,
# web.archive.org) are not words either.
CODE = re.compile(r"[\w-]+(?:[./][\w-]+)+")
# Record identifiers are not words.
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
# Attributes a person reads.
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "textarea", "code", "pre"):
            self._skip += 1
        icon = tag == "img" and (attrs.get("src") or "").startswith(DJANGO_ICONS)
        for name in READ_ATTRIBUTES & attrs.keys():
            if not (icon and name == "alt"):
                self.parts.append(attrs[name] or "")
        if tag == "input" and attrs.get("type") in ("submit", "button", "reset"):
            self.parts.append(attrs.get("value") or "")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "textarea", "code", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(part.strip() for part in parser.parts if part.strip())


def data_words() -> set[str]:
    """Every word stored in the database's text columns (names, titles, summaries, places,
    usernames, file names...): a page may show any of them in any language."""
    words = set()
    for model in apps.get_models():
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, (models.CharField, models.TextField, models.FileField))
        ]
        if not fields:
            continue
        for row in model._base_manager.all().iterator():
            for name in fields:
                value = getattr(row, name, None)
                if value:
                    words.update(WORD.findall(str(value)))
    return words


def english_left(html: str, allowed: set[str]) -> list[str]:
    """The lines of the page's readable text holding a word that is neither data nor a name
    every language writes alike: English that the translation missed."""
    found = []
    for line in visible_text(html).splitlines():
        line = CODE.sub("", UUID.sub("", line))
        stray = [w for w in WORD.findall(line) if w not in allowed and w not in NOT_TRANSLATED]
        if stray:
            found.append(line)
    return found
