"""`Settings.ensure_dirs` makes $OSCAR_HOME private and sets a private umask for what follows."""

import os
import stat
import tempfile
from pathlib import Path

import pytest

from oscar import settings


@pytest.fixture
def restore_umask():
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


def test_a_new_home_is_0700_and_files_made_afterwards_are_0600(restore_umask):
    os.umask(0o022)  # what a login shell usually has
    with tempfile.TemporaryDirectory(prefix="osc-", dir="/tmp") as parent:
        home = Path(parent) / "new" / "home"
        loaded = settings.load({"OSCAR_HOME": str(home)})
        loaded.ensure_dirs()
        for folder in (home, loaded.run_dir, loaded.log_dir, loaded.programs_dir):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        (home / "later.txt").write_text("x")
        assert stat.S_IMODE((home / "later.txt").stat().st_mode) == 0o600
