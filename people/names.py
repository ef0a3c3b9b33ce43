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
   are cut off.
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
5. Two names both in Chinese characters are also compared by the characters' Mandarin readings
   with tones, so 陈/陳 agree and 王明/王敏 do not. Forms of one Arabic-origin name in Kazakh,
   Uyghur and Russian use (Memet / Mamat / Mukhamet; Zhusip / Yusup) count as nearly the same.

`match_keys` gives the short keys a database index blocks on: for each two tokens, the start of
both skeletons less k/q/g/h ("pLJP.NT" for Kanat Yerezhep), so that a common given name alone is
no key. Two names that share no key are never scored at or above `SAME_PERSON_THRESHOLD` (the
score is capped below it), so a lookup by key finds every name `similarity` would call the same.

Only the first 256 characters and 8 tokens of a text are read. Known weak spots: Han names in
pinyin that differ in one sound (Wang Ming / Wang Min); names that differ in one vowel (Marat /
Murat); Uyghur ە written "a" in English (Ekpar Asat / ئەكپەر ئەسەت). Precision, recall and
timings: benchmarks/names_bench.py.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import permutations

from rapidfuzz.distance import Levenshtein

__all__ = [
    "SAME_PERSON_THRESHOLD",
    "PreparedName",
    "match_keys",
    "prepare",
    "romanise",
    "similarity",
    "similarity_prepared",
]

#: Score at or above which the project treats two name strings as the same person's name.
#: Chosen on the tuning half of tests/data/name_pairs.tsv (see benchmarks/names_bench.py).
SAME_PERSON_THRESHOLD: float = 0.86

# --- tokenising ------------------------------------------------------------------------------

# Apostrophes are not separators: the 2017 Kazakh Latin alphabet writes ш as s', ң as n'.
_SPLIT = re.compile(r"[\s·•・‧∙⋅\u0387\-‐‑–—_.,،;:/()\[\]{}\"“”«»=]+")
_APOSTROPHES = "'’ʼʻ‘`´"

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


def _latin(token: str) -> str:
    token = _LATIN_DIGRAPHS.sub(lambda m: _LATIN_DIGRAPH_VALUES[m.group(0)], token)
    out = []
    for char in token:
        value = _LATIN_LETTERS.get(char)
        if value is None:
            base = unicodedata.normalize("NFKD", char)[:1]
            value = _LATIN_LETTERS.get(base, "")
        out.append(value)
    return "".join(out)


# --- Cyrillic --------------------------------------------------------------------------------

_CYRILLIC = {
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
    "ۆ": "v",  # Kazakh в; Uyghur ö (see _arabic)
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
_UYGHUR_ONLY = frozenset("ئېۈ")


def _arabic(token: str, uyghur: bool) -> str:
    out = []
    for char in token:
        if char == "ۆ" and uyghur:
            out.append("o")
        else:
            out.append(_ARABIC.get(char, ""))
    return "".join(out)


# --- Chinese ---------------------------------------------------------------------------------

# Characters of Xinhua-style transcriptions of Kazakh and Uyghur names, read as the Kazakh/Uyghur
# sounds they stand for. Characters that usually write a lone consonant (提 t, 克 k, 尔 r, 普 p…)
# are given without their epenthetic vowel.
_HANZI = {
    # vowels and y-
    "阿": "a",
    "艾": "e",
    "埃": "e",
    "叶": "e",
    "也": "e",
    "耶": "e",
    "额": "e",
    "俄": "e",
    "鄂": "e",
    "奥": "o",
    "欧": "o",
    "乌": "u",
    "吾": "u",
    "兀": "u",
    "伊": "i",
    "依": "i",
    "衣": "i",
    "亦": "i",
    "于": "iu",
    "玉": "iu",
    "尤": "iu",
    "优": "iu",
    "由": "iu",
    "亚": "ia",
    "雅": "ia",
    "娅": "ia",
    "牙": "ia",
    "约": "io",
    "恩": "en",
    "安": "an",
    "昂": "an",
    # b p f
    "巴": "ba",
    "拜": "bai",
    "别": "be",
    "贝": "be",
    "比": "bi",
    "毕": "bi",
    "波": "bo",
    "博": "bo",
    "布": "b",
    "不": "b",
    "卜": "bu",
    "包": "bo",
    "班": "ban",
    "邦": "ban",
    "宾": "bin",
    "本": "ben",
    "帕": "pa",
    "派": "pai",
    "佩": "pe",
    "皮": "pi",
    "坡": "po",
    "普": "p",
    "甫": "p",
    "潘": "pan",
    "法": "fa",
    "菲": "fi",
    "夫": "f",
    "福": "fu",
    # d t
    "达": "da",
    "代": "de",
    "戴": "dai",
    "德": "d",
    "迪": "di",
    "蒂": "di",
    "地": "di",
    "多": "do",
    "朵": "do",
    "都": "du",
    "杜": "du",
    "丁": "din",
    "登": "den",
    "旦": "dan",
    "丹": "dan",
    "东": "dun",
    "敦": "dun",
    "塔": "ta",
    "泰": "tai",
    "太": "tai",
    "特": "t",
    "提": "t",
    "铁": "te",
    "托": "to",
    "陶": "to",
    "图": "tu",
    "吐": "tu",
    "土": "tu",
    "坦": "tan",
    "汤": "tan",
    "田": "ten",
    "天": "ten",
    "廷": "tin",
    # k q g h
    "卡": "ka",
    "喀": "ka",
    "凯": "ke",
    "开": "kai",
    "克": "k",
    "科": "ko",
    "柯": "ke",
    "可": "ke",
    "库": "ku",
    "坎": "kan",
    "肯": "ken",
    "康": "kan",
    "昆": "kun",
    "奎": "kui",
    "哈": "ha",
    "海": "hai",
    "赫": "h",
    "合": "h",
    "和": "he",
    "荷": "he",
    "胡": "hu",
    "呼": "hu",
    "汗": "han",
    "罕": "han",
    "恒": "hen",
    "洪": "hun",
    "霍": "ho",
    "火": "ho",
    "格": "g",
    "古": "gu",
    "尕": "ga",
    "盖": "gai",
    "根": "gen",
    "高": "go",
    "戈": "ge",
    "贡": "gun",
    # j zh ch sh
    "加": "ja",
    "嘉": "ja",
    "佳": "ja",
    "吉": "ji",
    "杰": "je",
    "捷": "je",
    "江": "jan",
    "疆": "jan",
    "居": "ju",
    "菊": "ju",
    "金": "jin",
    "俊": "jun",
    "君": "jun",
    "扎": "za",
    "恰": "Ca",
    "切": "Ce",
    "乔": "Co",
    "秋": "Ciu",
    "其": "Ci",
    "奇": "Ci",
    "琪": "Ci",
    "齐": "Ci",
    "钦": "Cin",
    "沙": "Sa",
    "莎": "Sa",
    "夏": "Sa",
    "谢": "Se",
    "协": "Se",
    "希": "Si",
    "什": "S",
    "舒": "Su",
    "舍": "Se",
    "肖": "So",
    "仙": "San",
    "先": "San",
    "鲜": "San",
    # r l
    "热": "re",
    "日": "ri",
    "若": "ro",
    "如": "ru",
    "茹": "ru",
    "然": "ran",
    "仁": "ren",
    "荣": "run",
    "拉": "la",
    "来": "lai",
    "莱": "lai",
    "勒": "l",
    "力": "li",
    "丽": "li",
    "里": "li",
    "利": "li",
    "莉": "li",
    "理": "li",
    "列": "le",
    "洛": "lo",
    "罗": "lo",
    "鲁": "lu",
    "路": "lu",
    "兰": "lan",
    "林": "lin",
    "伦": "lun",
    "龙": "lun",
    "尔": "r",
    "儿": "r",
    "耳": "r",
    # m n
    "马": "ma",
    "玛": "ma",
    "买": "me",
    "麦": "me",
    "曼": "man",
    "满": "man",
    "门": "men",
    "孟": "men",
    "蒙": "mun",
    "米": "mi",
    "密": "mi",
    "木": "m",
    "穆": "mu",
    "莫": "mo",
    "默": "mo",
    "美": "me",
    "敏": "min",
    "明": "min",
    "民": "min",
    "慕": "mu",
    "纳": "na",
    "娜": "na",
    "那": "na",
    "乃": "ne",
    "内": "ne",
    "尼": "ni",
    "妮": "ni",
    "诺": "no",
    "努": "nu",
    "南": "nan",
    "宁": "nin",
    "年": "nen",
    # s z
    "萨": "sa",
    "赛": "se",
    "色": "se",
    "斯": "s",
    "思": "si",
    "司": "si",
    "西": "si",
    "锡": "si",
    "索": "so",
    "苏": "su",
    "素": "su",
    "孙": "sun",
    "逊": "sun",
    "森": "sen",
    "桑": "san",
    "松": "sun",
    "散": "san",
    "辛": "sin",
    "新": "sin",
    "欣": "sin",
    "孜": "z",
    "兹": "z",
    "泽": "ze",
    "佐": "zo",
    "祖": "zu",
    "赞": "zan",
    "则": "ze",
    "再": "zai",
    # v w
    "瓦": "va",
    "娃": "va",
    "维": "ve",
    "旺": "van",
    "万": "van",
    "文": "ven",
    "沃": "vo",
    "卫": "ve",
    "伟": "ve",
    "韦": "ve",
}
# Traditional forms of the characters above, as Taiwanese and Hong Kong sources write them.
_TRADITIONAL = str.maketrans(
    "納麥買爾蘭熱傑麗別達鐵蘇圖魯庫來羅瑪滿門諾寧薩賽孫遜謝鮮紮則齊喬烏衛偉韋萬亞婭約葉額歐貝畢東"
    "託湯凱開恆蓋貢欽協榮萊裡倫龍兒馬內錫茲澤贊維優賓奧"
    "陳張劉楊黃趙吳鄭許韓馮鄧蔣呂盧鍾譚陸賈鄒賀顧龔錢嚴閻國強華偉",
    "纳麦买尔兰热杰丽别达铁苏图鲁库来罗玛满门诺宁萨赛孙逊谢鲜扎则齐乔乌卫伟韦万亚娅约叶额欧贝毕东"
    "托汤凯开恒盖贡钦协荣莱里伦龙儿马内锡兹泽赞维优宾奥"
    "陈张刘杨黄赵吴郑许韩冯邓蒋吕卢钟谭陆贾邹贺顾龚钱严阎国强华伟",
)
# Pairs read together differently from their parts.
_HANZI_PAIRS = {"古丽": "gul"}

# The commonest Han family names: a Han name written without a separator (王明) is also tried as
# family name + given name.
_HAN_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
)


def _is_hanzi(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


@lru_cache(maxsize=4096)
def _readings(token: str) -> tuple[str, ...]:
    """Toned Mandarin readings of the characters: 陈/陳 and 丽/莉 read alike, 明/敏 do not."""
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(token, style=Style.TONE3, errors=lambda chars: list(chars)))


@lru_cache(maxsize=4096)
def _pinyin(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(char, style=Style.NORMAL, v_to_u=True, errors="ignore")
    return _latin(syllables[0]) if syllables else ""


def _hanzi(token: str) -> str:
    token = token.translate(_TRADITIONAL)
    out = []
    i = 0
    while i < len(token):
        pair = token[i : i + 2]
        if pair in _HANZI_PAIRS:
            out.append(_HANZI_PAIRS[pair])
            i += 2
            continue
        char = token[i]
        value = _HANZI.get(char)
        if value is None:
            value = _pinyin(char) if _is_hanzi(char) else ""
        out.append(value)
        i += 1
    return "".join(out)


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
_SUFFIX_WORDS = {"uli": "m", "ulu": "m", "kizi": "f"}  # "Nurlan uly", "Toktogul uulu"
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


def _phonetic(token: str) -> tuple[str, bool]:
    """The phonetic form of one token and whether it was written in Chinese characters."""
    if any(_is_hanzi(c) for c in token):
        return _hanzi(token), True
    uyghur = any(c in _UYGHUR_ONLY for c in token)
    out = []
    latin_run = []
    for char in token:
        if "\u0400" <= char <= "\u052f":
            value = _CYRILLIC.get(char, "")
        elif "\u0600" <= char <= "\u06ff" or "\u0750" <= char <= "\u077f":
            value = _arabic(char, uyghur)
        else:
            latin_run.append(char)
            continue
        if latin_run:
            out.append(_latin("".join(latin_run)))
            latin_run = []
        out.append(value)
    if latin_run:
        out.append(_latin("".join(latin_run)))
    # Russian дж and Arabic-script د+ج are one sound, j, as Latin dzh and dj are.
    return "".join(out).replace("dj", "j"), False


def _collapse(form: str) -> str:
    # Most forms have no doubled letter: searching first is several times faster.
    return _DOUBLES.sub(_first_group, form) if _DOUBLES.search(form) else form


def _first_group(match: re.Match) -> str:
    return match.group(1)


def _strip_suffix(form: str) -> tuple[str, str]:
    """``form`` without a patronymic or surname ending, and the sex the ending implies.

    Done before doubled letters are collapsed, so that Ömirbekqyzy keeps its k.
    """
    for suffix, sex in _SUFFIXES:
        if form.endswith(suffix) and len(form) - len(suffix) >= _MIN_STEM:
            return form[: -len(suffix)], sex
    return form, ""


def _skeleton(form: str) -> str:
    return _collapse(form.translate(_SKELETON))


@dataclass(frozen=True, slots=True)
class _Token:
    form: str  # phonetic form
    skel: str  # consonant-class skeleton
    soft: str  # skeleton without h, which Chinese transcription often drops (Rahile: 热依拉)
    key: str  # skeleton without the k/q/g/h class at all, for blocking keys
    chars: tuple[str, ...]  # readings of the Chinese characters of a token written in them
    suffixed: bool  # had a patronymic or surname ending: the father's or family name
    group: int  # index in _NAME_VARIANTS of the name this is a form of, or -1


def _make_token(form: str, chars: tuple[str, ...] = (), suffixed: bool = False) -> _Token:
    skel = _skeleton(form)
    soft = _skeleton(form.replace("h", "")) if "h" in form else skel
    # Kh, h, q, k and g trade places most across spellings (Bakhyt / Baqyt / 巴合提); blocking
    # keys leave them out.
    key = _collapse(skel.replace("K", ""))
    return _Token(form, skel, soft, key, chars, suffixed, _variant_group().get(form, -1))


# Names of Arabic origin take different forms in Kazakh, Uyghur, Russian and Arabic usage, more
# different than spelling alone explains (Mamat / Memet / Mukhamet / Muhammad; Zhusip / Yusup).
# A person recorded under one form is often recorded under another.
_NAME_VARIANTS = (
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
_VARIANT_SIMILARITY = 0.95


@lru_cache(maxsize=1)
def _variant_group() -> dict[str, int]:
    """Phonetic form → index of its name in _NAME_VARIANTS (built on first use)."""
    groups = {}
    for index, spellings in enumerate(_NAME_VARIANTS):
        for spelling in spellings.split():
            form = _phonetic(spelling.casefold())[0]
            if form.startswith("ie"):
                form = form[1:]
            groups[_collapse(form)] = index
    return groups


def _join(a: _Token, b: _Token) -> _Token:
    return _make_token(_collapse(a.form + b.form), a.chars + b.chars, a.suffixed or b.suffixed)


@dataclass(frozen=True, slots=True)
class PreparedName:
    """A name with everything `similarity_prepared` needs worked out once (see `prepare`)."""

    text: str  # the name as given
    folded: str  # normalised text: equal folded texts are the same name
    tokens: tuple[_Token, ...]
    variants: tuple[tuple[_Token, ...], ...]  # other readings: tokens joined, Han name split
    keys: frozenset[str]
    sex: str  # "m" or "f" where an ending says so (-uly, -ova…), else ""

    @property
    def romanised(self) -> str:
        return " ".join(_display(t.form) for t in self.tokens)


def _display(form: str) -> str:
    return form.replace("S", "sh").replace("C", "ch")


def _normalise(name: str) -> str:
    text = unicodedata.normalize("NFKC", name).casefold()
    text = text.replace("\u0640", "")  # Arabic tatweel
    text = text.replace("i\u0307", "i")  # casefolded Turkish/Kazakh İ
    return text


def _split(name: str) -> list[str]:
    text = _normalise(name)
    for apostrophe in _APOSTROPHES:
        text = text.replace(apostrophe, "'")
    return [t for t in _SPLIT.split(text) if t.strip("'")]


def _key_parts(token: _Token) -> tuple[str, ...]:
    # The first three consonant classes other than k/q/g/h; a token without such (Ai, Aka) by
    # its form; and a form of a name of _NAME_VARIANTS by that name too.
    part = token.key[:3] if token.key else "_" + token.form[:3]
    return (part, f"g{token.group}") if token.group >= 0 else (part,)


def _keys(tokens: tuple[_Token, ...], variants, folded: str) -> frozenset[str]:
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


@lru_cache(maxsize=16384)
def _prepare(name: str) -> PreparedName:
    raw_tokens = _split(name)[:_MAX_TOKENS]
    # Separators alone ("·") are still a non-empty name, equal to itself.
    folded = " ".join(raw_tokens) or _normalise(name).strip()
    tokens: list[_Token] = []
    sex = ""
    han_split = None
    for raw in raw_tokens:
        form, cjk = _phonetic(raw)
        if form.startswith("ie") and len(form) > 2:  # Yerzhan / Erzhan, Yesen / Esen
            form = form[1:]
        if not form:
            continue
        if tokens and not cjk and _collapse(form) in _SUFFIX_WORDS:
            # "Nurlan uly": a patronymic ending written as its own word.
            sex = sex or _SUFFIX_WORDS[_collapse(form)]
            tokens[-1] = _make_token(tokens[-1].form, tokens[-1].chars, True)
            continue
        ending = ""
        if not cjk:  # Chinese transcription has no such endings: 托克托古力 is not -uly
            form, ending = _strip_suffix(form)
            sex = sex or ending
        chars = _readings(raw.translate(_TRADITIONAL)) if cjk else ()
        tokens.append(_make_token(_collapse(form), chars, bool(ending)))
        simplified = raw.translate(_TRADITIONAL)
        if cjk and len(raw_tokens) == 1 and 2 <= len(raw) <= 4 and simplified[0] in _HAN_SURNAMES:
            han_split = (
                _make_token(_collapse(_hanzi(raw[0])), chars[:1]),
                _make_token(_collapse(_hanzi(raw[1:])), chars[1:]),
            )
    tokens = tuple(tokens)
    variants = []
    if han_split and all(t.form for t in han_split):
        variants.append(han_split)
    if 2 <= len(tokens) <= 4:
        # Two tokens written as one ("Nur Sultan" / "Nursultan"; 卡纳提叶热杰普).
        for i in range(len(tokens) - 1):
            variants.append((*tokens[:i], _join(tokens[i], tokens[i + 1]), *tokens[i + 2 :]))
        if len(tokens) == 2:  # "Yerezhep Kanat" against 卡纳提叶热杰普
            variants.append((_join(tokens[1], tokens[0]),))
    variants = tuple(variants)
    return PreparedName(name, folded, tokens, variants, _keys(tokens, variants, folded), sex)


# The cache's controls, as on an lru_cache function (benchmarks clear it).
prepare.cache_clear = _prepare.cache_clear
prepare.cache_info = _prepare.cache_info


# --- scoring ---------------------------------------------------------------------------------

_lev = Levenshtein.normalized_similarity


def _token_similarity(a: _Token, b: _Token) -> float:
    if a.form == b.form and a.chars == b.chars:
        return 1.0
    if a.group >= 0 and a.group == b.group:
        return _VARIANT_SIMILARITY
    form = _lev(a.form, b.form)
    # A token of vowels only (Ai, Ua) has no skeleton: its form alone decides.
    skel = _lev(a.skel, b.skel) if a.skel and b.skel else float(a.skel == b.skel)
    if a.chars and b.chars:
        # Both in Chinese characters: characters read otherwise are another name even where
        # the transcription reads alike (王明 / 王敏; 马拉提 Marat / 木拉提 Murat).
        return 0.6 * _lev(a.chars, b.chars) + 0.4 * (0.75 * skel + 0.25 * form)
    if a.chars or b.chars:
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
    if a.sex and b.sex and a.sex != b.sex:
        best *= _SEX_CONFLICT
    return best


def similarity_prepared(a: PreparedName, b: PreparedName) -> float:
    """`similarity` of two prepared names: the hot path for scoring many pairs."""
    if not a.tokens or not b.tokens:
        return 1.0 if a.folded and a.folded == b.folded else 0.0
    if a.folded == b.folded:
        return 1.0
    if b.folded < a.folded:  # one order of evaluation, so the score is exactly symmetric
        a, b = b, a
    score = _score(a, b)
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


def romanise(name: str) -> str:
    """The canonical phonetic Latin form the module compares, e.g. "kanat erejep".

    For showing staff why two names were matched; not a transliteration standard.
    """
    if not name or not name.strip():
        return ""
    return prepare(name).romanised
