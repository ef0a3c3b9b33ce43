"""On PostgreSQL, the history tables and the API request log refuse UPDATE and DELETE."""

from django.db import migrations

from casetracker.audit import append_only_operation


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [append_only_operation("api", extra=("ApiRequest",))]
