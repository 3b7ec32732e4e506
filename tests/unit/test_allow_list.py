"""The OSC sender allow-list (setting osc_allow)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oscar import settings as settings_mod
from oscar.allow_list import AllowList, AllowListError, parse_entries


def test_empty_allows_everyone():
    assert AllowList.parse("").allows("203.0.113.9")
    assert AllowList.parse(" , ").everyone


def test_addresses_and_networks():
    allow = AllowList.parse("192.168.10.0/24, 10.9.9.9 ,fd00::/8")
    assert allow.allows("192.168.10.77")
    assert allow.allows("10.9.9.9")
    assert not allow.allows("10.9.9.8")
    assert not allow.allows("192.168.11.1")
    assert allow.allows("fd00::1")
    assert not allow.allows("fe80::1%lo")
    assert not allow.allows("not an address")


def test_ipv4_mapped_ipv6_peers_are_checked_as_ipv4():
    allow = AllowList.parse("192.168.10.0/24")
    assert allow.allows("::ffff:192.168.10.5")
    assert not allow.allows("::ffff:127.0.0.1")
    assert AllowList.parse("::ffff:10.0.0.1").allows("10.0.0.1")


def test_host_bits_in_a_network_are_accepted_as_people_write_them():
    assert AllowList.parse("192.168.10.7/24").allows("192.168.10.200")


def test_a_list_from_oscar_toml():
    assert AllowList.parse(["127.0.0.1", "10.0.0.0/8"]).allows("10.1.2.3")


@pytest.mark.parametrize("bad", ["10.0.0.256", "qlab.local", "10.0.0.0/33", "*"])
def test_an_invalid_entry_is_named(bad):
    with pytest.raises(AllowListError, match=repr(bad).replace("*", r"\*").replace(".", r"\.")):
        parse_entries(f"127.0.0.1,{bad}")


def test_settings_refuse_an_invalid_entry_naming_it(tmp_path):
    with pytest.raises(settings_mod.SettingsError, match="osc_allow.*'10.0.0.300'"):
        settings_mod.load({"OSCAR_HOME": str(tmp_path), "OSCAR_OSC_ALLOW": "10.0.0.300"})
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path),
                                "OSCAR_OSC_ALLOW": "10.9.9.9, 192.168.0.0/16"})
    assert loaded.osc_allow == "10.9.9.9, 192.168.0.0/16"


def test_settings_take_a_list_in_oscar_toml(tmp_path):
    (tmp_path / "oscar.toml").write_text('osc_allow = ["10.0.0.0/8", "127.0.0.1"]\n')
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path)})
    assert AllowList.parse(loaded.osc_allow).allows("10.2.3.4")
    (tmp_path / "oscar.toml").write_text('osc_allow = ["10.0.0.0/8", 7]\n')
    with pytest.raises(settings_mod.SettingsError, match="osc_allow"):
        settings_mod.load({"OSCAR_HOME": str(tmp_path)})


def test_listener_settings_defaults_and_environment(tmp_path):
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path)})
    assert (loaded.osc_schedule_horizon, loaded.osc_tcp_idle_timeout,
            loaded.osc_tcp_max_clients, loaded.osc_allow) == (3600.0, 300.0, 256, "")
    loaded = settings_mod.load({"OSCAR_HOME": str(tmp_path), "OSCAR_OSC_SCHEDULE_HORIZON": "60",
                                "OSCAR_OSC_TCP_IDLE_TIMEOUT": "5",
                                "OSCAR_OSC_TCP_MAX_CLIENTS": "8"})
    assert (loaded.osc_schedule_horizon, loaded.osc_tcp_idle_timeout,
            loaded.osc_tcp_max_clients) == (60.0, 5.0, 8)
    for var, value in (("OSCAR_OSC_TCP_MAX_CLIENTS", "0"), ("OSCAR_OSC_TCP_IDLE_TIMEOUT", "-1"),
                       ("OSCAR_OSC_SCHEDULE_HORIZON", "0")):
        with pytest.raises(settings_mod.SettingsError):
            settings_mod.load({"OSCAR_HOME": str(tmp_path), var: value})


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_only_allow_list_error_escapes(text):
    try:
        allow = AllowList.parse(text)
    except AllowListError:
        return
    allow.allows(text)


@pytest.mark.fuzz
@settings(max_examples=20_000, deadline=None)
@given(st.text(alphabet="0123456789abcdef.:/,% f", max_size=80))
def test_fuzz_long_allow_list(text):
    try:
        allow = AllowList.parse(text)
    except AllowListError:
        return
    allow.allows(text.split(",")[0])
