"""One token of a name: its phonetic form, the patronymic or surname ending it had, its
consonant skeleton, and the Arabic-origin name it is a form of."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from people.names.alphabets import CYRILLIC, UYGHUR_ONLY, arabic, latin
from people.names.chinese import hanzi, is_hanzi

# --- phonetic form, endings, skeleton --------------------------------------------------------

# Patronymic and surname endings in phonetic form, longest first, with the sex they imply.
# -ulı/-uly/-ұлы are "uli"; -kyzy/-қызы/-qyzy "kizi"; Kyrgyz uulu "uulu".
_SUFFIXES = (
    ("oviC", "m"),  # -ovich; C is ch
    ("eviC", "m"),
    ("ovna", "f"),
    ("evna", "f"),
    ("kizi", "f"),
    ("uulu", "m"),
    ("uli", "m"),
    ("ulu", "m"),
    ("ova", "f"),
    ("eva", "f"),
    ("ov", "m"),
    ("ev", "m"),
)
# Endings written as their own word: Kazakh "Nurlan uly", Kyrgyz "Toktogul uulu" / "kyzy",
# Uyghur and Uzbek "Tursun oghli" / "o'g'li" / "qizi" (ئوغلى, قىزى), Turkish "oğlu".
SUFFIX_WORDS = {"uli": "m", "ulu": "m", "kizi": "f", "ogli": "m", "oglu": "m", "ugli": "m"}
_MIN_STEM = 3

_DOUBLES = re.compile(r"(.)\1+")
_SKELETON = str.maketrans(
    {
        "a": None,
        "e": None,
        "i": None,
        "o": None,
        "u": None,
        "v": None,  # в/у/w interchange across scripts: a semivowel here
        "b": "P",
        "p": "P",
        "f": "P",
        "d": "T",
        "t": "T",
        "k": "K",
        "g": "K",
        "h": "K",
        "s": "S",
        "z": "S",
        "S": "S",
        "C": "S",
        "j": "J",
        "l": "L",
        "r": "L",
        "m": "M",
        "n": "N",
    }
)


def phonetic(token: str, syllables: bool = False) -> tuple[str, bool]:
    """The phonetic form of one token and whether it was written in Chinese characters.
    ``syllables``: the name's apostrophes are Uyghur Latin syllable marks (alphabets.latin)."""
    if any(is_hanzi(c) for c in token):
        return hanzi(token), True
    uyghur = any(c in UYGHUR_ONLY for c in token)
    out = []
    latin_run = []
    for char in token:
        if "\u0400" <= char <= "\u052f":
            value = CYRILLIC.get(char, "")
        elif "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f":
            value = arabic(char, uyghur)
        else:
            latin_run.append(char)
            continue
        if latin_run:
            out.append(latin("".join(latin_run), syllables))
            latin_run = []
        out.append(value)
    if latin_run:
        out.append(latin("".join(latin_run), syllables))
    # Russian дж and Arabic-script د+ج are one sound, j, as Latin dzh and dj are.
    return "".join(out).replace("dj", "j"), False


def collapse(form: str) -> str:
    # Most forms have no doubled letter: searching first is several times faster.
    return _DOUBLES.sub(_first_group, form) if _DOUBLES.search(form) else form


def _first_group(match: re.Match) -> str:
    return match.group(1)


def strip_suffix(form: str) -> tuple[str, str]:
    """``form`` without a patronymic or surname ending, and the sex the ending implies.

    Done before doubled letters are collapsed, so that Ömirbekqyzy keeps its k.
    """
    for suffix, sex in _SUFFIXES:
        if form.endswith(suffix) and len(form) - len(suffix) >= _MIN_STEM:
            return form[: -len(suffix)], sex
    return form, ""


def _skeleton(form: str) -> str:
    return collapse(form.translate(_SKELETON))


@dataclass(frozen=True, slots=True)
class Token:
    form: str  # phonetic form
    skel: str  # consonant-class skeleton
    soft: str  # skeleton without h, which Chinese transcription often drops (Rahile: 热依拉)
    key: str  # skeleton without the k/q/g/h class at all, for blocking keys
    chars: tuple[str, ...]  # readings of the Chinese characters of a token written in them
    suffixed: bool  # had a patronymic or surname ending: the father's or family name
    group: int  # index in NAME_VARIANTS of the name this is a form of, or -1
    transcribed: bool = False  # read from the pinyin of a Chinese transcription (pinyin.py)
    initial: bool = False  # one letter standing for a name (K. Yerezhep, Тохти А.)


def make_token(
    form: str,
    chars: tuple[str, ...] = (),
    suffixed: bool = False,
    transcribed: bool = False,
    initial: bool = False,
) -> Token:
    skel = _skeleton(form)
    soft = _skeleton(form.replace("h", "")) if "h" in form else skel
    # Kh, h, q, k and g trade places most across spellings (Bakhyt / Baqyt / 巴合提); blocking
    # keys leave them out.
    key = collapse(skel.replace("K", ""))
    group = variant_group().get(form, -1)
    return Token(form, skel, soft, key, chars, suffixed, group, transcribed, initial)


# An initial's class: the consonant class of a name's first letter (K. for Kanat, Qanat or
# Ğalym); e and i one class (Ye. / E. / I. / Y. for Yerezhep, Erezhep), a, o, u each its own.
_INITIAL_VOWELS = {"a": "A", "e": "E", "i": "E", "o": "O", "u": "U"}


def initial_class(token: Token) -> str:
    first = token.form[:1]
    return _INITIAL_VOWELS.get(first) or _skeleton(first) or "_"


def initial_stands_for(initial: Token, name: Token) -> bool:
    """Whether the one letter ``initial`` could be the start of the name ``name``."""
    return initial_class(initial) == initial_class(name)


# Names of Arabic origin take different forms in Kazakh, Uyghur, Russian and Arabic usage, more
# different than spelling alone explains (Mamat / Memet / Mukhamet / Muhammad; Zhusip / Yusup).
# A person recorded under one form is often recorded under another.
NAME_VARIANTS = (
    "Muhammad Muhammed Mukhammed Mukhamed Mukhamet Muhamet Muhammet Magomed Mahmet Makhmet "
    "Mamet Memet Mamat Mehmet",
    "Ahmad Ahmed Akhmed Akhmet Ahmet Ehmet Ehmed Akhmad Ahmat",
    "Abdurahim Abdurakhim Abdurehim Abdrakhim Abdirahim Abdirakhim Abdyrakhym",
    "Abdulla Abdullah Abdilla Abdolla",
    "Yusuf Yusup Zhusip Zhusup Yusip",
    "Yakub Yakup Zhakyp Zhakip Yakip",
    "Ibrahim Ibragim Ibrayim Ibraim Ybyrai Ibirayim Ebrahim",
    "Ismail Ismayil Smail Ysmaiyl Ismoil",
    "Husain Hussein Huseyin Kusain Kusaiyn Husayn",
    "Hasan Khasan Asan Hesen",
    "Akbar Ekber Akber Ekbar",
    "Omar Umar Omer Umer",
    "Fatima Fatime Patima Patime Fatma Patma",
    "Aisha Aishe Gaisha Ayesha",
    "Zeynep Zainab Zaynab Zeinab",
    "Mariam Maryam Meryem Meriem Mariyam",
    "Abdukadir Abdikadir Abdulkadir Abdukeder",
    "Kurban Kurbon Gurban",
    "Yunus Zhunus Yunis",
    "Ali Eli",
    "Rahile Rahila Rahela",
    "Tursun Tursyn",
)
VARIANT_SIMILARITY = 0.95


@lru_cache(maxsize=1)
def variant_group() -> dict[str, int]:
    """Phonetic form → index of its name in NAME_VARIANTS (built on first use)."""
    groups = {}
    for index, spellings in enumerate(NAME_VARIANTS):
        for spelling in spellings.split():
            form = phonetic(spelling.casefold())[0]
            if form.startswith("ie"):
                form = form[1:]
            groups[collapse(form)] = index
    return groups


def join(a: Token, b: Token) -> Token:
    # An initial is never written together with a name.
    return make_token(collapse(a.form + b.form), a.chars + b.chars, a.suffixed or b.suffixed)
