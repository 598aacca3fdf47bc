#!/usr/bin/env python3
"""Writes the seed corpus of fuzz-frame into tests/fuzz/corpus/.

Each file is what LLVMFuzzerTestOneInput reads: one byte choosing the receiver's
maximum payload (0: 16384, 1: 65536), then a stream of frames laid out by hand from
the wire format, independently of the C encoder. Run it again after changing it; it
replaces the files it owns and leaves any others (crash regressions) alone.
"""

import json
import os
import struct
import sys

LIMIT_16K = b"\x00"
LIMIT_64K = b"\x01"

SETTINGS, OPEN, OPEN_OK, OPEN_FAIL, DATA, FIN, RESET = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07
WINDOW_UPDATE, PING, PONG, GOAWAY = 0x08, 0x09, 0x0A, 0x0B


def frame(ftype, channel, payload=b"", flags=0, length=None):
    """Header: length (u24) . type (u8) . flags (u8) . channel id (u32), big-endian."""
    if length is None:
        length = len(payload)
    return struct.pack(">I", length)[1:] + struct.pack(">BBI", ftype, flags, channel) + payload


def settings(version=1, window=256 * 1024, max_payload=16384, channels=256, magic=b"CULV"):
    return frame(SETTINGS, 0, magic + struct.pack(">HHIII", version, 0, window, max_payload, channels))


def open_(channel, host, port):
    host = host.encode() if isinstance(host, str) else host
    return frame(OPEN, channel, struct.pack(">HB", port, len(host)) + host)


def close(ftype, channel, reason, message=b"", last_channel=None):
    head = struct.pack(">B", reason)
    if last_channel is not None:
        head += struct.pack(">I", last_channel)
    return frame(ftype, channel, head + message)


def control(ftype, obj):
    return frame(ftype, 0, json.dumps(obj, separators=(",", ":")).encode())


SEEDS = {
    # Valid frames, one of each type.
    "settings-v1": LIMIT_16K + settings(),
    "settings-v2-extra-fields-limit-65536":
        LIMIT_64K + frame(SETTINGS, 0, b"CULV" + struct.pack(">HHIII", 2, 0, 0x7FFFFFFF, 65536,
                                                             0xFFFFFFFF) + b"future"),
    "open-hostname": LIMIT_16K + open_(1, "example.com", 443),
    "open-ipv4": LIMIT_16K + open_(3, "192.0.2.1", 22),
    "open-ipv6-bracketed-zone": LIMIT_16K + open_(5, "[fe80::1%eth0]", 8080),
    "open-host-255-bytes": LIMIT_16K + open_(0x7FFFFFFF, ("x" * 63 + ".") * 3 + "x" * 63, 65535),
    "open-ok": LIMIT_16K + frame(OPEN_OK, 1),
    "open-fail-refused-with-message":
        LIMIT_16K + close(OPEN_FAIL, 1, 1, "connect: Connection refused — “db”".encode()),
    "data-1-byte": LIMIT_16K + frame(DATA, 1, b"x"),
    "data-16384-bytes": LIMIT_16K + frame(DATA, 1, bytes(i * 7 & 0xFF for i in range(16384))),
    "fin": LIMIT_16K + frame(FIN, 1),
    "reset-no-message": LIMIT_16K + close(RESET, 7, 6),
    "window-update-max": LIMIT_16K + frame(WINDOW_UPDATE, 1, struct.pack(">I", 0x7FFFFFFF)),
    "ping-pong": LIMIT_16K + frame(PING, 0, bytes(range(1, 9))) + frame(PONG, 0, bytes(range(1, 9))),
    "goaway-with-message": LIMIT_16K + close(GOAWAY, 0, 10, "shutting down ✓".encode(), 41),
    "control-0x20-hello": LIMIT_16K + control(0x20, {"type": "hello", "name": "laptop", "v": 1}),
    "control-0x3f-empty-object": LIMIT_16K + frame(0x3F, 0, b"{}"),
    "stream-settings-open-data-fin-limit-65536":
        LIMIT_64K + settings(max_payload=65536) + open_(1, "localhost", 5432) + frame(OPEN_OK, 1)
        + frame(DATA, 1, b"SELECT 1;") + frame(WINDOW_UPDATE, 1, struct.pack(">I", 9))
        + frame(FIN, 1),

    # Incomplete and malformed: each stops the stream at a different check.
    "incomplete-data-payload": LIMIT_16K + frame(DATA, 1, length=100) + b"only part",
    "bad-too-large-header-only": LIMIT_16K + frame(DATA, 1, length=16385),
    "bad-unknown-type-0x0c": LIMIT_16K + frame(0x0C, 0, b"{}"),
    "bad-flags": LIMIT_16K + frame(FIN, 1, flags=0x01),
    "bad-reserved-channel-bit": LIMIT_16K + frame(FIN, 0x80000001),
    "bad-data-on-channel-0": LIMIT_16K + frame(DATA, 0, b"x"),
    "bad-empty-data": LIMIT_16K + frame(DATA, 1),
    "bad-settings-magic": LIMIT_16K + settings(magic=b"HTTP"),
    "bad-open-port-0": LIMIT_16K + open_(1, "example.com", 0),
    "bad-open-host-space": LIMIT_16K + open_(1, "exa mple", 80),
    "bad-goaway-invalid-utf8": LIMIT_16K + close(GOAWAY, 0, 1, b"bad \xc3(", 0),
    "bad-window-update-0": LIMIT_16K + frame(WINDOW_UPDATE, 1, struct.pack(">I", 0)),
}


def main():
    corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(corpus, exist_ok=True)
    for name, content in SEEDS.items():
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(content)
    print(f"{len(SEEDS)} seeds written to {corpus}", file=sys.stderr)


if __name__ == "__main__":
    main()
