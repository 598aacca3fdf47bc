#!/usr/bin/env python3
"""One-line use: `culvert-cli gateway|share|connect` from flags alone, from a config file
with flags that override its keys, and the agents' log_level (key and flag)."""

import os
import re
import shlex
import signal
import socket
import ssl
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, START_TIMEOUT, DataStream, Session, case, check,  # noqa: E402
                     closed_within, duplex, free_port, run_cli, run_tests)

import time  # noqa: E402


def agent_config(t, gw, session, name, extra):
    """A share or connect agent's config as a dict, password from CULVERT_PASSWORD."""
    config = {
        "gateway": gw.address,
        "gateway_fingerprint": gw.fingerprint,
        "session": session.id,
        "password_env": "CULVERT_PASSWORD",
        "name": name,
        "state_dir": t.path(name + "-state"),
    }
    config.update(extra)
    return config


def spawn_agent(t, role, name, args, password):
    return t.spawn(name, [CLI, role] + args, env={"CULVERT_PASSWORD": password})


def echo_through(t, port, seed=1, total=64 * 1024):
    """Send a stream through local @port to an echo target; check it comes back whole."""
    s = t.connect(port)
    stream = DataStream(seed, total)
    sent, got, n = duplex(s, stream, time.monotonic() + 30)
    check(n == total and sent == got, "%d of %d bytes came back, digests %s / %s"
          % (n, total, sent, got))


# ---- log_level --------------------------------------------------------------------


def test_log_level_key(t):
    # warning: the share agent says nothing while all goes well; debug: the connect
    # agent tells the tunnel's details too (each channel's bytes are info).
    session = Session("s1")
    echo = t.echo_server()
    gw = t.gateway([session])
    target = "127.0.0.1:%d" % echo.port
    share_path = t.write_json("share.json", agent_config(
        t, gw, session, "share", {"allow": [target], "log_level": "warning"}))
    share = spawn_agent(t, "share", "share", ["--config", share_path], session.share_password)
    local = free_port()
    connect_path = t.write_json("connect.json", agent_config(
        t, gw, session, "connect",
        {"mappings": [{"listen": "127.0.0.1:%d" % local, "target": target}],
         "log_level": "debug"}))
    conn = spawn_agent(t, "connect", "connect", ["--config", connect_path],
                       session.connect_password)
    conn.wait_for_log(r"share agent online$", START_TIMEOUT)
    echo_through(t, local)
    conn.wait_for_log(r" info: channel \d+ from .* closed after .* bytes out", START_TIMEOUT)
    check(conn.count(r" debug: ") > 0, "at log_level debug the connect agent wrote no debug "
          "line:\n" + conn.tail())
    check(share.running(), "the share agent exited:\n" + share.tail())
    check(share.text() == "", "at log_level warning the share agent printed:\n" + share.tail())


# ---- one-line use -----------------------------------------------------------------

PRINTED = r"^  CULVERT_PASSWORD='([a-z2-7-]+)' culvert-cli %s (.*) %s$"


def flag_gateway(t, args, name="gateway", env=None):
    """`culvert-cli gateway` with @args; waits until it listens.  Returns (proc, port)."""
    port = free_port()
    gw = t.spawn(name, [CLI, "gateway", "--listen", "127.0.0.1:%d" % port,
                        "--state-dir", t.path(name + "-state")] + args, env=env)
    gw.wait_for_log(r"listening on 127\.0\.0\.1 port %d" % port, START_TIMEOUT)
    return gw, port


def printed_command(gw, role, placeholder):
    """The password and the flags the gateway printed for @role's agent."""
    _, m, _ = gw.wait_for_log(PRINTED % (role, re.escape(placeholder)), START_TIMEOUT)
    return m.group(1), shlex.split(m.group(2))


def test_all_from_flags(t):
    # Not one file: the gateway makes the passwords and prints the agents' commands,
    # which run as printed with the service in place of the placeholder.
    echo = t.echo_server()
    target = "localhost:%d" % echo.port
    gw, port = flag_gateway(t, ["--session", "demo"])
    share_pw, share_args = printed_command(gw, "share", "--allow HOST:PORT")
    connect_pw, connect_args = printed_command(gw, "connect", "-L LOCAL_PORT:HOST:PORT")
    check(share_pw != connect_pw and len(share_pw.replace("-", "")) >= 26,
          "weak or equal passwords: %r, %r" % (share_pw, connect_pw))
    _, m, _ = gw.wait_for_log(r"gateway key fingerprint: (sha256:[0-9a-f]+)", START_TIMEOUT)
    check(share_args == ["--gateway", "127.0.0.1:%d" % port, "--fingerprint", m.group(1),
                         "--session", "demo"], "printed share flags: %r" % share_args)
    check(gw.count(re.escape(share_pw)) == 1, "the share password was printed more than once")

    share = spawn_agent(t, "share", "share", share_args + [
        "--allow", target, "--state-dir", t.path("share-state")], share_pw)
    share.wait_for_log(r"share agent online in session", START_TIMEOUT)
    local = free_port()
    conn = spawn_agent(t, "connect", "connect", connect_args + [
        "-L", "%d:%s" % (local, target), "--state-dir", t.path("connect-state")], connect_pw)
    conn.wait_for_log(r"share agent online$", START_TIMEOUT)
    echo_through(t, local)


def test_gateway_file_plus_session_flag(t):
    # --session adds to the file's sessions; env supplies its passwords.
    s1 = Session("s1")
    gw_file = t.gateway([s1], start=False)
    env = {"CULVERT_SHARE_PASSWORD": "flag-share-pw", "CULVERT_CONNECT_PASSWORD": "flag-conn-pw"}
    gw = t.spawn("gateway", [CLI, "gateway", "--config", gw_file.config_path, "--session", "s2",
                             "--session-passwords", "env"], env=env)
    _, m, _ = gw.wait_for_log(r"gateway key fingerprint: (sha256:[0-9a-f]+)", START_TIMEOUT)
    gw.wait_for_log(r"listening on", START_TIMEOUT)
    fingerprint = m.group(1)
    common = ["--gateway", gw_file.address, "--fingerprint", fingerprint]
    echo = t.echo_server()
    target = "127.0.0.1:%d" % echo.port
    for session, password in (("s1", s1.share_password), ("s2", "flag-share-pw")):
        p = spawn_agent(t, "share", "share-" + session, common + [
            "--session", session, "--allow", target,
            "--state-dir", t.path("share-%s-state" % session)], password)
        p.wait_for_log(r"share agent online in session", START_TIMEOUT)
    check("CULVERT_PASSWORD=" not in gw.text(), "passwords from env were printed:\n" + gw.tail())
    # A reload reads the file again and keeps the flag's session, with the same passwords.
    mark = gw.mark()
    gw.signal(signal.SIGHUP)
    _, m, _ = gw.wait_for_log(r"configuration reloaded: (\d+) sessions, (\d+) removed",
                              START_TIMEOUT, since=mark)
    check(m.group(1, 2) == ("2", "0"), "after SIGHUP: %s" % m.group(0))
    conn = spawn_agent(t, "connect", "connect-s2", common + [
        "--session", "s2", "-L", "%d:%s" % (free_port(), target),
        "--state-dir", t.path("connect-s2-state")], "flag-conn-pw")
    conn.wait_for_log(r"share agent online$", START_TIMEOUT)


def test_flags_override_file(t):
    # Over a config file: --allow and -L replace the file's lists (the file's mapping
    # does not listen, its allowed target is refused), --log-level replaces log_level.
    session = Session("s1")
    echo = t.echo_server()
    other = t.echo_server()
    gw = t.gateway([session])
    target = "127.0.0.1:%d" % echo.port
    share_path = t.write_json("share.json", agent_config(
        t, gw, session, "share", {"allow": ["127.0.0.1:%d" % other.port], "log_level": "debug"}))
    share = spawn_agent(t, "share", "share", ["--config", share_path, "--allow", target,
                                              "--log-level", "warning"], session.share_password)
    file_port, flag_port = free_port(), free_port()
    connect_path = t.write_json("connect.json", agent_config(
        t, gw, session, "connect",
        {"mappings": [{"listen": "127.0.0.1:%d" % file_port,
                       "target": "127.0.0.1:%d" % other.port}]}))
    conn = spawn_agent(t, "connect", "connect",
                       ["--config", connect_path, "-L", "127.0.0.1:%d:%s" % (flag_port, target),
                        "-L", "%d:127.0.0.1:%d" % (free_port(), other.port)],
                       session.connect_password)
    conn.wait_for_log(r"share agent online$", START_TIMEOUT)
    echo_through(t, flag_port)
    check(conn.count(r"mapping 127\.0\.0\.1:%d " % file_port) == 0,
          "the file's mapping is still there:\n" + conn.tail())
    # The file's allowed target is no longer allowed: the share agent refuses it.
    other_port = conn.matches(r"mapping 127\.0\.0\.1:(\d+) .*%d" % other.port)
    check(len(other_port) == 1, "no mapping to the other target:\n" + conn.tail())
    s = t.connect(int(other_port[0][1].group(1)))
    check(closed_within(s, 10), "a target the flags no longer allow was reached")
    check(other.accepted == 0, "the share agent dialled a target the flags replaced")
    check(share.text() == "", "--log-level warning over the file's debug still printed:\n"
          + share.tail())


def test_bad_flags(t):
    cases = [
        (["connect", "-g", "127.0.0.1:1", "-s", "x", "-L", "localhost:5900"],
         "-L: expected [HOST:]PORT:TARGET_HOST:TARGET_PORT"),
        (["connect", "-g", "127.0.0.1:1", "-s", "x", "-L", "5920:[::1:5900"],
         "-L: expected"),
        (["share", "--session", "x", "--allow", "localhost:22"],
         "--gateway HOST:PORT is required (or --config FILE)"),
        (["connect", "--gateway", "127.0.0.1:1", "--session", "x"],
         "-L [HOST:]PORT:TARGET_HOST:PORT or --map [HOST:]PORT:NAME is required"),
        (["share", "--gateway", "h:1", "--session", "x", "--offer", "vnc"],
         "--offer: expected NAME=HOST:PORT, got \"vnc\""),
        (["share", "--gateway", "h:1", "--session", "x", "--offer", "VNC=h:1"],
         "--offer: expected a service name"),
        (["share", "--gateway", "h:1", "--session", "x", "--offer", "vnc=h:1", "--allow", "h:2"],
         "expected --allow or --offer, got both"),
        (["connect", "--gateway", "h:1", "--session", "x", "--map", "5920"],
         "--map: expected [HOST:]PORT:NAME"),
        (["connect", "--gateway", "h:1", "--session", "x", "--map", "70000:vnc"],
         "--map: "),
        (["share", "--gateway", "nohost", "--session", "x", "--allow", "localhost:22"],
         "--gateway: expected host:port"),
        (["share", "--log-level", "loud", "--gateway", "h:1", "--session", "x", "--allow", "h:2"],
         "--log-level: expected error, warning, info or debug"),
        (["share", "--gateway", "h:1", "--session", "x", "--allow", "h:2",
          "--password-env", "A", "--password-stdin"],
         "expected one of --password-file, --password-env and --password-stdin"),
        (["share", "--gateway", "h:1", "--session", "x", "--allow", "h:2",
          "--authorized-connect-key", "sha256:12"],
         "--authorized-connect-key: expected \"sha256:\" and 64 hex digits"),
        (["gateway", "--listen", "127.0.0.1:1"], "--session ID is required (or --config FILE)"),
        (["gateway", "--session", "a", "--session", "b", "--session-passwords", "env"],
         "--session-passwords env reads one session's passwords"),
        (["gateway", "--session", "a", "--cert", "/nonexistent.pem"],
         "--cert FILE and --key FILE go together"),
        (["gateway", "--session", "a", "--websocket-listen", "8080"],
         "--websocket-listen: expected host:port"),
    ]
    for args, expected in cases:
        status, out, err = run_cli(args, timeout=10)
        check(status == 2, "%s: exit %d, expected 2; %r" % (args, status, err))
        check(expected in err, "%s: %r does not say %r" % (args, err, expected))
    # A password on the command line: refused, saying why, and never repeated.
    for args in (["share", "--password=s3cret-pw"], ["connect", "--password", "s3cret-pw"],
                 ["gateway", "--session", "a", "--share-password=s3cret-pw"]):
        status, out, err = run_cli(args, timeout=10)
        check(status == 2, "%s: exit %d, expected 2" % (args, status))
        check("never taken from the command line" in err, "%s: unclear error %r" % (args, err))
        check("s3cret" not in out + err, "%s: the password is repeated: %r" % (args, err))
    # A password typed where the source of the passwords goes: not repeated either.
    status, out, err = run_cli(["gateway", "--session", "a", "--session-passwords", "s3cret-pw"],
                               timeout=10)
    check(status == 2 and "expected generate, env or stdin" in err and "s3cret" not in out + err,
          "--session-passwords with a password: exit %d, %r" % (status, err))
    # The same password for both sides would let whoever shares also connect.
    status, out, err = run_cli(["gateway", "--session", "a", "--session-passwords", "env"],
                               env={"CULVERT_SHARE_PASSWORD": "same-pw",
                                    "CULVERT_CONNECT_PASSWORD": "same-pw"}, timeout=10)
    check(status == 2 and "the share and connect passwords are the same" in err,
          "equal passwords: exit %d, %r" % (status, err))


def http_request(port, request, tls=False):
    """@request written to 127.0.0.1:@port (HTTPS with ALPN http/1.1, no certificate
    checked: the gateway's own, self-signed), the response's head read."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
        sock = context.wrap_socket(sock)
    with sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return head.decode(errors="replace")


UPGRADE = ("GET /culvert HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def test_websocket_listen_flag(t):
    # --websocket-listen: plain-HTTP upgrades on that address; the TLS port takes them too.
    web = free_port()
    gw, port = flag_gateway(t, ["--session", "demo", "--websocket-listen", "127.0.0.1:%d" % web])
    gw.wait_for_log(r"plain-HTTP WebSocket upgrades on 127\.0\.0\.1 port %d, path /culvert"
                    % web, START_TIMEOUT)
    head = http_request(web, "GET /culvert HTTP/1.1\r\nHost: x\r\n\r\n")
    check(head.startswith("HTTP/1.1 426 "), "plain GET: %r" % head)
    head = http_request(web, UPGRADE)
    check(head.startswith("HTTP/1.1 101 ") and "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head,
          "upgrade: %r" % head)
    head = http_request(port, UPGRADE, tls=True)
    check(head.startswith("HTTP/1.1 101 "), "upgrade over HTTPS: %r" % head)
    check(gw.running(), "the gateway exited:\n" + gw.tail())


MAN_PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                        "culvert-cli.1")


def test_every_flag_documented(t):
    # Every flag in a role's --help is in the man page (as roff writes "--": "\-\-").
    with open(MAN_PAGE) as f:
        man = f.read().replace("\\-", "-")
    for role in ("gateway", "share", "connect"):
        status, out, err = run_cli([role, "--help"], timeout=10)
        check(status == 0, "%s --help exited %d" % (role, status))
        flags = re.findall(r"^  (?:-\w, )?(--[a-z-]+)", out, re.MULTILINE)
        check("--config" in flags and len(flags) > 5, "%s --help lists %r" % (role, flags))
        missing = [f for f in flags if f != "--help" and f not in man]
        check(not missing, "%s: not in the man page: %s" % (role, missing))


run_tests([
    case("log_level key: warning is quiet, debug tells bytes", test_log_level_key),
    case("gateway, share and connect from flags alone", test_all_from_flags),
    case("gateway --config plus --session (passwords from env)",
         test_gateway_file_plus_session_flag),
    case("flags override the file: --allow, -L, --log-level", test_flags_override_file),
    case("gateway --websocket-listen: plain and HTTPS upgrades", test_websocket_listen_flag),
    case("bad flags: exit 2 with one clear line", test_bad_flags),
    case("every flag is in the man page", test_every_flag_documented),
])
