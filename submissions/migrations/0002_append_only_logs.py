"""On PostgreSQL, the history tables of this app and the draft log refuse UPDATE and DELETE."""

from django.db import migrations

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("submissions", "0001_initial")]

    operations = [append_only_operation("submissions", extra=("DraftLog",))]
