"""The admin's source list, newest publication first (Source.Meta.ordering), read a page at a
time from an index in that order instead of sorting every source (PostgreSQL only: SQLite
cannot declare NULLS LAST in an index)."""

from django.db import migrations

from casetracker.postgres import CreatePostgresIndex


class Migration(migrations.Migration):
    dependencies = [
        ("sources", "0007_verbose_names_for_translation"),
    ]

    operations = [
        CreatePostgresIndex(
            table="sources_source",
            name="sources_source_listed_idx",
            definition='("published_earliest" DESC NULLS LAST, "title", "id")',
        ),
    ]
