#!/usr/bin/env python3
"""`culvert-cli status` and the admin sockets: real gateway, share and connect agents with a
tunnel carrying data; the table and the JSON of each; the socket's mode; a stale socket
replaced, a live one left alone; and what status says when nothing runs."""

import json
import os
import socket
import stat
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Session, case, check, echo_through, run_cli, run_tests,  # noqa: E402
                     START_TIMEOUT)

PAYLOAD = 300000


def status_json(*args):
    code, out, err = run_cli(["status", "--json"] + list(args))
    check(code == 0, "status --json %s: exit %d: %s" % (" ".join(args), code, err))
    return json.loads(out)


def wait_status(args, predicate, what, timeout=10):
    """The status document once @predicate holds of it; bounded."""
    deadline = time.monotonic() + timeout
    while True:
        doc = status_json(*args)
        if predicate(doc):
            return doc
        if time.monotonic() > deadline:
            raise AssertionError("status never showed %s:\n%s" % (what, json.dumps(doc, indent=1)))
        time.sleep(0.1)


def check_private_socket(path):
    st = os.lstat(path)
    check(stat.S_ISSOCK(st.st_mode), "%s is not a socket" % path)
    check(stat.S_IMODE(st.st_mode) == 0o600,
          "%s has mode %o, expected 600" % (path, stat.S_IMODE(st.st_mode)))


def test_status_of_each_role(t):
    target = t.echo_server()
    gw, share, conn = t.pair(allow=["127.0.0.1:%d" % target.port],
                             mappings=["127.0.0.1:%d" % target.port])
    echo_through(t, conn.ports[0], os.urandom(PAYLOAD))

    for state_dir, role in ((gw.state_dir, "gateway"), (share.state_dir, "share"),
                            (conn.state_dir, "connect")):
        check_private_socket(os.path.join(state_dir, role + ".sock"))

    # The gateway: the session, both agents with names, addresses and keys, the tunnel.
    doc = wait_status(["--config", gw.config_path],
                      lambda d: d["tunnels"] and d["tunnels"][0]["bytes_connect_to_share"] > PAYLOAD,
                      "the tunnel's bytes")
    check(doc["role"] == "gateway" and doc["fingerprint"] == gw.fingerprint,
          "gateway status: role %r, key %r" % (doc["role"], doc["fingerprint"]))
    check(doc["listeners"] == [{"host": "127.0.0.1", "port": gw.port}],
          "listeners: %r" % doc["listeners"])
    check(doc["uptime_s"] >= 0 and doc["started"], "no uptime: %r" % doc)
    sessions = doc["sessions"]
    check([s["id"] for s in sessions] == ["s1"], "sessions: %r" % sessions)
    s1 = sessions[0]
    check(s1["share"] is not None and s1["share"]["name"] == "share"
          and s1["share"]["role"] == "share", "share agent: %r" % s1["share"])
    check(len(s1["connects"]) == 1 and s1["connects"][0]["name"] == "connect",
          "connect agents: %r" % s1["connects"])
    for agent in [s1["share"]] + s1["connects"]:
        check(agent["fingerprint"].startswith("sha256:") and agent["address"] == "127.0.0.1"
              and agent["since"], "agent: %r" % agent)
    tunnel = doc["tunnels"][0]
    check(tunnel["session"] == "s1"
          and tunnel["connect_fingerprint"] == s1["connects"][0]["fingerprint"],
          "tunnel: %r" % tunnel)
    check(tunnel["bytes_share_to_connect"] > PAYLOAD, "tunnel bytes: %r" % tunnel)
    check(doc["totals"]["links"] == 2 and doc["totals"]["tunnels"] == 1
          and doc["totals"]["sessions_online"] == 1, "totals: %r" % doc["totals"])

    # The share agent: its link, allow list, bytes; its key is the one the gateway saw.
    sdoc = wait_status(["--config", share.config_path],
                       lambda d: d["bytes_in"] >= PAYLOAD and d["bytes_out"] >= PAYLOAD,
                       "the share agent's bytes")
    check(sdoc["role"] == "share" and sdoc["name"] == "share" and sdoc["session"] == "s1",
          "share status: %r" % sdoc)
    check(sdoc["fingerprint"] == s1["share"]["fingerprint"],
          "the share agent's key %s, the gateway saw %s"
          % (sdoc["fingerprint"], s1["share"]["fingerprint"]))
    check(sdoc["link"]["state"] == "online" and sdoc["gateway"]["fingerprint"] == gw.fingerprint
          and sdoc["gateway"]["address"] == gw.address, "share link: %r" % sdoc)
    check(sdoc["allow"] == ["127.0.0.1:%d" % target.port], "allow: %r" % sdoc["allow"])
    check(len(sdoc["tunnels"]) == 1 and sdoc["tunnels"][0]["peer_name"] == "connect",
          "share tunnels: %r" % sdoc["tunnels"])

    # The connect agent: the share agent online, the tunnel, the mapping's bytes.
    cdoc = wait_status(["--config", conn.config_path],
                       lambda d: d["mappings"][0]["bytes_out"] >= PAYLOAD
                       and d["mappings"][0]["bytes_in"] >= PAYLOAD, "the mapping's bytes")
    check(cdoc["role"] == "connect" and cdoc["name"] == "connect", "connect: %r" % cdoc)
    check(cdoc["fingerprint"] == s1["connects"][0]["fingerprint"], "connect key: %r" % cdoc)
    check(cdoc["share"] == {"online": True, "name": "share",
                            "fingerprint": s1["share"]["fingerprint"]},
          "share as the connect agent sees it: %r" % cdoc["share"])
    check(cdoc["tunnel"]["open"] is True, "tunnel: %r" % cdoc["tunnel"])
    mapping = cdoc["mappings"][0]
    check(mapping["listen"] == "127.0.0.1:%d" % conn.ports[0]
          and mapping["bound_port"] == conn.ports[0]
          and mapping["target"] == "127.0.0.1:%d" % target.port and mapping["listening"],
          "mapping: %r" % mapping)

    # The tables, as a person reads them.
    code, out, err = run_cli(["status", "--config", gw.config_path])
    check(code == 0, "status (gateway): exit %d: %s" % (code, err))
    t.note(out)
    for needle in ("gateway, culvert", gw.fingerprint, "listening on 127.0.0.1 port %d" % gw.port,
                   "Sessions", "Tunnels", s1["share"]["fingerprint"],
                   s1["connects"][0]["fingerprint"]):
        check(needle in out, "the gateway's table lacks %r:\n%s" % (needle, out))
    check(any(line.split()[:3] == ["s1", "share", "share"] for line in out.splitlines()),
          "no row for the share agent:\n%s" % out)
    check(any(line.split()[:2] == ["connect", "connect"] for line in out.splitlines()),
          "no row for the connect agent:\n%s" % out)
    check(any(line.split()[:1] == ["s1"] and "KiB" in line for line in
              out.split("Tunnels")[1].splitlines()), "no tunnel row:\n%s" % out)

    code, out, err = run_cli(["status", "--state-dir", share.state_dir, "--role", "share"])
    check(code == 0, "status (share): exit %d: %s" % (code, err))
    t.note(out)
    for needle in ("share agent “share” in session s1", "link: online",
                   "allows: 127.0.0.1:%d" % target.port, "KiB"):
        check(needle in out, "the share agent's table lacks %r:\n%s" % (needle, out))
    check(out.count("share agent “share” in session s1") == 1,
          "status --state-dir printed the share agent more than once:\n%s" % out)

    code, out, err = run_cli(["status", "--socket", os.path.join(conn.state_dir, "connect.sock")])
    check(code == 0, "status (connect): exit %d: %s" % (code, err))
    t.note(out)
    for needle in ("connect agent “connect” in session s1", "share agent: “share” online",
                   "tunnel: open", "127.0.0.1:%d" % conn.ports[0],
                   "listening on port %d" % conn.ports[0], "KiB"):
        check(needle in out, "the connect agent's table lacks %r:\n%s" % (needle, out))

    # A clean stop takes the socket with it.
    for proc, state_dir, role in ((conn, conn.state_dir, "connect"),
                                  (share, share.state_dir, "share"),
                                  (gw.proc, gw.state_dir, "gateway")):
        proc.stop()
        check(proc.popen.returncode == 0, "the %s exited %r" % (role, proc.popen.returncode))
        check(not os.path.lexists(os.path.join(state_dir, role + ".sock")),
              "the %s left its socket behind" % role)


def test_agent_refused(t):
    """A refused agent's status says so, and when it tries next."""
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:1"], password="wrong", wait_online=False)
    share.wait_for_log(r"refused:", START_TIMEOUT)
    doc = status_json("--config", share.config_path)
    check(doc["link"]["state"] == "refused" and doc["link"]["refusal"] == "bad-password"
          and doc["link"]["next_retry"], "link: %r" % doc["link"])
    code, out, err = run_cli(["status", "--config", share.config_path])
    check(code == 0 and "link: refused, refused: bad-password" in out and "next try in" in out,
          "table: %d %s %s" % (code, out, err))


def test_stale_socket_replaced(t):
    s1 = Session("s1")
    gw = t.gateway([s1], start=False)
    os.makedirs(gw.state_dir, mode=0o700)
    path = os.path.join(gw.state_dir, "gateway.sock")
    # What a killed gateway leaves: a socket file nothing listens on.
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()
    code, _, err = run_cli(["status", "--state-dir", gw.state_dir, "--role", "gateway"])
    check(code == 1 and "no gateway is running with state dir %s" % gw.state_dir in err
          and "nothing answers" in err, "status on a stale socket: %d %s" % (code, err))
    gw.start()
    gw.proc.wait_for_log(r"status: culvert-cli status --socket " + path, START_TIMEOUT)
    check_private_socket(path)
    doc = status_json("--socket", path)
    check(doc["role"] == "gateway" and doc["fingerprint"] == gw.fingerprint, "doc: %r" % doc)


def test_live_socket_not_stolen(t):
    s1 = Session("s1")
    gw = t.gateway([s1], start=False)
    os.makedirs(gw.state_dir, mode=0o700)
    path = os.path.join(gw.state_dir, "gateway.sock")
    live = t.add(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    live.bind(path)
    live.listen(1)
    inode = os.lstat(path).st_ino
    gw.start()
    gw.proc.wait_for_log(r"status is off for this process: another running process answers "
                         r"on " + path, START_TIMEOUT)
    check(os.lstat(path).st_ino == inode, "the gateway replaced a live process's socket")
    # The gateway itself runs on.
    share = t.share(gw, s1, ["127.0.0.1:1"])
    check(share.running(), "the share agent did not stay up")
    gw.proc.stop()
    check(os.lstat(path).st_ino == inode, "the gateway removed a socket that was not its own")


def test_admin_socket_key(t):
    s1 = Session("s1")
    gw = t.gateway([s1], start=False)
    with open(gw.config_path) as f:
        config = json.load(f)
    custom = t.path("gw-admin.sock")
    config["admin_socket"] = custom
    with open(gw.config_path, "w") as f:
        json.dump(config, f)
    gw.start()
    gw.proc.wait_for_log(r"status: culvert-cli status --socket " + custom, START_TIMEOUT)
    check_private_socket(custom)
    check(status_json("--config", gw.config_path)["role"] == "gateway", "status via the key")

    # false: no socket at all, and status says why.
    share_cfg = t.path("share-off.json")
    share = t.share(gw, s1, ["127.0.0.1:1"])
    with open(share.config_path) as f:
        config = json.load(f)
    config["admin_socket"] = False
    config["state_dir"] = t.path("off-state")
    with open(share_cfg, "w") as f:
        json.dump(config, f)
    code, _, err = run_cli(["check-config", share_cfg])
    check(code == 0, "admin_socket false is refused: %s" % err)
    code, _, err = run_cli(["status", "--config", share_cfg])
    check(code == 1 and "turns status off" in err, "status on admin_socket false: %d %s"
          % (code, err))
    config["admin_socket"] = True
    with open(share_cfg, "w") as f:
        json.dump(config, f)
    code, _, err = run_cli(["check-config", share_cfg])
    check(code == 2 and "admin_socket: expected a socket path or false, got true" in err,
          "admin_socket true: %d %s" % (code, err))


def test_usage_errors(t):
    """--role only with --state-dir; --json needs one role when several run there."""
    s1 = Session("s1")
    gw = t.gateway([s1])
    shared = t.path("shared-state")
    code, _, err = run_cli(["status", "--socket", os.path.join(gw.state_dir, "gateway.sock"),
                            "--role", "share"])
    check(code == 2 and "--role goes with --state-dir" in err, "--socket --role: %d %r"
          % (code, err))
    # A share and a connect agent may share a state dir: both answer, one table each.
    s2 = t.share(gw, s1, ["127.0.0.1:1"], name="share-shared", state_dir=shared)
    c2 = t.connect_agent(gw, s1, ["127.0.0.1:1"], name="connect-shared", state_dir=shared)
    code, out, err = run_cli(["status", "--state-dir", shared])
    check(code == 0 and out.count(" in session s1, culvert ") == 2,
          "status of a shared state dir: %d %r %r" % (code, out, err))
    code, out, err = run_cli(["status", "--state-dir", shared, "--json"])
    check(code == 2 and "give --role with --json" in err and out == "",
          "status --json of two roles: %d %r" % (code, err))
    code, out, err = run_cli(["status", "--state-dir", shared, "--json", "--role", "connect"])
    check(code == 0 and json.loads(out)["role"] == "connect", "status --json --role: %d %r"
          % (code, err))
    for p in (s2, c2):
        p.stop()


def test_nothing_running(t):
    empty = t.path("empty-state")
    os.makedirs(empty)
    code, out, err = run_cli(["status", "--state-dir", empty])
    check(code == 1 and out == "" and "no gateway or agent is running with state dir %s" % empty
          in err, "status with nothing running: %d %r %r" % (code, out, err))
    code, out, err = run_cli(["status", "--state-dir", empty, "--role", "gateway"])
    check(code == 1 and "no gateway is running with state dir %s (no socket at %s)"
          % (empty, os.path.join(empty, "gateway.sock")) in err
          and err.count("no gateway is running") == 1,
          "status --role gateway with nothing running: %d %r" % (code, err))
    code, out, err = run_cli(["status", "--socket", os.path.join(empty, "x.sock")])
    check(code == 1 and "nothing is running at" in err, "status --socket: %d %r" % (code, err))


run_tests([
    case("status of a gateway, a share and a connect agent with a tunnel",
         test_status_of_each_role),
    case("status of a refused agent", test_agent_refused),
    case("status: --role only with --state-dir, --json of one role", test_usage_errors),
    case("a stale socket is replaced", test_stale_socket_replaced),
    case("a live process's socket is not stolen", test_live_socket_not_stolen),
    case("admin_socket: a path, or false", test_admin_socket_key),
    case("status with nothing running", test_nothing_running),
])
