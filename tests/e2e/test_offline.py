#!/usr/bin/env python3
"""A client that reaches a connect agent's mapping while the share agent or the gateway is
away is held a few seconds (offline_hold_ms, 5 s by default), in case they come back; when
they do not, it is reset — never an empty reply — and the connect agent says why."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, case, check, how_closed, recv_all, run_tests  # noqa: E402

OFFLINE = r"refused: (held [0-9.]+ s: )?the share agent of session “s1” is offline"
HOLD_S = 5.0  # the default offline_hold_ms


def echo_through(t, port, payload):
    sock = t.connect(port)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    got = recv_all(sock, time.monotonic() + 10)
    check(got == payload, "echo: got %d bytes back, sent %d" % (len(got), len(payload)))


def expect_reset(t, sock, at_least, at_most):
    how, took, data = how_closed(sock, at_most)
    t.note("%s after %.2f s" % (how, took))
    check(how == "reset", "the held client was %s after %.2f s, expected a reset (never an "
          "empty reply)" % (how, took))
    check(not data, "the held client got %d bytes" % len(data))
    check(took >= at_least, "the client was reset after %.2f s, before its hold of %.1f s"
          % (took, at_least))


def test_held_until_share_comes(t):
    """The share agent comes 1 s after the client: the client never notices."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], wait_share=False)
    payload = os.urandom(300000)
    mark = conn.mark()
    sock = t.connect(conn.ports[0])
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    conn.wait_for_log(r"held up to 5\.0 s: the share agent of session “s1” is offline", 2,
                      since=mark)
    t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    got = recv_all(sock, time.monotonic() + 10)
    check(got == payload, "the held client got %d bytes back, sent %d" % (len(got), len(payload)))
    check(conn.count(OFFLINE) == 0, "a held client was refused:\n%s" % conn.tail(10))


def test_share_stays_offline(t):
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], wait_share=False)
    mark = conn.mark()
    sock = t.connect(conn.ports[0])
    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
    expect_reset(t, sock, HOLD_S - 0.1, HOLD_S + 5)
    _, m, _ = conn.wait_for_log(OFFLINE, 2, since=mark)
    check("held 5.0 s" in m.string, "the refusal does not say how long it held: " + m.string)

    # It comes, and goes: a client waiting when it goes is held again, then reset.
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn.wait_for_log(r"session “s1”: share agent online$", 3, since=mark)
    echo_through(t, conn.ports[0], os.urandom(200000))
    mark = conn.mark()
    share.stop()
    conn.wait_for_log(r"session “s1”: share agent offline$", 3, since=mark)
    sock = t.connect(conn.ports[0])
    expect_reset(t, sock, HOLD_S - 0.1, HOLD_S + 5)
    check(target.accepted == 1, "the target saw %d connections, expected 1" % target.accepted)


def test_no_hold(t):
    """offline_hold_ms 0: refused at once, by a reset, with the reason."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], wait_share=False,
                           extra_config={"offline_hold_ms": 0})
    mark = conn.mark()
    try:
        sock = t.connect(conn.ports[0])
    except ConnectionResetError:
        # Reset so soon that connect() itself saw it: that is "at once".
        t.note("reset before connect() returned")
    else:
        expect_reset(t, sock, 0, 2)
    _, m, _ = conn.wait_for_log(OFFLINE, 2, since=mark)
    check("held" not in m.string, "not held, yet it says so: " + m.string)


def test_gateway_comes_back(t):
    """Before the gateway is up the mapping listens already; a client held meanwhile is
    carried once the gateway and the share agent are there."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1], start=False)
    gw.fingerprint = None
    # The gateway's key is made at its first start: start it once to learn it, then stop it.
    gw.start()
    gw.proc.stop()
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], wait_online=False,
                           wait_share=False, extra_config={"offline_hold_ms": 20000})
    conn.wait_for_log(r"[Cc]onnection refused; retrying", 5)
    mark = conn.mark()
    sock = t.connect(conn.ports[0])
    payload = os.urandom(100000)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    conn.wait_for_log(r"held up to 20\.0 s: the gateway is not reachable", 2, since=mark)
    gw.name = "gateway-up"
    gw.start()
    t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    got = recv_all(sock, time.monotonic() + 15)
    check(got == payload, "the held client got %d bytes back, sent %d" % (len(got), len(payload)))

    # The gateway goes away for good: a new client is held, then reset, naming it.
    gw.proc.stop()
    conn.wait_for_log(r"retrying in", 5, since=mark)
    mark = conn.mark()
    sock = t.connect(conn.ports[0])
    how, took, _ = how_closed(sock, 30)
    check(how == "reset" and took >= 19.9, "%s after %.1f s, expected a reset after 20 s"
          % (how, took))
    conn.wait_for_log(r"refused: held 20\.0 s: the gateway is not reachable", 2, since=mark)


if __name__ == "__main__":
    run_tests([
        case("share agent offline: a client is held, and carried when it comes within 5 s",
             test_held_until_share_comes),
        case("share agent stays offline: the client is reset after 5 s with the reason, "
             "never an empty reply; the same after it went offline again",
             test_share_stays_offline),
        case("offline_hold_ms 0: reset at once, with the reason", test_no_hold),
        case("gateway not reachable: a client is held and carried once the gateway and the "
             "share agent are there; reset after the hold when it is not", test_gateway_comes_back),
    ])
