"""On PostgreSQL, the history tables refuse UPDATE and DELETE (casetracker.audit)."""

from django.db import migrations

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("people", "0001_initial")]

    operations = [append_only_operation("people")]
