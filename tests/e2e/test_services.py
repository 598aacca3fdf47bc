#!/usr/bin/env python3
"""Offered services and consent with the real binaries on a password session: `share
--offer NAME=HOST:PORT [--accept]` and `connect --map PORT:NAME`.  Accepted: a checksummed
stream through the echo service; no terminal and no --accept: denied, the technician's
log says "declined", and nothing reaches the service."""

import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, START_TIMEOUT, DataStream, Session, case, check,  # noqa: E402
                     duplex, how_closed, run_tests)


def common(gw, session, name, t):
    return ["--gateway", gw.address, "--fingerprint", gw.fingerprint, "--session", session.id,
            "--name", name, "--state-dir", t.path(name + "-state")]


def start_pair(t, share_extra):
    session = Session("s1")
    echo = t.echo_server()
    gw = t.gateway([session])
    share = t.spawn("share", [CLI, "share"] + common(gw, session, "share", t) + [
        "--offer", "echo=127.0.0.1:%d" % echo.port, "--offer", "vnc=127.0.0.1:1"] + share_extra,
        env={"CULVERT_PASSWORD": session.share_password})
    share.wait_for_log(r"share agent online in session", START_TIMEOUT)
    conn = t.spawn("connect", [CLI, "connect"] + common(gw, session, "connect", t) + [
        "--map", "0:echo"], env={"CULVERT_PASSWORD": session.connect_password})
    _, m, _ = conn.wait_for_log(r"mapping 127\.0\.0\.1:(\d+) . service .echo.", START_TIMEOUT)
    conn.wait_for_log(r"share agent online$", START_TIMEOUT)
    return echo, share, conn, int(m.group(1))


def test_accepted(t):
    echo, share, conn, port = start_pair(t, ["--accept"])
    s = t.connect(port)
    total = 1024 * 1024
    sent, got, n = duplex(s, DataStream(5, total), time.monotonic() + 30)
    check(n == total and sent == got, "%d of %d bytes came back, digests %s / %s"
          % (n, total, sent, got))
    share.wait_for_log(r"asks for: echo; allowed \(--accept\)", START_TIMEOUT)
    check(share.count(r"“connect” \(127\.0\.0\.1, key sha256:[0-9a-f]{64}\) asks for") == 1,
          "the prompt lacks the name, address or key:\n" + share.tail())
    conn.wait_for_log(r"the sharer allowed the requested services", START_TIMEOUT)


def test_denied_without_terminal(t):
    echo, share, conn, port = start_pair(t, [])
    s = t.connect(port)
    s.sendall(b"x" * 4096)
    conn.wait_for_log(r"the sharer declined \(declined\)", START_TIMEOUT)
    share.wait_for_log(r"denied: there is no terminal to ask on \(pass --accept", START_TIMEOUT)
    how, _, data = how_closed(s, 10)
    check(how == "reset" and data == b"", "the local client was not refused: %s, %r"
          % (how, data[:32]))
    check(echo.accepted == 0, "the echo service was reached")
    check(share.count(r"channel \d+ from .* open") == 0, "a channel opened:\n" + share.tail())
    # Later clients are refused at once, with the reason in the log.
    # Refused at once: the reset may come before connect() even returns.
    try:
        s2 = t.connect(port)
        how, _, _ = how_closed(s2, 10)
    except ConnectionResetError:
        how = "reset"
    check(how == "reset", "a later client was not refused: %s" % how)
    conn.wait_for_log(r"refused: the sharer declined \(declined\)", START_TIMEOUT)


run_tests([
    case("--offer --accept and --map 0:NAME: checksummed data through the service",
         test_accepted),
    case("no terminal, no --accept: denied, the technician sees declined",
         test_denied_without_terminal),
])
