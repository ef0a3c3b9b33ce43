"""The audit trail: who changed what, when, and why, for every write to every domain model.

History rows come from django-simple-history. This module decides *who* and *why* for writes
that have no request (services, management commands, imports) and extends the trail to the
bulk paths (:class:`casetracker.models.DomainQuerySet`). On PostgreSQL the history and
transition tables refuse UPDATE and DELETE (:func:`append_only_operation`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import migrations, transaction
from django.dispatch import Signal
from simple_history.models import HistoricalRecords

from casetracker.fields import EncryptedTextField

_actor: ContextVar = ContextVar("casetracker_audit_actor", default=None)
_reason: ContextVar[str] = ContextVar("casetracker_audit_reason", default="")

# Sent after any write to a domain model, single or bulk: sender is the model class,
# ``instances`` the rows written, ``history_type`` "+", "~" or "-".
records_changed = Signal()


@contextmanager
def acting_as(user, reason: str = "") -> Iterator[None]:
    """Attribute every write inside the block to ``user``, with ``reason``.

    Management commands and services use it; requests get their user from the middleware.
    """
    user_token, reason_token = _actor.set(user), _reason.set(reason)
    try:
        yield
    finally:
        _actor.reset(user_token)
        _reason.reset(reason_token)


@contextmanager
def because(reason: str) -> Iterator[None]:
    """Record ``reason`` on every history row written inside the block."""
    token = _reason.set(reason)
    try:
        yield
    finally:
        _reason.reset(token)


def current_reason() -> str:
    return _reason.get()


def current_user(request=None):
    """Who is writing now: the acting_as() user, else the signed-in user of the request
    (by default the one simple-history's middleware holds for this thread)."""
    actor = _actor.get()
    if actor is not None:
        return actor
    if request is None:
        request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def history_user(instance=None, request=None, **kwargs):
    """simple-history's ``get_user``: the same rule as current_user()."""
    return current_user(request)


class AuditedHistory(HistoricalRecords):
    """HistoricalRecords with the project's rules for who and why."""

    def __init__(self, **kwargs):
        kwargs.setdefault("get_user", history_user)
        # Reasons can be longer than the library's 100 characters, and can quote testimonies
        # or name testifiers: encrypted at rest like the fields they explain.
        kwargs.setdefault("history_change_reason_field", EncryptedTextField(null=True))
        super().__init__(**kwargs)

    def get_change_reason_for_object(self, instance, history_type, using):
        return super().get_change_reason_for_object(instance, history_type, using) or (
            _reason.get() or None
        )

    def create_historical_record(self, instance, history_type, using=None):
        # The history row and its link in the audit chain (casetracker.integrity, appended
        # from the post_create_historical_record signal) commit or roll back together.
        with transaction.atomic(using=using, savepoint=False):
            super().create_historical_record(instance, history_type, using)

    def post_save(self, instance, created, using=None, **kwargs):
        super().post_save(instance, created, using=using, **kwargs)
        if not kwargs.get("raw"):
            records_changed.send(
                sender=type(instance), instances=[instance], history_type="+" if created else "~"
            )

    def post_delete(self, instance, using=None, **kwargs):
        super().post_delete(instance, using=using, **kwargs)
        records_changed.send(sender=type(instance), instances=[instance], history_type="-")

    def m2m_changed(self, instance, action, attr, pk_set, reverse, **kwargs):
        super().m2m_changed(instance, action, attr, pk_set, reverse, **kwargs)
        if action in ("post_add", "post_remove", "post_clear"):
            records_changed.send(sender=type(instance), instances=[instance], history_type="~")


def record_bulk_history(model, objs, *, update: bool) -> None:
    """History rows for objects written in bulk, attributed like single writes."""
    objs = list(objs)
    if not objs:
        return
    _bulk_history_rows(model, objs, update=update)
    records_changed.send(sender=model, instances=objs, history_type="~" if update else "+")


def _bulk_history_rows(model, objs: list, *, update: bool) -> list:
    """record_bulk_history()'s history rows, linked in the audit chain; no signal."""
    history = getattr(model, "history", None)
    if history is None:
        return []
    from casetracker.integrity import append

    with transaction.atomic(savepoint=False):
        # Who: the same rule as single saves (history_user); why: the current reason.
        rows = history.bulk_history_create(
            objs, update=update, default_change_reason=current_reason()
        )
        append(rows or ())  # one link per row, in the audit chain
    return rows or []


# Objects per statement in bulk_add_m2m(): under SQLite's limit on query parameters.
M2M_CHUNK = 500


def bulk_add_m2m(model, field_name: str, additions) -> int:
    """``obj.<field_name>.add(*related)`` for many ``(obj, related)`` pairs of ``model``, in a
    few statements per M2M_CHUNK objects instead of several per object.

    Writes what add() writes, through its signal receivers: the relation rows (pairs already
    stored are skipped, as add() skips them) and, for each object that gained one, a "~"
    history row with simple-history's snapshot of the object's relations at that moment (the
    ``Historical<Model>_<field>`` rows), each row a link in the audit chain, then
    records_changed. Returns how many relation rows were added."""
    from casetracker.integrity import append, lock_chain

    field = model._meta.get_field(field_name)
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name()).attname
    target = through._meta.get_field(field.m2m_reverse_field_name()).attname
    wanted: dict = {}  # obj pk → (obj, related pks), in the order given
    for obj, related in additions:
        pks = {getattr(r, "pk", r) for r in related}
        if pks:
            wanted.setdefault(obj.pk, (obj, set()))[1].update(pks)
    history = getattr(model, "history", None)
    snapshot_models = [
        (f, HistoricalRecords.m2m_models[f])
        for f in getattr(getattr(history, "model", None), "_history_m2m_fields", ())
    ]
    ids, added = list(wanted), 0
    with transaction.atomic(savepoint=False):
        lock_chain()  # before the first row is written, as add() takes it (m2m_changed)
        for start in range(0, len(ids), M2M_CHUNK):
            chunk = ids[start : start + M2M_CHUNK]
            stored = set(
                through.objects.filter(**{f"{source}__in": chunk}).values_list(source, target)
            )
            rows = [
                through(**{source: pk, target: other})
                for pk in chunk
                for other in sorted(wanted[pk][1])
                if (pk, other) not in stored
            ]
            through.objects.bulk_create(rows)
            added += len(rows)
            changed = [wanted[pk][0] for pk in dict.fromkeys(getattr(r, source) for r in rows)]
            if not changed:
                continue
            history_rows = _bulk_history_rows(model, changed, update=True)
            for m2m_field, snapshot_model in snapshot_models:
                append(_snapshot_m2m(m2m_field, snapshot_model, history_rows))
            records_changed.send(sender=model, instances=changed, history_type="~")
    return added


def _snapshot_m2m(field, snapshot_model, history_rows: list) -> list:
    """simple-history's m2m history rows (create_historical_record_m2ms) of each history row:
    every relation row its object has now. Returns them, written."""
    through = field.remote_field.through
    source = through._meta.get_field(field.m2m_field_name()).attname
    attnames = [f.attname for f in through._meta.concrete_fields]
    pk_name = field.model._meta.pk.attname  # the history row's copy of the object's key
    by_source: dict = {}
    pks = [getattr(history, pk_name) for history in history_rows]
    for values in through.objects.filter(**{f"{source}__in": pks}).values_list(*attnames):
        row = dict(zip(attnames, values, strict=True))
        by_source.setdefault(row[source], []).append(row)
    snapshots = [
        snapshot_model(history_id=history.pk, **row)
        for history in history_rows
        for row in by_source.get(getattr(history, pk_name), [])
    ]
    return snapshot_model.objects.bulk_create(snapshots)


# --- Append-only tables on PostgreSQL ------------------------------------------------------

_FUNCTION = """
CREATE OR REPLACE FUNCTION casetracker_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'casetracker: % on % refused: the audit trail is append-only',
        TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
"""


def append_only_tables(apps, app_label: str, extra: tuple[str, ...] = ()) -> list[str]:
    config = apps.get_app_config(app_label)
    return [
        model._meta.db_table
        for model in config.get_models()
        if model.__name__.startswith("Historical") or model.__name__ in extra
    ]


def append_only_operation(app_label: str, extra: tuple[str, ...] = ()) -> migrations.RunPython:
    """A migration operation: on PostgreSQL, triggers that refuse UPDATE and DELETE on the
    app's history tables (and the ``extra`` models' tables). Other databases: nothing."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(_FUNCTION, params=None)  # its "%" are not placeholders
        for table in append_only_tables(apps, app_label, extra):
            quoted = schema_editor.quote_name(table)
            trigger = schema_editor.quote_name(f"{table}_append_only")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {quoted}")
            schema_editor.execute(
                f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {quoted} "
                "FOR EACH ROW EXECUTE FUNCTION casetracker_append_only()"
            )

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in append_only_tables(apps, app_label, extra):
            quoted = schema_editor.quote_name(table)
            trigger = schema_editor.quote_name(f"{table}_append_only")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {quoted}")

    return migrations.RunPython(forwards, backwards)
