import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_approximate_windows_and_charge_basis"),
        ("people", "0007_name_language_follows_script"),
    ]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="person",
            field=models.ForeignKey(
                help_text="The detained person: search by any spelling, or add them with “+”.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="cases",
                to="people.person",
            ),
        ),
        migrations.AlterField(
            model_name="historicalcase",
            name="person",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The detained person: search by any spelling, or add them with “+”.",
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="people.person",
            ),
        ),
    ]
