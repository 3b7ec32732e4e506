
import pytest

from tests.support import FakeDevice, OscarSystem, stop_and_clean


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def oscar(request):
    """A whole Oscar under its own supervisord, stopped (and checked gone) afterwards. Its
    OSCAR_HOME (logs!) is kept when the test fails, removed otherwise."""
    system = OscarSystem().start()
    try:
        yield system
    finally:
        stop_and_clean(system, request)


@pytest.fixture
def device():
    fake = FakeDevice().start()
    try:
        yield fake
    finally:
        fake.stop()
