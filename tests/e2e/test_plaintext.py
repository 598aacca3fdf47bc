#!/usr/bin/env python3
"""The gateway never sees plaintext: what it relays in a tunnel is end-to-end ciphertext."""

import os
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import TcpServer, case, check, recv_all, run_tests  # noqa: E402

REPEAT = 4096  # 64 hex chars × 4096 = 256 KiB each way


class MarkerServer(TcpServer):
    """Reads the client's bytes to EOF, keeping them, then sends its own marker."""

    def __init__(self, reply, **kw):
        self.reply = reply
        super().__init__(**kw)

    def handle(self, conn, index):
        parts = []
        while True:
            b = conn.recv(1 << 20)
            if not b:
                break
            parts.append(b)
        self.set_result(index, data=b"".join(parts))
        conn.sendall(self.reply)
        conn.shutdown(socket.SHUT_WR)


def test_no_plaintext_at_gateway(t):
    to_target = os.urandom(32).hex().encode()
    to_client = os.urandom(32).hex().encode()
    target = t.add(MarkerServer(to_client * REPEAT, name="marker"))
    record = t.path("tunnels.rec")
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port], record=record)
    gw.proc.wait_for_log(r"DEBUG: recording every tunnelled byte", 1)
    sock = t.connect(conn.ports[0])
    sock.sendall(to_target * REPEAT)
    sock.shutdown(socket.SHUT_WR)
    reply = recv_all(sock, time.monotonic() + 30)
    target.wait_closed(1, 10)

    # Controls: the markers did travel, in the clear at both ends.
    check(target.results[0]["data"] == to_target * REPEAT,
          "the target did not get the client's marker (%d bytes)"
          % len(target.results[0]["data"]))
    check(reply == to_client * REPEAT, "the client did not get the target's marker")

    gw.proc.wait_for_log(r"tunnel joined", 1)
    check(os.path.exists(record), "the gateway made no recording at %s" % record)
    with open(record, "rb") as f:
        recorded = f.read()
    t.note("recorded %d bytes for %d bytes of plaintext each way"
           % (len(recorded), len(to_target) * REPEAT))
    check(len(recorded) >= 2 * len(to_target) * REPEAT,
          "the recording holds %d bytes, less than the %d tunnelled: it is not the tunnel"
          % (len(recorded), 2 * len(to_target) * REPEAT))
    for name, marker in (("client→target", to_target), ("target→client", to_client)):
        check(marker not in recorded,
              "the %s marker is in the gateway's recording, in the clear" % name)
        check(marker[:16] not in recorded,
              "part of the %s marker is in the gateway's recording" % name)
        check(marker.decode() not in gw.proc.text(), "the gateway logged the %s marker" % name)
    # TLS 1.3 records (application data, 0x17 0x03 0x03) are what the gateway relays.
    check(b"\x17\x03\x03" in recorded, "no TLS 1.3 record in the recording")


if __name__ == "__main__":
    run_tests([
        case("the gateway's recording of a tunnel holds no plaintext, both ways",
             test_no_plaintext_at_gateway),
    ])
