"""Sentences as the sources give them ("15 years", "10 лет 6 месяцев", "有期徒刑十五年",
"life", "死缓"), read into a kind and a length for the statistics.

``DetentionEvent.sentence`` is free text in the language of the source. ``parse_sentence``
reads the forms the team writes in English, Russian, Kazakh and Chinese; anything else is
``UNREAD``, counted as "sentence not read" rather than guessed.
"""

import re
from typing import NamedTuple

TERM = "term"
LIFE = "life"
DEATH = "death"
DEATH_SUSPENDED = "death_suspended"
UNREAD = "unread"


class Sentence(NamedTuple):
    kind: str
    months: int | None = None


# The order matters: a suspended death sentence names death too.
SUSPENDED_DEATH = re.compile(
    r"死缓|死刑缓期|death[^,;]*(?:reprieve|suspend)|suspended death|"
    r"смертн\w* казн\w*[^,;]*отсрочк|өлім жазасы[^,;]*(?:кейінге|кешіктір)",
    re.IGNORECASE,
)
DEATH_PATTERN = re.compile(r"死刑|\bdeath\b|executed|смертн\w* казн|өлім жазасы", re.IGNORECASE)
LIFE_PATTERN = re.compile(r"无期|\blife\b|пожизненн|өмір бойы|өмірлік", re.IGNORECASE)

YEARS = r"(?:years?|yrs?|год|года|лет|жыл|年)"
MONTHS = r"(?:months?|mos?|месяц\w*|мес|ай|个月|個月|月)"
# A number of years or months: one or two digits (never part of a longer number, such as the
# year in "2019年" or "в 2019 году"), Chinese numerals, or an English word standing alone (not
# the "five" of "twenty-five").
NUMBER = (
    r"((?<![\d.,])\d{1,2}(?:[.,]5)?(?![\d])|[一二两兩三四五六七八九十]+|"
    r"(?<![\w-])(?:half a|a|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"fifteen|twenty)(?![\w-]))"
)
TERM_YEARS = re.compile(NUMBER + r"\s*-?\s*" + YEARS, re.IGNORECASE)
TERM_MONTHS = re.compile(NUMBER + r"\s*-?\s*" + MONTHS, re.IGNORECASE)
# "a year and a half", "два с половиной года", "一年半": six months more.
HALF = re.compile(r"(?:years?|год\w*|лет)\s+and a half|с половиной|年半", re.IGNORECASE)

WORDS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "half a": 0.5,
}
CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5}
CHINESE_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9}


def chinese_number(text: str) -> int | None:
    """一 … 九十九 (十五 = 15, 二十 = 20, 二十五 = 25)."""
    if "十" not in text:
        return CHINESE_DIGITS.get(text) if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1:
        return None
    value = (CHINESE_DIGITS.get(tens) if tens else 1) or 0
    return value * 10 + (CHINESE_DIGITS.get(ones, 0) if ones else 0) if value else None


def number(text: str) -> float | None:
    text = text.lower()
    if text in WORDS:
        return WORDS[text]
    if text[0].isdigit():
        return float(text.replace(",", "."))
    return chinese_number(text)


def parse_sentence(text: str) -> Sentence | None:
    """The kind and length of a sentence, or None for no sentence given."""
    text = (text or "").strip()
    if not text:
        return None
    if SUSPENDED_DEATH.search(text):
        return Sentence(DEATH_SUSPENDED)
    if DEATH_PATTERN.search(text):
        return Sentence(DEATH)
    if LIFE_PATTERN.search(text):
        return Sentence(LIFE)
    # Months first, and taken out: "6个月" must not read as six years' "月" nor "年".
    month_values = [number(m.group(1)) for m in TERM_MONTHS.finditer(text)]
    year_values = [number(m.group(1)) for m in TERM_YEARS.finditer(TERM_MONTHS.sub(" ", text))]
    if None in month_values or None in year_values:
        return Sentence(UNREAD)
    # One term: "N years", "N months" or "N years M months". Two of either ("10 years,
    # reduced to 8 years on appeal") is more than one sentence: not guessed between.
    if len(month_values) > 1 or len(year_values) > 1 or not (month_values or year_values):
        return Sentence(UNREAD)
    months = sum(month_values) + 12 * sum(year_values)
    if year_values and HALF.search(text):
        months += 6
    if months <= 0:
        return Sentence(UNREAD)
    return Sentence(TERM, round(months))
