"""Starting vocabularies: charges used against Xinjiang detainees and the places of Xinjiang.

Rows are matched by name, so running this on a database that already has them changes nothing.
Staff may correct and extend both lists in the admin.
"""

import uuid

from django.db import migrations

# (English name, Chinese name, PRC Criminal Law article, note)
CHARGES = [
    ("Treason", "背叛国家罪", "102", ""),
    ("Splitting the state", "分裂国家罪", "103(1)", "Often reported as “separatism”."),
    (
        "Inciting splitting the state",
        "煽动分裂国家罪",
        "103(2)",
        "Often reported as “inciting separatism”.",
    ),
    ("Subversion of state power", "颠覆国家政权罪", "105(1)", ""),
    ("Inciting subversion of state power", "煽动颠覆国家政权罪", "105(2)", ""),
    (
        "Stealing, spying on or illegally providing state secrets or intelligence abroad",
        "为境外窃取、刺探、收买、非法提供国家秘密、情报罪",
        "111",
        "",
    ),
    (
        "Organising, leading or participating in a terrorist organisation",
        "组织、领导、参加恐怖组织罪",
        "120",
        "",
    ),
    (
        "Propagating terrorism or extremism, or inciting terrorist activities",
        "宣扬恐怖主义、极端主义、煽动实施恐怖活动罪",
        "120-3",
        "",
    ),
    (
        "Using extremism to undermine the implementation of the law",
        "利用极端主义破坏法律实施罪",
        "120-4",
        "",
    ),
    (
        "Illegally possessing items that promote terrorism or extremism",
        "非法持有宣扬恐怖主义、极端主义物品罪",
        "120-6",
        "",
    ),
    ("Inciting ethnic hatred or ethnic discrimination", "煽动民族仇恨、民族歧视罪", "249", ""),
    ("Gathering a crowd to disturb social order", "聚众扰乱社会秩序罪", "290", ""),
    ("Picking quarrels and provoking trouble", "寻衅滋事罪", "293", ""),
    (
        "Organising or using a cult to undermine the implementation of the law",
        "组织、利用会道门、邪教组织、利用迷信破坏法律实施罪",
        "300",
        "Also used against unregistered religious practice.",
    ),
    ("Illegally crossing the national border", "偷越国（边）境罪", "322", ""),
    ("Accepting bribes", "受贿罪", "385", "Often brought against officials."),
    (
        "Unknown or not disclosed",
        "不明",
        "",
        "Detained, but the authorities have not said on what charge.",
    ),
]

# (kind, English, Kazakh, Chinese, parent's English name)
PLACES = [
    ("country", "China", "Қытай", "中国", None),
    ("country", "Kazakhstan", "Қазақстан", "哈萨克斯坦", None),
    (
        "region",
        "Xinjiang Uyghur Autonomous Region",
        "Шыңжаң Ұйғыр автономиялық ауданы",
        "新疆维吾尔自治区",
        "China",
    ),
    ("prefecture", "Ürümqi", "Үрімжі", "乌鲁木齐市", "Xinjiang Uyghur Autonomous Region"),
    ("prefecture", "Karamay", "Қарамай", "克拉玛依市", "Xinjiang Uyghur Autonomous Region"),
    ("prefecture", "Turpan", "Тұрпан", "吐鲁番市", "Xinjiang Uyghur Autonomous Region"),
    ("prefecture", "Hami (Kumul)", "Құмыл", "哈密市", "Xinjiang Uyghur Autonomous Region"),
    (
        "prefecture",
        "Ili Kazakh Autonomous Prefecture",
        "Іле Қазақ автономиялық облысы",
        "伊犁哈萨克自治州",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Altay Prefecture",
        "Алтай аймағы",
        "阿勒泰地区",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Tacheng Prefecture",
        "Тарбағатай аймағы",
        "塔城地区",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Bortala Mongol Autonomous Prefecture",
        "Бортала Моңғол автономиялық облысы",
        "博尔塔拉蒙古自治州",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Changji Hui Autonomous Prefecture",
        "Санжы Хуэй автономиялық облысы",
        "昌吉回族自治州",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Bayingolin Mongol Autonomous Prefecture",
        "Баянғол Моңғол автономиялық облысы",
        "巴音郭楞蒙古自治州",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Aksu Prefecture",
        "Ақсу аймағы",
        "阿克苏地区",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Kizilsu Kyrgyz Autonomous Prefecture",
        "Қызылсу Қырғыз автономиялық облысы",
        "克孜勒苏柯尔克孜自治州",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Kashgar Prefecture",
        "Қашқар аймағы",
        "喀什地区",
        "Xinjiang Uyghur Autonomous Region",
    ),
    (
        "prefecture",
        "Hotan Prefecture",
        "Хотан аймағы",
        "和田地区",
        "Xinjiang Uyghur Autonomous Region",
    ),
]


def load(apps, schema_editor):
    Charge = apps.get_model("cases", "Charge")
    Location = apps.get_model("cases", "Location")
    for name, name_zh, article, note in CHARGES:
        Charge.objects.get_or_create(
            name=name,
            defaults={
                "uid": uuid.uuid4(),
                "name_zh": name_zh,
                "article": article,
                "description": note,
            },
        )
    by_name = {}
    for kind, name_en, name_kk, name_zh, parent_name in PLACES:
        parent = by_name[parent_name] if parent_name else None
        place, _ = Location.objects.get_or_create(
            parent=parent,
            name_en=name_en,
            defaults={"uid": uuid.uuid4(), "kind": kind, "name_kk": name_kk, "name_zh": name_zh},
        )
        # Historical models have no custom save(): keep the materialised path here.
        path = f"{parent.path if parent else '/'}{place.pk}/"
        if place.path != path:
            place.path = path
            place.save(update_fields=["path"])
        by_name[name_en] = place


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
