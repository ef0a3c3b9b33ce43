from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_case_person_help"),
        ("people", "0007_name_language_follows_script"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["review_state", "submitted_at"], name="cases_case_queue_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["review_state", "is_published", "verified_at"],
                name="cases_case_unpublished_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["is_published", "published_at"], name="cases_case_published_idx"
            ),
        ),
    ]
