#!/usr/bin/env python3
"""Integrity: big streams both ways at once, and many channels at once, all checksummed."""

import hashlib
import os
import selectors
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DataStream, Session, case, check, duplex, run_tests)  # noqa: E402

MIB = 1024 * 1024
BIG = int(os.environ.get("CULVERT_E2E_BIG_MIB", "256")) * MIB
N_CONNS = 200
PER_CONN = 256 * 1024


def test_big_duplex(t, size=BIG, join=None):
    """256 MiB each way through one mapping at once; the target sends its own stream."""
    target = t.duplex_server(seed="target-stream", total=size, conn_timeout=120)
    s1 = Session("s1")
    gw = t.gateway([s1], join=join)
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port])
    client_stream = DataStream("client-stream", size)
    sock = t.connect(conn.ports[0])
    started = time.monotonic()
    sent_digest, got_digest, got_len = duplex(sock, client_stream, time.monotonic() + 150)
    elapsed = time.monotonic() - started
    target.wait_closed(1, 10)
    r = target.results[0]
    check(not target.errors, "target errors: %s" % target.errors)
    check(got_len == size, "client received %d bytes, expected %d" % (got_len, size))
    check(r["sent"] == size, "target sent %s bytes, expected %d" % (r["sent"], size))
    check(got_digest == r["sent_digest"],
          "target→client stream corrupted: sha256 %s at the client, %s at the target"
          % (got_digest, r["sent_digest"]))
    check(r["received"] == size,
          "target received %d bytes, expected %d" % (r["received"], size))
    check(r["digest"] == sent_digest,
          "client→target stream corrupted: sha256 %s at the target, %s at the client"
          % (r["digest"], sent_digest))
    t.note("%d MiB each way in %.1f s (%.0f MiB/s each way)"
           % (size // MIB, elapsed, size / MIB / elapsed))


def test_big_duplex_copy(t):
    """The same, 64 MiB each way, through a gateway that joins tunnels by copying."""
    test_big_duplex(t, size=BIG // 4, join="copy")


def rss_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_stalled_reader(t):
    """A client that stops reading for seconds while the target pushes 128 MiB: flow
    control holds the rest back (the agents' memory stays bounded) and, once it reads
    again, every byte arrives."""
    total = 128 * MIB
    target = t.duplex_server(seed="pushy", total=total, conn_timeout=60)
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port])
    before = {p.name: rss_mib(p.pid) for p in (share, conn, gw.proc)}
    sock = t.connect(conn.ports[0])
    sock.shutdown(socket.SHUT_WR)
    time.sleep(3)  # not reading
    during = {p.name: rss_mib(p.pid) for p in (share, conn, gw.proc)}
    t.note("RSS MiB before %s, while stalled %s" % (
        {k: round(v) for k, v in before.items()}, {k: round(v) for k, v in during.items()}))
    for name in before:
        check(during[name] - before[name] < 32,
              "%s grew by %.0f MiB while the client did not read: buffers are not bounded"
              % (name, during[name] - before[name]))
    h = hashlib.sha256()
    n = 0
    deadline = time.monotonic() + 60
    sock.settimeout(5)
    while True:
        check(time.monotonic() < deadline, "no EOF within 60 s (%d bytes)" % n)
        b = sock.recv(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
    target.wait_closed(1, 10)
    check(n == total and h.hexdigest() == target.results[0]["sent_digest"],
          "after the stall: %d bytes of %d, digest %s" % (
              n, total, "ok" if h.hexdigest() == target.results[0]["sent_digest"] else "bad"))


def many_at_once(port, payloads, deadline):
    """Open a connection per payload, send each and read each echo, all at once, on one
    thread; returns {index: (received sha256, received length)}."""
    sel = selectors.DefaultSelector()
    state = {}
    for i, payload in enumerate(payloads):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        state[s] = {"i": i, "data": memoryview(payload), "off": 0, "hash": hashlib.sha256(),
                    "n": 0, "wr_shut": False, "eof": False}
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    results = {}
    try:
        while len(results) < len(payloads):
            left = deadline - time.monotonic()
            check(left > 0, "%d of %d connections finished before the deadline"
                  % (len(results), len(payloads)))
            for key, events in sel.select(min(left, 1.0)):
                s = key.fileobj
                st = state[s]
                if events & selectors.EVENT_WRITE and not st["wr_shut"]:
                    try:
                        n = s.send(st["data"][st["off"]:st["off"] + 65536])
                        st["off"] += n
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError as e:
                        raise AssertionError("connection %d: send: %s" % (st["i"], e))
                    if st["off"] == len(st["data"]):
                        s.shutdown(socket.SHUT_WR)
                        st["wr_shut"] = True
                        sel.modify(s, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    try:
                        b = s.recv(1 << 18)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as e:
                        raise AssertionError("connection %d: recv after %d bytes: %s"
                                             % (st["i"], st["n"], e))
                    if b:
                        st["hash"].update(b)
                        st["n"] += len(b)
                    else:
                        results[st["i"]] = (st["hash"].hexdigest(), st["n"])
                        sel.unregister(s)
                        s.close()
                        if not st["wr_shut"]:
                            raise AssertionError("connection %d closed after %d bytes, before "
                                                 "it sent all of its payload" % (st["i"], st["n"]))
    finally:
        for s in list(state):
            try:
                s.close()
            except OSError:
                pass
        sel.close()
    return results


def test_many_channels(t):
    """200 connections at once through one mapping, each its own payload both ways."""
    target = t.echo_server(conn_timeout=120)
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port])
    payloads = [os.urandom(PER_CONN) for _ in range(N_CONNS)]
    started = time.monotonic()
    results = many_at_once(conn.ports[0], payloads, time.monotonic() + 90)
    elapsed = time.monotonic() - started
    target.wait_closed(N_CONNS, 10)
    check(not target.errors, "target errors: %s" % target.errors[:5])
    check(target.accepted == N_CONNS,
          "the target saw %d connections, expected %d" % (target.accepted, N_CONNS))
    at_target = sorted(r["digest"] for r in target.results.values())
    expected = sorted(hashlib.sha256(p).hexdigest() for p in payloads)
    check(at_target == expected, "%d of %d payloads arrived intact at the target"
          % (len(set(at_target) & set(expected)), N_CONNS))
    bad = [i for i, p in enumerate(payloads)
           if results[i] != (hashlib.sha256(p).hexdigest(), len(p))]
    check(not bad, "%d connections got back something else than they sent, e.g. #%d: %d bytes"
          % (len(bad), bad[0], results[bad[0]][1]) if bad else "")
    t.note("%d connections × %d KiB each way in %.1f s" % (N_CONNS, PER_CONN // 1024, elapsed))


if __name__ == "__main__":
    run_tests([
        case("256 MiB each way at once through one mapping, SHA-256 both ways", test_big_duplex),
        case("64 MiB each way at once through a gateway joining by copy (not splice)",
             test_big_duplex_copy),
        case("a client that stops reading: memory stays bounded, then all 128 MiB arrive",
             test_stalled_reader),
        case("200 concurrent channels, 256 KiB each way each, each checksummed",
             test_many_channels),
    ])
