"""Fixtures shared by the unit tests."""

import pytest

from tests.unit.actor_rig import Rig


@pytest.fixture
def rigs():
    """``rigs(**device_fields)``: a new actor Rig (tests/unit/actor_rig.py), closed after the
    test."""
    made = []

    def make(**fields):
        rig = Rig(**fields)
        made.append(rig)
        return rig
    yield make
    for rig in made:
        rig.close()


@pytest.fixture
def path(tmp_path):
    """Where a test's store file (oscar.sqlite3) goes."""
    return tmp_path / "oscar.sqlite3"
