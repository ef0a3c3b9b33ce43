"""The staff's facts of the cases written before they existed (figures.staff)."""

from types import SimpleNamespace

from django.db import migrations


def backfill(apps, schema_editor):
    from figures import staff

    staff.rebuild(
        models=SimpleNamespace(
            facts=apps.get_model("figures", "CaseFacts"),
            charge=apps.get_model("figures", "CaseFactCharge"),
            place=apps.get_model("figures", "CaseFactPlace"),
            location=apps.get_model("cases", "Location"),
            charge_of=apps.get_model("cases", "Charge"),
            case=apps.get_model("cases", "Case"),
            event=apps.get_model("cases", "DetentionEvent"),
        )
    )


class Migration(migrations.Migration):
    atomic = False  # a chunk a transaction (figures.staff.rebuild): not one of millions
    dependencies = [("figures", "0003_case_facts")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
