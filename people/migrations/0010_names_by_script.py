"""Person.names_by_script: each person's spelling in each script, copied from their names so
that lists show a reader the spelling in their interface's script (Person.__str__)."""

from django.db import migrations, models

BATCH = 2000


def fill(apps, schema_editor):
    Person = apps.get_model("people", "Person")
    PersonName = apps.get_model("people", "PersonName")
    last = 0
    while True:
        ids = list(
            Person.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return
        last = ids[-1]
        wanted: dict[int, dict[str, str]] = {}
        names = PersonName.objects.filter(person_id__in=ids).order_by(
            "person_id", "-is_preferred", "pk"
        )
        for person_id, script, name in names.values_list("person_id", "script", "name"):
            if script:
                wanted.setdefault(person_id, {}).setdefault(script, name)
        people = [Person(pk=pk, names_by_script=wanted[pk]) for pk in ids if pk in wanted]
        Person.objects.bulk_update(people, ["names_by_script"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0009_organisation_russian_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalperson",
            name="names_by_script",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="person",
            name="names_by_script",
            field=models.JSONField(blank=True, default=dict, editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
