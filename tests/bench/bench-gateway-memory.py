#!/usr/bin/env python3
"""What one control link and one pending handshake cost a real gateway, for the unit's
MemoryHigh=/MemoryMax= (data/culvert-gateway.service.in).  Run by hand, not a test:

    python3 tests/bench/bench-gateway-memory.py [--links N] [--cli _build/engine/cli/culvert-cli]

It starts `culvert-cli gateway` on 127.0.0.1 with one session, then
  1. opens N TLS control links (all with one client key) and logs
     each in as a connect agent (SETTINGS, then HELLO with the right password), then
     waits for every WELCOME and reads nothing more: the links idle, logged in;
  2. reads the gateway's VmRSS and its cgroup-free "private dirty" memory before and after
     (/proc/PID/status, /proc/PID/smaps_rollup) and prints the growth per link.
The session's hashes are Argon2id at the cheapest cost the config accepts (7168 KiB,
5 passes), so that N logins take seconds; the check's own 64 MiB at default cost is a
separate term of the unit's arithmetic (password_check_workers x memory).
Links come from 127.0.0.1 ... 127.0.0.N/32+1, 32 per address, within admission's
per-address limit.  Standard library only, plus libsodium through ctypes for the hash.
"""

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

PER_ADDRESS = 32


def cheap_hash(password):
    sodium = ctypes.CDLL(ctypes.util.find_library("sodium"))
    assert sodium.sodium_init() >= 0
    out = ctypes.create_string_buffer(128)
    pw = password.encode()
    # crypto_pwhash_str (out, passwd, passwdlen, opslimit, memlimit)
    sodium.crypto_pwhash_str.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
                                         ctypes.c_ulonglong, ctypes.c_size_t]
    assert sodium.crypto_pwhash_str(out, pw, len(pw), 5, 7168 * 1024) == 0
    return out.value.decode()


def frame(ftype, payload):
    return struct.pack(">I", len(payload))[1:] + struct.pack(">BBI", ftype, 0, 0) + payload


def settings():
    return frame(0x01, b"CULV" + struct.pack(">HHIII", 1, 0, 256 * 1024, 16384, 256))


def read_frame(sock):
    head = b""
    while len(head) < 9:
        chunk = sock.recv(9 - len(head))
        if not chunk:
            raise EOFError("the gateway closed the link")
        head += chunk
    length = int.from_bytes(head[:3], "big")
    payload = b""
    while len(payload) < length:
        chunk = sock.recv(length - len(payload))
        if not chunk:
            raise EOFError("the gateway closed the link")
        payload += chunk
    return head[3], payload


def memory_kib(pid):
    rss = private = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Dirty:", "Private_Clean:")):
                private += int(line.split()[1])
    return rss, private


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--links", type=int, default=256)
    parser.add_argument("--cli", default=os.environ.get("CULVERT_CLI",
                                                        "_build/engine/cli/culvert-cli"))
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="culvert-bench-memory-")
    password = "connect secret"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = {"listen": ["127.0.0.1:%d" % port], "state_dir": os.path.join(work, "state"),
              "sessions": [{"id": "bench", "share_password_hash": cheap_hash("share secret"),
                            "connect_password_hash": cheap_hash(password)}],
              "log_level": "warning"}
    with open(os.path.join(work, "gateway.json"), "w") as f:
        json.dump(config, f)
    key = os.path.join(work, "agent.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", key, "-days",
                    "1", "-subj", "/CN=bench"], check=True, capture_output=True)
    # HELLO names the key of the TLS connection: SHA-256 of its SubjectPublicKeyInfo.
    spki = subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-outform", "DER"],
                          check=True, capture_output=True).stdout
    fingerprint = "sha256:" + hashlib.sha256(spki).hexdigest()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["culvert/1"])
    context.load_cert_chain(key)

    gateway = subprocess.Popen([args.cli, "gateway", "--config",
                                os.path.join(work, "gateway.json")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    links = []
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        time.sleep(0.5)
        rss0, private0 = memory_kib(gateway.pid)
        fds0 = fd_count(gateway.pid)
        hello = json.dumps({"version": 1, "role": "connect", "session": "bench",
                            "password": password, "name": "bench", "fingerprint": fingerprint})
        started = time.monotonic()
        for i in range(args.links):
            source = "127.0.0.%d" % (1 + i // PER_ADDRESS)
            raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                                           source_address=(source, 0))
            tls = context.wrap_socket(raw)
            tls.sendall(settings() + frame(0x20, hello.encode()))
            links.append(tls)
            # One login at a time keeps every link within admission's per-address count.
            while True:
                ftype, payload = read_frame(tls)
                if ftype == 0x21:
                    break
                if ftype in (0x22, 0x0B):
                    raise RuntimeError("link %d refused: %r" % (i, payload))
        logged_in = time.monotonic() - started
        time.sleep(1.0)
        rss1, private1 = memory_kib(gateway.pid)
        fds1 = fd_count(gateway.pid)
        n = len(links)
        print("| what | value |")
        print("|---|---|")
        print("| links logged in | %d (in %.1f s) |" % (n, logged_in))
        print("| gateway VmRSS before / after | %d / %d KiB |" % (rss0, rss1))
        print("| growth per link, VmRSS | %.1f KiB |" % ((rss1 - rss0) / n))
        print("| growth per link, private memory | %.1f KiB |" % ((private1 - private0) / n))
        print("| descriptors before / after / per link | %d / %d / %.2f |"
              % (fds0, fds1, (fds1 - fds0) / n))
    finally:
        for tls in links:
            tls.close()
        gateway.terminate()
        gateway.wait(10)


if __name__ == "__main__":
    sys.exit(main())
