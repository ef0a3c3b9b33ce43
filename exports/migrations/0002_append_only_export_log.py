"""On PostgreSQL, the export log refuses UPDATE and DELETE."""

from django.db import migrations

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("exports", "0001_initial")]

    operations = [append_only_operation("exports", extra=("ExportLog",))]
