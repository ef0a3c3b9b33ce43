"""The approximate window of each event's date (casetracker.edtf.edtf_window), filled in for
the events already stored; and the charge basis's empty value read as "not stated", with "no
charges known" a choice of its own. The window columns are derived and not kept in the
history, so the audit chain is unaffected."""

import casetracker.edtf
from django.db import migrations, models

from casetracker.edtf import edtf_window

BATCH = 2000


def fill_windows(apps, schema_editor):
    # The migration's own model: a plain manager, so no history rows are written.
    Event = apps.get_model("cases", "DetentionEvent")
    last = 0
    while True:
        rows = list(Event.objects.filter(pk__gt=last).order_by("pk").only("pk", "date")[:BATCH])
        if not rows:
            return
        for event in rows:
            window = edtf_window(event.date)
            event.date_window_earliest, event.date_window_latest = window.earliest, window.latest
        Event.objects.bulk_update(rows, ["date_window_earliest", "date_window_latest"])
        last = rows[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_gazetteer"),
    ]

    operations = [
        migrations.AddField(
            model_name="detentionevent",
            name="date_window_earliest",
            field=casetracker.edtf.EDTFBoundField(
                bound="window_earliest",
                db_index=True,
                source="date",
                verbose_name="date, earliest day, approximate dates widened",
            ),
        ),
        migrations.AddField(
            model_name="detentionevent",
            name="date_window_latest",
            field=casetracker.edtf.EDTFBoundField(
                bound="window_latest",
                db_index=True,
                source="date",
                verbose_name="date, latest day, approximate dates widened",
            ),
        ),
        migrations.AlterField(
            model_name="detentionevent",
            name="charge_basis",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Not stated"),
                    ("official", "Officially disclosed (charge sheet, verdict, notice)"),
                    ("reported", "Reported, not officially disclosed"),
                    ("none", "No charges known (the sources say none were disclosed)"),
                ],
                help_text="Whether the authorities disclosed the charges or they are only reported.",
                max_length=10,
                verbose_name="charges known from",
            ),
        ),
        migrations.AlterField(
            model_name="historicaldetentionevent",
            name="charge_basis",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Not stated"),
                    ("official", "Officially disclosed (charge sheet, verdict, notice)"),
                    ("reported", "Reported, not officially disclosed"),
                    ("none", "No charges known (the sources say none were disclosed)"),
                ],
                help_text="Whether the authorities disclosed the charges or they are only reported.",
                max_length=10,
                verbose_name="charges known from",
            ),
        ),
        migrations.RunPython(fill_windows, migrations.RunPython.noop, elidable=False),
    ]
