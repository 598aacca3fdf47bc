#!/usr/bin/env python3
"""A gateway killed with SIGKILL and started again: the agents come back by themselves."""

import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Gateway, Session, case, check, recv_all, run_tests  # noqa: E402

BACK_WITHIN = 3.0


def echo_once(t, port, payload):
    sock = t.connect(port)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    got = recv_all(sock, time.monotonic() + 10)
    sock.close()
    check(got == payload, "echo through the mapping: got %d bytes back, sent %d"
          % (len(got), len(payload)))


def test_gateway_sigkill_restart(t):
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port])
    echo_once(t, conn.ports[0], os.urandom(100000))
    first_fingerprint = gw.fingerprint
    online_at = time.monotonic()

    for round in range(2):
        if round > 0:
            # A link that stayed up 10 s starts its next reconnect from the shortest delay
            # again (a flapping one keeps backing off): let this one become stable.
            time.sleep(max(0, online_at + 10.5 - time.monotonic()))
        marks = {p.name: p.mark() for p in (share, conn)}
        gw.proc.signal(signal.SIGKILL)
        check(gw.proc.wait(5) == -signal.SIGKILL, "the gateway did not die of SIGKILL")
        for p in (share, conn):
            p.wait_for_log(r"gateway 127\.0\.0\.1:%d: .*retrying in" % gw.port, 5,
                           since=marks[p.name])
        # The agents retry while it is down; leave them a moment of failures.
        time.sleep(0.7)

        gw = Gateway(t, "gateway-%d" % (round + 2), gw.config_path, gw.port, gw.state_dir)
        gw.start()
        restarted, _, _ = gw.proc.wait_for_log(r"listening on", 1)
        check(gw.fingerprint == first_fingerprint,
              "the restarted gateway has a new key: %s, was %s" % (gw.fingerprint,
                                                                   first_fingerprint))
        for p, pattern in ((share, r"share agent online in session “s1”"),
                           (conn, r"connect agent online in session “s1”"),
                           (conn, r"share agent online$")):
            when, _, _ = p.wait_for_log(pattern, BACK_WITHIN + 5, since=marks[p.name])
            t.note("round %d: %s: /%s/ %.2f s after the restart"
                   % (round + 1, p.name, pattern, when - restarted))
            check(when - restarted <= BACK_WITHIN,
                  "%s back online %.2f s after the gateway restarted, expected within %.0f s"
                  % (p.name, when - restarted, BACK_WITHIN))
        online_at = max(p.matches(r"agent online in session", marks[p.name])[-1][0]
                        for p in (share, conn))
        echo_once(t, conn.ports[0], os.urandom(100000))
        gw.proc.wait_for_log(r"tunnel joined", 5)
    check(share.running() and conn.running(), "an agent exited")


if __name__ == "__main__":
    run_tests([
        case("gateway SIGKILL + restart: agents online within 3 s, the mapping works again",
             test_gateway_sigkill_restart),
    ])
