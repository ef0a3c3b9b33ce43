"""Chinese characters: the characters of Xinhua-style transcriptions of Kazakh and Uyghur
names read as the sounds they stand for, pypinyin for the rest, and Mandarin readings with
tones for comparing two names both in characters."""

from __future__ import annotations

from functools import lru_cache

from people.names.alphabets import latin

# --- Chinese ---------------------------------------------------------------------------------

# Characters of Xinhua-style transcriptions of Kazakh and Uyghur names, read as the Kazakh/Uyghur
# sounds they stand for. Characters that usually write a lone consonant (提 t, 克 k, 尔 r, 普 p…)
# are given without their epenthetic vowel.
HANZI = {
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
TRADITIONAL = str.maketrans(
    "納麥買爾蘭熱傑麗別達鐵蘇圖魯庫來羅瑪滿門諾寧薩賽孫遜謝鮮紮則齊喬烏衛偉韋萬亞婭約葉額歐貝畢東"
    "託湯凱開恆蓋貢欽協榮萊裡倫龍兒馬內錫茲澤贊維優賓奧"
    "陳張劉楊黃趙吳鄭許韓馮鄧蔣呂盧鍾譚陸賈鄒賀顧龔錢嚴閻國強華偉",
    "纳麦买尔兰热杰丽别达铁苏图鲁库来罗玛满门诺宁萨赛孙逊谢鲜扎则齐乔乌卫伟韦万亚娅约叶额欧贝毕东"
    "托汤凯开恒盖贡钦协荣莱里伦龙儿马内锡兹泽赞维优宾奥"
    "陈张刘杨黄赵吴郑许韩冯邓蒋吕卢钟谭陆贾邹贺顾龚钱严阎国强华伟",
)
# Pairs read together differently from their parts.
HANZI_PAIRS = {"古丽": "gul"}

# The commonest Han family names: a Han name written without a separator (王明) is also tried as
# family name + given name.
HAN_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
    "万钱严覃武戴莫孔向汤"
)


def is_hanzi(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


@lru_cache(maxsize=4096)
def readings(token: str) -> tuple[str, ...]:
    """Toned Mandarin readings of the characters: 陈/陳 and 丽/莉 read alike, 明/敏 do not."""
    from pypinyin import Style, lazy_pinyin

    return tuple(lazy_pinyin(token, style=Style.TONE3, errors=lambda chars: list(chars)))


@lru_cache(maxsize=4096)
def _pinyin(char: str) -> str:
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(char, style=Style.NORMAL, v_to_u=True, errors="ignore")
    return latin(syllables[0]) if syllables else ""


def hanzi(token: str) -> str:
    token = token.translate(TRADITIONAL)
    out = []
    i = 0
    while i < len(token):
        pair = token[i : i + 2]
        if pair in HANZI_PAIRS:
            out.append(HANZI_PAIRS[pair])
            i += 2
            continue
        char = token[i]
        value = HANZI.get(char)
        if value is None:
            value = _pinyin(char) if is_hanzi(char) else ""
        out.append(value)
        i += 1
    return "".join(out)
