import pytest

from accounts.models import User
from roster.tests.factories import UserFactory


@pytest.fixture
def root(db: None) -> User:
    """The platform administrator a scheduled import or export runs as (`--by`): the access log names them."""
    return UserFactory(email="root@example.org", is_superuser=True, is_staff=True)
