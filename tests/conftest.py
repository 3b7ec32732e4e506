import pytest

from tests.support import FakeDevice, OscarSystem


@pytest.fixture
def oscar():
    """A whole Oscar under its own supervisord, stopped (and checked gone) afterwards."""
    system = OscarSystem().start()
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture
def device():
    fake = FakeDevice().start()
    try:
        yield fake
    finally:
        fake.stop()
