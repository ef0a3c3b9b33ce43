"""Counts kept by the write paths (figures.tally), and the facts' deletion left to them."""

from types import SimpleNamespace

import django.db.models.deletion
from django.db import migrations, models


def count(apps, schema_editor):
    """The counts of the facts written before the table was (figures.tally.recount)."""
    from figures import tally

    for scope, prefix in (("published", "Published"), ("staff", "Case")):
        tally.recount(
            SimpleNamespace(
                facts=apps.get_model("figures", f"{prefix}Facts"),
                charge=apps.get_model("figures", f"{prefix}FactCharge"),
                place=apps.get_model("figures", f"{prefix}FactPlace"),
                tally=apps.get_model("figures", "Tally"),
                scope=scope,
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_search_and_lists_at_scale"),
        ("figures", "0004_backfill_case_facts"),
        ("snapshots", "0002_held_corrections"),
    ]

    operations = [
        migrations.AlterField(
            model_name="casefactcharge",
            name="charge",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="cases.charge"
            ),
        ),
        migrations.AlterField(
            model_name="casefactplace",
            name="location",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="cases.location",
            ),
        ),
        migrations.AlterField(
            model_name="publishedfactcharge",
            name="charge",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="cases.charge"
            ),
        ),
        migrations.AlterField(
            model_name="publishedfactplace",
            name="location",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="cases.location",
            ),
        ),
        migrations.AlterField(
            model_name="casefacts",
            name="case",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.DO_NOTHING,
                primary_key=True,
                related_name="facts",
                serialize=False,
                to="cases.case",
            ),
        ),
        migrations.AlterField(
            model_name="publishedfacts",
            name="snapshot",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.DO_NOTHING,
                primary_key=True,
                related_name="facts",
                serialize=False,
                to="snapshots.publishedcase",
                verbose_name="published snapshot",
            ),
        ),
        migrations.CreateModel(
            name="Tally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("scope", models.CharField(max_length=10, verbose_name="scope")),
                ("sensitive", models.BooleanField(default=False, verbose_name="sensitive")),
                ("archived", models.BooleanField(default=False, verbose_name="archived")),
                ("synthetic", models.BooleanField(default=False, verbose_name="synthetic")),
                ("dimension", models.CharField(max_length=30, verbose_name="dimension")),
                ("key", models.CharField(max_length=200, verbose_name="key")),
                ("cases", models.BigIntegerField(verbose_name="cases")),
            ],
            options={
                "verbose_name": "tally",
                "verbose_name_plural": "tallies",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scope", "sensitive", "archived", "synthetic", "dimension", "key"),
                        name="figures_tally_once",
                    )
                ],
            },
        ),
        migrations.RunPython(count, migrations.RunPython.noop),
    ]
