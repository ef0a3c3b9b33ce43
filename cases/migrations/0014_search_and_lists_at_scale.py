"""The admin's case list and reference search without reading every case: an index in the
list's order, and a trigram index (PostgreSQL only) for the admin's reference search, which
is ``upper(reference::text) LIKE upper('%…%')``."""

from django.db import migrations, models

from casetracker.postgres import CreateTrigramIndex


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_synthetic_records"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["created_at", "id"], name="cases_case_listed_idx"),
        ),
        CreateTrigramIndex(
            table="cases_case",
            name="cases_case_reference_trgm",
            expression='upper(("reference")::text)',
        ),
    ]
