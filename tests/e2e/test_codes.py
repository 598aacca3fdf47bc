#!/usr/bin/env python3
"""Session codes with the real binaries on loopback: `share --code --offer NAME=HOST:PORT`
prints a code; `connect --code CODE --map 0:NAME` reaches the service once the PAKE
confirmed both keys and the sharer consented.  The gateway logs at debug level and
records every tunnel byte; neither holds the secret digits."""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, START_TIMEOUT, DataStream, case, check,  # noqa: E402
                     duplex, hash_password, how_closed, run_tests)


def code_gateway(t, limits=None, extra_args=None, codes=None):
    gw = t.gateway([], start=False, record=t.path("tunnels.rec"), limits=limits)
    gw.extra_args = extra_args or []
    with open(gw.config_path) as f:
        config = json.load(f)
    config["codes"] = dict({"enabled": True}, **(codes or {}))
    config["log_level"] = "debug"
    with open(gw.config_path, "w") as f:
        json.dump(config, f)
    return gw.start()


def common(gw, name, t):
    return ["--gateway", gw.address, "--fingerprint", gw.fingerprint, "--name", name,
            "--state-dir", t.path(name + "-state")]


def start_share(t, gw, echo, extra):
    share = t.spawn("share", [CLI, "share", "--code"] + common(gw, "share", t) + [
        "--offer", "echo=127.0.0.1:%d" % echo.port] + extra)
    _, m, _ = share.wait_for_log(r"^Session code: (\d{3,9}-\d{3}-\d{3})$", START_TIMEOUT)
    return share, m.group(1)


def start_connect(t, gw, code, name="connect", extra=(), env=None):
    conn = t.spawn(name, [CLI, "connect"] + common(gw, name, t) + [
        "--code", code, "--map", "0:echo"] + list(extra), env=env)
    _, m, _ = conn.wait_for_log(r"mapping 127\.0\.0\.1:(\d+) . service .echo.", START_TIMEOUT)
    return conn, int(m.group(1))


def claim_fails(t, gw, code, name):
    """@code, claimed by a new connect agent, is refused and ends the command in error."""
    conn, _ = start_connect(t, gw, code, name)
    conn.wait_for_log(r"it is burned", START_TIMEOUT)
    status = conn.wait(10)
    check(status not in (0, None), "connect %s with a dead code exited %r" % (name, status))
    return conn


def secret_of(code):
    return code.replace("-", "")[-6:]


def check_no_secret(gw, code):
    secret = secret_of(code)
    grouped = code.split("-", 1)[1]
    check(gw.proc.count(re.escape(secret)) == 0 and gw.proc.count(re.escape(grouped)) == 0,
          "the gateway's log holds the secret digits:\n" + gw.proc.tail())
    recorded = b""
    if os.path.exists(gw.record):  # written once a tunnel joins
        with open(gw.record, "rb") as f:
            recorded = f.read()
    check(secret.encode() not in recorded and grouped.encode() not in recorded,
          "the recorded tunnel bytes hold the secret digits")


def test_right_code(t):
    echo = t.echo_server()
    gw = code_gateway(t)
    share, code = start_share(t, gw, echo, ["--accept"])
    conn, port = start_connect(t, gw, code)
    _, m, _ = conn.wait_for_log(r"Verification: (\d{3} \d{3})", START_TIMEOUT)
    _, m2, _ = share.wait_for_log(r"Verification: (\d{3} \d{3})", START_TIMEOUT)
    check(m.group(1) == m2.group(1), "verification strings differ: %s / %s"
          % (m.group(1), m2.group(1)))
    s = t.connect(port)
    total = 1024 * 1024
    sent, got, n = duplex(s, DataStream(21, total), time.monotonic() + 30)
    check(n == total and sent == got, "%d of %d bytes came back, digests %s / %s"
          % (n, total, sent, got))
    share.wait_for_log(r"asks for: echo \(verification \d{3} \d{3}\); allowed \(--accept\)",
                       START_TIMEOUT)
    check(share.count(r"verification \d{3} \d{3}\); allowed|%s" % re.escape(m.group(1))) >= 1,
          "the prompt did not show the verification string:\n" + share.tail())
    check_no_secret(gw, code)


def test_denied(t):
    echo = t.echo_server()
    gw = code_gateway(t)
    share, code = start_share(t, gw, echo, [])
    conn, port = start_connect(t, gw, code)
    s = t.connect(port)
    s.sendall(b"y" * 1000)
    conn.wait_for_log(r"The sharer declined \(declined\)", START_TIMEOUT)
    share.wait_for_log(r"denied: there is no terminal to ask on", START_TIMEOUT)
    how, _, data = how_closed(s, 10)
    check(how == "reset" and data == b"", "the client was not refused: %s %r" % (how, data[:16]))
    check(echo.accepted == 0, "the echo service was reached")
    check_no_secret(gw, code)


def test_wrong_code(t):
    echo = t.echo_server()
    gw = code_gateway(t)
    share, code = start_share(t, gw, echo, ["--accept"])
    wrong = code[:-1] + ("0" if code[-1] == "9" else chr(ord(code[-1]) + 1))
    guesser, _ = start_connect(t, gw, wrong, "guesser")
    guesser.wait_for_log(r"it is burned", START_TIMEOUT)
    check(guesser.wait(10) not in (0, None), "the guesser's connect did not end with an error")
    share.wait_for_log(r"The code was wrong or someone interfered; this code is burned",
                       START_TIMEOUT)
    # A code that can never work again ends the command, with an error.
    claim_fails(t, gw, code, "late")
    check(gw.proc.count(r"connect agent .late.: code \d+: no such code") == 1,
          "the gateway did not refuse the right code after the burn:\n" + gw.proc.tail())
    check(echo.accepted == 0, "the echo service was reached")
    check_no_secret(gw, code)


def test_expiry(t):
    # Unclaimed past code_ttl_ms: the sharer is told, and the code no longer works.
    echo = t.echo_server()
    gw = code_gateway(t, limits={"code_ttl_ms": 1500})
    share, code = start_share(t, gw, echo, ["--accept"])
    share.wait_for_log(r"The code expired unused", START_TIMEOUT)
    late, _ = start_connect(t, gw, code, "late")
    late.wait_for_log(r"it is burned|The code expired", START_TIMEOUT)
    status = late.wait(10)
    check(status not in (0, None), "connect with an expired code exited %r" % status)
    check(echo.accepted == 0, "the echo service was reached")


def test_second_claim(t):
    # One connect agent per code: a second one with the same code is refused, and the
    # first one's session goes on.
    echo = t.echo_server()
    gw = code_gateway(t)
    share, code = start_share(t, gw, echo, ["--accept"])
    first, port = start_connect(t, gw, code, "first")
    first.wait_for_log(r"Verification: \d{3} \d{3}", START_TIMEOUT)
    second, _ = start_connect(t, gw, code, "second")
    second.wait_for_log(r"it is burned", START_TIMEOUT)
    check(second.wait(10) not in (0, None), "the second claim did not end with an error")
    s = t.connect(port)
    total = 256 * 1024
    sent, got, n = duplex(s, DataStream(22, total), time.monotonic() + 30)
    check(n == total and sent == got, "after a second claim, %d of %d bytes came back"
          % (n, total))
    check(share.count(r"asks for: echo") == 1, "the sharer was asked more than once:\n"
          + share.tail())


def test_malicious_gateway(t):
    # A gateway that puts itself in the middle announces a key of its own to each agent
    # as the other's: the right code then fails confirmation at both agents, it is
    # burned, both users are told, and nothing reaches the service.
    echo = t.echo_server()
    gw = code_gateway(t, extra_args=["--debug-swap-code-keys"])
    check(gw.proc.count(r"DEBUG: --debug-swap-code-keys: this gateway ATTACKS session codes") == 1,
          "the gateway did not say loudly that it runs a debug attack:\n" + gw.proc.tail())
    share, code = start_share(t, gw, echo, ["--accept"])
    conn, port = start_connect(t, gw, code)
    conn.wait_for_log(r"The code was wrong, used, or someone interfered; it is burned",
                      START_TIMEOUT)
    share.wait_for_log(r"The code was wrong or someone interfered; this code is burned",
                       START_TIMEOUT)
    gw.proc.wait_for_log(r"code \d+: burned: the \w+ agent's confirmation failed", START_TIMEOUT)
    check(gw.proc.count(r"DEBUG: code \d+: announcing the impostor key") == 1,
          "the gateway did not log its swap:\n" + gw.proc.tail())
    status = conn.wait(10)
    check(status not in (0, None), "connect after a failed confirmation exited %r" % status)
    check(conn.count(r"Verification:") == 0 and share.count(r"Verification:") == 0,
          "a verification string was shown for an unconfirmed key")
    # The burned code is not given a second chance, by this gateway or another claim.
    claim_fails(t, gw, code, "late")
    check(echo.accepted == 0, "the echo service was reached")
    check_no_secret(gw, code)


def test_restart(t):
    # A restart revives no code: the old nameplate cools in nameplates.json, the old code
    # is refused bad-code, and the share agent is given a new code.
    echo = t.echo_server()
    gw = code_gateway(t)
    share, code = start_share(t, gw, echo, ["--accept"])
    nameplate = code.split("-", 1)[0]
    gw.proc.kill()  # no goodbye: the file still says in-use
    mark = share.mark()
    gw.start()
    with open(os.path.join(gw.state_dir, "nameplates.json")) as f:
        plates = {p["nameplate"]: p for p in json.load(f)["nameplates"]}
    check(plates.get(nameplate, {}).get("state") == "cooling",
          "the old nameplate %s does not cool after the restart: %r" % (nameplate, plates))
    _, m, _ = share.wait_for_log(r"^Session code: (\d{3,9}-\d{3}-\d{3})$", START_TIMEOUT,
                                 since=mark)
    new = m.group(1)
    check(new.split("-", 1)[0] != nameplate, "the cooling nameplate was given again: %s" % new)
    claim_fails(t, gw, code, "old")
    check(gw.proc.count(r"connect agent .old.: code %s: no such code" % nameplate) == 1,
          "the gateway did not refuse the old code:\n" + gw.proc.tail())
    conn, port = start_connect(t, gw, new, "new")
    conn.wait_for_log(r"Verification: \d{3} \d{3}", START_TIMEOUT)
    s = t.connect(port)
    total = 64 * 1024
    sent, got, n = duplex(s, DataStream(23, total), time.monotonic() + 30)
    check(n == total and sent == got, "with the new code, %d of %d bytes came back" % (n, total))


def test_claim_rate_limit(t):
    # Wrong claims from one address: the first ones are refused bad-code, then every
    # claim, the right code's too, is refused rate-limited; the code itself is not burned.
    echo = t.echo_server()
    gw = code_gateway(t, limits={"code_claims_per_minute_per_address": 2})
    share, code = start_share(t, gw, echo, ["--accept"])
    nameplate = int(code.split("-", 1)[0])
    for i in range(2):
        wrong = "%d-000-00%d" % (100 + (nameplate - 100 + 1 + i) % 900, i)
        guesser, _ = start_connect(t, gw, wrong, "guesser%d" % i)
        check(guesser.wait(10) not in (0, None), "a wrong claim did not fail")
    check(gw.proc.count(r"connect agent .guesser\d.: code \d+: no such code") == 2,
          "the wrong claims were not refused bad-code:\n" + gw.proc.tail())
    late, _ = start_connect(t, gw, code, "late")
    # Not for good: the agent says when it tries again (the gateway's minute).
    _, m, _ = late.wait_for_log(r"refused: (.*)\(rate-limited; .*retrying in", START_TIMEOUT)
    check("(null)" not in m.group(1), "the refusal names no session: " + m.group(1))
    late.kill()
    check(share.count(r"burned") == 0, "refused claims burned the code:\n" + share.tail())
    check(echo.accepted == 0, "the echo service was reached")


def test_allocation_rate_limit(t):
    # One address may allocate code_allocations_per_minute_per_address codes a minute.
    echo = t.echo_server()
    gw = code_gateway(t, limits={"code_allocations_per_minute_per_address": 1})
    start_share(t, gw, echo, ["--accept"])
    second = t.spawn("second", [CLI, "share", "--code"] + common(gw, "second", t) + [
        "--offer", "echo=127.0.0.1:%d" % echo.port])
    _, m, _ = second.wait_for_log(r"refused: (.*)\(rate-limited; .*retrying in", START_TIMEOUT)
    check("(null)" not in m.group(1), "the refusal names no session: " + m.group(1))
    check(second.count(r"^Session code:") == 0, "a second code was allocated:\n" + second.tail())


TECHNICIAN_PASSWORD = "ana's technician password"


def test_technician(t):
    # A gateway that lets only its technicians claim: a wrong password is refused and
    # burns nothing; the right one claims, and the sharer's prompt names the account as
    # the gateway's config spells it, not the name the connect agent gave itself.
    echo = t.echo_server()
    gw = code_gateway(t, codes={"claim": "technicians", "technicians": [
        {"name": "Ana Lima", "password_hash": hash_password(TECHNICIAN_PASSWORD)}]})
    share, code = start_share(t, gw, echo, ["--accept"])
    wrong = t.spawn("wrong", [CLI, "connect"] + common(gw, "wrong", t) + [
        "--code", code, "--map", "0:echo", "--technician", "Ana Lima",
        "--password-env", "TECH_PW"], env={"TECH_PW": "a wrong guess"})
    wrong.wait_for_log(r"wrong technician or password", START_TIMEOUT)
    wrong.stop()
    conn, port = start_connect(t, gw, code, "laptop", ["--technician", "Ana Lima",
                                                       "--password-env", "TECH_PW"],
                               env={"TECH_PW": TECHNICIAN_PASSWORD})
    s = t.connect(port)
    total = 256 * 1024
    sent, got, n = duplex(s, DataStream(23, total), time.monotonic() + 30)
    check(n == total and sent == got, "%d of %d bytes came back" % (n, total))
    share.wait_for_log(r"“Ana Lima” \(127\.0\.0\.1, key sha256:[0-9a-f]+\) asks for: echo[ ;]",
                       START_TIMEOUT)
    check(share.count(r"“laptop”") == 0, "the prompt showed the agent's own name:\n"
          + share.tail())
    check(gw.proc.count(r"code claim refused: wrong password for technician") == 1,
          "the gateway did not log the wrong password:\n" + gw.proc.tail())
    check_no_secret(gw, code)


run_tests([
    case("right code and consent: checksummed data, equal verification strings",
         test_right_code),
    case("denied without a terminal: the technician sees declined, nothing flows",
         test_denied),
    case("a wrong code burns it; the right one then fails; the sharer is told",
         test_wrong_code),
    case("an unclaimed code expires: the sharer is told, the code fails", test_expiry),
    case("a second claim of a code is refused; the first session goes on", test_second_claim),
    case("a gateway that swaps the agents' keys is caught: the code burns, nothing flows",
         test_malicious_gateway),
    case("a gateway restart revives no code: the old one is refused, a new one is given",
         test_restart),
    case("repeated wrong claims from one address are rate-limited", test_claim_rate_limit),
    case("code allocations from one address are rate-limited", test_allocation_rate_limit),
    case("claim by technicians: a wrong password is refused, the right one claims, the "
         "prompt shows the attested name", test_technician),
])
