"""What partners see of a submission is its adopted opinion, in the published document of its
case (api.public). A write to a submission:

- rewrites the snapshots of the cases it names, before and after the save;
- when what partners see of it changed (an opinion added, corrected or taken away), marks
  those cases as changed now, so that a partner syncing with ``updated_since`` fetches them
  again;
- and sets the opinions in a held snapshot (a correction in review shows the version last
  verified) to the live ones: an opinion is a fact of the UN, not part of what a verifier
  checks, and a corrected or removed one must not wait for the correction to be verified.
"""

import json

from django.db.models.signals import pre_save
from django.dispatch import receiver
from django.utils import timezone

from api import public
from cases.models import Case
from casetracker.audit import records_changed
from snapshots import writer
from snapshots.models import PublishedCase
from submissions.models import Submission

BEFORE = "_public_before_save"


def shown(submission: Submission) -> tuple | None:
    """(case, opinion) as partners see it; None if they see nothing of the submission."""
    if not submission.is_opinion:
        return None
    return (
        submission.case_id,
        submission.opinion_number,
        submission.adopted_on,
        submission.finding,
        tuple(submission.found_categories),
        submission.opinion_url,
    )


@receiver(pre_save, sender=Submission)
def remember_shown(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    before = Submission._base_manager.filter(pk=instance.pk).first()
    setattr(instance, BEFORE, (before.case_id, shown(before)) if before else (None, None))


@receiver(records_changed, sender=Submission)
def submission_changed(sender, instances, history_type, **kwargs):
    touched, changed = set(), set()
    for submission in instances:
        case_before, before = getattr(submission, BEFORE, (None, None))
        if history_type == "-":
            before, after = shown(submission), None
        else:
            after = shown(submission)
        touched |= {submission.case_id, case_before} - {None}
        if before != after:
            changed |= {submission.case_id, case_before} - {None}
    if changed:
        # A derived timestamp, not an edit of the case: no history row, and no reopening
        # (an audited update of a verified case would send it back to review).
        Case._base_manager.filter(pk__in=changed).update(updated_at=timezone.now())
    writer.refresh(touched)
    if changed:
        set_held_opinions(changed)


def set_held_opinions(case_ids: set[int]) -> None:
    """The live opinions in the held snapshots of ``case_ids``."""
    held = list(PublishedCase.objects.filter(case__in=case_ids, held_since__isnull=False))
    if not held:
        return
    opinions: dict[int, list] = {snapshot.case_id: [] for snapshot in held}
    rows = (
        Submission.objects.opinions()
        .filter(case__in=opinions)
        .defer(*public.secret_fields(Submission))
    )
    for submission in rows.order_by("adopted_on", "pk"):
        opinions[submission.case_id].append(submission)
    serializer = public.UNOpinionSerializer(many=True)
    now = timezone.now()
    for snapshot in held:
        document = json.loads(snapshot.document)
        document["un_opinions"] = serializer.to_representation(opinions[snapshot.case_id])
        snapshot.document, snapshot.updated_at = writer.document_text(document), now
    PublishedCase.objects.bulk_update(held, ["document", "updated_at"])
