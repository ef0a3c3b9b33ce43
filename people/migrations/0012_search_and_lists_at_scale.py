"""Name search and the admin's person list without reading every record: a trigram index
(PostgreSQL only) for ``search_name LIKE '%…%'`` (people.matching.search_people), and an
index in the person list's order."""

from django.db import migrations, models

from casetracker.postgres import CreateTrigramIndex


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0011_synthetic_records"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="person",
            index=models.Index(fields=["display_name", "id"], name="people_person_listed_idx"),
        ),
        CreateTrigramIndex(
            table="people_personname",
            name="people_personname_search_trgm",
            expression='("search_name")::text',
        ),
    ]
