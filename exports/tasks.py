"""The export of cases as a background job: the admin's export page queues it (the person who
asked downloads the bundle from the job's page), and so does a partner's
``POST /api/v1/exports/`` (the partner follows it and downloads the bundle through the API:
exports.api)."""

import json
import shutil

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_tasks import task

from cases.models import Case
from exports import bundle, services
from exports.models import Channel, PartnerExport
from jobs import services as jobs
from jobs.models import Job, State

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
    return write_and_keep(
        job,
        progress,
        file_name(unpublished),
        keep=lambda result: {"requires": rights_needed(user, selected, unpublished)},
        channel=Channel.ADMIN,
        selected=selected,
        include_unpublished=unpublished,
        user=user,
    )


def write_and_keep(job: Job, progress: jobs.Progress, name: str, keep, **export) -> dict:
    """Write the bundle ``job.parameters`` describe (formats, jsonl, language, base_url) with
    ``export_cases(**export)`` in the job's work directory, and keep it as the job's file
    with what ``keep(result)`` returns (``requires``), or fail the job with the reason."""
    options = job.parameters
    work = jobs.work_dir(job)
    try:
        result = services.export_cases(
            work / name,
            formats=options["formats"],
            jsonl=options.get("jsonl", False),
            as_zip=True,
            base_url=options.get("base_url", ""),
            language=options.get("language") or None,
            progress=progress.counter(gettext_noop("Writing the cases")),
            **export,
        )
        jobs.keep_file(job, result.path, name, **keep(result))
    # A partner's filters were checked when it asked; one may fail now (a place named in
    # them that partners no longer see): the message says which.
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


@task()
def partner_bundle(job_id: str) -> None:
    jobs.run(job_id, write_partner_bundle)


def write_partner_bundle(job: Job, progress: jobs.Progress) -> dict:
    """``job.parameters``: formats, jsonl, language, base_url; the filters are on the
    PartnerExport (encrypted, emptied once the export has ended). The partner is checked
    again now and before the file is kept: cut off since it asked, it gets nothing."""
    export = PartnerExport.objects.select_related("partner").get(job=job)
    partner = export.partner

    def still_active(result) -> dict:
        partner.refresh_from_db(fields=["is_active"])
        if not partner.is_active:
            raise jobs.JobFailed(gettext("This partner's access has been cut off."))
        return {"requires": {"partner": partner.pk}}

    try:
        if not partner.is_active:
            raise jobs.JobFailed(gettext("This partner's access has been cut off."))
        outcome = write_and_keep(
            job,
            progress,
            file_name(unpublished=False),
            keep=still_active,
            channel=Channel.API,
            filters=json.loads(export.filters or "{}"),
            partner=partner,
        )
    except jobs.JobFailed:
        forget_filters(export)
        raise
    forget_filters(export)
    older_files_expire(partner, job)
    return outcome


def forget_filters(export: PartnerExport) -> None:
    """A search holds a name the partner looked for: kept only while the export may run."""
    PartnerExport.objects.filter(pk=export.pk).update(filters="")


def older_files_expire(partner, job: Job) -> None:
    """A partner keeps its newest files alone (as many as it may have exports running):
    the older ones expire now, and the worker's housekeeping deletes them."""
    kept = (
        Job.objects.filter(
            partner_export__partner=partner,
            state=State.SUCCEEDED,
            file_expires_at__gt=timezone.now(),
        )
        .exclude(pk=job.pk)
        .order_by("-finished_at", "-requested_at")
        .values_list("pk", flat=True)
    )
    older = list(kept[max(settings.PARTNER_EXPORTS_AT_ONCE - 1, 0) :])
    Job.objects.filter(pk__in=older).update(file_expires_at=timezone.now())
