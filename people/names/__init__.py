"""Cross-script name matching: is "Қанат Ережеп" the same name as "卡纳提·叶热杰普"?

Pure Python, no database and no Django, so the duplicate finder, the admin warning, the API
search and the import all score names the same way.

How a name is compared
----------------------
1. It is split into tokens on spaces and separators (``·``, ``•``, ``-``, ``_``, ``.``, ``,``).
2. Each token is turned into a *phonetic form* (`romanise` shows it): a small ASCII alphabet
   ``a e i o u b d f g h j k l m n p r s t v z`` plus ``S`` (ш, sh) and ``C`` (ч, ch).
   Kazakh Cyrillic, Russian Cyrillic, the 2021 and older Kazakh Latin alphabets, informal and
   Russian-passport Latin (Yerzhan / Erzhan / Yerjan), Kazakh and Uyghur Arabic script and
   Chinese characters all land in it. Distinctions that spellings of one name do not keep are
   dropped: front and back vowels (ә/а, ө/о, ү/ұ, і/ы), қ/к, ғ/г, ң/н, zh/j, initial ye-/e-,
   doubled letters; patronymic and surname suffixes (-uly, -қызы, -ov, -ova, -ovich, -evna…)
   and words (uly, uulu, kyzy, oghli, o'g'li, qizi) are cut off. An apostrophe is a letter of
   the 2017 Kazakh Latin alphabet (s' ш) where the name has Kazakh signs, and otherwise Uyghur
   Latin's mark between syllables (Mes'ut, Is'haq: alphabets.apostrophes_separate_syllables).
3. Each phonetic form also gets a *skeleton*: its consonants in coarse classes (k/q/g/h, b/p/f,
   t/d, s/z/sh/ch, l/r…), vowels left out. Chinese transcription adds vowels and changes
   consonants (卡纳提 ka-na-ti for Kanat, 力 li for ri), so Chinese characters are read through a
   table of the characters used to transcribe Kazakh and Uyghur names (别克 -bek, 江 -zhan,
   汗 -khan, 古丽 Gul-…) with pypinyin for the rest, and are compared mostly by skeleton.
4. Two names are scored by pairing their tokens in whichever order fits best (given name and
   father's name swapped, family name first in Chinese), each token pair scored by normalised
   Levenshtein similarity of phonetic form and skeleton (rapidfuzz). The name score leans on the
   *worst* paired token, so a shared given name with a different father's name stays apart.
   Tokens written together or apart (Nursultan / Nur-Sultan, 卡纳提叶热杰普) are tried both ways;
   an extra token (a grandfather's name) costs a little, a lone given name against a full name
   a lot. Endings also say which token is the father's name and the person's sex: "Nurlan
   Serikov" is not "Serik Nurlanov", "-uly" is not "-kyzy".
5. A name in pinyin that romanises a Chinese transcription (Tuerxun Maimaiti for 吐尔逊·买买提)
   is also read syllable by syllable through the transcription characters (pinyin.py), as
   an alternative reading: Tursun Memet.
6. Two names both in Chinese characters are also compared by the characters' Mandarin readings
   with tones, so 陈/陳 agree and 王明/王敏 do not. Forms of one Arabic-origin name in Kazakh,
   Uyghur and Russian use (Memet / Mamat / Mukhamet; Zhusip / Yusup) count as nearly the same.

`match_keys` gives the short keys a database index blocks on: for each two tokens, the start of
both skeletons less k/q/g/h ("pLJP.NT" for Kanat Yerezhep), so that a common given name alone is
no key. Two names that share no key are never scored at or above `SAME_PERSON_THRESHOLD` (the
score is capped below it), so a lookup by key finds every name `similarity` would call the same.

Only the first 256 characters and 8 tokens of a text are read. Known weak spots: Han names in
pinyin that differ in one sound (Wang Ming / Wang Min); names that differ in one vowel or one
letter (Marat / Murat, Mesut / Mesude, Memet / Mahmut), which need a lexicon of given names;
Uyghur ە written "a" in English (Ekpar Asat / ئەكپەر ئەسەت).

An initial standing for a name is never proof of the same name (K. Yerezhep, Kanat
Yerezhep): the pair scores at most INITIAL_WEIGHT of what it would (below
SAME_PERSON_THRESHOLD), and at or above POSSIBLE_DUPLICATE_THRESHOLD where the initial could
stand for the other's name and the rest agrees; `possible_keys` brings such names together for
the duplicate scan. An initial the other name has no word for is only an extra word (Rahile
D. Dawut, Rahile Dawut).
Precision, recall and timings: benchmarks/names_bench.py.
"""

from people.names.prepared import INITIAL_KEY, INITIAL_MARK, PreparedName, prepare
from people.names.scoring import (
    INITIAL_CEILING,
    POSSIBLE_DUPLICATE_THRESHOLD,
    SAME_PERSON_THRESHOLD,
    match_keys,
    possible_keys,
    romanise,
    similarity,
    similarity_prepared,
)

#: Raised whenever a change to these rules changes match keys or scores: ``migrate`` then
#: queues the duplicate scan with every key recomputed and every open pair scored again
#: (people.signals). 2: Uyghur Latin apostrophes, oghli / o'g'li / qizi, pinyin of
#: Chinese transcriptions, initials (issue 18).
RULES_VERSION = 2

__all__ = [
    "INITIAL_CEILING",
    "INITIAL_KEY",
    "INITIAL_MARK",
    "POSSIBLE_DUPLICATE_THRESHOLD",
    "RULES_VERSION",
    "SAME_PERSON_THRESHOLD",
    "PreparedName",
    "match_keys",
    "possible_keys",
    "prepare",
    "romanise",
    "similarity",
    "similarity_prepared",
]
