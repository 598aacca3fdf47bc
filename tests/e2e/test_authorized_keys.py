#!/usr/bin/env python3
"""A share agent's authorized_connect_keys: only listed connect agents open tunnels.

The key that counts is the one the connect agent proves in the tunnel's end-to-end
TLS handshake, not the one the gateway announces: a gateway announces whoever logged
in with the session's connect password, and a compromised gateway can log in itself
and announce its own key.  So the unlisted case below is also the malicious-gateway
case: from the share agent's side, "a connect agent the gateway vouches for (its key
announced, the TLS pin passes) whose key is not listed" is exactly what a gateway
posing as a connect agent looks like, and it is refused before any channel opens.
"""

import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, DataStream, Session, case, check, duplex, how_closed, run_cli,  # noqa: E402
                     run_tests, START_TIMEOUT)

# Another agent's key: well formed, held by no process here.
OTHER_KEY = "sha256:" + "5a" * 32
MIB = 1024 * 1024


def key_of(proc):
    """The key an agent presents, from its config (culvert-cli fingerprint)."""
    code, out, err = run_cli(["fingerprint", "--config", proc.config_path], timeout=10)
    check(code == 0, "fingerprint --config %s: exit %d, %r" % (proc.config_path, code, err))
    return out.strip()


def share_status(share):
    code, out, err = run_cli(["status", "--json", "--config", share.config_path])
    check(code == 0, "status --json: exit %d, %r" % (code, err))
    return json.loads(out)


def check_transfer(sock, target, size):
    """@size bytes each way at once through the tunnel, each side's stream checksummed."""
    sent, received, n = duplex(sock, DataStream("up", size), time.monotonic() + 60)
    target.wait_closed(1, 30)
    result = target.results[0]
    check(result.get("digest") == sent and result.get("received") == size,
          "the target got %r bytes with another checksum" % result.get("received"))
    check(n == target.stream.total and received == target.stream.digest(),
          "the client got %d bytes, not the stream the target sent" % n)


def start(t, keys):
    """A gateway, a connect agent (started first, so that its key exists), then a share
    agent that authorizes @keys (a function of the connect agent's key): (target, share,
    conn, connect key)."""
    session = Session("s1")
    target = t.duplex_server("target", 2 * MIB)  # its own stream: no echo could fake it
    gw = t.gateway([session])
    conn = t.connect_agent(gw, session, ["127.0.0.1:%d" % target.port], wait_share=False)
    conn_key = key_of(conn)
    share = t.share(gw, session, ["127.0.0.1:%d" % target.port],
                    extra_config={"authorized_connect_keys": keys(conn_key)})
    conn.wait_for_log(r"share agent online$", START_TIMEOUT)
    return target, share, conn, conn_key


def test_listed(t):
    """The connect agent's key is listed (among others, in the colon-paired form): the
    data flows both ways, checksummed; the status lists the keys."""
    def keys(conn_key):
        hex_digits = conn_key[len("sha256:"):]
        pairs = ":".join(hex_digits[i:i + 2] for i in range(0, len(hex_digits), 2))
        return [OTHER_KEY, "SHA256:" + pairs.upper()]

    target, share, conn, conn_key = start(t, keys)
    sock = t.connect(conn.ports[0])
    check_transfer(sock, target, 2 * MIB)
    share.wait_for_log(r"tunnel from connect agent “connect” .* open", 5)
    check(share.count(r"not in authorized_connect_keys") == 0, "a listed key was refused")

    status = share_status(share)
    check(status.get("authorized_connect_keys") == [OTHER_KEY, conn_key],
          "status authorized_connect_keys: %r" % status.get("authorized_connect_keys"))
    check([tn.get("peer_fingerprint") for tn in status.get("tunnels", [])] == [conn_key],
          "status tunnels: %r" % status.get("tunnels"))
    code, out, err = run_cli(["status", "--config", share.config_path])
    check(code == 0 and "tunnels only from the 2 connect agent keys in authorized_connect_keys"
          in out, "status: exit %d, %r, %r" % (code, out, err))


def test_unlisted(t):
    """The connect agent logged in with the right password and the gateway announces its
    key truly, but the share agent does not list it (the malicious-gateway case, see the
    module's docstring): the tunnel is refused in its TLS handshake, the target sees no
    connection, the local client is reset, and both logs say why and what to do."""
    target, share, conn, conn_key = start(t, lambda conn_key: [OTHER_KEY])
    mark = share.mark()
    sock = t.connect(conn.ports[0])
    sock.sendall(b"hello, is anyone there?")
    how, _, data = how_closed(sock, 30)
    check(how in ("reset", "eof") and data == b"",
          "the local client's connection: %s after %d bytes, expected closed with no data"
          % (how, len(data)))

    _, m, _ = share.wait_for_log(
        r"tunnel from “connect” \(127\.0\.0\.1\) refused: its key (sha256:[0-9a-f]+) is not in "
        r"authorized_connect_keys; add \"(sha256:[0-9a-f]+)\" to authorized_connect_keys if "
        r"this technician is trusted", 10, since=mark)
    check(m.group(1) == conn_key and m.group(2) == conn_key,
          "the share agent names %s / %s, the connect agent's key is %s"
          % (m.group(1), m.group(2), conn_key))
    conn.wait_for_log(r"the share agent refused our key: it is not one of the keys it "
                      r"authorizes \(its authorized_connect_keys\)", 10)
    check(share.count(r"tunnel from connect agent .* open", since=mark) == 0,
          "a tunnel opened on the share side")
    check(share.count(r"channel \d+ from", since=mark) == 0, "a channel reached the share agent")
    check(target.accepted == 0, "the target saw %d connections" % target.accepted)
    check(share_status(share).get("tunnels") == [], "the share agent lists a tunnel")


def test_absent(t):
    """Without the key (or with an empty list) any announced connect agent may connect,
    as before; the status says null."""
    target, share, conn, _ = start(t, lambda conn_key: [])
    sock = t.connect(conn.ports[0])
    check_transfer(sock, target, MIB)
    check(share_status(share).get("authorized_connect_keys") is None,
          "status authorized_connect_keys: %r, expected null"
          % share_status(share).get("authorized_connect_keys"))


def test_flag(t):
    """--authorized-connect-key replaces the file's list, as --allow replaces allow: the
    file lists another key only, the flag the connect agent's."""
    target, share, conn, conn_key = start(t, lambda conn_key: [OTHER_KEY])
    mark = conn.mark()
    share.stop()
    share = t.spawn("share-flag", [CLI, "share", "--config", share.config_path,
                                   "--authorized-connect-key", conn_key],
                    env={"CULVERT_PASSWORD": Session("s1").share_password})
    share.wait_for_log(r"share agent online in session", START_TIMEOUT)
    conn.wait_for_log(r"share agent online$", START_TIMEOUT, since=mark)
    sock = t.connect(conn.ports[0])
    check_transfer(sock, target, MIB)
    check(share.count(r"not in authorized_connect_keys") == 0, "the flag's key was refused")


def test_check_config(t):
    """check-config names the count, and refuses a malformed or repeated key by its index."""
    base = {"gateway": "127.0.0.1:1", "session": "s1", "password_env": "CULVERT_PASSWORD",
            "state_dir": t.path("state"), "allow": ["127.0.0.1:22"]}
    good = t.write_json("good.json", dict(base, authorized_connect_keys=[OTHER_KEY]))
    code, out, err = run_cli(["check-config", good], env={"CULVERT_PASSWORD": "pw"})
    check(code == 0 and out.endswith("1 authorized connect key)\n"),
          "check-config: exit %d, %r, %r" % (code, out, err))
    for keys, why in (([OTHER_KEY, "sha256:12"], r"authorized_connect_keys\[1\]: expected "),
                      ([OTHER_KEY, OTHER_KEY.upper()],
                       r"authorized_connect_keys\[1\]: expected a key not listed before")):
        bad = t.write_json("bad.json", dict(base, authorized_connect_keys=keys))
        code, out, err = run_cli(["check-config", bad], env={"CULVERT_PASSWORD": "pw"})
        check(code != 0 and re.search(why, err), "check-config %r: exit %d, %r" % (keys, code, err))


if __name__ == "__main__":
    run_tests([
        case("listed connect key: data flows, checksummed; status lists the keys", test_listed),
        case("unlisted connect key (or a gateway posing as one): refused in the handshake, "
             "the target sees nothing, both logs say why", test_unlisted),
        case("no authorized_connect_keys: as before", test_absent),
        case("--authorized-connect-key replaces the file's list", test_flag),
        case("check-config: the count; a bad or repeated key named by index", test_check_config),
    ])
