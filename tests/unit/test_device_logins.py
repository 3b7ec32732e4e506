"""Login recipes: the worked hashes of devices.md, each recipe fed byte by byte, wrong passwords,
hostile greetings (bounded, no exception, no password in any detail)."""

import hashlib

import pytest
from hypothesis import strategies as st

from oscar.devices import logins, profiles
from oscar.devices.login_base import MAX_GREETING, Step
from tests.unit.fuzzing import fuzz_pair

SECRET = "s3cret-Pw"


def run(session, data, byte_by_byte=True):
    """Feed ``data`` (one byte at a time by default) until the session decides.
    Returns (everything it sent, the deciding Step, rest received after it)."""
    sent = bytearray()
    step = session.opening()
    sent += step.send
    if step.state != "wait":
        return bytes(sent), step, bytes(data)
    chunks = [data[i:i + 1] for i in range(len(data))] if byte_by_byte else [data]
    for index, chunk in enumerate(chunks):
        step = session.feed(chunk)
        assert isinstance(step, Step)
        sent += step.send
        if step.state != "wait":
            return bytes(sent), step, step.rest + b"".join(chunks[index + 1:])
    return bytes(sent), step, b""


# --- pure recipe functions -----------------------------------------------------------------


def test_pjlink_worked_example_from_the_hitachi_manual():
    assert logins.pjlink_digest("a572f60c", "password") == "e3d97429adffa11bce1f7275813d4bde"


def test_ntcontrol_digest_is_md5_of_user_password_random():
    expected = hashlib.md5(b"admin1:panasonic:zzzzzzzz").hexdigest()
    assert logins.ntcontrol_digest("admin1", "panasonic", "zzzzzzzz") == expected


def test_adcp_answer_is_sha256_of_challenge_and_password():
    assert logins.adcp_answer("abc123", "pw") == hashlib.sha256(b"abc123pw").hexdigest()


def test_escvp_header_without_and_with_password():
    assert logins.escvp_connect_header() == b"ESC/VP.net\x10\x03\x00\x00\x00\x00"
    with_pw = logins.escvp_connect_header("admin")
    assert with_pw == (b"ESC/VP.net\x10\x03\x00\x00\x00\x01" + b"\x01\x01"
                       + b"admin" + b"\x00" * 11)
    assert len(with_pw) == 34
    with pytest.raises(ValueError) as caught:
        logins.escvp_connect_header("x" * 17)
    assert "x" * 17 not in str(caught.value)
    header = logins.parse_escvp_header(b"ESC/VP.net\x10\x03\x00\x00\x43\x00")
    assert (header.version, header.kind, header.status, header.sub_headers) == (0x10, 3, 0x43, 0)
    with pytest.raises(ValueError):
        logins.parse_escvp_header(b"ESC/VP.ne")


def test_unknown_recipe_is_a_value_error():
    with pytest.raises(ValueError) as caught:
        logins.start("telnet", "", "")
    assert "pjlink" in str(caught.value)


# --- PJLink --------------------------------------------------------------------------------


def test_pjlink_protected_prefix_goes_on_the_first_command_only():
    session = logins.start("pjlink", "", "password")
    sent, step, rest = run(session, b"PJLINK 1 a572f60c\r")
    assert (sent, step.state, rest) == (b"", "ready", b"")
    assert session.prefix == b"e3d97429adffa11bce1f7275813d4bde"
    assert session.prefix_every is False
    # The wire bytes of the first command, as the actor builds them.
    assert session.prefix + b"%1POWR 1" + b"\r" == (
        b"e3d97429adffa11bce1f7275813d4bde%1POWR 1\r")


def test_pjlink_open_projector_has_no_prefix():
    session = logins.start("pjlink", "", "")
    _, step, _ = run(session, b"PJLINK 0\r")
    assert step.state == "ready" and session.prefix == b""


def test_pjlink_wrong_password_shows_on_the_first_reply():
    session = logins.start("pjlink", "", "wrong")
    run(session, b"PJLINK 1 a572f60c\r")
    assert session.reply_failed(b"PJLINK ERRA") == "wrong password (PJLINK ERRA)"
    assert session.reply_failed(b"%1POWR=OK") is None
    assert session.reply_failed(b"%1POWR=ERR3") is None


def test_pjlink_password_needed_but_none_set():
    _, step, _ = run(logins.start("pjlink", "", ""), b"PJLINK 1 a572f60c\r")
    assert step.state == "failed" and "none is set" in step.detail


def test_pjlink_refusal_and_garbage_greetings():
    _, step, _ = run(logins.start("pjlink", "", SECRET), b"PJLINK ERRA\r")
    assert step.state == "failed" and "ERRA" in step.detail
    _, step, _ = run(logins.start("pjlink", "", SECRET), b"HTTP/1.1 400 Bad Request\r\n")
    assert step.state == "failed" and "not a PJLink greeting" in step.detail
    _, step, _ = run(logins.start("pjlink", "", SECRET), b"PJLINK 1 \x00\xff\r")
    assert step.state == "failed"


def test_pjlink_bytes_after_the_greeting_are_replies():
    _, step, rest = run(logins.start("pjlink", "", ""), b"PJLINK 0\r%1POWR=OK\r",
                        byte_by_byte=False)
    assert step.state == "ready" and rest == b"%1POWR=OK\r"


# --- NTCONTROL -----------------------------------------------------------------------------


def test_ntcontrol_protected_full_wire_bytes():
    session = logins.start("ntcontrol", "admin1", "panasonic")
    _, step, _ = run(session, b"NTCONTROL 1 zzzzzzzz\r")
    assert step.state == "ready"
    digest = hashlib.md5(b"admin1:panasonic:zzzzzzzz").hexdigest().encode()
    assert session.prefix_every is True
    assert session.prefix + b"PON" + b"\r" == digest + b"00PON\r"


def test_ntcontrol_open_projector_still_gets_the_00_header():
    session = logins.start("ntcontrol", "", "")
    _, step, _ = run(session, b"NTCONTROL 0\r")
    assert step.state == "ready"
    assert session.prefix + b"QPW\r" == b"00QPW\r"


def test_ntcontrol_wrong_password_and_missing_password():
    session = logins.start("ntcontrol", "admin1", "nope")
    run(session, b"NTCONTROL 1 0a1b2c3d\r")
    assert "wrong username or password" in session.reply_failed(b"ERRA")
    assert session.reply_failed(b"00000") is None
    _, step, _ = run(logins.start("ntcontrol", "admin1", ""), b"NTCONTROL 1 0a1b2c3d\r")
    assert step.state == "failed" and "set username and password" in step.detail


# --- Sony ADCP -----------------------------------------------------------------------------


def test_adcp_nokey_is_ready_at_once():
    _, step, _ = run(logins.start("adcp", "", ""), b"NOKEY\r\n")
    assert step.state == "ready"


def test_adcp_challenge_answer_then_ok():
    session = logins.start("adcp", "", "Projector")
    sent, step, _ = run(session, b"a1b2c3d4e5\r\nOK\r\n")
    assert sent == hashlib.sha256(b"a1b2c3d4e5Projector").hexdigest().encode() + b"\r\n"
    assert step.state == "ready"


def test_adcp_wrong_password():
    sent, step, _ = run(logins.start("adcp", "", SECRET), b"a1b2c3d4e5\r\nERR_AUTH\r\n")
    assert step.state == "failed" and step.detail == "wrong password (ERR_AUTH)"
    assert sent.endswith(b"\r\n")


def test_adcp_challenge_without_password():
    sent, step, _ = run(logins.start("adcp", "", ""), b"a1b2c3d4e5\r\n")
    assert sent == b"" and step.state == "failed" and "none is set" in step.detail


# --- Epson ESC/VP.net ----------------------------------------------------------------------


def test_escvp_handshake_ok_then_replies():
    session = logins.start("escvp", "", "")
    sent, step, rest = run(session, b"ESC/VP.net\x10\x03\x00\x00\x20\x00PWR=01\r:")
    assert sent == b"ESC/VP.net\x10\x03\x00\x00\x00\x00"
    assert step.state == "ready" and rest == b"PWR=01\r:"


def test_escvp_answer_with_sub_headers_is_consumed():
    reply = b"ESC/VP.net\x10\x03\x00\x00\x20\x01" + b"\x03\x01" + b"EB-L1500U".ljust(16, b"\0")
    _, step, rest = run(logins.start("escvp", "", ""), reply + b":")
    assert step.state == "ready" and rest == b":"


@pytest.mark.parametrize("password, status, text", [
    ("", 0x41, "asks for a password; none is set"),
    ("wrong", 0x41, "wrong password"),
    ("wrong", 0x43, "wrong password"),
    ("", 0x53, "busy"),
])
def test_escvp_refusals(password, status, text):
    reply = b"ESC/VP.net\x10\x03\x00\x00" + bytes([status, 0])
    _, step, _ = run(logins.start("escvp", "", password), reply)
    assert step.state == "failed" and text in step.detail and f"0x{status:02x}" in step.detail


def test_escvp_not_an_epson_fails_on_the_first_wrong_byte():
    _, step, _ = run(logins.start("escvp", "", ""), b"ESC/XX garbage")
    assert step.state == "failed" and "ESC/X" in step.detail


def test_escvp_long_password_fails_at_opening_without_showing_it():
    step = logins.start("escvp", "", "p" * 20).opening()
    assert step.state == "failed" and "p" * 20 not in step.detail and step.send == b""


# --- Extron SIS ----------------------------------------------------------------------------

EXTRON_BANNER = (b"(c) Copyright 2009, Extron Electronics, DXP 44 HDMI, V1.05, 60-1082-01\r\n"
                 b"Wed, 04 Mar 2009 10:45:32\r\n")


def test_extron_unprotected_is_ready_after_the_banner():
    data = EXTRON_BANNER + b"Out2 In1 All\r\n"
    sent, step, rest = run(logins.start("extron", "", ""), data, byte_by_byte=False)
    assert (sent, step.state, rest) == (b"", "ready", b"Out2 In1 All\r\n")
    # Byte by byte the CR decides; its LF then reaches the reply splitter (an empty line).
    sent, step, rest = run(logins.start("extron", "", ""), data)
    assert (sent, step.state, rest) == (b"", "ready", b"\nOut2 In1 All\r\n")


def test_extron_password_prompt_and_login():
    session = logins.start("extron", "", SECRET)
    sent, step, _ = run(session, EXTRON_BANNER + b"\r\nPassword:")
    assert sent == SECRET.encode() + b"\r" and step.state == "wait"
    later = b"".join(session.feed(bytes([b])).send for b in b"\r\nLogin Administrator\r\n")
    assert later == b""
    assert session.feed(b"") .state == "ready"


def test_extron_wrong_password_repeats_the_prompt():
    session = logins.start("extron", "", SECRET)
    run(session, EXTRON_BANNER + b"\r\nPassword:")
    steps = [session.feed(bytes([b])) for b in b"\r\nPassword:"]
    assert steps[-1].state == "failed" and steps[-1].detail == "wrong password (asked again)"
    assert SECRET not in steps[-1].detail


def test_extron_prompt_without_password_set():
    _, step, _ = run(logins.start("extron", "", ""), EXTRON_BANNER[:60] + b"\r\nPassword:")
    assert step.state == "failed" and "none is set" in step.detail


def test_extron_refuses_a_password_with_a_line_break():
    step = logins.start("extron", "", "a\rb").opening()
    assert step.state == "failed" and "line break" in step.detail


# --- Kramer Protocol 3000 ------------------------------------------------------------------


def test_kramer_handshake_without_password():
    session = logins.start("kramer", "", "")
    sent, step, rest = run(session, b"~01@ OK\r\n~01@VID 1>2 OK\r\n", byte_by_byte=False)
    assert sent == b"#\r" and step.state == "ready" and rest == b"~01@VID 1>2 OK\r\n"


def test_kramer_login_with_and_without_username():
    sent, step, _ = run(logins.start("kramer", "", "1234"),
                        b"~01@ OK\r\n~01@LOGIN 1234 OK\r\n")
    assert sent == b"#\r#LOGIN 1234\r" and step.state == "ready"
    sent, step, _ = run(logins.start("kramer", "Admin", "1234"),
                        b"~01@ OK\r\n~01@LOGIN Admin,1234 OK\r\n")
    assert sent == b"#\r#LOGIN Admin,1234\r" and step.state == "ready"


def test_kramer_wrong_password_does_not_echo_it():
    session = logins.start("kramer", "", "ERR123")
    _, step, _ = run(session, b"~01@ OK\r\n~01@LOGIN ERR123 ERR004\r\n")
    assert step.state == "failed" and step.detail == "wrong password (ERR 004)"
    assert session.reply_failed(b"~01@VID 1>2 ERR004") is not None
    assert session.reply_failed(b"~01@VID 1>2 ERR003") is None


def test_kramer_unit_without_login_command():
    _, step, _ = run(logins.start("kramer", "", "1234"), b"~01@ OK\r\n~01@ ERR 002\r\n")
    assert step.state == "failed" and step.detail == "login refused (ERR 002)"


# --- Videohub ------------------------------------------------------------------------------

VIDEOHUB_DUMP = (b"PROTOCOL PREAMBLE:\nVersion: 2.8\n\n"
                 b"VIDEOHUB DEVICE:\nDevice present: true\nModel name: Smart Videohub\n\n"
                 b"INPUT LABELS:\n0 VTR 1\n1 VTR 2\n\n"
                 b"VIDEO OUTPUT ROUTING:\n0 1\n1 0\n\n"
                 b"CONFIGURATION:\nTake Mode: false\n\n"
                 b"END PRELUDE:\n\n")


def test_videohub_drains_the_dump_then_replies_flow():
    sent, step, rest = run(logins.start("videohub", "", ""), VIDEOHUB_DUMP + b"ACK\n\n")
    assert (sent, step.state, rest) == (b"", "ready", b"ACK\n\n")


def test_videohub_old_protocol_is_ready_after_the_routing_block():
    old = VIDEOHUB_DUMP.replace(b"2.8", b"2.3").split(b"CONFIGURATION")[0]
    _, step, _ = run(logins.start("videohub", "", ""), old)
    assert step.state == "ready"


def test_videohub_without_a_router_fails_with_the_reason():
    _, step, _ = run(logins.start("videohub", "", ""),
                     b"PROTOCOL PREAMBLE:\nVersion: 2.8\n\nVIDEOHUB DEVICE:\n"
                     b"Device present: false\n\n")
    assert step.state == "failed" and "Device present: false" in step.detail


def test_videohub_a_huge_dump_keeps_memory_bounded():
    session = logins.start("videohub", "", "")
    session.feed(b"PROTOCOL PREAMBLE:\nVersion: 2.8\n\nINPUT LABELS:\n")
    for index in range(5000):
        assert session.feed(b"%d label %d\n" % (index, index)).state == "wait"
    assert len(session._lines.pending) < MAX_GREETING
    assert session.feed(b"\nEND PRELUDE:\n\n").state == "ready"


# --- WATCHOUT, none ------------------------------------------------------------------------


def test_watchout_is_ready_at_once_and_knows_error_8_1():
    session = logins.start("watchout", "", "")
    step = session.opening()
    assert step.state == "ready" and step.send == b""
    assert "authenticate 1" in session.reply_failed(b"error 8.1 not authorized")
    assert session.reply_failed(b'Ready "6.6.5" "WATCHPOINT"') is None


def test_none_is_ready_at_once():
    session = logins.start("none")
    assert session.opening() == Step(state="ready")
    assert session.prefix == b"" and session.reply_failed(b"ERRA") is None


# --- every recipe: bounded, decided, no password -------------------------------------------

LINE_RECIPES = ("pjlink", "ntcontrol", "adcp", "extron", "kramer", "videohub")


@pytest.mark.parametrize("recipe", LINE_RECIPES)
def test_a_greeting_without_end_fails_as_no_greeting(recipe):
    session = logins.start(recipe, "admin", SECRET)
    session.opening()
    step = Step()
    for _ in range(MAX_GREETING // 512 + 2):
        step = session.feed(b"A" * 512)
        if step.state != "wait":
            break
    assert step.state == "failed" and "no greeting" in step.detail


@pytest.mark.parametrize("recipe", sorted(logins.RECIPES))
def test_sessions_do_not_show_the_password(recipe):
    session = logins.start(recipe, "admin", SECRET)
    assert SECRET not in repr(session)


def test_every_profile_recipe_starts():
    for profile in profiles.PROFILES.values():
        session = logins.start(profile.login, "", "")
        assert isinstance(session.opening(), Step)


GREETING_PARTS = [b"PJLINK ", b"NTCONTROL ", b"0", b"1 ", b"a572f60c", b"ERRA", b"\r", b"\n",
                  b"\r\n", b"NOKEY", b"OK", b"ERR_AUTH", b"Password:", b"Login User", b"~01@ OK",
                  b"~01@LOGIN x ERR004", b"ESC/VP.net", b"\x10\x03\x00\x00\x20\x01", b"\x00",
                  b"PROTOCOL PREAMBLE:", b"Version: 2.3", b"VIDEO OUTPUT ROUTING:",
                  b"END PRELUDE:", b"Device present: false", b"\xff\xfe", b"(c) Copyright"]


@st.composite
def greetings(draw):
    data = draw(st.binary(max_size=200) | st.lists(st.sampled_from(GREETING_PARTS),
                                                    max_size=30).map(b"".join))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=10)))
    return data, [data[a:b] for a, b in zip([0] + cuts, cuts + [len(data)], strict=True)]


def drive(recipe, username, password, chunks):
    session = logins.start(recipe, username, password)
    step = session.opening()
    sent, rest, states = bytearray(step.send), bytearray(step.rest), [step.state]
    for chunk in chunks:
        if states[-1] != "wait":
            rest += chunk  # after the login the actor reads replies itself
            continue
        step = session.feed(chunk)
        assert isinstance(step, Step) and step.state in ("wait", "ready", "failed")
        sent += step.send
        rest += step.rest
        states.append(step.state)
        held = getattr(session, "_lines", None)
        held = len(held.pending) if held is not None else len(getattr(session, "_buf", b""))
        assert held <= max(MAX_GREETING, 16 + 255 * 18) + len(chunk)  # bounded memory
        if step.state != "wait":
            assert step.detail == "" if step.state == "ready" else step.detail
    return session, bytes(sent), step, bytes(rest)


def check_feed_never_raises_and_chunking_never_matters(recipe, password, sample):
    data, chunks = sample
    session, sent, step, rest = drive(recipe, "admin1", password, chunks)
    _, whole_sent, whole_step, whole_rest = drive(recipe, "admin1", password, [data])
    assert (sent, step.state, step.detail) == (whole_sent, whole_step.state, whole_step.detail)
    if step.state == "ready":
        # A CR ending one chunk and the LF starting the next: the LF may land in the rest.
        assert rest.lstrip(b"\n") == whole_rest.lstrip(b"\n")
    if password and password.encode() not in data:
        assert password not in step.detail
    for line in (b"PJLINK ERRA", b"ERRA", b"error 8.1", data[:100]):
        answer = session.reply_failed(line)
        assert answer is None or (isinstance(answer, str) and (
            not password or password not in answer))


test_feed_fuzz, test_feed_fuzz_long = fuzz_pair(
    st.sampled_from(sorted(logins.RECIPES)), st.sampled_from(["", SECRET, "pw"]),
    greetings())(check_feed_never_raises_and_chunking_never_matters)
