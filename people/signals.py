"""After ``migrate``: when people.names' rules changed since the stored match keys were
computed (people.names.RULES_VERSION), the duplicate scan is queued as a background job that
recomputes every key and scores every open pair again; at two million people that is long
work, never done inside migrate itself."""

from django.db import connection
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from jobs import services as jobs
from jobs.models import Job, Kind
from people.models import MatchingRules, PersonName
from people.tasks import scan_duplicates


@receiver(post_migrate)
def rescan_when_the_rules_changed(sender, app_config, using, **kwargs):
    if app_config.label != "people" or using != "default":
        return
    tables = connection.introspection.table_names()
    if MatchingRules._meta.db_table not in tables or Job._meta.db_table not in tables:
        return  # migrated back to before them
    if MatchingRules.current():
        return
    if not PersonName.objects.exists():
        MatchingRules.record()  # no key to recompute
        return
    stdout = kwargs.get("stdout") if kwargs.get("verbosity", 1) >= 1 else None
    if jobs.open_job(Kind.DUPLICATES) is not None:
        # That scan may not recompute the keys; the next migrate asks again.
        if stdout is not None:
            stdout.write(
                "  The name matching rules changed, and a duplicate scan is waiting or running: "
                "run `manage.py find_duplicates --rebuild-keys --background` when it has ended.\n"
            )
        return
    job = jobs.start(
        scan_duplicates, Kind.DUPLICATES, parameters={"rebuild_keys": True, "everyone": True}
    )
    if stdout is not None:
        stdout.write(
            f"  The name matching rules changed: queued the duplicate scan with every match key "
            f"recomputed (background job {job.pk}).\n"
        )
