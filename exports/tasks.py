"""The export of cases as a background job: the admin's export page queues it, the worker
writes the bundle, and the person who asked downloads it from the job's page."""

import shutil

from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_tasks import task

from cases.models import Case
from exports import bundle, services
from exports.models import Channel
from jobs import services as jobs
from jobs.models import Job

VIEW_CASES = "cases.view_case"


def file_name(unpublished: bool) -> str:
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return f"casetracker-{'staff-export' if unpublished else 'cases'}-{stamp}.zip"


@task()
def export_bundle(job_id: str) -> None:
    jobs.run(job_id, write_bundle)


def write_bundle(job: Job, progress: jobs.Progress) -> dict:
    """``job.parameters``: formats, jsonl, language, base_url, unpublished, and ``selected``
    (case keys) or None for every published case. Who asked is checked again now: a right
    withdrawn since the request is withdrawn for the export too."""
    options, user = job.parameters, job.requested_by
    if user is None or not user.is_active or not user.has_perm(VIEW_CASES):
        raise jobs.JobFailed(
            gettext("The account that asked for this export may no longer see cases.")
        )
    unpublished = bool(options.get("unpublished"))
    selected = None
    if options.get("selected") is not None:
        # Need to know, as of now: only the cases of the selection this user may still see.
        selected = Case.objects.visible_to(user).filter(pk__in=options["selected"])
    name = file_name(unpublished)
    work = jobs.work_dir(job)
    try:
        result = services.export_cases(
            work / name,
            channel=Channel.ADMIN,
            formats=options["formats"],
            jsonl=options.get("jsonl", False),
            as_zip=True,
            selected=selected,
            include_unpublished=unpublished,
            user=user,
            base_url=options.get("base_url", ""),
            language=options.get("language") or None,
            progress=progress.counter(gettext_noop("Writing the cases")),
        )
        jobs.keep_file(job, result.path, name, requires=rights_needed(user, selected, unpublished))
    except (services.ExportError, bundle.BundleError) as error:
        raise jobs.JobFailed(str(error)) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"cases": result.case_count, "manifest_sha256": result.manifest_sha256}


def rights_needed(user, selected, unpublished: bool) -> dict:
    """What the requester must still have to download the bundle: to see cases; for a staff
    export, to export unpublished cases and to see each sensitive case in it (an assignment
    taken away since takes the file away too)."""
    if not unpublished:
        return {"permissions": [VIEW_CASES]}
    sensitive = (
        list(selected.filter(sensitive=True).values_list("pk", flat=True))
        if selected is not None
        else []
    )
    return {
        "permissions": [VIEW_CASES, services.UNPUBLISHED_PERMISSION],
        "cases": sorted(sensitive),
    }
