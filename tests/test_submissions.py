"""UN submissions: the draft of a case for the Working Group on Arbitrary Detention (or an
urgent appeal), who may generate it and when, what it shows and never shows, the draft log,
the tracker's rules, partners' view of adopted opinions, and the admin pages."""

import hashlib
import io
import uuid
import zipfile
from datetime import date, timedelta
from io import StringIO

import docx
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from api import public
from cases import services as workflow
from cases.models import Case
from casetracker.roles import VERIFIER
from people.models import Relationship
from people.services import merge_people
from snapshots.models import PublishedCase
from submissions import drafts, footnotes
from submissions.models import DraftLog, Status, Submission, SubmissionConsent, Variant
from submissions.services import DraftRefused, generate, refusals
from tests import partner_api
from tests.factories import (
    fresh,
    in_review,
    make_case,
    make_charge,
    make_citation,
    make_event,
    make_organisation,
    make_person,
    make_source,
    person_named,
    place,
    published,
    seeded_place,
    set_case,
    staff_in,
    verified,
    without_reopening,
)

pytestmark = pytest.mark.django_db

# The partner API's test environment (tests/partner_api.py).
api_views_run_outside_a_transaction = partner_api.api_views_run_outside_a_transaction
fresh_throttle_counters = partner_api.fresh_throttle_counters

ORGANISATION = {
    "name": "Steppe Rights Desk",
    "address": "12 Abay Avenue, Almaty",
    "email": "desk@steppe-rights.example.org",
    "website": "https://steppe-rights.example.org",
}
WRITTEN = {
    "arrest_forces": "Plain-clothes officers of the Ili Public Security Bureau.",
    "warrant_shown": "no",
    "reasons_given": "None: the family was told he was taken for study.",
    "arbitrary_categories": ["II", "V"],
    "arbitrariness": "He was detained for being a Kazakh journalist (categories II and V).",
    "domestic_steps": "His wife petitioned the county procuratorate twice, with no answer.",
}
ADOPTED = {
    "status": Status.OPINION_ADOPTED,
    "sent_on": date(2024, 9, 1),
    "opinion_number": "23/2025",
    "adopted_on": date(2025, 3, 28),
    "finding": "arbitrary",
    "found_categories": ["II", "V"],
    "opinion_url": "https://www.ohchr.org/opinion-23-2025.pdf",
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(autouse=True)
def organisation(settings):
    settings.SUBMITTING_ORGANISATION = dict(ORGANISATION)


# --- helpers --------------------------------------------------------------------------------


def granted(person, state="granted", **kw):
    if state != "unknown":
        kw = {"given_on": date(2025, 1, 10), "means": "signed_form", **kw}
    return SubmissionConsent.objects.create(person=person, state=state, **kw)


def submission_of(case, **kw):
    return Submission.objects.create(case=case, **kw)


def drafted(case, **kw):
    """A submission with every section staff write for the draft filled in."""
    return submission_of(case, **{**WRITTEN, **kw})


def opened(content):
    return docx.Document(io.BytesIO(content))


def headings(document):
    return [p.text for p in document.paragraphs if p.style.name == "Heading 1"]


def text_of(paragraph):
    """A paragraph's words, without its footnote marks (the "," between two is a run)."""
    return "".join(run.text for run in paragraph.runs if not run.font.superscript)


def line(document, label):
    return next(p for p in document.paragraphs if p.text.startswith(f"{label}: "))


def under(document, heading):
    """The texts of the paragraphs between ``heading`` and the next heading of level 1."""
    found, inside = [], False
    for p in document.paragraphs:
        if p.style.name == "Heading 1":
            inside = p.text == heading
        elif inside:
            found.append(text_of(p))
    return found


def notes_of(document, paragraph):
    """The texts of a paragraph's footnotes, "See note N." followed to note N."""
    notes, resolved = footnotes.read(document), []
    for number in footnotes.references(paragraph):
        text = notes[number]
        while text.startswith("See note "):
            text = notes[int(text.removeprefix("See note ").rstrip("."))]
        resolved.append(text)
    return resolved


def package_text(content):
    """Every part of the DOCX package as text, and every zip entry (relationships too)."""
    text = [p.blob.decode("utf-8", "replace") for p in opened(content).part.package.iter_parts()]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        text += [archive.read(name).decode("utf-8", "replace") for name in archive.namelist()]
    return "\n".join(text)


def gap_texts(submission):
    return [str(gap.text) for gap in drafts.missing(submission)]


# --- the demo case: Kanat Yerezhep --------------------------------------------------------------


@pytest.fixture
def demo_draft(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("load_demo", stdout=StringIO())
    case = Case.objects.get(person__names__name="Kanat Yerezhep")
    granted(case.person)
    user = get_user_model().objects.get(username="verifier")  # the demo's verifier
    return opened(generate(drafted(case), user).content)


def test_the_demo_draft_has_every_section_of_the_questionnaire(demo_draft):
    assert headings(demo_draft) == [
        "Information missing",
        "I. Identity of the person",
        "II. Arrest",
        "III. Detention",
        "IV. Circumstances of the arrest and detention",
        "V. Why the detention is arbitrary",
        "VI. Domestic steps taken",
        "VII. Submitting organisation",
    ]


def test_the_demo_draft_identifies_the_person(demo_draft):
    assert text_of(line(demo_draft, "Names in every script")) == (
        "Names in every script: Kanat Yerezhep (Latin); Қанат Ережеп (Cyrillic); "
        "قانات ەرەجەپ (Arabic script)"
    )
    assert text_of(line(demo_draft, "Sex")) == "Sex: Male"
    assert text_of(line(demo_draft, "Nationality")) == "Nationality: China"
    assert text_of(line(demo_draft, "Ethnicity")) == "Ethnicity: Kazakh"
    occupation = "Former director of Xinjiang TV's Kazakh-language service"
    assert text_of(line(demo_draft, "Occupation")) == f"Occupation: {occupation}"


@pytest.mark.parametrize("label", ["Date of arrest", "Date of detention"])
def test_the_demo_draft_dates_arrest_and_detention_between_2019_and_2023(demo_draft, label):
    assert text_of(line(demo_draft, label)) == f"{label}: between 2019 and 2023"


def test_the_demo_draft_gives_both_charges_with_their_articles(demo_draft):
    charges = [text_of(p) for p in demo_draft.paragraphs if p.text.startswith("Charge: ")]
    assert len(charges) == 2
    assert any("Splitting the state" in c and "Article 103(1) " in c for c in charges)
    assert any("Treason" in c and "Article 102 " in c for c in charges)


def test_the_demo_draft_names_the_submitting_organisation_from_the_settings(demo_draft):
    assert under(demo_draft, "VII. Submitting organisation") == [
        f"Name: {ORGANISATION['name']}",
        f"Address: {ORGANISATION['address']}",
        f"E-mail: {ORGANISATION['email']}",
        f"Website: {ORGANISATION['website']}",
    ]


def test_the_demo_draft_holds_the_arguments_staff_wrote(demo_draft):
    assert under(demo_draft, "V. Why the detention is arbitrary")[-1] == WRITTEN["arbitrariness"]
    assert under(demo_draft, "VI. Domestic steps taken") == [WRITTEN["domestic_steps"]]
    forces = text_of(line(demo_draft, "Forces who carried out the arrest"))
    assert forces.endswith(WRITTEN["arrest_forces"])


def test_the_demo_draft_ticks_the_chosen_categories_only(demo_draft):
    boxes = [t.split(":")[0] for t in under(demo_draft, "V. Why the detention is arbitrary")[:5]]
    ticked = ["☐ Category I", "☒ Category II", "☐ Category III", "☐ Category IV", "☒ Category V"]
    assert boxes == ticked


def test_the_date_of_arrest_cites_paragraph_4_of_the_rfa_report(demo_draft):
    [note] = notes_of(demo_draft, line(demo_draft, "Date of arrest"))
    assert note.startswith("Radio Free Asia, “Over thirty Kazakhs secretly arrested")
    assert "paragraph 4" in note


@pytest.mark.parametrize(
    "label", ["Name", "Names in every script", "Sex", "Nationality", "Ethnicity", "Occupation"]
)
def test_each_identity_line_cites_the_sources_of_the_case(demo_draft, label):
    atajurt, rfa = sorted(notes_of(demo_draft, line(demo_draft, label)))
    assert atajurt.startswith("Atajurt Kazakh Human Rights, “Atajurt list of Kazakh officials")
    assert "list of detainees" in atajurt
    assert rfa.startswith("Radio Free Asia, “Over thirty Kazakhs") and "paragraph 3" in rfa


# --- what a draft lacks -------------------------------------------------------------------------


def documented_case(creator, verifier, person=None, restricted=None):
    """A verified case that lacks nothing the questionnaire asks; ``restricted(case, event)``
    adds more to it before it is verified."""
    county = place("Yining County", "county", seeded_place("Ili Kazakh Autonomous Prefecture"))
    camp = place("Yining Camp", "facility", county, facility_type="prison")
    person = person or person_named("Marat Testov", "Марат Тестов")
    with without_reopening():
        person.gender, person.ethnicity, person.citizenship = "male", "kazakh", "CN"
        person.birth_date, person.occupation, person.place_of_origin = "1971", "Teacher", county
        person.consent = "granted"
        person.save()
    case = make_case(person, public_summary="A teacher held since 2019.", created_by=creator)
    event = make_event(
        case,
        date="2019-05-14",
        location=county,
        facility=camp,
        authority=make_organisation("Yining County PSB", kind="security"),
        charge_basis="reported",
    )
    event.charges.add(make_charge("Inciting separatism (test)", article="103(2)"))
    report = make_source("Herald report", publisher=make_organisation("Steppe Herald"))
    make_citation(report, case=case, locator="page 1")
    make_citation(report, event=event, locator="page 2")
    if restricted:
        restricted(case, event)
    workflow.submit_for_review(fresh(case), creator, "Ready.")
    workflow.verify(fresh(case), verifier)
    return fresh(case)


HOLES = [
    "No date of birth.",
    "Sex not known.",
    "No citizenship recorded.",
    "Ethnicity not known.",
    "No occupation.",
    "No place of origin or usual residence.",
    "The place of the arrest is not known.",
    "No authority recorded for the arrest.",
    "Who carried out the arrest is not described.",
    "Whether a warrant was shown is not known.",
    "The reasons the authorities gave are not described.",
    "No facility where the person is or was held.",
    "No authority recorded as holding the person.",
    "No charge information (not even that none were disclosed).",
    "No public summary of the case.",
    "The person and the case have no source.",
    "No category of arbitrary detention is ticked.",
    "The argument why the detention is arbitrary is not written.",
    "No domestic steps described.",
]


@pytest.fixture
def sparse(data_entry, verifier):
    """A verified case of a person known by name only, with one dated event cited, and an
    empty submission."""
    case = verified(data_entry, verifier)
    granted(case.person)
    return submission_of(case)


def test_the_missing_list_names_exactly_what_a_sparse_case_lacks(sparse):
    assert gap_texts(sparse) == HOLES


def test_the_draft_opens_with_the_same_missing_list(sparse, verifier):
    sections = [str(gap.section) for gap in drafts.missing(sparse)]
    document = opened(generate(sparse, verifier).content)
    assert under(document, "Information missing") == [
        f"{section}: {text}" for section, text in zip(sections, HOLES, strict=True)
    ]


def test_a_complete_case_and_submission_lack_nothing(data_entry, verifier):
    case = documented_case(data_entry, verifier)
    granted(case.person)
    submission = drafted(case)
    assert gap_texts(submission) == []
    document = opened(generate(submission, verifier).content)
    nothing = "Nothing that the questionnaire asks is missing."
    assert under(document, "Information missing") == [nothing]


# --- nothing restricted in a draft --------------------------------------------------------------


class Sentinels:
    """Unique strings, each labelled with the restricted field it was planted in."""

    def __init__(self):
        self.labels = {}

    def __call__(self, label):
        value = f"zqdraft{uuid.uuid4().hex[:12]}"
        self.labels[value] = label
        return value

    def found_in(self, text):
        return [label for value, label in self.labels.items() if value in text]


@pytest.fixture
def planted(data_entry, verifier):
    """A complete case with a sentinel in every restricted field around it, and its draft,
    generated by a verifier whose names are sentinels too."""
    secret = Sentinels()
    person = person_named(
        "Erlan Planted",
        internal_notes=secret("person internal notes"),
        contact_details=secret("person contact details"),
    )

    def restricted(case, event):
        public = case.citations.get()
        public.claim, public.quote = secret("public citation claim"), secret("public quote")
        public.save()
        case.internal_notes = secret("case internal notes")
        case.save()
        for access, kind in [("restricted", "testimony"), ("confidential", "leaked_document")]:
            source = make_source(
                secret(f"{access} title"),
                access=access,
                kind=kind,
                author=secret(f"{access} author"),
                url=f"https://{secret(f'{access} url')}.example.org/",
                notes=secret(f"{access} notes"),
                publisher=make_organisation(secret(f"{access} publisher")),
            )
            for subject, record in [("case", case), ("event", event), ("person", person)]:
                make_citation(
                    source,
                    **{subject: record},
                    claim=secret(f"{access} claim on the {subject}"),
                    quote=secret(f"{access} quote on the {subject}"),
                    locator=secret(f"{access} locator on the {subject}"),
                )
        Relationship.objects.create(
            from_person=person_named(secret("testifier name"), internal_notes=secret("notes")),
            kind="testifier_of",
            to_person=person,
            notes=secret("testifier relationship notes"),
        )

    case = documented_case(data_entry, verifier, person=person, restricted=restricted)
    set_case(case, evidence_level_reason=secret("evidence level reason"))
    for label, fields in [("sensitive case", {"sensitive": True}), ("draft case", {})]:
        other = make_case(
            person,
            public_summary=secret(f"{label} summary"),
            internal_notes=secret(f"{label} internal notes"),
            **fields,
        )
        make_event(other, date="2016", description=secret(f"{label} event description"))
    granted(person, record=secret("consent record"))
    submission = drafted(
        case,
        internal_notes=secret("submission internal notes"),
        # The control: a text written for the draft, which the scan must find.
        reasons_given=f"Told: {secret('control: written for the draft')}",
    )
    drafter = staff_in(VERIFIER, secret("drafter username"))
    drafter.first_name, drafter.last_name = secret("drafter first name"), secret("last name")
    drafter.save()
    assert fresh(case).evidence_level_reason  # planted (a workflow step did not clear it)
    return secret, generate(submission, drafter).content


def test_no_restricted_value_reaches_any_part_of_the_draft(planted):
    secret, content = planted
    assert secret.found_in(package_text(content)) == ["control: written for the draft"]


def test_restricted_sources_are_cited_only_as_on_file(planted):
    document = opened(planted[1])
    public, *on_file = notes_of(document, line(document, "Date of arrest"))
    assert public.startswith("Steppe Herald, “Herald report”") and "page 2" in public
    assert on_file == [
        "Testimony on file with the organisation.",
        "Document on file with the organisation.",
    ]


# --- who may generate a draft, and when -------------------------------------------------------


@pytest.fixture
def ready(data_entry, verifier):
    """A verified case with consent granted and a submission: the verifier may draft it."""
    case = verified(data_entry, verifier)
    granted(case.person)
    return drafted(case)


@pytest.mark.parametrize("persona", ["data_entry", "administrator"])
def test_staff_without_the_permission_are_refused(request, ready, persona):
    user = request.getfixturevalue(persona)
    assert any("permission" in reason for reason in refusals(ready, user))
    with pytest.raises(DraftRefused, match="permission"):
        generate(ready, user)
    assert not DraftLog.objects.exists()


@pytest.mark.parametrize("persona", ["data_entry", "administrator"])
def test_staff_without_the_permission_get_no_docx_from_the_draft_page(
    request, client, ready, persona
):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(reverse("admin:submissions_submission_draft", args=[ready.pk]))
    assert response.status_code == 302
    assert response["Content-Type"] != DOCX
    assert not DraftLog.objects.exists()


def test_a_case_in_review_is_refused(data_entry, verifier):
    case = in_review(data_entry)
    granted(case.person)
    with pytest.raises(DraftRefused, match="not verified"):
        generate(drafted(case), verifier)
    assert not DraftLog.objects.exists()


def test_an_archived_case_is_refused(ready, verifier):
    workflow.archive(ready.case, verifier, "Duplicate of another case.")
    with pytest.raises(DraftRefused, match="archived"):
        generate(Submission.objects.get(pk=ready.pk), verifier)
    assert not DraftLog.objects.exists()


@pytest.mark.parametrize("state", ["unknown", "refused", "withdrawn", None])
def test_consent_not_granted_is_refused(data_entry, verifier, state):
    case = verified(data_entry, verifier)
    if state:
        granted(case.person, state=state)
    with pytest.raises(DraftRefused, match="Consent to UN submission"):
        generate(drafted(case), verifier)
    assert not DraftLog.objects.exists()


def test_a_draft_is_logged_once_with_the_hash_of_its_bytes(ready, verifier):
    draft = generate(ready, verifier)
    log = DraftLog.objects.get()
    assert log == draft.log
    assert log.sha256 == hashlib.sha256(draft.content).hexdigest()
    assert (log.user, log.case, log.submission) == (verifier, ready.case, ready)
    assert (log.variant, log.size) == (Variant.WGAD, len(draft.content))
    assert log.missing == [f"{g.section}: {g.text}" for g in drafts.missing(ready)]
    assert log.missing  # the case lacks a birth date, a facility…: the list is not empty


def test_the_verifier_downloads_the_draft_from_the_draft_page(client, ready, verifier):
    client.force_login(verifier)
    response = client.post(reverse("admin:submissions_submission_draft", args=[ready.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == DOCX
    assert f"{ready.case.reference}-wgad-draft-" in response["Content-Disposition"]
    assert DraftLog.objects.get().sha256 == hashlib.sha256(response.content).hexdigest()


@pytest.fixture
def hidden_submission(assigned):
    case = make_case(person_named("Aigul Hiddenova"), sensitive=True)
    case.assigned_staff.add(assigned)
    return submission_of(case)


@pytest.mark.parametrize(("persona", "status"), [("outsider", 404), ("assigned", 200)])
@pytest.mark.parametrize("page", ["change", "draft"])
def test_only_staff_assigned_to_a_sensitive_case_find_its_submission(
    request, client, hidden_submission, persona, status, page
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse(f"admin:submissions_submission_{page}", args=[hidden_submission.pk])
    assert client.get(url).status_code == status


def test_staff_without_a_role_cannot_open_the_draft_page(client, no_role, ready):
    """As on the submission's own change page (403): the draft page shows what the case
    lacks, the state of consent and who generated drafts."""
    client.force_login(no_role)
    url = reverse("admin:submissions_submission_draft", args=[ready.pk])
    assert client.get(url).status_code == 403


# --- the draft log is append-only -------------------------------------------------------------


@pytest.fixture
def log(ready, verifier):
    return generate(ready, verifier).log


def test_a_log_row_cannot_be_saved_again(log):
    log.size = 1
    with pytest.raises(PermissionError):
        log.save()


def test_a_log_row_cannot_be_deleted(log):
    with pytest.raises(PermissionError):
        log.delete()
    assert DraftLog.objects.filter(pk=log.pk).exists()


@pytest.mark.parametrize(
    "change",
    [
        lambda log: DraftLog.objects.filter(pk=log.pk).update(sha256="0" * 64),
        lambda log: log.submission.drafts.update(size=1),
        lambda log: DraftLog.objects.all().delete(),
    ],
    ids=["update", "update through the submission", "delete"],
)
def test_the_log_cannot_be_changed_in_bulk(log, change):
    with pytest.raises(PermissionError):
        change(log)
    assert DraftLog.objects.get().sha256 == log.sha256


# --- the tracker's rules ----------------------------------------------------------------------


def opinion(**kw):
    """An adopted opinion, valid unless ``kw`` says otherwise (not saved)."""
    return Submission(case=make_case(), **{**ADOPTED, **kw})


def refused_fields(record):
    with pytest.raises(ValidationError) as refused:
        record.clean()
    return set(refused.value.error_dict)


TOMORROW = timezone.localdate() + timedelta(days=1)


def test_a_complete_opinion_is_valid():
    opinion().clean()


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        pytest.param({"mechanism": "urgent_appeal"}, "mechanism", id="opinion-of-urgent-appeal"),
        pytest.param({"opinion_number": "23-2025"}, "opinion_number", id="number-with-dash"),
        pytest.param({"opinion_number": "1234/2025"}, "opinion_number", id="number-too-long"),
        pytest.param({"opinion_number": "23/25"}, "opinion_number", id="number-short-year"),
        pytest.param({"finding": "not_arbitrary"}, "found_categories", id="categories-not-found"),
        pytest.param(
            {"adopted_on": timezone.localdate() + timedelta(1)}, "adopted_on", id="future"
        ),
    ],
)
def test_the_tracker_refuses_an_opinion_that_breaks_its_rules(fields, refused):
    assert refused_fields(opinion(**fields)) == {refused}


def test_a_sent_submission_needs_the_date_it_was_sent():
    assert refused_fields(Submission(case=make_case(), status=Status.SENT)) == {"sent_on"}


def test_consent_given_needs_its_date_and_how_it_was_recorded():
    consent = SubmissionConsent(person=person_named("Nurlan Consentov"), state="granted")
    assert refused_fields(consent) == {"given_on", "means"}


def test_consent_not_yet_asked_needs_no_date():
    SubmissionConsent(person=person_named("Nurlan Unasked"), state="unknown").clean()


# --- partners: adopted opinions of published cases ---------------------------------------------


@pytest.fixture
def public_case(data_entry, verifier):
    return published(data_entry, verifier)


def opinions(client, key, case):
    return partner_api.get_json(client, f"cases/{case.reference}/", key)["un_opinions"]


def test_partners_see_an_adopted_opinion_at_once(client, key, public_case):
    submission_of(public_case, **ADOPTED)
    assert opinions(client, key, public_case) == [
        {
            "number": "23/2025",
            "adopted": "2025-03-28",
            "finding": "arbitrary",
            "categories": ["II", "V"],
            "link": "https://www.ohchr.org/opinion-23-2025.pdf",
        }
    ]


@pytest.mark.parametrize("status", [Status.DRAFTED, Status.SENT])
def test_a_submission_without_an_opinion_adds_nothing(client, key, public_case, status):
    submission_of(public_case, status=status, sent_on=date(2024, 9, 1), un_reference="W/77")
    assert opinions(client, key, public_case) == []


def test_partners_never_see_a_submissions_staff_texts(client, key, public_case):
    secret = Sentinels()
    fields = ["internal_notes", "un_reference", "follow_up", *WRITTEN.keys() - {"warrant_shown"}]
    submission_of(public_case, **{**ADOPTED, **{field: secret(field) for field in fields}})
    response = partner_api.get(client, f"cases/{public_case.reference}/", key)
    assert response.json()["un_opinions"][0]["number"] == "23/2025"
    assert secret.found_in(response.content.decode()) == []


# --- the admin pages ----------------------------------------------------------------------------


@pytest.fixture
def as_verifier(client, verifier):
    client.force_login(verifier)
    return client


def test_the_submission_list_loads_with_its_filters(as_verifier, ready):
    url = reverse("admin:submissions_submission_changelist")
    response = as_verifier.get(url, {"mechanism__exact": "wgad", "status__exact": "drafted"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [ready]


def test_the_add_page_starts_from_the_case_given(as_verifier, ready):
    url = reverse("admin:submissions_submission_add")
    response = as_verifier.get(url, {"case": ready.case.pk})
    assert response.status_code == 200
    assert str(response.context["adminform"].form.initial["case"]) == str(ready.case.pk)


def test_the_change_page_links_to_the_draft(as_verifier, ready):
    response = as_verifier.get(reverse("admin:submissions_submission_change", args=[ready.pk]))
    assert response.status_code == 200
    assert reverse("admin:submissions_submission_draft", args=[ready.pk]) in response.text


def test_the_draft_page_lists_what_the_draft_lacks(as_verifier, sparse):
    response = as_verifier.get(reverse("admin:submissions_submission_draft", args=[sparse.pk]))
    assert response.status_code == 200
    assert [str(gap.text) for gap in response.context["gaps"]] == HOLES
    assert "No public summary of the case." in response.text


@pytest.mark.parametrize("page", ["submissionconsent_changelist", "draftlog_changelist"])
def test_the_consent_list_and_the_draft_log_load(as_verifier, log, page):
    assert as_verifier.get(reverse(f"admin:submissions_{page}")).status_code == 200


def test_the_case_page_shows_its_un_submissions(as_verifier, ready):
    response = as_verifier.get(reverse("admin:cases_case_change", args=[ready.case.pk]))
    assert response.status_code == 200
    assert "UN submissions" in response.text
    assert reverse("admin:submissions_submission_change", args=[ready.pk]) in response.text


def test_data_entry_may_follow_the_tracker_but_not_add_to_it(client, data_entry, ready):
    client.force_login(data_entry)
    assert client.get(reverse("admin:submissions_submission_changelist")).status_code == 200
    assert client.get(reverse("admin:submissions_submission_add")).status_code == 403


# --- the urgent appeal ------------------------------------------------------------------------


@pytest.fixture
def appeal(data_entry, verifier):
    case = documented_case(data_entry, verifier)
    granted(case.person)
    return submission_of(case, mechanism="urgent_appeal")


def test_an_urgent_appeal_is_the_short_variant(appeal, verifier):
    draft = generate(appeal, verifier)
    short = ["Information missing", "Who", "Where", "Since when", "What risk"]
    assert headings(opened(draft.content)) == [*short, "Submitting organisation"]
    assert draft.log.variant == Variant.URGENT_APPEAL
    assert "-urgent-appeal-draft-" in draft.filename


def test_an_urgent_appeal_without_its_risk_lacks_only_that(appeal):
    assert gap_texts(appeal) == ["The risk the person faces is not described."]


def test_an_urgent_appeal_with_its_risk_lacks_nothing_and_states_it(appeal):
    appeal.risk = "He has diabetes and is denied insulin."
    assert gap_texts(appeal) == []
    content, _gaps = drafts.write(appeal, Variant.URGENT_APPEAL)
    assert under(opened(content), "What risk")[0] == appeal.risk


# --- merging two records of one person -------------------------------------------------------


def consent(person, state, record="", **fields):
    fields.setdefault("given_on", date(2025, 1, 10) if state != "unknown" else None)
    fields.setdefault("means", "signed_form" if state != "unknown" else "")
    return SubmissionConsent.objects.create(person=person, state=state, record=record, **fields)


@pytest.mark.parametrize(
    ("kept", "merged", "result"),
    [
        ("granted", "withdrawn", "withdrawn"),
        ("refused", "granted", "refused"),
        # "Not yet asked" never undoes an answer the other record holds.
        ("unknown", "granted", "granted"),
        ("granted", "unknown", "granted"),
        ("granted", "granted", "granted"),
    ],
)
def test_a_merge_keeps_one_consent_the_more_restrictive(verifier, kept, merged, result):
    survivor, absorbed = make_person("Kanat Yerezhep"), make_person("Qanat Erejep")
    consent(survivor, kept, record="Wife, in person.")
    consent(absorbed, merged, record="Brother, by phone.")
    merge_people(survivor, absorbed, user=verifier)
    stored = SubmissionConsent.objects.get()
    assert (stored.person, stored.state) == (survivor, result)
    assert "Wife, in person." in stored.record and "Brother, by phone." in stored.record


def test_a_merge_moves_the_only_consent_to_the_survivor(verifier):
    survivor, absorbed = make_person("Kanat Yerezhep"), make_person("Qanat Erejep")
    consent(absorbed, "granted", record="Brother, by phone.")
    merge_people(survivor, absorbed, user=verifier)
    assert SubmissionConsent.objects.get().person == survivor


# --- what the review of the first version found --------------------------------------------------


def test_a_sensitive_case_is_refused(ready, verifier):
    Case.objects.filter(pk=ready.case_id).update(sensitive=True)
    ready.refresh_from_db()
    with pytest.raises(DraftRefused, match="sensitive"):
        generate(ready, verifier)
    assert not DraftLog.objects.exists()


def test_a_draft_is_refused_when_the_case_changes_while_it_is_made(
    monkeypatch, ready, verifier, data_entry
):
    write = drafts.write

    def write_then_edit(submission, variant):
        made = write(submission, variant)
        workflow.reopen_after_edit(fresh(submission.case), data_entry, "An event")
        return made

    monkeypatch.setattr(drafts, "write", write_then_edit)
    with pytest.raises(DraftRefused):
        generate(ready, verifier)
    assert not DraftLog.objects.exists()


def test_an_archived_source_is_not_cited_as_on_file(data_entry, verifier):
    def archived_testimony(case, event):
        source = make_source("Old testimony", kind="testimony", access="restricted")
        make_citation(source, event=event, locator="minute 3")
        source.archived_at = timezone.now()
        source.save()

    case = documented_case(data_entry, verifier, restricted=archived_testimony)
    assert public.sources_on_file(case) == {}


@pytest.mark.parametrize(
    ("kinds", "arrest"),
    [
        (["detained", "released", "detained", "sentenced"], 2),
        (["detained", "arrested", "transferred"], 0),
        (["detained", "released"], 0),
        (["family_notified"], None),
    ],
)
def test_the_arrest_is_the_first_of_the_current_detention(kinds, arrest):
    events = [{"kind": kind, "date": {"edtf": f"20{10 + i}"}} for i, kind in enumerate(kinds)]
    found = drafts.current_arrest(events)
    assert found is (events[arrest] if arrest is not None else None)


def test_what_staff_write_is_cited_as_gathered_by_the_organisation(ready, verifier):
    document = opened(generate(ready, verifier).content)
    for label in [
        "Forces who carried out the arrest",
        "Reasons for the arrest given by the authorities",
    ]:
        assert notes_of(document, line(document, label)) == [drafts.GATHERED]


def test_without_a_warrant_the_authority_is_the_one_that_arrested(ready, verifier):
    document = opened(generate(ready, verifier).content)
    labels = [p.text.split(":")[0] for p in document.paragraphs]
    assert "Authority that carried out or ordered the arrest" in labels
    assert "Authority who issued the warrant or decision" not in labels


def test_an_opinion_is_recorded_only_once_adopted():
    submission = Submission(
        case=Case(),
        status=Status.SENT,
        sent_on=date(2024, 9, 1),
        opinion_number="23/2025",
        adopted_on=date(2025, 3, 28),
        finding="arbitrary",
    )
    with pytest.raises(ValidationError) as refused:
        submission.clean()
    assert "status" in refused.value.message_dict


def test_a_case_filed_without_an_opinion_number_is_valid_and_not_published():
    submission = Submission(
        case=Case(),
        status=Status.OPINION_ADOPTED,
        sent_on=date(2024, 9, 1),
        adopted_on=date(2025, 3, 28),
        finding="filed",
    )
    submission.clean()
    assert not submission.is_opinion


def test_an_opinion_marks_the_case_changed_for_partners_who_sync(client, key, public_case):
    before = partner_api.get_json(client, f"cases/{public_case.reference}/", key)["updated_at"]
    submission_of(public_case, **ADOPTED)
    after = partner_api.get_json(client, f"cases/{public_case.reference}/", key)["updated_at"]
    assert after > before
    assert fresh(public_case).review_state == "verified"  # not sent back to review
    since = partner_api.get_json(client, f"cases/?updated_since={before}", key)
    assert [c["reference"] for c in since["results"]] == [public_case.reference]


def test_a_corrected_opinion_reaches_the_held_snapshot_of_a_case_in_correction(
    client, key, public_case, data_entry
):
    submission = submission_of(public_case, **ADOPTED)
    workflow.reopen_after_edit(fresh(public_case), data_entry, "An event")
    assert PublishedCase.objects.get(case=public_case).held_since is not None
    submission.opinion_number = "24/2025"
    submission.save()
    assert [o["number"] for o in opinions(client, key, public_case)] == ["24/2025"]
    submission.finding, submission.opinion_number, submission.found_categories = "", "", []
    submission.adopted_on, submission.status = None, Status.SENT
    submission.save()
    assert opinions(client, key, public_case) == []


def test_the_consent_list_can_be_searched_by_name(as_verifier, ready):
    response = as_verifier.get(
        reverse("admin:submissions_submissionconsent_changelist"), {"q": "nobody such"}
    )
    assert response.status_code == 200


def test_a_submission_stays_with_its_case(as_verifier, ready):
    response = as_verifier.get(reverse("admin:submissions_submission_change", args=[ready.pk]))
    assert "case" not in response.context["adminform"].form.fields
