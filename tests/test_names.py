"""people.names: cross-script name matching. Pure functions, no database.

The labelled pairs are tests/data/name_pairs.tsv; benchmarks/names_bench.py prints the same
figures with a threshold sweep and timings.
"""

import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from people.names import (
    POSSIBLE_DUPLICATE_THRESHOLD,
    SAME_PERSON_THRESHOLD,
    match_keys,
    pinyin,
    possible_keys,
    prepare,
    romanise,
    similarity,
    similarity_prepared,
)

PAIRS_FILE = Path(__file__).parent / "data" / "name_pairs.tsv"


class Pair(NamedTuple):
    part: str
    family: str
    a: str
    b: str
    same: bool
    note: str


def load_pairs(path=PAIRS_FILE) -> list[Pair]:
    """Every labelled pair; parts are "# part: NAME" sections, families "# family: NAME" ones
    within a part (rows before a part's first family line are of the family "core")."""
    rows, part, family = [], None, "core"
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# part: "):
            part, family = line.removeprefix("# part: ").strip(), "core"
        elif line.startswith("# family: "):
            family = line.removeprefix("# family: ").strip()
        elif line and not line.startswith("#"):
            a, b, same, note = line.split("\t")
            rows.append(Pair(part, family, a, b, same == "1", note))
    return rows


PAIRS = load_pairs()


def same(a, b):
    return similarity(a, b) >= SAME_PERSON_THRESHOLD


def precision_recall(part, family=None, threshold=SAME_PERSON_THRESHOLD):
    tp = fp = fn = 0
    for pair in PAIRS:
        if pair.part != part or family not in (None, pair.family):
            continue
        predicted = similarity(pair.a, pair.b) >= threshold
        tp += predicted and pair.same
        fp += predicted and not pair.same
        fn += pair.same and not predicted
    return tp / (tp + fp), tp / (tp + fn)


# --- the issue's example --------------------------------------------------------------------

ISSUE_SPELLINGS = [
    "Қанат Ережеп",
    "Qanat Erejep",
    "قانات ەرەجەپ",
    "卡纳提·叶热杰普",
    "Kanat Yerezhep",
]


@pytest.mark.parametrize("other", ISSUE_SPELLINGS[1:])
def test_the_issues_spellings_are_one_name(other):
    assert same("Қанат Ережеп", other)


def test_issue_spellings_romanise_alike():
    assert {romanise(n) for n in ISSUE_SPELLINGS} == {"kanat erejep"}


# --- scripts and alphabets ------------------------------------------------------------------


def test_kazakh_cyrillic_letters_match_plain_latin():
    assert same("Әлихан Ғабитұлы Нұрғали", "Alikhan Gabituly Nurgali")


def test_kazakh_cyrillic_letters_match_russian_cyrillic():
    assert same("Гүлнар Оспанқызы", "Гульнар Оспанова")


def test_2021_kazakh_latin_matches_cyrillic():
    assert same("Säule Ömırbekqyzy", "Сәуле Өмірбекқызы")


def test_2017_apostrophe_latin_matches_cyrillic():
    assert same("Aigu'l Tu'rsy'n", "Айгүл Тұрсын")


def test_2018_acute_latin_matches_cyrillic():
    assert same("Dáýren Ábishev", "Дәурен Әбішев")


@pytest.mark.parametrize("spelling", ["Yerzhan", "Erzhan", "Yerjan", "Erjan"])
def test_russian_passport_and_informal_spellings_of_yerzhan(spelling):
    assert same(f"{spelling} Nurlanov", "Ержан Нұрланұлы")


@pytest.mark.parametrize("spelling", ["Mukhtar", "Muhtar", "Muqtar"])
def test_kh_h_and_q_are_one_sound(spelling):
    assert same(f"Askar {spelling}", "Асқар Мұхтар")


def test_ai_and_ay_are_one_sound():
    assert same("Aygul Tursyn", "Aigul Tursyn")


def test_w_and_u_are_one_sound():
    assert same("Dawren Abish", "Dauren Abish")


def test_kazakh_arabic_script_with_front_vowel_hamza():
    # ٴ marks the front vowels of Әбіш; ۋ is у, ە is е.
    assert same("داۋرەن ٴابىش", "Дәурен Әбіш")


def test_kazakh_arabic_script_with_ghayn_and_qaf():
    assert same("جانار تالعات", "Жанар Талғат")


def test_uyghur_arabic_script_with_vowel_carrier():
    assert same("گۈلشەن ئابباس", "Gulshan Abbas")


def test_uyghur_arabic_o_with_uyghur_letters_is_a_vowel():
    # ۆ is Kazakh в but Uyghur ö; ۈ in the word says it is Uyghur.
    assert romanise("تۆمۈر") == "tomur"


@pytest.mark.parametrize(
    ("chinese", "latin"),
    [
        ("努尔别克", "Nurbek"),  # 别克 -bek
        ("叶尔江", "Yerzhan"),  # 叶尔 Yer-, 江 -zhan
        ("阿里汗", "Alikhan"),  # 汗 -khan
        ("古丽娜尔", "Gulnar"),  # 古丽 Gul-
        ("阿依古丽", "Aigul"),  # 阿依 Ai-
        ("哈孜", "Qazy"),
    ],
)
def test_chinese_transcription_syllables_read_as_kazakh(chinese, latin):
    assert same(chinese, latin)


def test_chinese_name_without_separator():
    assert same("卡纳提叶热杰普", "Kanat Yerezhep")


def test_han_name_family_name_first():
    assert same("王明", "Ming Wang")


def test_traditional_characters_match_simplified():
    assert same("卡納提·葉熱傑普", "卡纳提·叶热杰普")


def test_han_name_in_traditional_characters_matches_pinyin():
    assert same("陳國強", "Chen Guoqiang")


def test_russian_dzh_is_one_sound():
    assert same("Гульбахар Джалилова", "Gulbahar Jalil")


@pytest.mark.parametrize(
    ("one", "other"),
    [("Memet", "Mukhamet"), ("Zhusip", "Yusup"), ("Ybyrai", "Ibrahim"), ("Gaisha", "Aisha")],
)
def test_kazakh_uyghur_and_russian_forms_of_one_arabic_name(one, other):
    assert same(f"{one} Tursun", f"{other} Tursun")


def test_uyghur_name_in_chinese_that_drops_h():
    assert same("热依拉·达吾提", "Rahile Dawut")


# --- order, separators, endings, case -------------------------------------------------------


def test_given_and_fathers_name_swapped():
    assert same("Yerezhepov Kanat", "Kanat Yerezhep")


def test_fathers_name_first_in_chinese():
    assert same("叶热杰普·卡纳提", "Kanat Yerezhep")


@pytest.mark.parametrize(
    "name", ["Kanat·Yerezhep", "Kanat•Yerezhep", "Kanat-Yerezhep", "Kanat_Yerezhep"]
)
def test_separators(name):
    assert similarity(name, "Kanat Yerezhep") == 1.0


def test_hyphenated_given_name_matches_it_written_as_one_word():
    assert same("Nur-Sultan Abishev", "Nursultan Abish")


@pytest.mark.parametrize(
    "name",
    [
        "Kanat Yerezhepuly",
        "Kanat Yerezhepulı",
        "Қанат Ережепұлы",
        "Kanat Yerezhepov",
        "Kanat Yerezhepovich",
        "Kanat Yerezhep uly",
    ],
)
def test_patronymic_and_surname_endings_of_a_son(name):
    assert same(name, "Kanat Yerezhep")


@pytest.mark.parametrize(
    "name",
    [
        "Gulnar Ospankyzy",
        "Гүлнар Оспанқызы",
        "Gulnar Ospanqyzy",
        "Gulnar Ospanova",
        "Gulnar Ospanovna",
    ],
)
def test_patronymic_and_surname_endings_of_a_daughter(name):
    assert same(name, "Gulnar Ospan")


def test_kyrgyz_uulu():
    assert same("Azamat Toktogul uulu", "Azamat Toktogulov")


@pytest.mark.parametrize(
    "name",
    [
        "Abdulla Tursun oghli",
        "Abdulla Tursun o'g'li",  # Uzbek Latin
        "ئابدۇللا تۇرسۇن ئوغلى",  # Uyghur Arabic script
        "Abdulla Tursun oğlu",
        "Абдулла Турсун угли",
    ],
)
def test_uyghur_and_uzbek_patronymic_words_of_a_son(name):
    assert same(name, "Abdulla Tursunov")
    assert prepare(name).sex == "m"


@pytest.mark.parametrize(
    "name", ["Dilnur Ablimit qizi", "دىلنۇر ئابلىمىت قىزى", "Dilnur Ablimitovna"]
)
def test_uyghur_patronymic_words_of_a_daughter(name):
    assert same(name, "Dilnur Ablimit")
    assert not same(name, "Dilnur Ablimit oghli")  # the endings say son and daughter


def test_a_patronymic_word_says_who_is_the_father():
    assert not same("Tursun Abdulla oghli", "Abdulla Tursun oghli")


# --- pinyin of Chinese transcriptions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("pinyin", "native"),
    [
        ("Tuerxun Maimaiti", "Tursun Memet"),
        ("Tuerxun Maimaiti", "吐尔逊·买买提"),
        ("TUERXUN MAIMAITI", "Турсун Мамат"),
        ("Kanati Yerejiepu", "Қанат Ережеп"),
        ("ASIKAER AZATIBIEKE", "Asqar Azatbek"),
        ("Ayiguli Tuerxun", "Aigul Tursyn"),
        ("TUERXUNMAIMAITI", "Tursun Memet"),  # the names run together
    ],
)
def test_pinyin_of_a_chinese_transcription_matches_the_native_spellings(pinyin, native):
    assert same(pinyin, native)
    assert match_keys(pinyin) & match_keys(native)


@pytest.mark.parametrize(
    ("token", "syllables", "reading"),
    [
        ("tuerxun", ("tu", "er", "xun"), "tursun"),  # 吐尔逊
        ("maimaiti", ("mai", "mai", "ti"), "memet"),  # 买买提
        ("kanati", ("ka", "na", "ti"), "kanat"),  # not kan-a-ti
        ("azatibieke", ("a", "za", "ti", "bie", "ke"), "azatbek"),  # 别克 -bek
        ("ayiguli", ("a", "yi", "gu", "li"), "aigul"),  # 古丽 gul
    ],
)
def test_pinyin_syllables_read_as_the_transcription_characters(token, syllables, reading):
    assert pinyin.segment(token) == syllables
    assert pinyin.read(syllables) == reading


@pytest.mark.parametrize("name", ["Kanat Yerezhep", "Aigul Tursyn", "Nurlan Serik", "Wang Ming"])
def test_a_name_that_is_not_pinyin_gets_no_pinyin_reading(name):
    assert prepare(name).readings == ()


def test_the_pinyin_reading_is_an_alternative_the_name_as_written_still_counts():
    assert same("Chen Guoqiang", "陈国强")  # a Han name in pinyin: read as written
    assert not same("Chen Guoqiang", "Chen Guoliang")


def test_pinyin_of_another_name_is_not_the_same():
    assert not same("Yilihamu Tuheti", "Ilham Tursun")  # other father
    assert not same("Nuerlan Sailike", "Nurbek Serik")


# --- initials ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("K. Yerezhep", "Kanat Yerezhep"),
        ("Yerezhep K.", "Қанат Ережеп"),
        ("Тохти А.", "Tokhti Abdulla"),
        ("Zh. Abenov", "Zhanat Abenov"),
        ("Ye. Nurlanov", "Yerlan Nurlanov"),
    ],
)
def test_an_initial_that_could_stand_for_the_name_is_possible_never_the_same(short, full):
    score = similarity(short, full)
    assert POSSIBLE_DUPLICATE_THRESHOLD <= score < SAME_PERSON_THRESHOLD
    assert prepare(short).has_initial and not prepare(full).has_initial
    assert possible_keys(short) & possible_keys(full)  # the scan meets them
    assert not match_keys(short) & match_keys(full)  # a search for "the same" never does


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("M. Yerezhep", "Kanat Yerezhep"),  # M. is not Kanat
        ("K. Yerezhep", "Kanat Nurlanov"),  # the other name differs
        ("Zh. Abenov", "Sholpan Abenova"),
        ("A. Tursun", "Erlan Tursun"),
    ],
)
def test_an_initial_that_cannot_stand_for_the_name_is_below_possible(short, full):
    assert similarity(short, full) < POSSIBLE_DUPLICATE_THRESHOLD


def test_an_initial_the_other_name_has_no_word_for_is_only_an_extra_word():
    assert same("Rahile D. Dawut", "Rahile Dawut")
    assert not same("Rahile D. Dawut", "Rahile Memet Dawut")  # D. cannot be Memet
    score = similarity("Rahile D. Dawut", "Rahile Dilnur Dawut")  # D. could be Dilnur
    assert POSSIBLE_DUPLICATE_THRESHOLD <= score < SAME_PERSON_THRESHOLD


def test_an_abbreviation_is_not_the_same_as_the_letters_without_a_full_stop():
    score = similarity("Zh. Abenov", "Zh Abenov")
    assert score < SAME_PERSON_THRESHOLD or match_keys("Zh. Abenov") & match_keys("Zh Abenov")


def test_the_thresholds_are_ordered():
    assert 0 < POSSIBLE_DUPLICATE_THRESHOLD < SAME_PERSON_THRESHOLD < 1


@pytest.mark.parametrize(("pinyin", "chinese"), [("Wu Ming", "吴明"), ("Ye Ming", "叶明")])
def test_a_han_family_name_of_two_letters_is_no_initial(pinyin, chinese):
    assert not prepare(pinyin).has_initial
    assert same(pinyin, chinese)


def test_a_short_given_name_is_no_initial():
    assert not prepare("Ai Tursun").has_initial
    assert not prepare("K").has_initial  # a lone letter is no name with an initial


# --- apostrophes: Uyghur Latin syllables or 2017 Kazakh letters --------------------------------


@pytest.mark.parametrize("other", ["مەسئۇت تۇرسۇن", "Месут Турсун", "Mesut Tursun"])
def test_uyghur_latin_apostrophe_separates_syllables(other):
    assert romanise("Mes'ut Tursun") == "mesut tursun"
    assert same("Mes'ut Tursun", other)


def test_uyghur_latin_apostrophe_keeps_s_and_h_apart():
    assert similarity("Is'haq Memet", "Исхак Мемет") == 1.0  # s + h, as Cyrillic writes it
    assert same("Is'haq Memet", "Ishaq Memet")  # English sh: ш, or s + h


@pytest.mark.parametrize(
    ("name", "reading"),
    [
        ("S'ynar Ermekqyzy", "shinar ermek"),  # s' at a word's start
        ("Qy'anys' Nurlanuly", "kianish nurlan"),  # s' at the end
        ("Bas'ar Ermekuly", "bashar ermek"),  # a Kazakh ending elsewhere in the name
        ("Bas'ar Tursyn", "bashar tursin"),  # y as the vowel ы
    ],
)
def test_apostrophes_in_a_name_with_kazakh_signs_are_2017_letters(name, reading):
    assert romanise(name) == reading


def test_uyghur_latin_is_not_read_as_the_2017_alphabet():
    assert not same("Mes'ut Tursun", "Meshit Tursun")  # Мешіт


def test_case_is_ignored():
    assert similarity("KANAT YEREZHEP", "kanat yerezhep") == 1.0


def test_an_extra_grandfathers_name_still_matches():
    assert same("Kanat Yerezhep Nurlanuly", "Kanat Yerezhep")


# --- keeping different people apart ---------------------------------------------------------


def test_shared_given_name_with_different_fathers_name_is_not_the_same():
    assert not same("Kanat Yerezhep", "Kanat Nurlanuly")


def test_shared_given_name_with_different_fathers_name_across_scripts_is_not_the_same():
    assert not same("Гүлнар Оспан", "Gulnar Kasym")


def test_shared_surname_with_different_given_name_is_not_the_same():
    assert not same("Yerlan Bekov", "Yerzhan Bekov")


def test_father_and_son_whose_endings_say_so_are_not_the_same():
    assert not same("Nurlan Serikov", "Serik Nurlanov")


def test_son_and_daughter_of_one_father_are_not_the_same():
    assert not same("Zhanar Talgatuly", "Zhanar Talgatkyzy")


def test_a_given_name_alone_is_not_the_same_person():
    assert not same("Kanat", "Kanat Yerezhep")


def test_chinese_names_in_other_characters_are_not_the_same():
    assert not same("马拉提·胡赛因", "木拉提·胡赛因")  # Marat, Murat


# --- properties -----------------------------------------------------------------------------

ALL_NAMES = sorted({n for pair in PAIRS for n in (pair.a, pair.b)})


def test_similarity_is_symmetric():
    assert all(similarity(p.a, p.b) == similarity(p.b, p.a) for p in PAIRS)


def test_similarity_is_between_zero_and_one():
    assert all(0.0 <= similarity(p.a, p.b) <= 1.0 for p in PAIRS)


@pytest.mark.parametrize("name", [*ALL_NAMES[:40], "123", "???", "Ш", "ئ", "A.", "·"])
def test_a_name_is_identical_to_itself(name):
    assert similarity(name, name) == 1.0


@pytest.mark.parametrize("empty", ["", " ", "\t\n"])
def test_empty_names_score_zero(empty):
    assert similarity(empty, "Kanat Yerezhep") == 0.0
    assert similarity(empty, empty) == 0.0


@pytest.mark.parametrize("empty", ["", " ", "\t\n"])
def test_empty_names_have_no_keys(empty):
    assert match_keys(empty) == frozenset()


def test_match_keys_are_short_ascii():
    keys = {k for name in ALL_NAMES for k in match_keys(name)}
    assert all(k.isascii() and 0 < len(k) <= 32 for k in keys)


def test_match_keys_are_a_handful_per_name():
    assert max(len(match_keys(name)) for name in ALL_NAMES) <= 12


def test_every_non_empty_name_has_a_key():
    assert all(match_keys(name) for name in [*ALL_NAMES, "123", "???"])


def test_names_scoring_at_or_above_the_threshold_share_a_key():
    names = ALL_NAMES[::3]
    missed = [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if same(a, b) and not (match_keys(a) & match_keys(b))
    ]
    assert missed == []


def test_blocking_recall_on_positive_pairs_is_complete():
    # Initials meet the names they may stand for by the keys of possible duplicates.
    def keys(pair, name):
        return (possible_keys if pair.family == "initials" else match_keys)(name)

    missed = [(p.a, p.b) for p in PAIRS if p.same and not keys(p, p.a) & keys(p, p.b)]
    assert missed == []


def test_prepared_similarity_equals_similarity():
    a, b = "Kanat Yerezhep", "卡纳提·叶热杰普"
    assert similarity_prepared(prepare(a), prepare(b)) == similarity(a, b)


def test_a_very_long_text_is_read_from_its_start_only():
    cell = "Қанат Ережеп " * 100_000  # a 1 MB spreadsheet cell
    assert similarity(cell, cell) == 1.0
    assert prepare(cell).tokens == prepare(cell[:256]).tokens


def test_prepare_is_cached():
    assert prepare("Қанат Ережеп") is prepare("Қанат Ережеп")


def test_module_imports_without_django():
    code = "import sys, people.names; sys.exit('django' in sys.modules)"
    env = {"PATH": "/usr/bin:/bin"}
    root = Path(__file__).parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, env=env)  # noqa: S603
    assert result.returncode == 0


# --- the labelled set -----------------------------------------------------------------------


def test_labelled_set_is_large_enough():
    positives = sum(1 for pair in PAIRS if pair.same)
    assert positives >= 150 and len(PAIRS) - positives >= 150


def test_labelled_tuning_part_precision_and_recall():
    precision, recall = precision_recall("tune")
    assert precision >= 0.98 and recall >= 0.98


def test_labelled_held_out_part_precision_and_recall():
    precision, recall = precision_recall("held-out")
    assert precision >= 0.97 and recall >= 0.97


def test_labelled_fresh_part_precision_and_recall():
    precision, recall = precision_recall("fresh")
    assert precision >= 0.97 and recall >= 0.97


# The least precision each family's parts must reach at SAME_PERSON_THRESHOLD (recall: 0.95).
# The apostrophe family's one miss in each part is a brother and sister (Mes'ut, Mes'ude), the
# pinyin family's are names one vowel or one h apart (木拉提 Murat / Marat, Memet / Mahmut):
# names that differ by a letter, for the lexicon of given names to tell apart (issue 18).
FAMILY_PRECISION = {"patronymic": 0.95, "apostrophe": 0.94, "pinyin": 0.85}


@pytest.mark.parametrize("part", ["families-tune", "families-held-out"])
@pytest.mark.parametrize("family", sorted(FAMILY_PRECISION))
def test_labelled_family_precision_and_recall(part, family):
    precision, recall = precision_recall(part, family)
    assert precision >= FAMILY_PRECISION[family] and recall >= 0.95


@pytest.mark.parametrize("part", ["families-tune", "families-held-out"])
def test_labelled_initials_reach_review_as_possible_and_never_as_the_same(part):
    precision, recall = precision_recall(part, "initials", POSSIBLE_DUPLICATE_THRESHOLD)
    assert precision >= 0.95 and recall >= 0.95
    scores = [similarity(p.a, p.b) for p in PAIRS if (p.part, p.family) == (part, "initials")]
    assert scores and max(scores) < SAME_PERSON_THRESHOLD


def test_every_family_has_labelled_pairs_in_both_parts():
    families = {(pair.part, pair.family) for pair in PAIRS if pair.part.startswith("families")}
    for part in ("families-tune", "families-held-out"):
        for family in (*FAMILY_PRECISION, "initials"):
            both = [p.same for p in PAIRS if (p.part, p.family) == (part, family)]
            assert (part, family) in families and True in both and False in both
