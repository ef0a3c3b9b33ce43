"""Text helpers for names written in several scripts."""

import re
import unicodedata

# ISO 15924 codes of the scripts the project records names in.
SCRIPT_PREFIXES = (
    ("CYRILLIC", "Cyrl"),
    ("ARABIC", "Arab"),
    ("CJK", "Hani"),
    ("LATIN", "Latn"),
)

_SEPARATORS = re.compile(r"[\s·•・\-‐‑–—_.,'’ʼ`]+")


def detect_script(text: str) -> str:
    """The ISO 15924 code of the script most letters of ``text`` are written in ('' if none).

    Chinese characters give 'Hani'; callers pick 'Hans' or 'Hant' from there.
    """
    counts: dict[str, int] = {}
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        for prefix, code in SCRIPT_PREFIXES:
            if name.startswith(prefix):
                counts[code] = counts.get(code, 0) + 1
                break
    return max(counts, key=counts.get) if counts else ""


def fold(text: str) -> str:
    """A search form of a name: Unicode-normalised, case-folded, separators made single spaces.

    "Қанат·Ережеп" and "қанат ережеп" fold alike. SQLite compares only ASCII case-insensitively,
    so searches compare folded text with folded text.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    # Tatweel (Arabic-script elongation) carries no meaning.
    text = text.replace("\u0640", "")
    return _SEPARATORS.sub(" ", text).strip()
