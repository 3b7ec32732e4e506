import shutil

import pytest

from tests.support import OscarSystem


@pytest.fixture(scope="module")
def oscar_module(request):
    """One Oscar shared by every test of a module (for long, independent end-to-end checks that
    each add their own devices). Its OSCAR_HOME is kept when any test of the module failed."""
    failed_before = request.session.testsfailed
    system = OscarSystem().start()
    try:
        yield system
    finally:
        system.stop()
        if request.session.testsfailed > failed_before:
            print(f"OSCAR_HOME kept for inspection: {system.home}")
        else:
            shutil.rmtree(system.home, ignore_errors=True)
