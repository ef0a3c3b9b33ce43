"""Running background jobs in tests: the real worker loop (django_tasks_db's), in this process
and inside the test's transaction, until the queue is empty."""

from unittest import mock

from django_tasks import task
from django_tasks_db.management.commands.db_worker import Worker

from jobs import services
from jobs.models import Job

EXPORT_PAGE = "/admin/cases/case/export/"


def run_jobs() -> None:
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="tests",
        excluded_queue_names=[],
    )
    # The worker checks its connection between jobs; inside a test's transaction that would
    # close it.
    with mock.patch("django_tasks_db.management.commands.db_worker.close_old_connections"):
        worker.run()


def job_of(response) -> Job:
    """The job whose page ``response`` redirects to."""
    assert response.status_code == 302, response.status_code
    parts = response.url.rstrip("/").split("/")
    assert parts[-4:-2] == ["jobs", "job"] and parts[-1] == "change", response.url
    return Job.objects.get(pk=parts[-2])


def download_url(job: Job) -> str:
    return f"/admin/jobs/job/{job.pk}/download/"


def export_from_admin(client, data: dict, **extra):
    """Post the admin's export page; when it queues a job, run it and download its file as the
    same person would. Otherwise (a refusal, the form again) the response itself."""
    response = client.post(EXPORT_PAGE, data, **extra)
    if response.status_code != 302 or "/admin/jobs/job/" not in response.url:
        return response
    job = job_of(response)
    run_jobs()
    return client.get(download_url(job))


# --- A job for the tests of the machinery itself ---------------------------------------------

BEHAVIOUR: dict = {}


@task()
def counting_job(job_id: str) -> None:
    services.run(job_id, work)


def work(job, progress):
    """Counts to ``parameters["to"]``; ``BEHAVIOUR["during"](job, progress, i)`` runs at each
    step (to fail, stop, or look at the job from outside)."""
    progress.step("Counting", job.parameters.get("to", 3))
    for i in range(job.parameters.get("to", 3)):
        if "during" in BEHAVIOUR:
            BEHAVIOUR["during"](job, progress, i)
        progress.advance()
    return {"counted": job.parameters.get("to", 3)}
