import pytest

from tests.support import module_oscar


@pytest.fixture(scope="module")
def oscar_module(request):
    """One Oscar shared by every test of a module (for long, independent end-to-end checks that
    each add their own devices). Its OSCAR_HOME is kept when any test of the module failed."""
    with module_oscar(request) as system:
        yield system
