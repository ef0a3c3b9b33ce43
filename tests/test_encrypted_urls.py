"""Sources' URLs and citations' locators are encrypted at rest (a URL can name a private
channel), sources are still found by their exact address, partners still get both for public
sources, and the audit chain written before they were encrypted still verifies."""

import importlib
from types import SimpleNamespace

import pytest
from django.db import connection
from django.urls import reverse

from casetracker import crypto
from casetracker.integrity import AuditLink, canonical_content, content_hash, verify_chain
from sources.models import Citation, Source
from tests.factories import make_case, make_citation, make_source

pytestmark = pytest.mark.django_db

PRIVATE_URL = "https://t.me/+a8Xk2private-channel/1207"
LOCATOR = "recording 2, 14:05, the sister speaks"
migration = importlib.import_module("sources.migrations.0006_encrypted_urls_and_locators")


def raw(table, column, where_column, value):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE {where_column} = %s",  # noqa: S608
            [value],
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def cited():
    source = make_source("Channel post", url=PRIVATE_URL)
    citation = make_citation(source, case=make_case(), locator=LOCATOR)
    return source, citation


def test_a_sources_url_is_stored_encrypted_in_the_live_and_history_tables(cited):
    source, _ = cited
    stored = raw("sources_source", "url", "id", source.pk)
    stored += raw("sources_historicalsource", "url", "id", source.pk)
    assert stored and all(crypto.is_token(value) for value in stored)
    assert Source.objects.get(pk=source.pk).url == PRIVATE_URL


def test_a_citations_locator_is_stored_encrypted_in_the_live_and_history_tables(cited):
    _, citation = cited
    stored = raw("sources_citation", "locator", "id", citation.pk)
    stored += raw("sources_historicalcitation", "locator", "id", citation.pk)
    assert stored and all(crypto.is_token(value) for value in stored)
    assert Citation.objects.get(pk=citation.pk).locator == LOCATOR


def test_a_source_is_found_by_its_exact_address(cited):
    source, _ = cited
    make_source("Another post", url="https://t.me/+a8Xk2private-channel/1208")
    assert list(Source.objects.with_url(f"  {PRIVATE_URL} ")) == [source]
    assert list(Source.objects.with_url("")) == []


def test_the_address_digest_follows_a_changed_url(cited):
    source, _ = cited
    source.url = "https://example.org/moved"
    source.save()
    assert list(Source.objects.with_url("https://example.org/moved")) == [source]
    assert list(Source.objects.with_url(PRIVATE_URL)) == []


def test_updating_urls_in_bulk_keeps_the_digest(cited):
    source, _ = cited
    Source.objects.filter(pk=source.pk).update(url="https://example.org/bulk")
    assert list(Source.objects.with_url("https://example.org/bulk")) == [source]


def test_the_digest_is_not_the_audit_digest_of_the_url(cited):
    source, _ = cited
    stored = Source.objects.values_list("url_digest", flat=True).get(pk=source.pk)
    assert stored and stored != crypto.audit_digest(PRIVATE_URL)
    assert PRIVATE_URL not in stored


def test_staff_find_a_source_by_pasting_its_address(admin_client, cited):
    source, _ = cited
    response = admin_client.get(reverse("admin:sources_source_changelist"), {"q": PRIVATE_URL})
    assert list(response.context["cl"].result_list) == [source]


def test_history_rows_are_chained_through_the_plaintext_as_before_encryption(cited):
    """Links written before 0006 hashed the URL and locator in clear: the chain must still
    hash them so, or every one of those links would fail verification."""
    source, citation = cited
    for model, obj, column, plain in (
        (Source, source, "url", PRIVATE_URL),
        (Citation, citation, "locator", LOCATOR),
    ):
        row = model.history.filter(id=obj.pk).latest("history_id")
        link = AuditLink.objects.get(record_type=row._meta.label_lower, record_pk=row.history_id)
        content = canonical_content(row)
        assert content[column] == plain
        assert link.content_hash == content_hash(content)


def test_the_migration_encrypts_stored_plaintext_and_the_chain_still_verifies(cited):
    source, citation = cited
    # Put the database back as it was before the migration: values in clear, no digests.
    for table, pk, columns in migration.COLUMNS:
        crypto.decrypt_table(connection, table, pk, columns)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE sources_source SET url_digest = ''")
    assert raw("sources_historicalsource", "url", "id", source.pk)[0] == PRIVATE_URL

    schema_editor = SimpleNamespace(connection=connection)
    migration.fill_url_digests(None, schema_editor)
    for table, pk, columns in migration.COLUMNS:
        crypto.reseal_table(connection, table, pk, columns)

    assert all(crypto.is_token(v) for v in raw("sources_historicalsource", "url", "id", source.pk))
    assert crypto.is_token(raw("sources_citation", "locator", "id", citation.pk)[0])
    assert list(Source.objects.with_url(PRIVATE_URL)) == [source]
    report = verify_chain()
    assert report.ok, str(report)
