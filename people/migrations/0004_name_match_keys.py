"""Match keys for the names already stored, and append-only history for the new tables."""

from django.db import migrations

from casetracker.audit import append_only_operation


def compute_keys(apps, schema_editor):
    # The function itself, not the model method: migrations see historical models.
    from people.models import name_match_keys

    PersonName = apps.get_model("people", "PersonName")
    PersonNameKey = apps.get_model("people", "PersonNameKey")
    batch = []
    for pk, name in PersonName.objects.values_list("pk", "name").iterator(chunk_size=2000):
        batch += [PersonNameKey(name_id=pk, key=key) for key in sorted(name_match_keys(name))]
        if len(batch) >= 5000:
            PersonNameKey.objects.bulk_create(batch)
            batch = []
    PersonNameKey.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("people", "0003_duplicates")]

    operations = [
        migrations.RunPython(compute_keys, migrations.RunPython.noop, elidable=True),
        append_only_operation("people"),
    ]
