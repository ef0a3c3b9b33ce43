import pytest
from django.db import connection

from tests.factories import make_user


@pytest.fixture
def superuser(db):
    return make_user("root", is_superuser=True, password="x" * 12)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def pytest_collection_modifyitems(config, items):
    # Tests marked "postgresql" run in the PostgreSQL pass of `make test` (CI runs both).
    for item in items:
        if item.get_closest_marker("postgresql") and connection.vendor != "postgresql":
            item.add_marker(pytest.mark.skip(reason="PostgreSQL only; runs in the PostgreSQL pass"))
