#!/usr/bin/env python3
"""Signals to the gateway: SIGTERM stops it cleanly and the agents hear why; SIGHUP loads
new sessions without disturbing the tunnels that are up."""

import json
import os
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (DataStream, Session, case, check, duplex, recv_all, run_tests)  # noqa: E402

MIB = 1024 * 1024


def echo_through(t, port, payload):
    sock = t.connect(port)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    got = recv_all(sock, time.monotonic() + 10)
    check(got == payload, "echo: got %d bytes back, sent %d" % (len(got), len(payload)))


def test_sigterm(t):
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port])
    echo_through(t, conn.ports[0], b"before SIGTERM")
    marks = {p.name: p.mark() for p in (share, conn)}
    started = time.monotonic()
    gw.proc.signal(signal.SIGTERM)
    status = gw.proc.wait(3.0)
    elapsed = time.monotonic() - started
    t.note("the gateway exited %d after %.2f s" % (status, elapsed))
    check(status == 0, "the gateway exited %d after SIGTERM, expected 0" % status)
    gw.proc.wait_for_log(r"shutting down", 1)
    for p in (share, conn):
        _, m, _ = p.wait_for_log(r"shutting-down", 3, since=marks[p.name])
        t.note(m.string)
    time.sleep(0.5)
    check(share.running() and conn.running(), "an agent exited when the gateway went away")
    # And the agents themselves stop cleanly on SIGTERM, gateway or not.
    for p in (share, conn):
        p.signal(signal.SIGTERM)
    for p in (share, conn):
        status = p.wait(3.0)
        check(status == 0, "%s exited %d after SIGTERM, expected 0" % (p.name, status))


def test_sighup_adds_session(t):
    # The long transfer: the target sends 24 MiB at 4 MiB/s (6 s) while reading 24 MiB.
    slow = t.duplex_server(seed="slow", total=24 * MIB, rate=4 * MIB)
    echo = t.echo_server()
    s1, s2 = Session("s1"), Session("s2")
    gw = t.gateway([s1])
    allow = ["127.0.0.1:%d" % slow.port, "127.0.0.1:%d" % echo.port]
    share1 = t.share(gw, s1, allow, name="share-s1")
    conn1 = t.connect_agent(gw, s1, ["127.0.0.1:%d" % slow.port], name="connect-s1")
    marks = {p.name: p.mark() for p in (share1, conn1)}

    result = {}

    def long_transfer():
        try:
            sock = t.connect(conn1.ports[0])
            result["r"] = duplex(sock, DataStream("client", 24 * MIB), time.monotonic() + 60)
            result["done"] = time.monotonic()
        except Exception as e:
            result["error"] = e

    th = threading.Thread(target=long_transfer, daemon=True)
    th.start()
    share1.wait_for_log(r"channel \d+ from .* open", 5)
    time.sleep(1.0)

    t.rewrite_gateway_config(gw, [s1, s2])
    gw.proc.signal(signal.SIGHUP)
    reloaded, _, _ = gw.proc.wait_for_log(r"configuration reloaded: 2 sessions, 0 removed", 5)
    share2 = t.share(gw, s2, ["127.0.0.1:%d" % echo.port], name="share-s2")
    conn2 = t.connect_agent(gw, s2, ["127.0.0.1:%d" % echo.port], name="connect-s2")
    echo_through(t, conn2.ports[0], os.urandom(1 * MIB))
    new_pair_ok = time.monotonic()
    check("done" not in result and th.is_alive(),
          "the long transfer ended before the new session was tried: no overlap to test")

    th.join(60)
    check(not th.is_alive(), "the long transfer did not finish")
    if "error" in result:
        raise result["error"]
    sent, got, n = result["r"]
    slow.wait_closed(1, 10)
    r = slow.results[0]
    check(n == 24 * MIB and got == r["sent_digest"],
          "target→client: %d bytes, sha256 %s, expected %d bytes, sha256 %s"
          % (n, got, 24 * MIB, r["sent_digest"]))
    check(r["received"] == 24 * MIB and r["digest"] == sent,
          "client→target: %d bytes arrived, digest %s" % (r["received"],
                                                          "ok" if r["digest"] == sent else "bad"))
    t.note("reload at +0, new session worked at +%.1f s, the long transfer finished at +%.1f s"
           % (new_pair_ok - reloaded, result["done"] - reloaded))
    for p in (share1, conn1):
        check(p.count(r"retrying", marks[p.name]) == 0,
              "%s lost its link during the reload:\n%s" % (p.name, p.tail(5)))
    check(gw.proc.count(r"session s1: tunnel closed") == 0
          and gw.proc.count(r"session s1: tunnel joined") == 1,
          "the old session's tunnel was cut or remade by the reload")


def test_sighup_bad_config(t):
    """A reload with a broken config keeps the running one; nothing is disturbed."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port])
    with open(gw.config_path) as f:
        good = json.load(f)
    good["sessions"][0]["share_password_hash"] = "not a hash"
    with open(gw.config_path, "w") as f:
        json.dump(good, f)
    gw.proc.signal(signal.SIGHUP)
    _, m, _ = gw.proc.wait_for_log(r"reload failed, keeping the running configuration", 5)
    check(gw.config_path in m.string and "share_password_hash" in m.string,
          "the reload error does not name the file and the key: %s" % m.string)
    echo_through(t, conn.ports[0], b"still fine")
    check(gw.proc.running(), "the gateway exited")


def write_private_json(path, obj):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f)


def test_sighup_rereads_sessions_file(t):
    """The sessions (and their hashes) in a file of mode 0600 named by "sessions_file", as
    the unit's LoadCredential= hands them over: agents log in, and a SIGHUP reads it again."""
    target = t.echo_server()
    s1, s2 = Session("s1"), Session("s2")
    gw = t.gateway([], start=False)
    write_private_json(t.path("sessions.json"), {"sessions": [s1.config()]})
    with open(gw.config_path) as f:
        config = json.load(f)
    del config["sessions"]
    config["sessions_file"] = "sessions.json"  # relative to the config's folder
    with open(gw.config_path, "w") as f:
        json.dump(config, f)
    gw.start()
    allow = ["127.0.0.1:%d" % target.port]
    t.share(gw, s1, allow, name="share-s1")
    conn1 = t.connect_agent(gw, s1, allow, name="connect-s1")
    echo_through(t, conn1.ports[0], b"from the sessions file")

    write_private_json(t.path("sessions.json"), {"sessions": [s1.config(), s2.config()]})
    gw.proc.signal(signal.SIGHUP)
    gw.proc.wait_for_log(r"configuration reloaded: 2 sessions, 0 removed", 5)
    t.share(gw, s2, allow, name="share-s2")
    conn2 = t.connect_agent(gw, s2, allow, name="connect-s2")
    echo_through(t, conn2.ports[0], b"a session added to the sessions file")

    # Readable by others: the reload is refused and says why.
    os.chmod(t.path("sessions.json"), 0o644)
    gw.proc.signal(signal.SIGHUP)
    _, m, _ = gw.proc.wait_for_log(r"reload failed, keeping the running configuration", 5)
    check("sessions_file" in m.string and "only its owner can read" in m.string,
          "the reload error does not say the sessions file is too open: %s" % m.string)
    echo_through(t, conn1.ports[0], b"still fine")


def test_signals_caught_from_the_start(t):
    """A SIGHUP right after "listening on" must reload, not kill (systemd's ExecReload
    does not wait for start-up).  strace slows every rt_sigaction by 300 ms, so a
    gateway that installs its handlers after it starts listening is caught out every
    time, not once in a while."""
    import shutil
    import subprocess
    from harness import CLI
    if shutil.which("strace") is None or subprocess.run(
            ["strace", "-qq", "-o", "/dev/null", "true"]).returncode != 0:
        t.note("SKIP: strace is missing or may not trace here")
        return
    gw = t.gateway([Session("s1")], start=False)
    proc = t.spawn("gateway", ["strace", "-f", "-qq", "-o", "/dev/null",
                               "-e", "inject=rt_sigaction:delay_enter=300000",
                               CLI, "gateway", "--config", gw.config_path])
    proc.wait_for_log(r"listening on 127\.0\.0\.1 port", 20)
    # The signal goes to the gateway itself, strace's child, not to strace.
    with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
        gateway_pid = int(f.read().split()[0])
    try:
        os.kill(gateway_pid, signal.SIGHUP)
        proc.wait_for_log(r"configuration reloaded", 10)
        check(proc.running(), "the gateway died of a SIGHUP sent right after it started listening")
    finally:
        # A grandchild: stopping strace would leave it running.
        try:
            os.kill(gateway_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    run_tests([
        case("SIGTERM: the gateway exits 0 within 3 s, agents log shutting-down (and exit 0 on theirs)",
             test_sigterm),
        case("SIGHUP adding a session: a new pair works while an old tunnel keeps transferring",
             test_sighup_adds_session),
        case("SIGHUP with a broken config: the running one stays, with a clear error",
             test_sighup_bad_config),
        case("SIGHUP re-reads a sessions_file of mode 0600, and refuses one others can read",
             test_sighup_rereads_sessions_file),
        case("signals are caught from the first moment: SIGHUP right after start-up reloads",
             test_signals_caught_from_the_start),
    ])
