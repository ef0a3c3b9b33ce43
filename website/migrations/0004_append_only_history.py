"""On PostgreSQL, the history table of the methodology texts refuses UPDATE and DELETE."""

from django.db import migrations

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("website", "0003_publicportrait")]

    operations = [append_only_operation("website")]
