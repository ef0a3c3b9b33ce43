from django.utils.translation import gettext, gettext_noop
from django_tasks import task

from exports.bundle import BundleError
from exports.services import ExportError
from jobs import services as jobs
from website import downloads, portraits


@task()
def public_bundle(job_id: str) -> None:
    jobs.run(job_id, write_public_bundle)


def write_public_bundle(job, progress) -> dict:
    try:
        download = downloads.write_bundle(progress.counter(gettext_noop("Writing the cases")))
    except downloads.Withdrawn:
        downloads.request_bundle()
        raise jobs.JobFailed(
            gettext("A case was withdrawn while the file was written: another is on its way.")
        ) from None
    except (ExportError, BundleError) as error:
        raise jobs.JobFailed(str(error)) from None
    # The portraits follow the published set on the same occasions (website.portraits).
    shown = portraits.sync()
    return {
        "cases": download.cases,
        "manifest_sha256": download.manifest_sha256,
        "portraits": shown["portraits"],
    }
