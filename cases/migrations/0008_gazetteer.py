"""The gazetteer below prefecture level: every county-level division of Xinjiang, and Russian
names for places (cases/data/gazetteer.csv, loaded by cases/data/gazetteer.py).

Places already stored under the same parent and name are reused and only their empty fields
filled in, so running this on a database that has some of them duplicates nothing. The loader
writes a history row for each place it creates or fills in; the last operation chains them in
the audit chain, which casetracker 0004 built for the history written before.
"""

from django.db import migrations, models

from cases.data import gazetteer
from casetracker.integrity import chain_unlinked_operation


def load_gazetteer(apps, schema_editor):
    gazetteer.load(apps, schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_encrypted_change_reasons"),
        # The chain of the history written before: this migration's rows are chained after it.
        ("casetracker", "0004_chain_existing_history"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="location",
            options={
                "ordering": ["path"],
                "permissions": [
                    (
                        "manage_gazetteer",
                        "Can add and change countries, regions, prefectures and counties",
                    ),
                    ("curate_location", "Can change places below county level that others added"),
                ],
                "verbose_name": "place",
                "verbose_name_plural": "places",
            },
        ),
        # A column of a history table in the audit chain: casetracker.integrity lists it in
        # ADDED_AFTER_CHAINING, so the rows chained before it existed still verify.
        migrations.AddField(
            model_name="historicallocation",
            name="name_ru",
            field=models.CharField(
                blank=True,
                help_text="The established Russian name, e.g. Кульджа (Инин) for Yining.",
                max_length=200,
                verbose_name="name (Russian)",
            ),
        ),
        migrations.AddField(
            model_name="location",
            name="name_ru",
            field=models.CharField(
                blank=True,
                help_text="The established Russian name, e.g. Кульджа (Инин) for Yining.",
                max_length=200,
                verbose_name="name (Russian)",
            ),
        ),
        migrations.RunPython(load_gazetteer, migrations.RunPython.noop),
        chain_unlinked_operation(),
    ]
