#!/usr/bin/env python3
"""Channels: half-close in both directions; targets that are not allowed or not there."""

import hashlib
import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DataStream, ReplyAfterEofServer, TcpServer, case, check, closed_within,  # noqa: E402
                     digest_to_eof, free_port, recv_all)

MIB = 1024 * 1024


def half_close_round(t, port, request, reply_len, target, index):
    sock = t.connect(port)
    sock.sendall(request)
    sock.shutdown(socket.SHUT_WR)
    reply = recv_all(sock, time.monotonic() + 30, limit=reply_len + 64)
    sock.close()
    digest = hashlib.sha256(request).hexdigest()
    check(len(reply) == 64 + reply_len,
          "request of %d bytes: got %d bytes back after shutting down the write side, "
          "expected %d" % (len(request), len(reply), 64 + reply_len))
    check(reply[:64].decode() == digest,
          "the target read a different request: sha256 %s, sent %s" % (reply[:64], digest))
    expected = ReplyAfterEofServer.reply_for(digest, reply_len).digest()
    check(hashlib.sha256(reply[64:]).hexdigest() == expected, "the reply is corrupted")
    target.wait_closed(index + 1, 10)


def test_client_half_close(t):
    """shutdown(SHUT_WR) at the client; the target answers only after EOF; all of it arrives."""
    target = t.reply_after_eof_server(reply_len=8 * MIB)
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port])
    half_close_round(t, conn.ports[0], b"GET / HTTP/1.0\r\n\r\n", 8 * MIB, target, 0)
    half_close_round(t, conn.ports[0], DataStream("req", 2 * MIB).data(), 8 * MIB, target, 1)
    half_close_round(t, conn.ports[0], b"", 8 * MIB, target, 2)
    check(not target.errors, "target errors: %s" % target.errors)


class SpeakFirstServer(TcpServer):
    """Sends a greeting, shuts down its write side, then reads the client to EOF."""

    GREETING = DataStream("greeting", 3 * MIB).data()

    def handle(self, conn, index):
        conn.sendall(self.GREETING)
        conn.shutdown(socket.SHUT_WR)
        n, digest = digest_to_eof(conn)
        self.set_result(index, received=n, digest=digest)


def test_queued_before_tunnel(t):
    """Clients that send everything and half-close before the tunnel exists (the first
    connections of a fresh connect agent wait for it) lose nothing."""
    target = t.reply_after_eof_server(reply_len=256 * 1024)
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port])
    check(conn.count(r"tunnel to share agent") == 0, "the tunnel is already open")
    requests = [os.urandom(100000 + i) for i in range(20)]
    socks = []
    for r in requests:
        sock = t.connect(conn.ports[0])
        sock.sendall(r)
        sock.shutdown(socket.SHUT_WR)
        socks.append(sock)
    for i, (sock, r) in enumerate(zip(socks, requests)):
        reply = recv_all(sock, time.monotonic() + 20)
        digest = hashlib.sha256(r).hexdigest()
        check(reply[:64].decode(errors="replace") == digest and len(reply) == 64 + 256 * 1024,
              "queued client %d: %d bytes back, the target read %s" % (i, len(reply), reply[:64]))
    check(conn.count(r"tunnel to share agent .* open") == 1,
          "%d tunnels for the queued clients" % conn.count(r"tunnel to share agent .* open"))


def test_target_half_close(t):
    """The target shuts down its write side first; the client still sends all it has."""
    target = t.add(SpeakFirstServer(name="speak-first"))
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port])
    sock = t.connect(conn.ports[0])
    greeting = recv_all(sock, time.monotonic() + 30)  # EOF: the target's half-close
    check(greeting == SpeakFirstServer.GREETING,
          "greeting: got %d bytes (sha256 %s), expected %d"
          % (len(greeting), hashlib.sha256(greeting).hexdigest(), len(SpeakFirstServer.GREETING)))
    body = DataStream("after-eof", 4 * MIB).data()
    sock.sendall(body)
    sock.shutdown(socket.SHUT_WR)
    target.wait_closed(1, 30)
    r = target.results[0]
    check(r.get("received") == len(body) and r.get("digest") == hashlib.sha256(body).hexdigest(),
          "after the target's half-close, it received %s bytes of the client's %d"
          % (r.get("received"), len(body)))
    check(closed_within(sock, 5), "the client's connection stayed open after both sides closed")


def test_not_allowed(t):
    """A mapping to a target the share agent does not allow: closed at once, logged."""
    allowed = t.echo_server()
    forbidden = t.echo_server(name="forbidden")
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % allowed.port],
                             mappings=["127.0.0.1:%d" % allowed.port,
                                       "127.0.0.1:%d" % forbidden.port])
    for attempt in range(2):
        mark = share.mark()
        sock = t.connect(conn.ports[1])
        started = time.monotonic()
        check(closed_within(sock, 2.0),
              "attempt %d: the client's connection to a not-allowed target is still open after "
              "2 s" % attempt)
        t.note("attempt %d: closed after %.2f s" % (attempt, time.monotonic() - started))
        share.wait_for_log(r"to 127\.0\.0\.1:%d: not-allowed" % forbidden.port, 5, since=mark)
    check(forbidden.accepted == 0, "the share agent dialled the forbidden target")
    # Nothing else is disturbed: the allowed mapping works on the same tunnel.
    sock = t.connect(conn.ports[0])
    sock.sendall(b"still here")
    sock.shutdown(socket.SHUT_WR)
    check(recv_all(sock, time.monotonic() + 10) == b"still here",
          "the allowed mapping broke after the refusals")


def test_channel_limit(t):
    """limits.max_channels_per_tunnel reaches the share agent (the gateway cannot see
    inside tunnels): past it, a client is closed at once and the connect agent says why;
    the open ones are not disturbed, and a freed channel is usable again."""
    from harness import Session
    target = t.echo_server()
    session = Session("s1")
    gw = t.gateway([session], limits={"max_channels_per_tunnel": 2})
    t.share(gw, session, ["127.0.0.1:%d" % target.port])
    conn = t.connect_agent(gw, session, ["127.0.0.1:%d" % target.port])
    held = []
    for i in range(2):
        sock = t.connect(conn.ports[0])
        sock.sendall(b"hold %d" % i)
        check(sock.recv(64) == b"hold %d" % i, "channel %d did not echo" % i)
        held.append(sock)
    mark = conn.mark()
    extra = t.connect(conn.ports[0])
    check(closed_within(extra, 2.0), "a third channel beyond the limit of 2 is still open")
    conn.wait_for_log(r"allows 2 open channels", 5, since=mark)
    for i, sock in enumerate(held):
        sock.sendall(b"still %d" % i)
        check(sock.recv(64) == b"still %d" % i, "channel %d broke when the third was refused" % i)
    held[0].shutdown(socket.SHUT_WR)
    recv_all(held[0], time.monotonic() + 5)
    held[0].close()
    deadline = time.monotonic() + 5
    while True:
        sock = t.connect(conn.ports[0])
        sock.sendall(b"again")
        sock.shutdown(socket.SHUT_WR)
        if recv_all(sock, time.monotonic() + 5) == b"again":
            break
        check(time.monotonic() < deadline, "the freed channel never became usable again")
        time.sleep(0.1)


def test_target_refused(t):
    """An allowed target with nothing listening: closed at once, the share agent says why."""
    dead = free_port()
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % dead], mappings=["127.0.0.1:%d" % dead])
    sock = t.connect(conn.ports[0])
    check(closed_within(sock, 2.0),
          "the client's connection to a refused target is still open after 2 s")
    share.wait_for_log(r"to 127\.0\.0\.1:%d: refused" % dead, 5)


if __name__ == "__main__":
    from harness import run_tests
    run_tests([
        case("client half-close: the reply sent after EOF arrives in full", test_client_half_close),
        case("target half-close: the client's data still arrives after it", test_target_half_close),
        case("data and EOF sent before the tunnel is open are all delivered",
             test_queued_before_tunnel),
        case("not-allowed target: closed within 2 s, share agent logs not-allowed",
             test_not_allowed),
        case("refused target: closed within 2 s, share agent logs refused", test_target_refused),
        case("max_channels_per_tunnel from the gateway's config is enforced by the share agent",
             test_channel_limit),
    ])
