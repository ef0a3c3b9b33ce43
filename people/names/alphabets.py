"""The alphabets a name is written in, read into one phonetic alphabet: tokenising, Latin
(every Kazakh, Uyghur and Russian-passport romanisation), Cyrillic and Arabic script."""

from __future__ import annotations

import re
import unicodedata

# --- tokenising ------------------------------------------------------------------------------

# Apostrophes are not separators: the 2017 Kazakh Latin alphabet writes ш as s', ң as n'.
SPLIT = re.compile(r"[\s·•・‧∙⋅\u0387\-‐‑–—_.,،;:/()\[\]{}\"“”«»=]+")
APOSTROPHES = "'’ʼʻ‘`´"


def normalise(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold()
    text = text.replace("\u0640", "")  # Arabic tatweel
    text = text.replace("i\u0307", "i")  # casefolded Turkish/Kazakh İ
    return text


def split_tokens(name: str) -> list[str]:
    text = normalise(name)
    for apostrophe in APOSTROPHES:
        text = text.replace(apostrophe, "'")
    return [t for t in SPLIT.split(text) if t.strip("'")]


# --- Latin -----------------------------------------------------------------------------------

# Digraphs first, in one left-to-right pass so that "Askhat" (s + kh) is not read as "sh".
_LATIN_DIGRAPHS = re.compile(
    r"tsch|dsch|sch|dzh|dj|kh|zh|sh|ch|gh|s'|c'|g'|n'|ng(?![aeiouyäöüıəāūī])"
)
_LATIN_DIGRAPH_VALUES = {
    "tsch": "C",  # German-style transliteration (Dschumabek, Schamil)
    "dsch": "j",
    "sch": "S",
    "dzh": "j",
    "dj": "j",
    "kh": "h",
    "zh": "j",
    "sh": "S",
    "ch": "C",
    "gh": "g",
    "s'": "S",
    "c'": "C",
    "g'": "g",
    "n'": "n",
    "ng": "n",
}
_LATIN_LETTERS = {
    "a": "a",
    "ä": "a",
    "á": "a",
    "à": "a",
    "â": "a",
    "ā": "a",
    "ə": "a",
    "æ": "a",
    "b": "b",
    "c": "k",
    "ç": "C",
    "č": "C",
    "d": "d",
    "e": "e",
    "é": "e",
    "è": "e",
    "ê": "e",
    "ë": "e",
    "f": "f",
    "g": "g",
    "ğ": "g",
    "ǵ": "g",
    "h": "h",
    "ḥ": "h",
    "i": "i",
    "ı": "i",
    "í": "i",
    "ì": "i",
    "î": "i",
    "ï": "i",
    "ī": "i",
    "j": "j",
    "ž": "j",
    "k": "k",
    "q": "k",
    "l": "l",
    "m": "m",
    "n": "n",
    "ñ": "n",
    "ń": "n",
    "ŋ": "n",
    "o": "o",
    "ö": "o",
    "ó": "o",
    "ò": "o",
    "ô": "o",
    "ø": "o",
    "p": "p",
    "r": "r",
    "s": "s",
    "ş": "S",
    "š": "S",
    "ș": "S",
    "S": "S",  # sh and ch as the digraph pass leaves them
    "C": "C",
    "t": "t",
    "u": "u",
    "ü": "u",
    "ú": "u",
    "ù": "u",
    "û": "u",
    "ū": "u",
    "ý": "u",  # 2018 Kazakh Latin: Ý is у
    "v": "v",
    "w": "u",
    "x": "h",  # Uyghur Latin (ULY) and Turkic usage: x is kh
    "y": "i",
    "z": "z",
}


def latin(token: str, syllables: bool = False) -> str:
    """The phonetic form of a run of Latin letters. With ``syllables`` (Uyghur Latin, see
    `apostrophes_separate_syllables`) an apostrophe only separates what is on either side:
    Is'haq is s + h, not sh."""
    if syllables and "'" in token:
        return "".join(latin(piece) for piece in token.split("'"))
    token = _LATIN_DIGRAPHS.sub(lambda m: _LATIN_DIGRAPH_VALUES[m.group(0)], token)
    out = []
    for char in token:
        value = _LATIN_LETTERS.get(char)
        if value is None:
            base = unicodedata.normalize("NFKD", char)[:1]
            value = _LATIN_LETTERS.get(base, "")
        out.append(value)
    return "".join(out)


# --- apostrophes: Uyghur Latin syllables or 2017 Kazakh Latin letters --------------------------

# Uyghur Latin (ULY) puts an apostrophe between syllables (Mes'ut, Se'adet, Is'haq); the 2017
# Kazakh Latin alphabet uses it to make letters (s' ш, c' ч, a' ә, u' ү). Which one a name is
# written in is read off the rest of it.
_V = "aeiouyäöüıəéáóúíýāūī"
_KAZAKH_SIGNS = re.compile(
    # 2017 letters: c' (ULY has no c), a letter-apostrophe at a word's start, or before a
    # consonant or the end (Aigu'l, Qy'anys'). ULY's apostrophe comes before a vowel, or
    # keeps apart what would read as one letter (Is'haq: s'h; Min'gul: n'g).
    rf"c'|^[scgn]'|[{_V}]'(?![{_V}])|[sg]'(?![{_V}h])|n'(?![{_V}g])"
    # y as a vowel between consonants (Tursyn, Baqyt): Kazakh and Kyrgyz, never ULY's consonant y
    rf"|[^{_V}'\s]y[^{_V}'\s]"
    # letters of the 2021 Kazakh alphabet that ULY does not have, and Kazakh patronymic endings
    r"|[ıäğñūə]|(?:uly|ulı|qyzy|kyzy)$"
)


def apostrophes_separate_syllables(tokens: list[str]) -> bool:
    """Whether the apostrophes of a name in Latin letters are Uyghur Latin's syllable marks
    (True) or letters of the 2017 Kazakh Latin alphabet (False). Kazakh signs anywhere in the
    name decide for Kazakh; otherwise the apostrophes are Uyghur (Mes'ut Tursun), which is also
    the reading where nothing else in the name tells, as Uyghur names in Latin letters carry
    apostrophes far more often than the short-lived 2017 Kazakh alphabet was used."""
    if not any("'" in token for token in tokens):
        return False
    return not any(_KAZAKH_SIGNS.search(token) for token in tokens)


# --- Cyrillic --------------------------------------------------------------------------------

CYRILLIC = {
    "а": "a",
    "ә": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ғ": "g",
    "ґ": "g",
    "д": "d",
    "е": "e",
    "ё": "io",
    "є": "e",
    "ж": "j",
    "җ": "j",
    "з": "z",
    "и": "i",
    "й": "i",
    "і": "i",
    "ї": "i",
    "к": "k",
    "қ": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "ң": "n",
    "о": "o",
    "ө": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ұ": "u",
    "ү": "u",
    "ў": "u",
    "ф": "f",
    "х": "h",
    "һ": "h",
    "ҳ": "h",
    "ц": "ts",
    "ч": "C",
    "ш": "S",
    "щ": "S",
    "ъ": "",
    "ы": "i",
    "ь": "",
    "э": "e",
    "ю": "iu",
    "я": "ia",
}


# --- Arabic script (Kazakh töte jazuw as used in Xinjiang, Uyghur UEY) -----------------------

_ARABIC = {
    "ا": "a",
    "أ": "a",
    "إ": "a",
    "آ": "a",
    "ٵ": "a",  # high-hamza alef: ә
    "ە": "e",
    "ې": "e",
    "ه": "e",  # Persian-keyboard stand-in for ە
    "ة": "e",
    "و": "o",
    "ٶ": "o",  # high-hamza waw: ө
    "ۆ": "v",  # Kazakh в; Uyghur ö (see arabic)
    "ۇ": "u",
    "ٷ": "u",  # high-hamza u: ү
    "ۈ": "u",
    "ۋ": "u",  # Kazakh у, Uyghur w/v
    "ى": "i",
    "ي": "i",
    "ی": "i",
    "ٸ": "i",  # high-hamza yeh: і
    "ب": "b",
    "پ": "p",
    "ت": "t",
    "ث": "s",
    "ج": "j",
    "ژ": "j",
    "چ": "C",
    "ح": "h",
    "خ": "h",
    "د": "d",
    "ذ": "z",
    "ر": "r",
    "ز": "z",
    "س": "s",
    "ش": "S",
    "ص": "s",
    "ض": "z",
    "ط": "t",
    "ظ": "z",
    "ع": "g",  # Kazakh ғ
    "غ": "g",
    "ف": "f",
    "ق": "k",
    "ك": "k",
    "ک": "k",
    "گ": "g",
    "ڭ": "n",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "ھ": "h",
    # Vowel carrier and front-vowel marks carry no consonant.
    "ئ": "",
    "ٴ": "",
    "ء": "",
}
UYGHUR_ONLY = frozenset("ئېۈ")


def arabic(token: str, uyghur: bool) -> str:
    out = []
    for char in token:
        if char == "ۆ" and uyghur:
            out.append("o")
        else:
            out.append(_ARABIC.get(char, ""))
    return "".join(out)
