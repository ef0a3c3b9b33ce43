"""On PostgreSQL, the security log refuses UPDATE and DELETE."""

from django.db import migrations

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("casetracker", "0001_initial")]

    operations = [append_only_operation("casetracker", extra=("SecurityEvent",))]
