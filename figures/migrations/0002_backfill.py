"""The facts of the snapshots written before the statistics existed."""

from types import SimpleNamespace

from django.db import migrations, transaction

CHUNK = 500


def backfill(apps, schema_editor):
    from figures import facts

    snapshots = apps.get_model("snapshots", "PublishedCase")
    models = SimpleNamespace(
        facts=apps.get_model("figures", "PublishedFacts"),
        charge=apps.get_model("figures", "PublishedFactCharge"),
        place=apps.get_model("figures", "PublishedFactPlace"),
        location=apps.get_model("cases", "Location"),
        charge_of=apps.get_model("cases", "Charge"),
    )
    last = 0
    while True:
        rows = list(
            snapshots.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "document")[:CHUNK]
        )
        if not rows:
            break
        with transaction.atomic():  # a chunk at a time: not one transaction of millions
            facts.write(rows, models=models)
        last = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("figures", "0001_facts")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
