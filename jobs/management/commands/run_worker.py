import logging
import os
import threading

from django.db import DatabaseError, connection
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorker

from jobs import services

logger = logging.getLogger(__name__)

# How often the worker looks for jobs of dead workers and files whose time is up.
HOUSEKEEPING_EVERY = 60  # seconds


class Command(DatabaseWorker):
    help = (
        "Run the background worker: it takes queued jobs (exports, snapshot rebuilds, duplicate "
        "scans) one at a time and records their progress. Jobs of a worker that died are queued "
        "again. Run one with the web server (make run does), and as a service in production "
        "(README, Background jobs). Ctrl-C once lets the running job finish; twice stops it, "
        "and it is queued again."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        # Never reload by default: a reload kills the running job (the library's default is
        # to reload under DEBUG).
        parser.set_defaults(reload=False)

    def handle(self, *args, **options):
        counts = services.recover(starting_pid=os.getpid())
        pruned = services.prune()
        if options["verbosity"] >= 1:
            self.stdout.write(
                f"Jobs queued again after an interruption: {counts['queued again']}; given up: "
                f"{counts['interrupted']}. Files removed: {pruned['files']}."
            )
        stop = threading.Event()
        keeper = threading.Thread(target=housekeeping, args=(stop,), daemon=True)
        keeper.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()


def housekeeping(stop: threading.Event) -> None:
    """Every minute, on a connection of this thread's own: the jobs of workers that died are
    queued again (another worker's, on another host), and files whose time is up removed."""
    while not stop.wait(HOUSEKEEPING_EVERY):
        try:
            services.recover()
            services.prune()
        except DatabaseError:
            logger.warning("Background jobs: housekeeping failed; trying again.", exc_info=True)
        finally:
            connection.close()
