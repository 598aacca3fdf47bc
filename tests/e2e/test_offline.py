#!/usr/bin/env python3
"""A connect agent whose share agent is offline closes local connections at once and says
why; when the share agent comes, the next connection works."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, case, check, closed_within, recv_all, run_tests  # noqa: E402

OFFLINE = r"closed: the share agent of session “s1” is offline"


def refused_at_once(t, conn, port):
    mark = conn.mark()
    sock = t.connect(port)
    started = time.monotonic()
    check(closed_within(sock, 1.0),
          "a local connection while the share agent is offline is still open after 1 s")
    t.note("closed after %.3f s" % (time.monotonic() - started))
    _, m, _ = conn.wait_for_log(OFFLINE, 2, since=mark)
    return m.string


def echo_through(t, port, payload):
    sock = t.connect(port)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    got = recv_all(sock, time.monotonic() + 10)
    check(got == payload, "echo: got %d bytes back, sent %d" % (len(got), len(payload)))


def test_share_offline(t):
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], wait_share=False)
    t.note(refused_at_once(t, conn, conn.ports[0]))
    refused_at_once(t, conn, conn.ports[0])

    mark = conn.mark()
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn.wait_for_log(r"session “s1”: share agent online$", 3, since=mark)
    echo_through(t, conn.ports[0], os.urandom(200000))

    # Gone again, and back again.
    mark = conn.mark()
    share.stop()
    conn.wait_for_log(r"session “s1”: share agent offline$", 3, since=mark)
    refused_at_once(t, conn, conn.ports[0])
    mark = conn.mark()
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port], name="share-again",
                    state_dir=share.state_dir)
    conn.wait_for_log(r"session “s1”: share agent online$", 3, since=mark)
    echo_through(t, conn.ports[0], os.urandom(200000))
    check(target.accepted == 2, "the target saw %d connections, expected 2" % target.accepted)


def test_gateway_unreachable(t):
    """Before the gateway is up the mapping listens already, and closes clients at once."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1], start=False)
    gw.fingerprint = None
    # The gateway's key is made at its first start: start it once to learn it, then stop it.
    gw.start()
    gw.proc.stop()
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], wait_online=False,
                           wait_share=False)
    conn.wait_for_log(r"[Cc]onnection refused; retrying", 5)
    mark = conn.mark()
    sock = t.connect(conn.ports[0])
    check(closed_within(sock, 1.0),
          "a local connection while the gateway is down is still open after 1 s")
    conn.wait_for_log(r"closed: the gateway is not reachable", 2, since=mark)
    gw.name = "gateway-up"
    gw.start()
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn.wait_for_log(r"session “s1”: share agent online$", 5, since=mark)
    echo_through(t, conn.ports[0], os.urandom(100000))


if __name__ == "__main__":
    run_tests([
        case("share agent offline: local connections closed within 1 s, with the reason; "
             "then it comes and the mapping works", test_share_offline),
        case("gateway not reachable yet: local connections closed within 1 s, with the reason; "
             "then it comes and the mapping works", test_gateway_unreachable),
    ])
