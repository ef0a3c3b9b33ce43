"""Indexes only PostgreSQL has, for the migrations that add them: trigram indexes for text
search, and indexes in an order SQLite cannot declare (``DESC NULLS LAST``).

``LIKE '%term%'`` cannot use a B-tree: at two million people it reads every name. A GIN index
of trigrams (the pg_trgm extension, shipped with PostgreSQL in its contrib modules) answers it
from the index. SQLite, the embedded default, keeps its scans: it serves small archives.

These indexes are the database's alone: Django's model state does not change, so they never
show in ``makemigrations``; each migration that adds one says which query it serves.
"""

from django.db.migrations.operations.base import Operation


class MissingExtension(RuntimeError):
    pass


class CreatePostgresIndex(Operation):
    """``CREATE INDEX name ON table <definition>`` on PostgreSQL; nothing on other databases.

    ``definition`` is SQL, e.g. ``(published_earliest DESC NULLS LAST, title, id)``: an index
    serves a query only when it matches the query's own expressions and order."""

    reversible = True
    reduces_to_sql = False
    trigram = False

    def __init__(self, table: str, name: str, definition: str):
        self.table, self.name, self.definition = table, name, definition

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"table": self.table, "name": self.name, "definition": self.definition},
        )

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        if self.trigram:
            ensure_trigram_extension(schema_editor)
        table = schema_editor.quote_name(self.table)
        name = schema_editor.quote_name(self.name)
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {self.definition}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(self.name)}")

    def describe(self):
        return f"Create index {self.name} on {self.table} (PostgreSQL only)"

    @property
    def migration_name_fragment(self):
        return self.name.lower()


class CreateTrigramIndex(CreatePostgresIndex):
    """A GIN trigram index on ``expression`` of ``table`` on PostgreSQL, creating pg_trgm
    first. ``expression`` is SQL as the queries write it, e.g. ``upper(("reference")::text)``
    for the admin's ``icontains``."""

    trigram = True

    def __init__(self, table: str, name: str, expression: str):
        self.expression = expression
        super().__init__(table, name, f"USING gin (({expression}) gin_trgm_ops)")

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"table": self.table, "name": self.name, "expression": self.expression},
        )


def ensure_trigram_extension(schema_editor) -> None:
    """CREATE EXTENSION pg_trgm, or a clear error when the server does not have it (a trusted
    extension since PostgreSQL 13: the database's owner may create it)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if cursor.fetchone() is None:
            raise MissingExtension(
                "PostgreSQL's pg_trgm extension is not installed on this server; name and "
                "reference search need it. Install the server's contrib modules (Debian and "
                "Ubuntu ship them with the postgresql package; elsewhere postgresql-contrib) "
                "and run the migrations again."
            )
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
