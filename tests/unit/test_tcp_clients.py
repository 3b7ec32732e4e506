"""Admission of OSC TCP clients: limit, idle timeout, eviction of the oldest idle one."""

import pytest

from oscar.tcp_clients import ClientTable


def test_at_the_limit_the_client_idle_longest_makes_room():
    table = ClientTable(max_clients=3, idle_timeout=300)
    assert table.admit("a", now=0) == []
    assert table.admit("b", now=1) == []
    assert table.admit("c", now=2) == []
    table.touch("a", now=3)  # a talked recently: b is now the one idle longest
    assert table.admit("qlab", now=4) == ["b"]
    assert "b" not in table and "qlab" in table and len(table) == 3
    assert table.admit("d", now=5) == ["c"]


def test_idle_clients_are_closed_after_the_timeout():
    table = ClientTable(max_clients=10, idle_timeout=60)
    table.admit("a", now=0)
    table.admit("b", now=10)
    assert table.next_deadline() == 60
    assert table.idle(now=60) == []  # exactly the timeout: not yet
    assert table.idle(now=61) == ["a"]
    table.touch("b", now=50)
    assert table.idle(now=100) == []
    assert table.next_deadline() == 110
    assert table.idle(now=111) == ["b"]
    assert table.next_deadline() is None and len(table) == 0


def test_removed_clients_are_forgotten():
    table = ClientTable(max_clients=2, idle_timeout=60)
    table.admit("a", now=0)
    table.admit("b", now=1)
    table.remove("a")
    table.remove("never-there")
    table.touch("never-there", now=2)
    assert "never-there" not in table
    assert table.admit("c", now=2) == []
    assert table.idle(now=1000) == ["b", "c"]


def test_three_hundred_idle_connections_never_lock_out_a_newcomer():
    table = ClientTable(max_clients=256, idle_timeout=300)
    for index in range(300):
        table.admit(index, now=index * 0.01)
    assert len(table) == 256
    evicted = table.admit("qlab", now=10)
    assert evicted == [44] and "qlab" in table


def test_a_table_needs_room_for_one():
    with pytest.raises(ValueError):
        ClientTable(max_clients=0, idle_timeout=1)
