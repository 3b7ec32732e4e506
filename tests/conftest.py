import shutil

import pytest

from tests.support import FakeDevice, OscarSystem


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
        system.stop()
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            print(f"OSCAR_HOME kept for inspection: {system.home}")
        else:
            shutil.rmtree(system.home, ignore_errors=True)


@pytest.fixture
def device():
    fake = FakeDevice().start()
    try:
        yield fake
    finally:
        fake.stop()
