"""Pinyin of a Chinese transcription, read back as the name it transcribes.

Chinese ID cards, court records and police lists write a Kazakh or Uyghur name in characters
(吐尔逊·买买提 for Tursun Memet), and Latin-alphabet documents then romanise those characters
in pinyin: "Tuerxun Maimaiti", often in capitals, each name's syllables run together. Read as
Latin letters that is another name (tuerhun maimaiti); read syllable by syllable through the
table of transcription characters (chinese.py: 尔 er is r, 提 ti is t, 逊 xun is sun) it is the
name the characters stand for, as the characters themselves are read.

A Latin token is taken for pinyin only where it splits wholly into pinyin syllables, and a name
only where every token does and something in it is pinyin's own: a syllable whose vowel a
transcription adds at the end of a word (-ti, -ke, -pu, -li), er after a vowel (Tuerxun,
Nuerlan), a pinyin diphthong (tuo, bie, you) or yi / wu. Even then the pinyin reading is an
alternative (prepared.PreparedName.readings): the name is also compared as written.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from people.names.alphabets import latin
from people.names.chinese import HANZI, HANZI_PAIRS

# Syllables that are no name's: interjections without a vowel (嗯 n, ng; 呣 m; 哼 hm, hng).
_NOT_SYLLABLES = frozenset({"n", "ng", "m", "hm", "hng", "r"})
# Syllables whose vowel Chinese transcription adds to a consonant ending a name (提 ti, 克 ke,
# 普 pu, 木 mu, 甫 fu, 斯 si, 日 ri, 合 he, 格 ge, 特 te, 布 bu, 德 de, 孜 zi, 力 li).
_ADDED_VOWEL = frozenset(
    {"ti", "ke", "pu", "mu", "fu", "si", "ri", "he", "ge", "te", "bu", "de", "zi", "li"}
)
_PINYIN_ONLY = re.compile(r"uo|ie|iu|ou|ui|^yi|^wu")
_LETTERS = re.compile(r"[a-zü]+")
_MAX_TOKEN = 40  # a longer "word" is no name: not segmented


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable, from pypinyin's dictionary (ü also written u and v)."""
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    found = set()
    for readings in pinyin_dict.values():
        for reading in readings.split(","):
            syllable = to_normal(reading)
            found.update({syllable, syllable.replace("ü", "u"), syllable.replace("ü", "v")})
    return frozenset(s for s in found if s.isascii() and s.isalpha()) - _NOT_SYLLABLES


@lru_cache(maxsize=1)
def _values() -> dict[str, tuple[str, str]]:
    """Syllable → (its reading before a vowel, its reading before a consonant or at the end),
    from the transcription characters: 克 ke is "k" at a word's end, 柯 ke "ke" before a vowel.
    Where characters of one syllable read otherwise, the commoner reading wins."""
    from pypinyin import Style, lazy_pinyin

    by_syllable: dict[str, Counter] = {}
    for char, value in HANZI.items():
        syllable = lazy_pinyin(char, style=Style.NORMAL, v_to_u=True)[0]
        by_syllable.setdefault(syllable, Counter())[value] += 1
    values = {}
    for syllable, counts in by_syllable.items():
        ranked = [value for value, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        voiced = next((v for v in ranked if re.search("[aeiou]", v)), ranked[0])
        bare = next((v for v in ranked if not re.search("[aeiou]", v)), voiced)
        values[syllable] = (voiced, bare)
    return values


@lru_cache(maxsize=1)
def _pairs() -> dict[tuple[str, str], str]:
    """Two syllables read together (古丽 gu li: gul)."""
    from pypinyin import Style, lazy_pinyin

    return {
        tuple(lazy_pinyin(pair, style=Style.NORMAL, v_to_u=True)): value
        for pair, value in HANZI_PAIRS.items()
    }


@lru_cache(maxsize=8192)
def segment(token: str) -> tuple[str, ...] | None:
    """The pinyin syllables ``token`` is made of, or None. Of several ways to cut it, the one
    with the fewest syllables, then the fewest starting with a vowel (ka-na-ti, not kan-a-ti)."""
    if not token or len(token) > _MAX_TOKEN or not _LETTERS.fullmatch(token):
        return None
    syllables = _syllables()
    best: list[tuple[int, int, tuple[str, ...]] | None] = [None] * (len(token) + 1)
    best[0] = (0, 0, ())
    for end in range(1, len(token) + 1):
        for start in range(max(0, end - 6), end):
            piece, before = token[start:end], best[start]
            if before is None or piece not in syllables:
                continue
            vowel_start = start > 0 and piece[0] in "aeiou"
            option = (before[0] + 1, before[1] + vowel_start, (*before[2], piece))
            if best[end] is None or option[:2] < best[end][:2]:
                best[end] = option
    return best[-1][2] if best[-1] is not None else None


def _is_pinyin(cut: tuple[str, ...]) -> bool:
    if cut[-1] in _ADDED_VOWEL and len(cut) > 1:
        return True
    if any(s == "er" and i > 0 for i, s in enumerate(cut)):
        return True
    return any(_PINYIN_ONLY.search(s) for s in cut)


def pinyin_name(tokens: list[str]) -> list[tuple[str, ...]] | None:
    """The syllables of each token where the name as a whole is pinyin (see the module), else
    None."""
    cuts = [segment(token) for token in tokens]
    if not cuts or any(cut is None for cut in cuts):
        return None
    if not any(len(cut) > 1 and _is_pinyin(cut) for cut in cuts):
        return None
    return cuts


def read(cut: tuple[str, ...]) -> str:
    """The phonetic form of one token's syllables read as transcription characters."""
    values, pairs = _values(), _pairs()
    out, i = [], 0
    while i < len(cut):
        if tuple(cut[i : i + 2]) in pairs:
            out.append(pairs[tuple(cut[i : i + 2])])
            i += 2
            continue
        syllable = cut[i]
        if syllable in values:
            voiced, bare = values[syllable]
            following = cut[i + 1] if i + 1 < len(cut) else ""
            out.append(voiced if following[:1] in ("a", "e", "i", "o", "u") else bare)
        else:
            out.append(latin(syllable))
        i += 1
    return "".join(out)
