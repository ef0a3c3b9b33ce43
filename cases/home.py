"""The cases' part of the admin home page: each role's work lists (casetracker.sites).

Data entry: my drafts, cases returned to me with the reason, my cases in review. Verifiers:
the review queue split by who may verify (four-eyes), verified cases that cannot be published
with the reason, recently published. Every list is bounded (a few rows, a count capped at
COUNT_CAP read through an index), so the page costs the same on an archive of millions, and
each links to the case list filtered the same way (``MyCasesFilter`` and the state filters).
"""

from urllib.parse import urlencode

from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from cases import services
from cases.models import Case, CaseTransition, ReviewState, TransitionAction
from casetracker.sites import home_panel

ROWS = 10  # rows a list shows
COUNT_CAP = 100  # counted up to this many, then "100+"
QUEUE_SCAN = 50  # cases in review checked for four-eyes, at most, to fill the two lists


def _found(queryset) -> int:
    """How many, read no further than COUNT_CAP + 1 rows."""
    return len(queryset.values("pk")[: COUNT_CAP + 1])


def _shown(found: int) -> str:
    return f"{COUNT_CAP}+" if found > COUNT_CAP else str(found)


def capped_count(queryset) -> str:
    """How many, read no further than COUNT_CAP + 1 rows: "7", or "100+" past the cap."""
    return _shown(_found(queryset))


def case_list_url(**params) -> str:
    return f"{reverse('admin:cases_case_changelist')}?{urlencode(params)}"


def _last_action():
    return Subquery(
        CaseTransition.objects.filter(case=OuterRef("pk"))
        .order_by("-at", "-pk")
        .values("action")[:1]
    )


def _last_submitter():
    return Subquery(
        CaseTransition.objects.filter(case=OuterRef("pk"), action=TransitionAction.SUBMIT)
        .order_by("-at", "-pk")
        .values("user_id")[:1]
    )


def my_cases(user, which: str):
    """The user's own cases in one of the data-entry work lists: "drafts" (created by them),
    "returned" (drafts a verifier sent back to them), "in_review" (they created or submitted
    them). Also the case list's "My cases" filter."""
    cases = Case.objects.visible_to(user).filter(archived_at__isnull=True)
    if which == "drafts":
        return cases.filter(created_by=user, review_state=ReviewState.DRAFT)
    # Candidates through indexes first (their creator, or a step of theirs), then the last
    # step of those few read: never the whole state's history.
    submitted = CaseTransition.objects.filter(user=user, action=TransitionAction.SUBMIT)
    candidates = cases.filter(Q(created_by=user) | Q(pk__in=submitted.values("case_id")))
    annotated = candidates.annotate(last_action=_last_action(), last_submitter=_last_submitter())
    mine = Q(created_by=user) | Q(last_submitter=user.pk)
    if which == "returned":
        return annotated.filter(
            mine, review_state=ReviewState.DRAFT, last_action=TransitionAction.REQUEST_CHANGES
        )
    if which == "in_review":
        return annotated.filter(mine, review_state=ReviewState.IN_REVIEW)
    raise ValueError(which)


def returned_reason(case) -> str:
    last = case.transitions.filter(action=TransitionAction.REQUEST_CHANGES).order_by("-at").first()
    return last.reason if last else ""


@home_panel
def data_entry_panel(request):
    user = request.user
    if not user.has_perm("cases.change_case"):
        return None
    lists = []
    for which, title in (
        ("returned", _("Returned to me for changes")),
        ("drafts", _("My drafts")),
        ("in_review", _("My cases in review")),
    ):
        cases = my_cases(user, which).select_related("person").order_by("-updated_at")
        rows = list(cases[:ROWS])
        if which == "returned":
            rows = [(case, returned_reason(case)) for case in rows]
        else:
            rows = [(case, "") for case in rows]
        lists.append(
            {
                "title": title,
                "count": capped_count(my_cases(user, which)),
                "url": case_list_url(mine=which),
                "rows": rows,
            }
        )
    return {"template": "admin/cases/home_lists.html", "title": _("My work"), "lists": lists}


@home_panel
def verifier_panel(request):
    user = request.user
    if not user.has_perm("cases.verify_case"):
        return None
    visible = Case.objects.visible_to(user).filter(archived_at__isnull=True)
    queue = visible.filter(review_state=ReviewState.IN_REVIEW).select_related("person")
    # The oldest first, read until both lists are full or QUEUE_SCAN cases were checked: the
    # four-eyes rule reads each case's history, so the scan is bounded.
    may, may_not = [], []
    for case in queue.order_by("submitted_at", "pk")[:QUEUE_SCAN]:
        problems = services.verify_problems(case, user)
        target = may_not if problems else may
        if len(target) < ROWS:
            target.append((case, " ".join(problems)))
        if len(may) == len(may_not) == ROWS:
            break
    unpublishable = []
    waiting = visible.filter(review_state=ReviewState.VERIFIED, is_published=False)
    for case in waiting.select_related("person").order_by("verified_at", "pk")[:ROWS]:
        problems = services.publication_problems(case)
        unpublishable.append((case, " ".join(problems) or _("Ready to publish.")))
    recent = visible.filter(is_published=True).select_related("person")
    lists = [
        {
            "title": _("Review queue: you may verify"),
            "count": None,
            "url": case_list_url(review_state__exact=ReviewState.IN_REVIEW),
            "rows": may,
        },
        {
            "title": _("Review queue: another verifier must verify (four eyes)"),
            "count": None,
            "url": case_list_url(review_state__exact=ReviewState.IN_REVIEW),
            "rows": may_not,
        },
        {
            "title": _("Verified, not published"),
            "count": capped_count(waiting),
            "url": case_list_url(review_state__exact=ReviewState.VERIFIED, is_published__exact=0),
            "rows": unpublishable,
        },
        {
            "title": _("Recently published"),
            "count": None,
            "url": case_list_url(is_published__exact=1),
            "rows": [(case, "") for case in recent.order_by("-published_at")[:ROWS]],
        },
    ]
    in_review = _found(queue)
    # English keeps "case(s)" in both forms; the catalogues give each its plurals.
    summary = ngettext("%(count)s case(s) in review.", "%(count)s case(s) in review.", in_review)
    return {
        "template": "admin/cases/home_lists.html",
        "title": _("Review"),
        "summary": summary % {"count": _shown(in_review)},
        "lists": lists,
    }
