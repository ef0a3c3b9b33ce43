"""On PostgreSQL, the history tables and the workflow log refuse UPDATE and DELETE."""

from django.db import migrations

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("cases", "0003_vocabularies")]

    operations = [append_only_operation("cases", extra=("CaseTransition",))]
