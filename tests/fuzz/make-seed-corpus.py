#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

Each file is what that target's LLVMFuzzerTestOneInput reads:
  frame           one byte choosing the receiver's maximum payload (0: 16384,
                  1: 65536), then a stream of frames laid out by hand from the wire
                  format, independently of the C encoder;
  control         one control message's JSON, as a frame 0x20-0x3f carries it;
  ticket          the first bytes of a tunnel half (the preface);
  cpace           one byte choosing the role, one byte the message's length, a CPace
                  message (points from the draft's ristretto255 vectors), the peer's AD;
  ws-frame        one byte choosing the receiver (bit 0: a server, so frames must be
                  masked; bits 1-2: its message limit, 125/1000/65536/1 MiB; bits 3-7:
                  where masking is split), then a stream of RFC 6455 frames laid out by
                  hand from §5.2, independently of the C encoder;
  config-KIND     a config file of that kind: the examples in data/examples/ (and its
                  production/), the test
                  configs in tests/files/config/ whose names start with KIND, and a few
                  written here.
Run it again after changing it; it replaces the files it owns and leaves any others
alone: crash regressions (crash-*), and the inputs libFuzzer found that add coverage
(40 hex digits, merged with `fuzz-TARGET -merge=1 tests/fuzz/corpus/TARGET WORK-DIR`
after a long run).
"""

import base64
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


FRAME_SEEDS = {
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


FINGERPRINT = "sha256:" + "0123456789abcdef" * 4
TICKET = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")


def message(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def hello(**changes):
    fields = {"version": 1, "role": "share", "session": "acme-office", "password": "correct horse",
              "name": "front desk", "fingerprint": FINGERPRINT}
    fields.update(changes)
    return message({k: v for k, v in fields.items() if v is not None})


CLAIM_ID = base64.urlsafe_b64encode(bytes(range(16))).decode().rstrip("=")
CODE_BYTES = base64.urlsafe_b64encode(bytes(range(0xE0, 0x100))).decode().rstrip("=")


def code_hello(**changes):
    fields = {"version": 1, "role": "share", "mode": "code", "name": "front desk",
              "fingerprint": FINGERPRINT}
    fields.update(changes)
    return message({k: v for k, v in fields.items() if v is not None})


CONTROL_SEEDS = {
    "hello-share": hello(),
    "hello-connect-unicode-name": hello(role="connect", name="Zoë’s laptop ✓"),
    "hello-no-name": hello(name=None),
    "hello-longest-fields": hello(session="s" * 64, password="p" * 1024, name="n" * 512),
    "hello-version-65535": hello(version=65535),
    "bad-hello-version-0": hello(version=0),
    "bad-hello-version-string": hello(version="1"),
    "bad-hello-version-float": hello(version=1.0),
    "bad-hello-role": hello(role="gateway"),
    "bad-hello-session-slash": hello(session="../etc"),
    "bad-hello-session-65": hello(session="s" * 65),
    "bad-hello-empty-password": hello(password=""),
    "bad-hello-name-newline-esc": hello(name="x\n<3>session s2: share agent offline\x1b[31m"),
    "bad-hello-fingerprint-short": hello(fingerprint="sha256:abc"),
    "bad-hello-missing-fingerprint": hello(fingerprint=None),
    "bad-hello-session-null": hello(session=None)[:-1] + b',"session":null}',
    "welcome": message({"session": "acme-office", "share_online": True, "share_name": "desk"}),
    "refused-rate-limited": message({"reason": "rate-limited", "message": "slow down",
                                     "retry_after_ms": 5000}),
    "refused-unknown-reason": message({"reason": "flux-capacitor"}),
    "refused-reason-none": message({"reason": "none"}),
    "refused-reason-number": message({"reason": 7, "message": ["not", "a", "string"]}),
    "presence-offline": message({"share_online": False}),
    "presence-online-not-bool": message({"share_online": "yes", "share_name": None}),
    "tunnel-request": message({}),
    "tunnel-offer-share": message({"ticket": TICKET, "peer_fingerprint": FINGERPRINT,
                                   "tls_role": "server", "peer_name": "laptop",
                                   "peer_address": "[2001:db8::1]:51234"}),
    "tunnel-offer-connect": message({"ticket": TICKET, "peer_fingerprint": FINGERPRINT,
                                     "tls_role": "client"}),
    "tunnel-offer-error": message({"error": "limit-reached"}),
    # Session codes (SESSION-CODES.md §4): HELLO in code mode and the messages 0x26-0x2d.
    "hello-code-share": code_hello(),
    "hello-code-connect": code_hello(role="connect", nameplate="482"),
    "hello-code-connect-9-digits": code_hello(role="connect", nameplate="123456789"),
    "bad-hello-code-nameplate-short": code_hello(role="connect", nameplate="48"),
    "bad-hello-code-nameplate-leading-0": code_hello(role="connect", nameplate="082"),
    "bad-hello-code-nameplate-number": code_hello(role="connect", nameplate=482),
    "bad-hello-code-share-nameplate": code_hello(nameplate="482"),
    "bad-hello-code-password": code_hello(password="correct horse"),
    "bad-hello-mode-unknown": code_hello(mode="wormhole"),
    "welcome-code-share": message({"nameplate": "482", "expires_at_ms": 1700000600000}),
    "welcome-code-connect": message({"peer_fingerprint": FINGERPRINT, "peer_name": "desk",
                                     "claim_id": CLAIM_ID}),
    "code-claimed": message({"peer_fingerprint": FINGERPRINT, "peer_name": "Ana",
                             "peer_address": "203.0.113.7", "claim_id": CLAIM_ID}),
    "bad-code-claimed-claim-id-padded": message({"peer_fingerprint": FINGERPRINT,
                                                 "peer_address": "203.0.113.7",
                                                 "claim_id": CLAIM_ID + "=="}),
    "code-pake": message({"msg": CODE_BYTES}),
    "code-confirm": message({"mac": CODE_BYTES}),
    "bad-code-pake-42": message({"msg": CODE_BYTES[:-1]}),
    "bad-code-pake-padded": message({"msg": CODE_BYTES + "="}),
    "bad-code-pake-unused-bits": message({"msg": "A" * 42 + "B"}),
    "code-failed": message({"reason": "bad-code"}),
    "code-failed-timeout": message({"reason": "timeout"}),
    "bad-code-failed-reason": message({"reason": "tired"}),
    "code-nameplate": message({"nameplate": "4821", "expires_at_ms": 1700000600000}),
    "bad-code-nameplate-expiry-negative": message({"nameplate": "482", "expires_at_ms": -1}),
    "bad-not-object": b"[1,2,3]",
    "bad-not-json": b"{\"version\":",
    "bad-empty": b"",
    "bad-invalid-utf8": b'{"name":"\xc3("}',
    "bad-nul-in-string": b'{"name":"a\\u0000b"}',
    "bad-duplicate-keys": b'{"role":"share","role":"connect"}',
    "nested-1000": b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}",
    "numbers": b'{"a":1e308,"b":-0,"c":9223372036854775807,"d":-9223372036854775808,"e":0.1}',
}


PREFACE = ("CULVERT-TUNNEL/1 " + TICKET + "\n").encode()

TICKET_SEEDS = {
    "preface": PREFACE,
    "preface-then-tls": PREFACE + b"\x16\x03\x01\x00\x05hello",
    "bad-short": PREFACE[:-1],
    "bad-no-newline": PREFACE[:-1] + b" ",
    "bad-version-2": PREFACE.replace(b"/1 ", b"/2 "),
    "bad-ticket-char": PREFACE[:20] + b"+" + PREFACE[21:],
    "bad-ticket-nul": PREFACE[:20] + b"\x00" + PREFACE[21:],
    "bad-tls-record": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    "bad-http": b"GET / HTTP/1.1\r\nHost: relay.example.com\r\n\r\n",
    "bad-empty": b"",
}


# From draft-irtf-cfrg-cpace-21's ristretto255 vectors: a valid point (Yb), the invalid
# Y_i1 (odd, non-canonical) and the identity.
CPACE_YB = bytes.fromhex("3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258")
CPACE_Y_I1 = bytes.fromhex("2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c")


def cpace(role, point, ad=b"ADb", length=None):
    return bytes([role, len(point) if length is None else length]) + point + ad


CPACE_SEEDS = {
    "initiator-valid": cpace(0, CPACE_YB),
    "responder-valid": cpace(1, CPACE_YB),
    "symmetric-valid": cpace(2, CPACE_YB),
    "initiator-valid-tag": cpace(0, CPACE_YB, bytes(32)),
    "bad-invalid-point": cpace(0, CPACE_Y_I1),
    "bad-identity": cpace(0, bytes(32)),
    "bad-top-bit": cpace(0, CPACE_YB[:31] + bytes([CPACE_YB[31] | 0x80])),
    "bad-short": cpace(0, CPACE_YB[:31]),
    "bad-long": cpace(0, CPACE_YB + b"\x00", length=33),
    "bad-empty": cpace(1, b"", b""),
}


# RFC 6455 §5.2 by hand.  The receiver byte: bit 0 server (frames masked), bits 1-2
# the limit (0: 125, 1: 1000, 2: 65536, 3: 1 MiB), bits 3-7 the masking split.
WS_SERVER, WS_CLIENT = 1, 0
WS_LIMIT_1000, WS_LIMIT_64K, WS_LIMIT_1M = 1 << 1, 2 << 1, 3 << 1
WS_KEY = bytes([0x37, 0xFA, 0x21, 0x3D])
CONT, TEXT, BINARY, CLOSE, WS_PING, WS_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def ws_receiver(role, limit=WS_LIMIT_1M, split=5):
    return bytes([role | limit | (split << 3)])


def ws_frame(opcode, payload=b"", fin=True, masked=True, rsv=0, length=None, raw_len=None):
    """A frame; @length overrides the encoded length, @raw_len the length bytes."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    mask_bit = 0x80 if masked else 0
    if raw_len is not None:
        head += bytes([mask_bit | raw_len[0]]) + raw_len[1:]
    elif n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + WS_KEY + bytes(b ^ WS_KEY[i % 4] for i, b in enumerate(payload))


def ws_close(code=None, reason=b"", masked=True):
    payload = b"" if code is None else struct.pack(">H", code) + reason
    return ws_frame(CLOSE, payload, masked=masked)


WS_FRAME_SEEDS = {
    # What the bridges exchange: binary messages, pings, pongs, closes.
    "server-binary-small": ws_receiver(WS_SERVER) + ws_frame(BINARY, b"\x16\x03\x01 hello"),
    "server-binary-125-126-65535-65536":
        ws_receiver(WS_SERVER) + ws_frame(BINARY, bytes(125)) + ws_frame(BINARY, bytes(126))
        + ws_frame(BINARY, bytes(range(256)) * 255 + bytes(255))
        + ws_frame(BINARY, bytes(65536)),
    "client-binary-unmasked": ws_receiver(WS_CLIENT) + ws_frame(BINARY, b"abc", masked=False),
    "server-fragments-with-ping":
        ws_receiver(WS_SERVER, WS_LIMIT_1000) + ws_frame(BINARY, b"abc", fin=False)
        + ws_frame(WS_PING, b"xyz123") + ws_frame(CONT, b"def", fin=False)
        + ws_frame(WS_PONG, b"") + ws_frame(CONT, b"ghi"),
    "server-close-normal": ws_receiver(WS_SERVER) + ws_close(1000),
    "server-close-4000-reason": ws_receiver(WS_SERVER) + ws_close(4000, "done ✓".encode()),
    "client-close-empty": ws_receiver(WS_CLIENT) + ws_close(masked=False),
    "client-close-123-byte-reason": ws_receiver(WS_CLIENT) + ws_close(1001, b"r" * 123, masked=False),
    "server-text": ws_receiver(WS_SERVER) + ws_frame(TEXT, b"hi"),
    "server-incomplete-payload": ws_receiver(WS_SERVER) + ws_frame(BINARY, bytes(100))[:50],
    "server-incomplete-header": ws_receiver(WS_SERVER) + ws_frame(BINARY, bytes(70000))[:7],
    "server-limit-125-exactly": ws_receiver(WS_SERVER, 0) + ws_frame(BINARY, bytes(125)),

    # Refused: each stops the stream at a different check.
    "bad-server-unmasked": ws_receiver(WS_SERVER) + ws_frame(BINARY, b"x", masked=False),
    "bad-client-masked": ws_receiver(WS_CLIENT) + ws_frame(BINARY, b"x"),
    "bad-rsv1": ws_receiver(WS_SERVER) + ws_frame(BINARY, b"x", rsv=0x40),
    "bad-rsv3": ws_receiver(WS_SERVER) + ws_frame(BINARY, b"x", rsv=0x10),
    "bad-opcode-3": ws_receiver(WS_SERVER) + ws_frame(0x3, b"x"),
    "bad-opcode-0xb": ws_receiver(WS_SERVER) + ws_frame(0xB, b"x"),
    "bad-fragmented-ping": ws_receiver(WS_SERVER) + ws_frame(WS_PING, b"p", fin=False),
    "bad-ping-126": ws_receiver(WS_SERVER) + ws_frame(WS_PING, bytes(126)),
    "bad-length-2^63": ws_receiver(WS_SERVER) + ws_frame(BINARY, raw_len=b"\x7f\x80" + bytes(7)),
    "bad-length-16-bit-non-minimal":
        ws_receiver(WS_SERVER) + ws_frame(BINARY, b"hello", raw_len=b"\x7e\x00\x05"),
    "bad-length-64-bit-non-minimal":
        ws_receiver(WS_SERVER) + ws_frame(BINARY, b"hello", raw_len=b"\x7f" + bytes(7) + b"\x05"),
    "bad-too-big-for-limit-1000": ws_receiver(WS_SERVER, WS_LIMIT_1000) + ws_frame(BINARY, bytes(1001)),
    "bad-too-big-in-fragments":
        ws_receiver(WS_SERVER, WS_LIMIT_1000) + ws_frame(BINARY, bytes(600), fin=False)
        + ws_frame(CONT, bytes(600)),
    "bad-continuation-first": ws_receiver(WS_SERVER) + ws_frame(CONT, b"x"),
    "bad-message-inside-message":
        ws_receiver(WS_SERVER) + ws_frame(BINARY, b"ab", fin=False) + ws_frame(BINARY, b"cd"),
    "bad-close-1-byte": ws_receiver(WS_SERVER) + ws_frame(CLOSE, b"\x03"),
    "bad-close-1005": ws_receiver(WS_SERVER) + ws_close(1005),
    "bad-close-1015": ws_receiver(WS_CLIENT) + ws_close(1015, masked=False),
    "bad-close-5000": ws_receiver(WS_SERVER) + ws_close(5000),
    "bad-close-reason-utf8": ws_receiver(WS_SERVER) + ws_close(1000, b"bad \xc3("),
}


def config_seeds(kind):
    """The examples and the test suite's configs of @kind, and a few more."""
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(os.path.dirname(here))
    seeds = {}
    for seed, example in (("example", os.path.join(top, "data", "examples", kind + ".json")),
                          ("example-production",
                           os.path.join(top, "data", "examples", "production", kind + ".json"))):
        if os.path.exists(example):
            with open(example, "rb") as f:
                seeds[seed] = f.read()
    files = os.path.join(top, "tests", "files", "config")
    for name in sorted(os.listdir(files)):
        if name.startswith(kind + "-") or name in ("empty.json", "ambiguous.json"):
            with open(os.path.join(files, name), "rb") as f:
                seeds["test-" + name.removesuffix(".json")] = f.read()
    seeds["bad-empty-object"] = b"{}"
    seeds["bad-nested-deep"] = b'{"x":' + b"[" * 500 + b"]" * 500 + b"}"
    return seeds


CONFIG_EXTRA = {
    "gateway": {
        "listen-ipv6-zone": message({"listen": ["[fe80::1%eth0]:8443", "127.0.0.1:1"]}),
        "limits-edges": message({"limits": {"max_sessions": 1, "keepalive_interval_ms": 1,
                                            "dead_peer_timeout_ms": 2,
                                            "tunnel_buffer_bytes": 1048576}}),
        "bad-limit-4294967296": message({"limits": {"max_links": 4294967296}}),
        "bad-limit-negative": message({"limits": {"max_links": -1}}),
        "sessions-file": message({"sessions_file": "sessions.json", "limits": {"max_sessions": 1}}),
        "bad-sessions-and-sessions-file": message({"sessions": [], "sessions_file": "s.json"}),
    },
    "share": {
        "allow-ranges": message({"gateway": "relay.example.com:443", "session": "s",
                                 "password_env": "CULVERT_PASSWORD",
                                 "allow": ["127.0.0.1:1-65535", "[::1]:22", "db.internal:5432"]}),
        "bad-allow-zero-address": message({"gateway": "r:1", "session": "s",
                                           "password_stdin": True, "allow": ["0.0.0.0:22"]}),
        # "//" comments run to the line's end, outside strings only; /* */ is json-glib's.
        "comments": b'// a share agent\n{ "gateway": "r:1", // the gateway\n'
                    b'  "session": "s", "name": "a // b \\" // c", /* " // */\n'
                    b'  "password_stdin": true, "allow": ["localhost:1"] } // end',
        "bad-comment-unclosed-string": b'{ "gateway": "r:1 // c\n, "session": "s" }',
    },
    "connect": {
        "mappings-bare-port": message({"gateway": "[2001:db8::1]:8443", "session": "s",
                                       "password_file": "relative/password",
                                       "gateway_fingerprint": FINGERPRINT.upper().replace(
                                           "SHA256", "sha256"),
                                       "mappings": [{"listen": "5920", "target": "localhost:5900"}]}),
    },
}


def write(corpus, seeds):
    os.makedirs(corpus, exist_ok=True)
    for name, content in seeds.items():
        with open(os.path.join(corpus, name), "wb") as f:
            f.write(content)
    print(f"{len(seeds)} seeds written to {corpus}", file=sys.stderr)


def main():
    corpus = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    write(os.path.join(corpus, "frame"), FRAME_SEEDS)
    write(os.path.join(corpus, "control"), CONTROL_SEEDS)
    write(os.path.join(corpus, "ticket"), TICKET_SEEDS)
    write(os.path.join(corpus, "cpace"), CPACE_SEEDS)
    write(os.path.join(corpus, "ws-frame"), WS_FRAME_SEEDS)
    for kind in ("gateway", "share", "connect"):
        write(os.path.join(corpus, "config-" + kind), {**config_seeds(kind), **CONFIG_EXTRA[kind]})


if __name__ == "__main__":
    main()
