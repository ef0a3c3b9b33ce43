"""Background jobs: long work (exports, snapshot rebuilds, the duplicate scan) that runs in the
worker process (``manage.py run_worker``), never inside a web request.

The queue itself is django-tasks' database backend (its ``DBTaskResult`` rows, claimed with
``SELECT … FOR UPDATE SKIP LOCKED``). A ``Job`` is what people see of a piece of work: who asked
for it, how far it has got, how it ended, and the file it made. Only ``jobs.services`` writes
jobs.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from casetracker.processes import HOST_MAX_LENGTH


class Kind(models.TextChoices):
    EXPORT = "export", _("Export of cases")
    SNAPSHOTS = "snapshots", _("Rebuild of the published snapshots")
    DUPLICATES = "duplicates", _("Scan for possible duplicates")
    IMPORT_CHECK = "import_check", _("Check of a case list to import")
    IMPORT = "import", _("Import of a case list")
    PUBLIC_DOWNLOAD = "public_download", _("Data download of the public website")


class State(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    INTERRUPTED = "interrupted", _("Interrupted")


# Jobs that have not ended: the worker may still take them, or is working on them.
OPEN_STATES = (State.QUEUED, State.RUNNING)


class JobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Jobs ``user`` may see: their own; every job for those who run maintenance."""
        if user.is_superuser or user.has_perm("jobs.view_every_job"):
            return self
        return self.filter(requested_by_id=user.pk)


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
        help_text=_("Empty: started from the command line."),
    )
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True, db_index=True)
    # What the work is to do: codes, numbers and record keys only, never names or free text.
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    # The interface language of whoever asked: the job's messages and files are in it.
    language = models.CharField(_("language"), max_length=10, default="en")
    # The task that does the work (a django-tasks task taking the job's id), and its entry in
    # the queue (django_tasks_db's DBTaskResult).
    task_path = models.CharField(_("task"), max_length=200, editable=False)
    task_id = models.UUIDField(_("queue entry"), null=True, blank=True, editable=False)

    state = models.CharField(_("state"), max_length=12, choices=State, default=State.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # Where it runs (casetracker.processes: a dead worker's job is found and run again).
    host = models.CharField(_("host"), max_length=HOST_MAX_LENGTH, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)
    last_seen_at = models.DateTimeField(_("last seen working"), null=True, blank=True)
    cancel_requested = models.BooleanField(_("cancel requested"), default=False)

    # Progress: the step it is on (a message id, translated when shown) and done of total.
    stage = models.CharField(_("step"), max_length=100, blank=True)
    done = models.PositiveBigIntegerField(_("done"), default=0)
    total = models.PositiveBigIntegerField(_("of"), null=True, blank=True)

    # How it ended: figures to show, or what went wrong (in words for the person who asked).
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    # The file it made, encrypted at rest under VAR_DIR/jobs, downloadable by the requester
    # until it expires.
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size"), null=True, blank=True)
    file_sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, blank=True)
    file_expires_at = models.DateTimeField(_("file kept until"), null=True, blank=True)
    # What the requester must still have to download it (jobs.services.may_download).
    file_requires = models.JSONField(_("rights the file needs"), default=dict, blank=True)
    downloads = models.PositiveIntegerField(_("downloads"), default=0)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        # Every staff member sees their own jobs (jobs.admin); no per-model rights beyond these.
        default_permissions = ()
        permissions = [
            ("view_every_job", "Can see every staff member's background jobs"),
            ("run_maintenance", "Can start maintenance jobs (rebuild the published snapshots)"),
        ]
        indexes = [
            models.Index(
                fields=["state"],
                name="jobs_open_idx",
                condition=models.Q(state__in=["queued", "running"]),
            ),
            models.Index(fields=["requested_by", "-requested_at"], name="jobs_mine_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.requested_at:%Y-%m-%d %H:%M})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, int(100 * self.done / self.total))
