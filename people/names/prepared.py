"""A name prepared once for scoring: its tokens, other readings (tokens joined, a Han name
split) and blocking keys."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from people.names.alphabets import apostrophes_separate_syllables, normalise, split_tokens
from people.names.chinese import HAN_SURNAMES, TRADITIONAL, hanzi, readings
from people.names.pinyin import pinyin_name, read
from people.names.tokens import (
    SUFFIX_WORDS,
    Token,
    collapse,
    initial_class,
    join,
    make_token,
    phonetic,
    strip_suffix,
)


@dataclass(frozen=True, slots=True)
class PreparedName:
    """A name with everything `similarity_prepared` needs worked out once (see `prepare`)."""

    text: str  # the name as given
    folded: str  # normalised text: equal folded texts are the same name
    tokens: tuple[Token, ...]
    variants: tuple[tuple[Token, ...], ...]  # other readings: tokens joined, Han name split
    keys: frozenset[str]
    sex: str  # "m" or "f" where an ending says so (-uly, -ova…), else ""
    # Readings token for token, tried against the other name as a whole: the name's pinyin
    # read back through the transcription characters (pinyin.py).
    readings: tuple[tuple[Token, ...], ...] = ()
    initial_keys: frozenset[str] = frozenset()  # see initial_keys()
    # The name without its initials, where two words or more are left (Rahile D. Dawut:
    # Rahile Dawut), and how many initials that leaves out.
    shortened: PreparedName | None = None
    initials_left_out: int = 0

    @property
    def has_initial(self) -> bool:
        return any(token.initial for token in self.tokens)

    @property
    def romanised(self) -> str:
        return " ".join(display(t.form) for t in self.tokens)


def display(form: str) -> str:
    return form.replace("S", "sh").replace("C", "ch")


def _key_parts(token: Token) -> tuple[str, ...]:
    # The first three consonant classes other than k/q/g/h; a token without such (Ai, Aka) by
    # its form; and a form of a name of tokens.NAME_VARIANTS by that name too.
    part = token.key[:3] if token.key else "_" + token.form[:3]
    return (part, f"g{token.group}") if token.group >= 0 else (part,)


#: The first letter of the keys that bring an initial and the names it may stand for together,
#: and of the same keys marking the names that have the initial (the duplicate scan pairs
#: those with the rest of the block, and nobody else there).
INITIAL_KEY = "x"
INITIAL_MARK = "y"


def initial_keys(tokens: tuple[Token, ...]) -> frozenset[str]:
    """Keys of the first two tokens as written, each as an initial with the other's key part
    (K. Yerezhep and Kanat Yerezhep both "xK.LJP"; Тохти А. and Tokhti Abdulla both "xA.TT"),
    so that the duplicate scan meets an initial with the names it could stand for; a name with
    an initial also has each as a mark ("yK.LJP"). Their letters sort after every match key's,
    so that the scan reads them last. Kept apart
    from the match keys: no name is the same as another through them, and a search for "the
    same" never reads them."""
    head = tokens[:2]
    if len(head) < 2:
        return frozenset()
    keys = {
        f"{initial_class(initial)}.{_key_parts(other)[0]}"
        for initial, other in (head, head[::-1])
        if not other.initial
    }
    marks = {INITIAL_MARK + key for key in keys} if any(t.initial for t in head) else set()
    return frozenset({INITIAL_KEY + key for key in keys} | marks)


def blocking_keys(tokens: tuple[Token, ...], variants, folded: str) -> frozenset[str]:
    """Blocking keys: for each two tokens of a reading, the start of both skeletons ("pLJP.NT"
    for Kanat Yerezhep), so that a common given name alone never makes a key; for a reading of
    one token, its whole skeleton ("wNT" for Kanat)."""
    keys = set()
    for reading in (tokens, *variants):
        reading = reading[:4]
        if len(reading) == 1:
            token = reading[0]
            keys.add(("w" + (token.key or "_" + token.form))[:32])
            if token.group >= 0:
                keys.add(f"wg{token.group}")
        for i, first in enumerate(reading):
            for second in reading[i + 1 :]:
                if first.initial or second.initial:
                    continue
                for x in _key_parts(first):
                    for y in _key_parts(second):
                        keys.add("p" + ".".join(sorted((x, y))))
    # One long token may be two names written together (卡纳提叶热杰普): each way of cutting
    # its skeleton in two gives the key those two names would have.
    if len(tokens) == 1 and len(tokens[0].key) >= 3:
        skel = tokens[0].key
        for cut in range(1, len(skel)):
            keys.add("p" + ".".join(sorted((skel[:cut][:3], skel[cut:][:3]))))
    if not keys and folded:
        keys.add("h" + hashlib.sha1(folded.encode()).hexdigest()[:16])  # noqa: S324 - not security
    return frozenset(keys)


# Longer text is not a name (a pasted paragraph, a 1 MB spreadsheet cell): only its start is
# read, and at most this many tokens, so that scoring stays bounded and the cache small.

_MAX_NAME_LENGTH = 256
_MAX_TOKENS = 8


def prepare(name: str) -> PreparedName:
    """Work out the phonetic forms, skeletons, alternative readings and keys of ``name`` once
    (cached). Only the first 256 characters and 8 words of a longer text are read."""
    return _prepare((name or "")[:_MAX_NAME_LENGTH])


# Two letters and a full stop, as a word: an abbreviated name (Zh. Abenov, Ye. Nurlanov).
_ABBREVIATED = re.compile(r"(?<!\w)(\w\w)\.")


@lru_cache(maxsize=16384)
def _prepare(name: str) -> PreparedName:
    raw_tokens = split_tokens(name)[:_MAX_TOKENS]
    # Separators alone ("·") are still a non-empty name, equal to itself.
    folded = " ".join(raw_tokens) or normalise(name).strip()
    tokens: list[Token] = []
    sex = ""
    han_split = None
    syllables = apostrophes_separate_syllables(raw_tokens)
    abbreviated = set(_ABBREVIATED.findall(normalise(name))) if "." in name else set()
    kept_raw = []  # the words but the initials, for the name without them
    for raw in raw_tokens:
        form, cjk = phonetic(raw, syllables)
        if form.startswith("ie") and len(form) > 2:  # Yerzhan / Erzhan, Yesen / Esen
            form = form[1:]
        if not form:
            continue
        if tokens and not cjk and collapse(form) in SUFFIX_WORDS:
            # "Nurlan uly": a patronymic ending written as its own word.
            sex = sex or SUFFIX_WORDS[collapse(form)]
            tokens[-1] = make_token(tokens[-1].form, tokens[-1].chars, True)
            kept_raw.append(raw)
            continue
        if not cjk and len(raw_tokens) > 1 and (len(raw) == 1 or raw in abbreviated):
            letter = "e" if form == "ie" else collapse(form)
            if len(letter) == 1:
                # One letter, or two with a full stop standing for one (Zh., Sh., Ye.): an
                # initial. Two letters without one are a name (Wu, Ye: 吴, 叶).
                tokens.append(make_token(letter, initial=True))
                continue
        kept_raw.append(raw)
        ending = ""
        if not cjk:  # Chinese transcription has no such endings: 托克托古力 is not -uly
            form, ending = strip_suffix(form)
            sex = sex or ending
        chars = readings(raw.translate(TRADITIONAL)) if cjk else ()
        tokens.append(make_token(collapse(form), chars, bool(ending)))
        simplified = raw.translate(TRADITIONAL)
        if cjk and len(raw_tokens) == 1 and 2 <= len(raw) <= 4 and simplified[0] in HAN_SURNAMES:
            han_split = (
                make_token(collapse(hanzi(raw[0])), chars[:1]),
                make_token(collapse(hanzi(raw[1:])), chars[1:]),
            )
    if all(token.initial for token in tokens):  # initials alone are no name to compare
        tokens = [make_token(token.form) for token in tokens]
    tokens = tuple(tokens)
    variants = []
    if han_split and all(t.form for t in han_split):
        variants.append(han_split)
    if 2 <= len(tokens) <= 4:
        # Two tokens written as one ("Nur Sultan" / "Nursultan"; 卡纳提叶热杰普).
        for i in range(len(tokens) - 1):
            if tokens[i].initial or tokens[i + 1].initial:
                continue
            variants.append((*tokens[:i], join(tokens[i], tokens[i + 1]), *tokens[i + 2 :]))
        if len(tokens) == 2 and not (tokens[0].initial or tokens[1].initial):
            # "Yerezhep Kanat" against 卡纳提叶热杰普
            variants.append((join(tokens[1], tokens[0]),))
    variants = tuple(variants)
    other_readings = ()
    cuts = pinyin_name(raw_tokens) if tokens and len(tokens) == len(raw_tokens) else None
    if cuts is not None:
        reading = tuple(make_token(collapse(read(cut)), transcribed=True) for cut in cuts)
        if all(token.form for token in reading):
            other_readings = (reading,)
    keys = blocking_keys(tokens, (*variants, *other_readings), folded)
    shortened, left_out = None, sum(token.initial for token in tokens)
    if left_out and len(tokens) - left_out >= 2:
        shortened = _prepare(" ".join(kept_raw))
    return PreparedName(
        name,
        folded,
        tokens,
        variants,
        keys,
        sex,
        other_readings,
        initial_keys(tokens),
        shortened,
        left_out if shortened is not None else 0,
    )


# The cache's controls, as on an lru_cache function (benchmarks clear it).
prepare.cache_clear = _prepare.cache_clear
prepare.cache_info = _prepare.cache_info
