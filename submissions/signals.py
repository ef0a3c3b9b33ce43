"""An opinion adopted (or corrected) is shown in the published snapshot of its case
(api.public): every write to a submission rewrites the snapshots of the cases it names,
before and after the save."""

from django.db.models.signals import pre_save
from django.dispatch import receiver

from casetracker.audit import records_changed
from snapshots import writer
from submissions.models import Submission

BEFORE = "_case_before_save"


@receiver(pre_save, sender=Submission)
def remember_case(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        return
    before = Submission._base_manager.filter(pk=instance.pk).values_list("case_id", flat=True)
    setattr(instance, BEFORE, before.first())


@receiver(records_changed, sender=Submission)
def submission_changed(sender, instances, **kwargs):
    ids = {s.case_id for s in instances} | {getattr(s, BEFORE, None) for s in instances}
    writer.refresh(ids - {None})
