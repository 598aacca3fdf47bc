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


DOWN_FOR = 20.0
BACK_AFTER_DOWNTIME = 5.0


def test_gateway_down_20s(t):
    """The gateway is down for 20 s: the agents' backoff is capped at 3 s, so they are back
    within 5 s of its return; meanwhile each wrote the failure once, and on return how
    often it repeated."""
    target = t.echo_server()
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port])
    echo_once(t, conn.ports[0], os.urandom(100000))
    marks = {p.name: p.mark() for p in (share, conn)}
    gw.proc.stop()
    time.sleep(DOWN_FOR)

    gw = Gateway(t, "gateway-back", gw.config_path, gw.port, gw.state_dir)
    gw.start()
    restarted, _, _ = gw.proc.wait_for_log(r"listening on", 1)
    for p in (share, conn):
        when, _, _ = p.wait_for_log(r"agent online in session “s1”", BACK_AFTER_DOWNTIME + 5,
                                    since=marks[p.name])
        t.note("%s: online %.2f s after the gateway came back" % (p.name, when - restarted))
        check(when - restarted <= BACK_AFTER_DOWNTIME,
              "%s back online %.2f s after the gateway came back, expected within %.0f s"
              % (p.name, when - restarted, BACK_AFTER_DOWNTIME))
        refused = p.count(r"[Cc]onnection refused; retrying in", marks[p.name])
        check(refused == 1, "%s: “connection refused” written %d times in %.0f s, expected once "
              "and then summarised:\n%s" % (p.name, refused, DOWN_FOR, p.tail(12)))
        _, m, _ = p.wait_for_log(r"the same failure (\d+) more times in \d+ s before this "
                                 r"success", 1, since=marks[p.name])
        check(int(m.group(1)) >= 5, "%s: only %s repeats in %.0f s with a 3 s cap"
              % (p.name, m.group(1), DOWN_FOR))
    conn.wait_for_log(r"share agent online$", 5, since=marks[conn.name])
    echo_once(t, conn.ports[0], os.urandom(100000))


def test_agent_stop_named(t):
    """An agent stopped with a tunnel open: the gateway says which agent closed it, not
    "connection B: Broken pipe"."""
    for who in ("connect", "share"):
        target = t.echo_server()
        gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                                 mappings=["127.0.0.1:%d" % target.port])
        echo_once(t, conn.ports[0], os.urandom(100000))
        gw.proc.wait_for_log(r"tunnel joined", 5)
        mark = gw.proc.mark()
        (conn if who == "connect" else share).stop()
        _, m, _ = gw.proc.wait_for_log(r"session s1: tunnel closed after", 5, since=mark)
        t.note(m.string)
        check(m.string.endswith(": closed by the %s agent, which is going offline" % who),
              "%s agent stopped; the gateway does not say so: %s" % (who, m.string))
        for p in (gw.proc, share, conn):
            p.stop()


if __name__ == "__main__":
    run_tests([
        case("gateway SIGKILL + restart: agents online within 3 s, the mapping works again",
             test_gateway_sigkill_restart),
        case("gateway down 20 s: agents back within 5 s of its return, the failure written "
             "once and its repeats summarised", test_gateway_down_20s),
        case("connect or share agent stopped: the gateway says that agent closed the tunnel",
             test_agent_stop_named),
    ])
