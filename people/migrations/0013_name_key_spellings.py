"""Each match key carries its name's text, so that name search reads the spellings sharing a
key from the key table's index alone (people.matching.similar_people), and one unique index
(key, spelling, name) serves every lookup of the table."""

from django.db import migrations, models

FILL = {
    "postgresql": (
        "UPDATE people_personnamekey AS k SET spelling = n.name "
        "FROM people_personname AS n WHERE n.id = k.name_id"
    ),
    "default": (
        "UPDATE people_personnamekey SET spelling = "
        "(SELECT n.name FROM people_personname AS n WHERE n.id = people_personnamekey.name_id)"
    ),
}


def fill_spellings(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    schema_editor.execute(FILL.get(vendor, FILL["default"]))


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0012_search_and_lists_at_scale"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="personnamekey",
            name="people_personnamekey_unique",
        ),
        migrations.AddField(
            model_name="personnamekey",
            name="spelling",
            field=models.CharField(default="", max_length=300, verbose_name="spelling"),
            preserve_default=False,
        ),
        migrations.RunPython(fill_spellings, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="personnamekey",
            constraint=models.UniqueConstraint(
                fields=("key", "spelling", "name"), name="people_personnamekey_unique"
            ),
        ),
    ]
