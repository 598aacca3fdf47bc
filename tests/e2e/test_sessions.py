#!/usr/bin/env python3
"""Sessions: several connect agents at once, each with its own tunnel; a second share
agent replaces the first."""

import os
import shutil
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DataStream, Session, case, check, duplex, recv_all, run_tests)  # noqa: E402

MIB = 1024 * 1024
EACH = 32 * MIB
EXIT_REPLACED = 3


def transfer_all_at_once(t, ports, target):
    """A duplex transfer through each port, all at the same time; checks every digest."""
    results = {}

    def one(i, port):
        try:
            sock = t.connect(port)
            results[i] = duplex(sock, DataStream("client-%d" % i, EACH), time.monotonic() + 60)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=one, args=(i, p), daemon=True) for i, p in enumerate(ports)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(70)
    before = target.accepted
    target.wait_closed(before, 10)
    sent_by_target = {r["sent_digest"] for r in target.results.values() if r.get("sent_digest")}
    received_by_target = {r["digest"] for r in target.results.values()}
    for i in range(len(ports)):
        r = results.get(i)
        check(r is not None, "transfer %d did not finish" % i)
        if isinstance(r, Exception):
            raise r
        sent, got, n = r
        check(n == EACH, "transfer %d: received %d bytes, expected %d" % (i, n, EACH))
        check(got in sent_by_target, "transfer %d: the target's stream arrived corrupted" % i)
        check(sent in received_by_target, "transfer %d: the client's stream arrived corrupted" % i)


def test_two_connect_agents(t):
    target = t.duplex_server(seed="target", total=EACH)
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    a = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], name="connect-a")
    b = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], name="connect-b")
    transfer_all_at_once(t, [a.ports[0], b.ports[0]], target)
    check(target.accepted == 2, "the target saw %d connections, expected 2" % target.accepted)
    gw.proc.wait_for_count(r"session s1: tunnel joined", 2, 5)
    found = share.wait_for_count(r"tunnel from connect agent “connect-[ab]”", 2, 5)
    names = sorted(m.string.split("“")[1].split("”")[0] for _, m in found)
    check(names == ["connect-a", "connect-b"],
          "the share agent's tunnels are from %s, expected connect-a and connect-b" % names)
    check(gw.proc.count(r"tunnel joined") == 2,
          "%d tunnels joined for 2 connect agents" % gw.proc.count(r"tunnel joined"))
    # Both tunnels still carry new connections, again at the same time.
    transfer_all_at_once(t, [a.ports[0], b.ports[0], a.ports[0], b.ports[0]], target)
    check(gw.proc.count(r"tunnel joined") == 2, "new tunnels were made for new connections")


def test_one_connect_agent_dies(t):
    """One connect agent killed mid-transfer: the other's transfer and tunnel go on."""
    slow = t.duplex_server(seed="slow", total=16 * MIB, rate=8 * MIB)
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:%d" % slow.port])
    a = t.connect_agent(gw, s1, ["127.0.0.1:%d" % slow.port], name="connect-a")
    b = t.connect_agent(gw, s1, ["127.0.0.1:%d" % slow.port], name="connect-b")
    results = {}

    def run(name, port):
        try:
            sock = t.connect(port)
            results[name] = duplex(sock, DataStream(name, 16 * MIB), time.monotonic() + 30)
        except Exception as e:
            results[name] = e

    threads = [threading.Thread(target=run, args=(p.name, p.ports[0]), daemon=True)
               for p in (a, b)]
    for th in threads:
        th.start()
    share.wait_for_count(r"channel \d+ from .* open", 2, 5)
    time.sleep(0.5)
    a.kill()
    for th in threads:
        th.join(40)
    check(isinstance(results.get("connect-a"), Exception) or
          (results.get("connect-a") or (0, 0, 0))[2] < 16 * MIB,
          "the killed agent's transfer completed: was it killed at all?")
    r = results.get("connect-b")
    check(r is not None and not isinstance(r, Exception), "connect-b's transfer failed: %r" % (r,))
    sent, got, n = r
    # The target records what it sent once its side of the connection is done, which
    # may come a moment after the client has read the last byte.
    slow.wait_closed(2, 10)
    check(n == 16 * MIB and got in {x.get("sent_digest") for x in slow.results.values()},
          "connect-b received %d bytes of %d, or a corrupted stream" % (n, 16 * MIB))
    check(sent in {x.get("digest") for x in slow.results.values()},
          "connect-b's stream arrived corrupted at the target")
    share.wait_for_log(r"tunnel from “connect-a” .* closed", 5)
    check(share.count(r"tunnel from “connect-b” .* closed") == 0, "connect-b's tunnel closed")
    check(gw.proc.count(r"tunnel joined") == 2, "tunnels were remade")


def echo_through(t, port, payload):
    sock = t.connect(port)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    got = recv_all(sock, time.monotonic() + 10)
    check(got == payload, "echo: got %d bytes back, sent %d" % (len(got), len(payload)))


def test_share_agent_replaced(t):
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    allow = ["127.0.0.1:%d" % target.port]
    first = t.share(gw, s1, allow, name="share-first")
    a = t.connect_agent(gw, s1, allow, name="connect-a")
    b = t.connect_agent(gw, s1, allow, name="connect-b")
    echo_through(t, a.ports[0], b"through the first, a")
    echo_through(t, b.ports[0], b"through the first, b")
    first.wait_for_count(r"tunnel from connect agent", 2, 5)

    # The same machine's agent again (same key), e.g. started twice by mistake.
    state = t.path("share-second-state")
    # Its key and pins; not the running agent's admin socket, which cannot be copied.
    shutil.copytree(first.state_dir, state, ignore=shutil.ignore_patterns("*.sock"))
    marks = {p.name: p.mark() for p in (a, b)}
    second = t.share(gw, s1, allow, name="share-second", state_dir=state)
    _, m, _ = first.wait_for_log(r"replaced", 5)
    t.note(m.string)
    status = first.wait(5)
    check(status == EXIT_REPLACED,
          "the replaced share agent exited with %s, expected %d" % (status, EXIT_REPLACED))
    gw.proc.wait_for_log(r"share agent “share-first” .*replaced by share agent “share-second”", 5)
    for p in (a, b):
        p.wait_for_log(r"tunnel to the share agent closed", 5, since=marks[p.name])
    echo_through(t, a.ports[0], b"through the second, a")
    echo_through(t, b.ports[0], b"through the second, b")
    second.wait_for_count(r"tunnel from connect agent", 2, 5)
    second.wait_for_count(r"channel \d+ from .* open", 2, 5)
    check(second.running(), "the new share agent exited")
    check(a.count(r"CHANGED") + b.count(r"CHANGED") == 0, "a connect agent saw a changed key")


if __name__ == "__main__":
    run_tests([
        case("two connect agents on one session: two tunnels, both mappings at once",
             test_two_connect_agents),
        case("one connect agent killed mid-transfer: the other's transfer completes",
             test_one_connect_agent_dies),
        case("a second share agent replaces the first: it exits 3, traffic goes to the second",
             test_share_agent_replaced),
    ])
