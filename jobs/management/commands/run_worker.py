from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker

from jobs import services


class Command(DatabaseWorker):
    help = (
        "Run the background worker: it takes queued jobs (exports, snapshot rebuilds, duplicate "
        "scans) one at a time and records their progress. Jobs of a worker that died are queued "
        "again when a worker starts. Run one with the web server (make run does), and as a "
        "service in production (README, Background jobs). Ctrl-C once lets the running job "
        "finish; twice stops it, and it is queued again."
    )

    def handle(self, *args, **options):
        counts = services.recover()
        pruned = services.prune()
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Jobs queued again after an interruption: {counts['queued again']}; given up: "
                f"{counts['interrupted']}. Expired files removed: {pruned['files']}."
            )
        super().handle(*args, **options)
