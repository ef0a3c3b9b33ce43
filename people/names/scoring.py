"""Scoring two prepared names: tokens paired in the order that fits best, the worst pair
weighing most, endings saying who is the father and which sex."""

from __future__ import annotations

from itertools import permutations

from rapidfuzz.distance import Levenshtein

from people.names.prepared import PreparedName, prepare
from people.names.tokens import VARIANT_SIMILARITY, Token, initial_class, initial_stands_for

#: Score at or above which the project treats two name strings as the same person's name.
#: Chosen on the tuning half of tests/data/name_pairs.tsv (see benchmarks/names_bench.py).
SAME_PERSON_THRESHOLD: float = 0.86

#: Score at or above which a pair that is not "the same" still goes to the review queue as a
#: possible duplicate: an initial that could stand for the other's name (K. Yerezhep, Kanat
#: Yerezhep). Only pairs with an initial are listed there from below SAME_PERSON_THRESHOLD.
POSSIBLE_DUPLICATE_THRESHOLD: float = 0.75

# A name with an initial scores at most this much (below SAME_PERSON_THRESHOLD); one whose
# initial stands for the other's name and whose other names agree scores at or above
# POSSIBLE_DUPLICATE_THRESHOLD, one whose initial cannot stand for it far below.
INITIAL_WEIGHT = 0.85
#: The most a pair of people whose names differ by an initial scores, facts and all
#: (people.matching): below SAME_PERSON_THRESHOLD, so the queue shows it as possible.
INITIAL_CEILING = 0.85

# --- scoring ---------------------------------------------------------------------------------

_lev = Levenshtein.normalized_similarity


def _token_similarity(a: Token, b: Token) -> float:
    if a.initial or b.initial:
        # An initial agrees with a name it could stand for, and with the same initial.
        if a.initial and b.initial:
            return float(initial_class(a) == initial_class(b))
        return float(initial_stands_for(a, b) if a.initial else initial_stands_for(b, a))
    if a.form == b.form and a.chars == b.chars:
        return 1.0
    if a.group >= 0 and a.group == b.group:
        return VARIANT_SIMILARITY
    form = _lev(a.form, b.form)
    # Latin sh is one letter (ш) or s + h (Ishaq: Uyghur Latin Is'haq, Cyrillic Исхак): where
    # one side has s + h and the other ш, both readings are tried.
    if "sh" in a.form and "S" in b.form:
        form = max(form, _lev(a.form.replace("sh", "S"), b.form))
    elif "sh" in b.form and "S" in a.form:
        form = max(form, _lev(a.form, b.form.replace("sh", "S")))
    # A token of vowels only (Ai, Ua) has no skeleton: its form alone decides.
    skel = _lev(a.skel, b.skel) if a.skel and b.skel else float(a.skel == b.skel)
    if a.chars and b.chars:
        # Both in Chinese characters: characters read otherwise are another name even where
        # the transcription reads alike (王明 / 王敏; 马拉提 Marat / 木拉提 Murat).
        return 0.6 * _lev(a.chars, b.chars) + 0.4 * (0.75 * skel + 0.25 * form)
    if a.chars or b.chars or a.transcribed or b.transcribed:
        # Chinese transcription's vowels say little, its consonant classes more; it often
        # drops h.
        if a.soft and b.soft:
            skel = max(skel, _lev(a.soft, b.soft))
        return 0.75 * skel + 0.25 * form
    return 0.5 * skel + 0.5 * form


_SWAP = 0.98  # tokens paired out of order: common (Russian order, Chinese order), slightly weaker
_EXTRA = 0.95  # per token only one side has (a grandfather's name, a surname)
_ONE_OF_MANY = 0.6  # one token against several: a lone given name is not a person
_ROLE_CONFLICT = 0.7  # Nurlan Serikov / Serik Nurlanov: the endings say who is the father
_SEX_CONFLICT = 0.85  # -uly against -kyzy, -ov against -ova


def _pair_score(scores: list[float]) -> float:
    # The worst-paired token weighs as much as all of them together: a shared given name with
    # a different father's name is a different person.
    return 0.5 * (sum(scores) / len(scores)) + 0.5 * min(scores)


def _similarities(short, long, memo: dict) -> list[list[float]]:
    """Token similarities, kept in ``memo`` for the other readings of the same two names."""
    sims = []
    for s in short:
        row = []
        for t in long:
            key = (id(s), id(t))
            value = memo.get(key)
            if value is None:
                value = memo[key] = _token_similarity(s, t)
            row.append(value)
        sims.append(row)
    return sims


def _aligned(short, long, sims: list[list[float]], best: float = 0.0) -> float:
    """The best pairing of ``short``'s tokens with distinct tokens of ``long`` (or ``best``)."""
    n, m = len(short), len(long)
    factor = _ONE_OF_MANY if n == 1 and m > 1 else _EXTRA ** (m - n)
    if n == 1:
        return max(best, max(sims[0]) * factor)
    roles = any(t.suffixed for t in short) and any(t.suffixed for t in long)
    if n == 2 and m == 2:  # the common case, spelled out
        (s00, s01), (s10, s11) = sims
        kept = 0.25 * (s00 + s11) + 0.5 * min(s00, s11)
        swapped = (0.25 * (s01 + s10) + 0.5 * min(s01, s10)) * _SWAP
        if roles:
            if short[0].suffixed != long[0].suffixed or short[1].suffixed != long[1].suffixed:
                kept *= _ROLE_CONFLICT
            if short[0].suffixed != long[1].suffixed or short[1].suffixed != long[0].suffixed:
                swapped *= _ROLE_CONFLICT
        return max(best, kept, swapped)
    # No pairing beats every token's best partner: skip the search if that cannot win.
    if _pair_score([max(row) for row in sims]) * factor <= best:
        return best
    top = 0.0
    pairings = permutations(range(m), n) if n <= 4 and m <= 5 else [tuple(range(n))]
    for perm in pairings:
        score = _pair_score([sims[i][j] for i, j in enumerate(perm)])
        if score <= top:  # the penalties below only lower it
            continue
        if list(perm) != sorted(perm):
            score *= _SWAP
        if roles:
            for i, j in enumerate(perm):
                if short[i].suffixed != long[j].suffixed:
                    score *= _ROLE_CONFLICT
                    break
        top = max(top, score)
    return max(best, top * factor)


def _score(a: PreparedName, b: PreparedName) -> float:
    if len(a.tokens) > len(b.tokens):
        a, b = b, a
    if len(a.tokens) == len(b.tokens):
        sims = [[_token_similarity(s, t) for t in b.tokens] for s in a.tokens]
        best = _aligned(a.tokens, b.tokens, sims)
    else:
        memo: dict[tuple[int, int], float] = {}
        best = _aligned(a.tokens, b.tokens, _similarities(a.tokens, b.tokens, memo))
        # Readings of the longer name with tokens joined, against the shorter as written;
        # and a Han name split into family and given name against the longer one.
        for variant in b.variants:
            if len(variant) == len(a.tokens):
                best = _aligned(a.tokens, variant, _similarities(a.tokens, variant, memo), best)
        for variant in a.variants:
            if len(variant) == len(b.tokens):
                best = _aligned(variant, b.tokens, _similarities(variant, b.tokens, memo), best)
    # A name's pinyin read back as the transcription it romanises, against the other name as
    # written or with its names run together (TUERXUNMAIMAITI).
    for one, other in ((a, b), (b, a)):
        for reading in one.readings:
            best = _either_way(reading, other.tokens, best)
            for variant in other.variants:
                if len(variant) == len(reading):
                    best = _either_way(reading, variant, best)
    if a.sex and b.sex and a.sex != b.sex:
        best *= _SEX_CONFLICT
    return best


def _either_way(x: tuple[Token, ...], y: tuple[Token, ...], best: float) -> float:
    short, long = (x, y) if len(x) <= len(y) else (y, x)
    return _aligned(short, long, [[_token_similarity(s, t) for t in long] for s in short], best)


def similarity_prepared(a: PreparedName, b: PreparedName) -> float:
    """`similarity` of two prepared names: the hot path for scoring many pairs."""
    if not a.tokens or not b.tokens:
        return 1.0 if a.folded and a.folded == b.folded else 0.0
    if a.folded == b.folded and a.has_initial == b.has_initial:  # Zh. Abenov is no Zh Abenov
        return 1.0
    if b.folded < a.folded:  # one order of evaluation, so the score is exactly symmetric
        a, b = b, a
    score = _score(a, b)
    if a.has_initial or b.has_initial:
        # An initial is never proof of one person: at most a possible duplicate. But an
        # initial the other name has no word for (Rahile D. Dawut, Rahile Dawut) is only an
        # extra word: the names without it are compared as any two names are.
        score *= INITIAL_WEIGHT
        for one, other in ((a, b), (b, a)):
            if (
                one.shortened is not None
                and not other.has_initial
                and len(other.tokens) <= len(one.shortened.tokens)
            ):
                extra = _EXTRA**one.initials_left_out
                score = max(score, _score(one.shortened, other) * extra)
    if score >= SAME_PERSON_THRESHOLD and not (a.keys & b.keys):
        # Keep the promise of match_keys: names that share no key are never "the same".
        score = SAME_PERSON_THRESHOLD * 0.95
    return max(0.0, min(1.0, score))


def similarity(a: str, b: str) -> float:
    """How likely two name strings are spellings of the same person's name, from 0.0 to 1.0.

    Symmetric; 1.0 for two identical non-empty names; 0.0 if either is empty. Scores at or
    above `SAME_PERSON_THRESHOLD` mean "the same name".
    """
    if not a or not b or not a.strip() or not b.strip():
        return 0.0
    return similarity_prepared(prepare(a), prepare(b))


def match_keys(name: str) -> frozenset[str]:
    """Short ASCII blocking keys (at most 32 characters each, a handful per name).

    Any two names that `similarity` scores at or above `SAME_PERSON_THRESHOLD` share at least
    one key, so a database can find candidates by an indexed key lookup instead of a scan.
    Empty names have no keys.
    """
    if not name or not name.strip():
        return frozenset()
    return prepare(name).keys


def possible_keys(name: str) -> frozenset[str]:
    """The keys stored beside `match_keys` for the duplicate scan's possible duplicates: any
    two names that `similarity` scores at or above `POSSIBLE_DUPLICATE_THRESHOLD` because of an
    initial share one (prepared.initial_keys). Not for finding "the same" name."""
    if not name or not name.strip():
        return frozenset()
    return prepare(name).initial_keys


def romanise(name: str) -> str:
    """The canonical phonetic Latin form the module compares, e.g. "kanat erejep".

    For showing staff why two names were matched; not a transliteration standard.
    """
    if not name or not name.strip():
        return ""
    return prepare(name).romanised
