"""Merging two records of one person, and deciding that two records are different people.

Both are staff decisions on a DuplicateCandidate (people.matching finds them). A merge moves
everything the absorbed record holds to the survivor, keeps both histories (simple-history
keeps the history rows of the deleted record), and keeps the absorbed uid resolving to the
survivor (PersonAlias). Nothing is lost: a spelling the survivor already has is the only thing
not copied, and values that conflict are written into the survivor's internal notes.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy, ngettext_lazy

from casetracker.audit import acting_as
from people.models import (
    Affiliation,
    CandidateStatus,
    Consent,
    DuplicateCandidate,
    Ethnicity,
    Gender,
    Person,
    PersonAlias,
    PersonName,
    Relationship,
)


class MergeRefused(Exception):
    """The merge or dismissal was refused; the message says why, for staff."""


@dataclass
class MergeResult:
    survivor: Person
    absorbed_uid: object
    moved: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """What the merge did, for the staff member who merged, in their language."""
        moved = ", ".join(_counted(what, n) for what, n in self.moved.items() if n)
        sentences = [
            gettext("Merged into %(person)s: moved %(moved)s.")
            % {"person": self.survivor, "moved": moved or gettext("nothing")}
        ]
        if any(self.dropped.values()):
            dropped = ", ".join(_counted(what, n) for what, n in self.dropped.items() if n)
            sentences.append(
                gettext("Already on the record, not copied twice: %(dropped)s.")
                % {"dropped": dropped}
            )
        if self.conflicts:
            sentences.append(gettext("Values that differed are kept in the internal notes."))
        return " ".join(sentences)


# What MergeResult counts, by its keys; other apps' records go by their plural name.
COUNTED = {
    "names": ngettext_lazy("%(count)d name", "%(count)d names", "count"),
    "affiliations": ngettext_lazy("%(count)d affiliation", "%(count)d affiliations", "count"),
    "relationships": ngettext_lazy("%(count)d relationship", "%(count)d relationships", "count"),
    "cases": ngettext_lazy("%(count)d case", "%(count)d cases", "count"),
    "citations": ngettext_lazy("%(count)d citation", "%(count)d citations", "count"),
}


def _counted(what: str, count: int) -> str:
    if what in COUNTED:
        return COUNTED[what] % {"count": count}
    return gettext("%(count)d %(records)s") % {"count": count, "records": what}


# The language of what a merge writes into the records (the internal notes).
RECORD_LANGUAGE = "en"

_NO_MERGE_PERMISSION = gettext_lazy("You do not have permission to merge people.")
_NO_REVIEW_PERMISSION = gettext_lazy("You do not have permission to review possible duplicates.")

# Consent, most restrictive first: a withdrawal or refusal on either record must win.
CONSENT_ORDER = [
    Consent.WITHDRAWN,
    Consent.REFUSED,
    Consent.UNKNOWN,
    Consent.GRANTED,
    Consent.PUBLIC_RECORD,
]

# Fields filled from the absorbed record when the survivor's is empty: field → empty value.
FILLABLE = {
    "gender": Gender.UNKNOWN,
    "birth_date": "",
    "ethnicity": Ethnicity.UNKNOWN,
    "citizenship": "",
    "place_of_origin": None,
    "occupation": "",
    "public_summary": "",
}
# Restricted free text: both are kept, one after the other.
CONCATENATED = ("internal_notes", "contact_details")


def _require(user, permission: str, refusal) -> None:
    if not (user and user.is_active and user.has_perm(permission)):
        raise MergeRefused(str(refusal))


def _check_visible(user, *people) -> None:
    ids = {person.pk for person in people}
    if Person.objects.visible_to(user).filter(pk__in=ids).count() != len(ids):
        raise MergeRefused(
            gettext("You may not see both records: ask a verifier who can see both.")
        )


def _live(person: Person, locked: dict[int, Person]) -> None:
    """Refuse unless ``person`` is among the rows just locked (a concurrent merge may have
    deleted it while this one waited for the lock)."""
    if person.pk not in locked:
        alias = PersonAlias.objects.filter(uid=person.uid).select_related("person").first()
        if alias is not None:
            raise MergeRefused(
                gettext("%(person)s was already merged into %(survivor)s: use that record instead.")
                % {"person": person, "survivor": alias.person}
            )
        raise MergeRefused(gettext("%(person)s no longer exists.") % {"person": person})


def merge_people(survivor: Person, absorbed: Person, *, user, reason: str = "") -> MergeResult:
    """Merge ``absorbed`` into ``survivor``: atomic, audited, both rows locked.

    Moves names (not a spelling the survivor already has in that language; the survivor's
    preferred name stays preferred), affiliations, relationships (both directions; none with
    oneself, none twice), cases, citations and any other record pointing at the person; fills
    the survivor's empty fields (never overwriting: differing values go into its internal
    notes; consent becomes the more restrictive of the two); deletes the absorbed record and
    keeps its uid as an alias of the survivor. Verified cases of either person go back to
    review (cases.signals), since what they rest on changed.
    """
    _require(user, "people.merge_person", _NO_MERGE_PERMISSION)
    if survivor.pk == absorbed.pk:
        raise MergeRefused(gettext("A person cannot be merged into themselves."))
    reason = (reason or "").strip()
    why = f"Merged duplicate record {absorbed.uid} into {survivor.uid}." + (
        f" {reason}" if reason else ""
    )
    with transaction.atomic(), acting_as(user, why):
        # Lock first (in pk order, so two merges of overlapping pairs queue rather than
        # deadlock), then check: a merge that waited may find a record merged away meanwhile.
        rows = Person.objects.select_for_update().filter(pk__in=[survivor.pk, absorbed.pk])
        locked = {p.pk: p for p in rows.order_by("pk")}
        _live(survivor, locked)
        _live(absorbed, locked)
        survivor, absorbed = locked[survivor.pk], locked[absorbed.pk]
        _check_visible(user, survivor, absorbed)
        result = MergeResult(survivor=survivor, absorbed_uid=absorbed.uid)
        _move_names(survivor, absorbed, result)
        _move_affiliations(survivor, absorbed, result)
        _move_relationships(survivor, absorbed, result)
        _move_cases(survivor, absorbed, result, user)
        _move_citations(survivor, absorbed, result)
        _move_other_records(survivor, absorbed, result)
        _merge_fields(survivor, absorbed, result, user)
        _settle_candidates(survivor, absorbed, user, reason)
        _check_nothing_left(absorbed)
        absorbed_uid, absorbed_name = absorbed.uid, absorbed.display_name
        for alias in PersonAlias.objects.filter(person=absorbed):
            alias.person = survivor
            alias.save()
        absorbed.delete()
        PersonAlias.objects.create(
            uid=absorbed_uid,
            person=survivor,
            former_name=absorbed_name,
            merged_by=user,
            reason=reason,
        )
    return result


def _move_names(survivor, absorbed, result) -> None:
    have = set(survivor.names.values_list("name", "language"))
    moved = dropped = 0
    for name in PersonName.objects.filter(person=absorbed).order_by("pk"):
        if (name.name, name.language) in have:
            name.delete()
            dropped += 1
            continue
        name.person, name.is_preferred = survivor, False
        name.save()
        have.add((name.name, name.language))
        moved += 1
    result.moved["names"], result.dropped["names"] = moved, dropped


def _affiliation_key(a: Affiliation) -> tuple:
    return (a.organisation_id, a.role.strip().casefold(), a.start, a.end, a.is_former)


def _move_affiliations(survivor, absorbed, result) -> None:
    have = {_affiliation_key(a) for a in survivor.affiliations.all()}
    moved = dropped = 0
    for affiliation in Affiliation.objects.filter(person=absorbed).order_by("pk"):
        if _affiliation_key(affiliation) in have:
            affiliation.delete()
            dropped += 1
            continue
        affiliation.person = survivor
        affiliation.save()
        have.add(_affiliation_key(affiliation))
        moved += 1
    result.moved["affiliations"], result.dropped["affiliations"] = moved, dropped


def _move_relationships(survivor, absorbed, result) -> None:
    moved = dropped = 0
    rows = Relationship.objects.filter(Q(from_person=absorbed) | Q(to_person=absorbed))
    for rel in rows.order_by("pk"):
        from_id = survivor.pk if rel.from_person_id == absorbed.pk else rel.from_person_id
        to_id = survivor.pk if rel.to_person_id == absorbed.pk else rel.to_person_id
        # The kind is encrypted: compared in Python, over the few rows between the two.
        twin = next(
            (
                other
                for other in Relationship.objects.filter(
                    from_person_id=from_id, to_person_id=to_id
                ).order_by("pk")
                if other.pk != rel.pk and other.kind == rel.kind
            ),
            None,
        )
        if from_id == to_id or twin is not None:
            # A relationship between the two records themselves, or one already recorded.
            if twin is not None and rel.notes.strip() and rel.notes.strip() not in twin.notes:
                twin.notes = f"{twin.notes}\n\n{rel.notes}".strip()
                twin.save()
            elif from_id == to_id:
                # Kept in the survivor's internal notes (encrypted) by _merge_fields(), in
                # English like the rest of what the merge writes into the record.
                ends = {survivor.pk: survivor.display_name, absorbed.pk: absorbed.display_name}
                with translation.override(RECORD_LANGUAGE):
                    kind = str(rel.get_kind_display())
                text = (
                    "relationship between the two records dropped: "
                    f"“{ends[rel.from_person_id]}” {kind} “{ends[rel.to_person_id]}”"
                )
                if rel.notes.strip():
                    text += f"; its notes: {rel.notes.strip()}"
                result.conflicts.append(text)
            rel.delete()
            dropped += 1
            continue
        rel.from_person_id, rel.to_person_id = from_id, to_id
        rel.save()
        moved += 1
    result.moved["relationships"], result.dropped["relationships"] = moved, dropped


def _move_cases(survivor, absorbed, result, user) -> None:
    Case = apps.get_model("cases", "Case")  # cases sits above this app
    moved = 0
    for case in Case.objects.filter(person=absorbed).order_by("pk"):
        case.person, case.updated_by = survivor, user
        case.save()
        moved += 1
    result.moved["cases"] = moved


def _move_citations(survivor, absorbed, result) -> None:
    Citation = apps.get_model("sources", "Citation")  # sources sits above this app
    moved = 0
    for citation in Citation.objects.filter(person=absorbed).order_by("pk"):
        citation.person = survivor
        citation.save()
        moved += 1
    result.moved["citations"] = moved


# Relations moved above, or settled by the merge itself.
HANDLED = {
    ("people", "personname", "person"),
    ("people", "affiliation", "person"),
    ("people", "relationship", "from_person"),
    ("people", "relationship", "to_person"),
    ("cases", "case", "person"),
    ("sources", "citation", "person"),
    ("people", "duplicatecandidate", "person_a"),
    ("people", "duplicatecandidate", "person_b"),
    ("people", "personalias", "person"),
}


def _other_relations():
    for rel in Person._meta.related_objects:
        label = (rel.related_model._meta.app_label, rel.related_model._meta.model_name)
        if (*label, rel.field.name) not in HANDLED:
            yield rel


def _move_other_records(survivor, absorbed, result) -> None:
    """Records of other apps that point at a person (e.g. an import's external ids) follow
    the person, each saved so that its history shows the move. A model with a
    ``settle_merge(survivor, absorbed) -> int`` classmethod settles its own records instead
    (one record per person, such as a consent: two cannot simply both move)."""
    for rel in _other_relations():
        model, name = rel.related_model, rel.field.name
        what = str(model._meta.verbose_name_plural)  # in the merging user's language
        settle = getattr(model, "settle_merge", None)
        if settle is not None:
            if settled := settle(survivor, absorbed):
                result.moved[what] = result.moved.get(what, 0) + settled
            continue
        if rel.many_to_many:
            for obj in model._base_manager.filter(**{name: absorbed}):
                getattr(obj, name).remove(absorbed)
                getattr(obj, name).add(survivor)
                result.moved[what] = result.moved.get(what, 0) + 1
            continue
        for obj in model._base_manager.filter(**{name: absorbed}):
            setattr(obj, name, survivor)
            obj.save()
            result.moved[what] = result.moved.get(what, 0) + 1


def _check_nothing_left(absorbed) -> None:
    """Deleting the record must not cascade to anything: everything was moved."""
    for rel in Person._meta.related_objects:
        if rel.related_model in (DuplicateCandidate, PersonAlias):
            continue
        if rel.related_model._base_manager.filter(**{rel.field.name: absorbed}).exists():
            raise MergeRefused(
                gettext("The merge would lose %(records)s: nothing was changed.")
                % {"records": rel.related_model._meta.verbose_name_plural}
            )


def _display(person, name) -> str:
    value = getattr(person, name)
    if hasattr(person, f"get_{name}_display"):
        return getattr(person, f"get_{name}_display")()
    return str(value)


def _merge_fields(survivor, absorbed, result, user) -> None:
    # What the merge writes into the record is record content, not interface: in English
    # whatever the language of the staff member merging.
    with translation.override(RECORD_LANGUAGE):
        _merge_field_values(survivor, absorbed, result)
    survivor.updated_by = user
    survivor.save()


def _merge_field_values(survivor, absorbed, result) -> None:
    conflicts = []
    for name, empty in FILLABLE.items():
        mine, theirs = getattr(survivor, name), getattr(absorbed, name)
        if theirs in (empty, None) or theirs == mine:
            continue
        if mine in (empty, None):
            setattr(survivor, name, theirs)
        else:
            label = Person._meta.get_field(name).verbose_name
            conflicts.append(f"{label}: {_display(absorbed, name)}")
    if survivor.consent != absorbed.consent:
        before = survivor.consent
        survivor.consent = min(before, absorbed.consent, key=CONSENT_ORDER.index)
        conflicts.append(
            f"consent to publish: “{Consent(absorbed.consent).label}” on the merged record, "
            f"“{Consent(before).label}” on this one; “{Consent(survivor.consent).label}”, the "
            "more restrictive, is kept: check it before publishing"
        )
    header = (
        f"Merged with record {absorbed.uid} (“{absorbed.display_name}”) on "
        f"{timezone.localdate():%Y-%m-%d}."
    )
    for name in CONCATENATED:
        theirs = getattr(absorbed, name).strip()
        if theirs and theirs not in getattr(survivor, name):
            setattr(survivor, name, f"{getattr(survivor, name)}\n\n{header}\n{theirs}".strip())
    # Everything the merge could not keep as it was (relationships between the two records,
    # found before this step, too) goes into the notes, in the same transaction.
    result.conflicts += conflicts
    if result.conflicts:
        lines = "\n".join(f"- {line}" for line in result.conflicts)
        survivor.internal_notes = (
            f"{survivor.internal_notes}\n\n{header} Values of the merged record that differ "
            f"from this one, and what the merge dropped:\n{lines}"
        ).strip()


def _settle_candidates(survivor, absorbed, user, reason) -> None:
    """The merged pair is marked merged; other pairs of the absorbed record become pairs of
    the survivor (a "not the same person" decision stays: the survivor is that person)."""
    now = timezone.now()
    pairs = DuplicateCandidate.objects.select_for_update().filter(
        Q(person_a=absorbed) | Q(person_b=absorbed)
    )
    for candidate in pairs.order_by("pk"):
        other = (
            candidate.person_b_id if candidate.person_a_id == absorbed.pk else candidate.person_a_id
        )
        if other == survivor.pk:
            candidate.status, candidate.absorbed_uid = CandidateStatus.MERGED, absorbed.uid
            candidate.decided_by, candidate.decided_at = user, now
            candidate.decision_reason = reason
            if candidate.person_a_id == absorbed.pk:
                candidate.person_a = None
            else:
                candidate.person_b = None
            candidate.save()
            continue
        a, b = DuplicateCandidate.ordered(survivor.pk, other)
        twin = DuplicateCandidate.objects.filter(person_a_id=a, person_b_id=b).first()
        if twin is None:
            candidate.person_a_id, candidate.person_b_id = a, b
            candidate.save()
            continue
        if candidate.status == CandidateStatus.DISMISSED and twin.status == CandidateStatus.OPEN:
            twin.status = CandidateStatus.DISMISSED
            twin.decided_by, twin.decided_at = candidate.decided_by, candidate.decided_at
            twin.decision_reason = candidate.decision_reason
            twin.save()
        candidate.delete()


def dismiss_candidate(
    candidate: DuplicateCandidate, *, user, reason: str = ""
) -> DuplicateCandidate:
    """Staff decided the two records are different people: the pair stays dismissed, and
    later scans and imports leave it so."""
    _require(user, "people.change_duplicatecandidate", _NO_REVIEW_PERMISSION)
    reason = (reason or "").strip()
    why = "Not the same person." + (f" {reason}" if reason else "")
    with transaction.atomic(), acting_as(user, why):
        candidate = DuplicateCandidate.objects.select_for_update().get(pk=candidate.pk)
        if candidate.status != CandidateStatus.OPEN:
            raise MergeRefused(
                gettext("This pair was already decided: %(status)s.")
                % {"status": candidate.get_status_display()}
            )
        _check_visible(user, candidate.person_a, candidate.person_b)
        candidate.status = CandidateStatus.DISMISSED
        candidate.decided_by, candidate.decided_at = user, timezone.now()
        candidate.decision_reason = reason
        candidate.save()
    return candidate
