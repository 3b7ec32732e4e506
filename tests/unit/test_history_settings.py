"""history_days / history_rows: where the events history is and how long it keeps events."""

import pytest

from oscar import settings as settings_mod


def test_defaults_and_path(tmp_path):
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path)})
    assert (loaded.history_days, loaded.history_rows) == (7.0, 1_000_000)
    assert loaded.history_path == tmp_path / "history.sqlite"


def test_environment_and_toml(tmp_path):
    (tmp_path / "oscar.toml").write_text("history_days = 30\nhistory_rows = 5000\n")
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path)})
    assert (loaded.history_days, loaded.history_rows) == (30.0, 5000)
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path), "OSCAR_HISTORY_DAYS": "0.5"})
    assert loaded.history_days == 0.5


@pytest.mark.parametrize(("var", "value", "message"), [
    ("OSCAR_HISTORY_DAYS", "0", "history_days must be more than 0"),
    ("OSCAR_HISTORY_DAYS", "nan", "history_days must be more than 0"),
    ("OSCAR_HISTORY_DAYS", "forever", "history_days must be a number"),
    ("OSCAR_HISTORY_ROWS", "10", "history_rows must be 1000-1000000000"),
    ("OSCAR_HISTORY_ROWS", "1.5", "history_rows must be a whole number"),
])
def test_bad_values_name_the_setting(tmp_path, var, value, message):
    with pytest.raises(settings_mod.SettingsError) as caught:
        settings_mod.load({"OSCAR_HOME": str(tmp_path), var: value})
    assert message in str(caught.value)
