"""Need to know for sources: a source cited only by cases a user may not see, its evidence
files, citations and history are invisible to that user everywhere in the admin, and its files
cannot be downloaded. Every evidence download attempt is in the security log."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from casetracker.security import SecurityEvent
from sources.models import Access, Citation, EvidenceFile, Source
from tests.admin_forms import AdminForm, autocomplete_url, errors_of
from tests.factories import make_case, make_citation, make_person, make_source

pytestmark = pytest.mark.django_db

TESTIFIER = "Testifier Confidentialova"


@pytest.fixture
def sensitive_case(assigned):
    case = make_case(make_person("Aigul Hiddenova"), sensitive=True, created_by=assigned)
    case.assigned_staff.add(assigned)
    return case


@pytest.fixture
def testimony(sensitive_case):
    """A confidential testimony cited only by the sensitive case, with a scanned file."""
    source = make_source(
        "Testimony about a detained relative",
        kind="testimony",
        access=Access.CONFIDENTIAL,
        author=TESTIFIER,
        notes="Reach her through the cousin.",
    )
    make_citation(source, case=sensitive_case, claim="She saw the arrest.")
    EvidenceFile.objects.create(
        source=source,
        file=SimpleUploadedFile("testimony.pdf", b"%PDF-1.4 the testimony\n"),
        description="Signed statement",
    )
    return source


@pytest.fixture
def open_source():
    """A public report cited by an ordinary case: the control."""
    source = make_source("Radio report on the arrests")
    make_citation(source, case=make_case(make_person("Marat Openov")))
    return source


def signed_in(client, user):
    client.force_login(user)
    return client


def listed(client, url_name, **params):
    response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def autocompleted(client, term=""):
    url = autocomplete_url("sources", "citation", "source", term)
    response = client.get(url)
    assert response.status_code == 200
    return {result["id"] for result in response.json()["results"]}


def download(client, evidence_or_uid):
    uid = getattr(evidence_or_uid, "uid", evidence_or_uid)
    return client.get(reverse("evidence-download", args=[uid]))


def missing_pk(model):
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def download_events():
    return list(
        SecurityEvent.objects.filter(kind=SecurityEvent.Kind.EVIDENCE_DOWNLOAD).order_by("pk")
    )


# --- invisible to staff who may not see the case ---------------------------------------------


def test_the_source_changelist_leaves_out_the_testimony(client, outsider, testimony, open_source):
    assert listed(signed_in(client, outsider), "admin:sources_source_changelist") == [open_source]


def test_searching_sources_by_title_finds_nothing(client, outsider, testimony, open_source):
    client = signed_in(client, outsider)
    assert listed(client, "admin:sources_source_changelist", q="Testimony") == []


def test_the_source_autocomplete_leaves_out_the_testimony(client, outsider, testimony, open_source):
    client = signed_in(client, outsider)
    assert autocompleted(client) == {str(open_source.pk)}
    assert autocompleted(client, "Testimony") == set()


# Data entry may not delete sources at all: 403 for every id, hidden or not.
@pytest.mark.parametrize(("view", "status"), [("change", 404), ("history", 404), ("delete", 403)])
def test_the_testimonys_pages_answer_like_a_missing_source(
    client, outsider, testimony, view, status
):
    client = signed_in(client, outsider)
    hidden = client.get(reverse(f"admin:sources_source_{view}", args=[testimony.pk]))
    absent = client.get(reverse(f"admin:sources_source_{view}", args=[missing_pk(Source)]))
    assert hidden.status_code == absent.status_code == status
    assert TESTIFIER not in hidden.content.decode()


def test_a_history_version_of_the_testimony_is_not_found(client, outsider, testimony):
    row = testimony.history.first()
    url = reverse("admin:sources_source_simple_history", args=[testimony.pk, row.history_id])
    assert signed_in(client, outsider).get(url).status_code == 404


def test_the_evidence_file_changelist_leaves_out_the_testimonys_file(
    client, outsider, testimony, open_source
):
    assert listed(signed_in(client, outsider), "admin:sources_evidencefile_changelist") == []


@pytest.mark.parametrize("view", ["change", "history"])
def test_the_evidence_file_pages_answer_404(client, outsider, testimony, view):
    evidence = testimony.files.get()
    url = reverse(f"admin:sources_evidencefile_{view}", args=[evidence.pk])
    assert signed_in(client, outsider).get(url).status_code == 404


def test_the_evidence_file_autocomplete_of_sources_leaves_out_the_testimony(
    client, outsider, testimony, open_source
):
    url = autocomplete_url("sources", "evidencefile", "source", "")
    response = signed_in(client, outsider).get(url)
    assert {r["id"] for r in response.json()["results"]} == {str(open_source.pk)}


def test_probing_a_hidden_source_is_in_the_security_log(client, outsider, testimony):
    signed_in(client, outsider).get(reverse("admin:sources_source_change", args=[testimony.pk]))
    probe = SecurityEvent.objects.get(kind=SecurityEvent.Kind.NOT_FOUND)
    assert probe.username == outsider.username
    assert probe.path == reverse("admin:sources_source_change", args=[testimony.pk])


def test_the_download_of_the_testimonys_file_answers_404_like_a_missing_file(
    client, outsider, testimony
):
    client = signed_in(client, outsider)
    hidden = download(client, testimony.files.get())
    absent = download(client, "00000000-0000-4000-8000-000000000000")
    assert hidden.status_code == absent.status_code == 404
    assert b"the testimony" not in hidden.content


def test_a_refused_download_is_logged_with_who_which_file_and_outcome(client, outsider, testimony):
    evidence = testimony.files.get()
    download(signed_in(client, outsider), evidence)
    [event] = download_events()
    assert event.username == outsider.username
    assert f"file={evidence.uid}" in event.detail
    assert "outcome=refused" in event.detail
    # The refusal says nothing of the source: the user may not know it exists.
    assert str(testimony.uid) not in event.detail


def test_a_source_cited_by_a_visible_case_too_is_visible_with_only_visible_citations(
    client, outsider, testimony, open_source
):
    make_citation(testimony, case=make_case(make_person("Erlan Openov")), claim="Also here.")
    client = signed_in(client, outsider)
    sources = listed(client, "admin:sources_source_changelist", q="Testimony")
    assert sources == [testimony]
    assert sources[0].citation_total == 1  # the sensitive case's citation is not counted
    page = client.get(reverse("admin:sources_source_change", args=[testimony.pk]))
    assert page.status_code == 200
    assert "She saw the arrest." not in page.content.decode()


# --- sources cited by nothing ----------------------------------------------------------------


def test_an_uncited_public_source_is_visible_to_all_staff(client, outsider):
    source = make_source("A news report nobody cited yet", access=Access.PUBLIC)
    assert source in listed(signed_in(client, outsider), "admin:sources_source_changelist")


@pytest.mark.parametrize("access", [Access.RESTRICTED, Access.CONFIDENTIAL])
def test_an_uncited_restricted_source_is_visible_to_whoever_entered_it(
    client, assigned, outsider, access
):
    source = make_source("A testimony not cited yet", access=access, created_by=assigned)
    assert source in listed(signed_in(client, assigned), "admin:sources_source_changelist")
    client.logout()
    assert source not in listed(signed_in(client, outsider), "admin:sources_source_changelist")


def test_a_testimony_stays_hidden_after_its_citations_are_removed(client, outsider, testimony):
    Citation.objects.filter(source=testimony).delete()
    assert listed(signed_in(client, outsider), "admin:sources_source_changelist") == []


# --- who may see and download: the permission matrix -----------------------------------------

# persona → may see the testimony and download its file
MATRIX = [
    ("assigned", True),
    ("verifier", True),
    ("administrator", True),
    ("outsider", False),
    ("no_role", False),
]


@pytest.mark.parametrize(("persona", "sees"), MATRIX)
def test_who_sees_the_testimony_in_the_source_list(client, request, testimony, persona, sees):
    client = signed_in(client, request.getfixturevalue(persona))
    response = client.get(reverse("admin:sources_source_changelist"))
    if response.status_code == 403:  # no role: no source list at all
        assert not sees
        return
    assert (testimony in list(response.context["cl"].result_list)) is sees


# Staff without a role may not open any source page (403, whether or not it exists).
PAGE_STATUS = {"assigned": 200, "verifier": 200, "administrator": 200, "outsider": 404}


@pytest.mark.parametrize(("persona", "sees"), MATRIX)
def test_who_opens_the_testimonys_page(client, request, testimony, persona, sees):
    client = signed_in(client, request.getfixturevalue(persona))
    response = client.get(reverse("admin:sources_source_change", args=[testimony.pk]))
    assert response.status_code == PAGE_STATUS.get(persona, 403)
    assert (TESTIFIER in response.content.decode()) is sees


@pytest.mark.parametrize(("persona", "sees"), MATRIX)
def test_who_downloads_the_testimonys_file(client, request, testimony, persona, sees):
    user = request.getfixturevalue(persona)
    evidence = testimony.files.get()
    response = download(signed_in(client, user), evidence)
    assert response.status_code == (200 if sees else 404)
    if sees:
        assert b"".join(response.streaming_content) == b"%PDF-1.4 the testimony\n"
    [event] = download_events()
    assert event.username == user.username
    assert f"outcome={'sent' if sees else 'refused'}" in event.detail


def test_an_anonymous_download_is_sent_to_sign_in(client, testimony):
    response = download(client, testimony.files.get())
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_a_missing_file_is_logged_as_missing(client, assigned, testimony):
    evidence = testimony.files.get()
    evidence.file.storage.delete(evidence.file.name)
    response = download(signed_in(client, assigned), evidence)
    assert response.status_code == 404
    [event] = download_events()
    assert "outcome=missing" in event.detail
    assert f"source={testimony.uid}" in event.detail


# --- a hidden source cannot be cited (citing it would reveal it) -----------------------------


def test_citing_the_hidden_testimony_on_the_citation_page_is_refused(
    client, outsider, testimony, open_source
):
    client = signed_in(client, outsider)
    visible_case = open_source.citations.get().case
    page = AdminForm(client, reverse("admin:sources_citation_add"))
    response = page.post(source=str(testimony.pk), case=str(visible_case.pk), claim="Planted.")
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert not Citation.objects.filter(source=testimony, case=visible_case).exists()


def test_citing_the_hidden_testimony_from_a_visible_case_page_is_refused(
    client, outsider, testimony, open_source
):
    client = signed_in(client, outsider)
    visible_case = open_source.citations.get().case
    page = AdminForm(client, reverse("admin:cases_case_change", args=[visible_case.pk]))
    page.add_row(Citation, source=str(testimony.pk), claim="Planted.")
    response = page.post()
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert not Citation.objects.filter(source=testimony, case=visible_case).exists()
    assert testimony not in Source.objects.visible_to(outsider)


def test_uploading_a_file_to_the_hidden_testimony_is_refused(client, outsider, testimony):
    client = signed_in(client, outsider)
    page = AdminForm(client, reverse("admin:sources_evidencefile_add"))
    page.data["file"] = SimpleUploadedFile("planted.pdf", b"%PDF planted")
    response = page.post(source=str(testimony.pk), description="Planted")
    assert response.status_code == 200
    assert any("valid choice" in message for message in errors_of(response))
    assert testimony.files.count() == 1
