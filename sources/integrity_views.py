"""The Administrator page "Evidence files check" (/admin/evidence-check/): past runs of
``verify_evidence`` from the security log, and a button that starts one.

A run reads every evidence file: far too long for a web request. The page starts the command
in a process of its own and answers at once; the run logs its start, each problem file and its
end in the security log, which the page reads on every visit (sources.integrity).

Open to superusers and whoever may read the security log (Administrators), through the admin's
own gate (staff, second factor: wrapped in ``admin.site.admin_view`` in casetracker.urls).
"""

import os
import subprocess
import sys
import threading
import uuid

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sources import integrity
from sources.models import Source

PERMISSION = "casetracker.view_securityevent"


def can_check_evidence(user) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(PERMISSION))


def spawn_check(run: str, username: str) -> int:
    """Start ``manage.py verify_evidence`` for run ``run`` in a process and session of its own,
    with this server's settings and environment; return its process id. It outlives the
    request (and a restart of the web server); its output goes nowhere but its errors go where
    the web server's go: the results are in the security log."""
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "verify_evidence"]
    command += ["--run", run, "--verbosity", "0"]
    if username:
        command += ["--as", username]
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}
    process = subprocess.Popen(  # noqa: S603 (a fixed command; the run id is checked by its caller)
        command,
        cwd=settings.BASE_DIR,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    # Reap it when it ends, so that it leaves no zombie behind in the web server.
    threading.Thread(target=process.wait, name=f"evidence check {run}", daemon=True).start()
    return process.pid


@require_http_methods(["GET", "POST"])
def evidence_check(request):
    if not can_check_evidence(request.user):
        raise PermissionDenied
    if request.method == "POST":
        return _start(request)
    runs = integrity.recent_runs()
    _name_sources(request.user, runs)
    context = {
        **admin.site.each_context(request),
        "title": _("Evidence files check"),
        "runs": runs,
        "running": next((run for run in runs if run.running), None),
        "problems_logged": integrity.PROBLEMS_LOGGED,
    }
    return TemplateResponse(request, "admin/evidence_check/index.html", context)


def _start(request):
    page = reverse("evidence-check")
    running = integrity.running_run()
    if running is not None:
        messages.warning(request, _("A check is already running: wait for it to finish."))
        return HttpResponseRedirect(page)
    run, username = integrity.new_run_id(), request.user.get_username()
    try:
        pid = spawn_check(run, username)
    except OSError as error:
        messages.error(request, _("The check could not be started: %(error)s") % {"error": error})
        return HttpResponseRedirect(page)
    integrity.record_start(run, scope="all", username=username, request=request, pid=pid)
    messages.success(
        request,
        _(
            "The check has started (run %(run)s). It reads every evidence file, which can take "
            "a while: reload this page to see how it ended."
        )
        % {"run": run},
    )
    return HttpResponseRedirect(page)


def _name_sources(user, runs) -> None:
    """Give each problem file its source's title and admin page, for those who may see it."""
    findings = [finding for run in runs for finding in run.findings]
    if not findings or not user.has_perm("sources.view_source"):
        return
    uids = set()
    for finding in findings:
        try:
            uids.add(uuid.UUID(finding.source_uid))
        except ValueError:
            continue  # not a uid: shown as logged
    visible = Source.objects.visible_to(user).filter(uid__in=uids)
    rows = visible.values_list("uid", "title", "pk")
    sources = {str(uid): (title, pk) for uid, title, pk in rows}
    for finding in findings:
        title, pk = sources.get(finding.source_uid, ("", None))
        if pk is not None:
            finding.source_title = title
            finding.source_url = reverse("admin:sources_source_change", args=[pk])
