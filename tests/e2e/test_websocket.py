#!/usr/bin/env python3
"""The WebSocket transport end to end: agents through a real nginx (TLS terminated there,
plain WebSocket to the gateway's websocket_listen), straight to the gateway's TLS port,
mixed with raw halves, through a real HTTP proxy (tinyproxy), and the gateway against a
third-party WebSocket client (Node's ws) and hand-made malformed frames."""

import hashlib
import os
import signal
import socket
import ssl
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (START_TIMEOUT, DataStream, Gateway, Session, case, check,  # noqa: E402
                     duplex, echo_through, free_port, run_tests)
from test_channels import half_close_round  # noqa: E402
from test_integrity import many_at_once, rss_mib  # noqa: E402
from web import (WS_PATH, Certificate, TinyProxy, node_client, start_nginx,  # noqa: E402
                 wait_listening)

MIB = 1024 * 1024
BIG = int(os.environ.get("CULVERT_E2E_BIG_MIB", "256")) * MIB
N_CONNS = 200
PER_CONN = 256 * 1024
BACK_WITHIN = 5.0  # the agents' backoff is capped at 3 s

# The Node cases' gateway: pings every 300 ms, and a pong missed for 1.5 s ends the
# link, so a client still open after 3 s has answered them.
FAST_PINGS = {"websocket_ping_interval_ms": 300, "websocket_pong_timeout_ms": 1500}
MAX_MESSAGE = 256 * 1024
HANDSHAKE_MS = 2000


# ---- worlds ------------------------------------------------------------------------


def ws_gateway(t, sessions, limits=None, name="gateway", extra=None, debug=False):
    """A gateway with its TLS port and a plain WebSocket listener (websocket_listen) on
    free loopback ports; .ws_port is the latter's.  @debug: its debug lines too."""
    ws_port = free_port()
    config = {"websocket_listen": ["127.0.0.1:%d" % ws_port]}
    config.update(extra or {})
    gw = t.gateway(sessions, limits=limits, name=name, extra_config=config, start=False)
    if debug:
        gw.env = {"G_MESSAGES_DEBUG": "culvert-engine"}
    gw.start()
    gw.ws_port = ws_port
    wait_listening(ws_port, START_TIMEOUT, gw.proc, "the gateway's websocket_listen")
    return gw


def restart_gateway(t, gw, name):
    new = Gateway(t, name, gw.config_path, gw.port, gw.state_dir)
    new.start()
    new.ws_port = gw.ws_port
    wait_listening(gw.ws_port, START_TIMEOUT, new.proc, "the restarted gateway's websocket_listen")
    return new


def via(url=None, web_fingerprint=None, proxy=None, env=None):
    """The keyword arguments of t.share() / t.connect_agent() for an agent that reaches
    the gateway at @url (None: its raw TLS port), pins the outer TLS to @web_fingerprint
    and uses @proxy."""
    extra = {}
    if web_fingerprint:
        extra["web_fingerprint"] = web_fingerprint
    if proxy:
        extra["proxy"] = proxy
    return {"gateway_address": url, "extra_config": extra, "extra_env": env}


def behind_nginx(t, target_port, s1=None, limits=None, name="gateway", read_timeout="60s"):
    """A gateway behind nginx, and a share and a connect agent both on wss:// through it:
    (gateway, nginx, share, connect)."""
    s1 = s1 or Session("s1")
    gw = ws_gateway(t, [s1], limits=limits, name=name)
    nginx = start_nginx(t, gw.ws_port, name="nginx-" + name, read_timeout=read_timeout)
    share = t.share(gw, s1, ["127.0.0.1:%d" % target_port], **via(nginx.url, nginx.fingerprint))
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target_port],
                           **via(nginx.url, nginx.fingerprint))
    return gw, nginx, share, conn


def upgrades(nginx):
    """How many WebSocket upgrades nginx's access log shows (written when each ends)."""
    return nginx.access_log().count('"GET %s HTTP/1.1" 101 ' % WS_PATH)


def check_duplex(t, port, target, size, seconds=150):
    """@size bytes each way at once through the mapping at @port to a DuplexServer; both
    directions checksummed.  Returns the seconds it took."""
    sock = t.connect(port)
    started = time.monotonic()
    sent_digest, got_digest, got_len = duplex(sock, DataStream("client-stream", size),
                                              time.monotonic() + seconds)
    elapsed = time.monotonic() - started
    sock.close()
    target.wait_closed(1, 10)
    r = target.results[0]
    check(not target.errors, "target errors: %s" % target.errors)
    check(got_len == size and got_digest == r["sent_digest"],
          "target→client: %d bytes of %d, sha256 %s" % (
              got_len, size, "ok" if got_digest == r["sent_digest"] else "MISMATCH"))
    check(r["received"] == size and r["digest"] == sent_digest,
          "client→target: %d bytes of %d, sha256 %s" % (
              r["received"], size, "ok" if r["digest"] == sent_digest else "MISMATCH"))
    return elapsed


def wait_back(p, since, timeout=BACK_WITHIN + 5):
    """The time @p (an agent) said it is online again after line @since."""
    when, _, _ = p.wait_for_log(r"agent online in session", timeout, since=since)
    return when


# ---- through nginx ---------------------------------------------------------------------


def test_nginx_big_duplex(t):
    """256 MiB each way at once through one mapping, both agents on wss:// via nginx."""
    target = t.duplex_server(seed="target-stream", total=BIG, conn_timeout=150)
    gw, nginx, share, conn = behind_nginx(t, target.port)
    elapsed = check_duplex(t, conn.ports[0], target, BIG)
    gw.proc.wait_for_log(r"tunnel joined", 5)
    t.note("%d MiB each way through nginx in %.1f s (%.0f MiB/s each way)"
           % (BIG // MIB, elapsed, BIG / MIB / elapsed))
    # Every link went through nginx: its access log has them once they end.
    for p in (share, conn):
        p.stop()
    deadline = time.monotonic() + 5
    while upgrades(nginx) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    check(upgrades(nginx) >= 4, "nginx logged %d WebSocket upgrades, expected both agents' "
          "control links and a tunnel half each:\n%s" % (upgrades(nginx), nginx.access_log()))


def test_nginx_many_channels(t):
    """200 connections at once through the mapping, each echoing its own 256 KiB."""
    target = t.echo_server(conn_timeout=120)
    gw, nginx, share, conn = behind_nginx(t, target.port)
    payloads = [os.urandom(PER_CONN) for _ in range(N_CONNS)]
    started = time.monotonic()
    results = many_at_once(conn.ports[0], payloads, time.monotonic() + 90)
    elapsed = time.monotonic() - started
    target.wait_closed(N_CONNS, 10)
    check(not target.errors, "target errors: %s" % target.errors[:5])
    check(target.accepted == N_CONNS, "the target saw %d connections" % target.accepted)
    at_target = sorted(r["digest"] for r in target.results.values())
    expected = sorted(hashlib.sha256(p).hexdigest() for p in payloads)
    check(at_target == expected, "%d of %d payloads arrived intact at the target"
          % (len(set(at_target) & set(expected)), N_CONNS))
    bad = [i for i, p in enumerate(payloads)
           if results[i] != (hashlib.sha256(p).hexdigest(), len(p))]
    check(not bad, "%d connections got back something else than they sent" % len(bad))
    t.note("%d connections × %d KiB each way through nginx in %.1f s"
           % (N_CONNS, PER_CONN // 1024, elapsed))


def test_nginx_stalled_reader(t):
    """A client that stops reading for 3 s while the target pushes 128 MiB through the
    WebSocket halves and nginx: back-pressure holds the rest back (the gateway's and the
    agents' memory stays bounded: each bridge buffers a bounded amount), then every byte
    arrives."""
    total = 128 * MIB
    target = t.duplex_server(seed="pushy", total=total, conn_timeout=60)
    gw, nginx, share, conn = behind_nginx(t, target.port)
    procs = (share, conn, gw.proc)
    before = {p.name: rss_mib(p.pid) for p in procs}
    sock = t.connect(conn.ports[0])
    sock.shutdown(socket.SHUT_WR)
    time.sleep(3)  # not reading
    during = {p.name: rss_mib(p.pid) for p in procs}
    t.note("RSS MiB before %s, while stalled %s" % (
        {k: round(v) for k, v in before.items()}, {k: round(v) for k, v in during.items()}))
    for name in before:
        check(during[name] - before[name] < 32, "%s grew by %.0f MiB while the client did not "
              "read: the WebSocket path does not bound its buffers"
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
          "after the stall: %d bytes of %d, sha256 %s" % (
              n, total, "ok" if h.hexdigest() == target.results[0]["sent_digest"] else "bad"))


def test_nginx_half_close(t):
    """The client shuts down its write side; the target answers only after EOF; all of
    the answer arrives (a WebSocket close must not cut the other direction short)."""
    target = t.reply_after_eof_server(reply_len=8 * MIB)
    gw, nginx, share, conn = behind_nginx(t, target.port)
    half_close_round(t, conn.ports[0], b"GET / HTTP/1.0\r\n\r\n", 8 * MIB, target, 0)
    half_close_round(t, conn.ports[0], DataStream("req", 2 * MIB).data(), 8 * MIB, target, 1)
    half_close_round(t, conn.ports[0], b"", 8 * MIB, target, 2)
    check(not target.errors, "target errors: %s" % target.errors)


def test_nginx_gateway_restart(t):
    """The gateway behind nginx is killed and started again: nginx answers 502 meanwhile,
    the agents retry, come back, and a new connection works."""
    target = t.echo_server()
    gw, nginx, share, conn = behind_nginx(t, target.port)
    echo_through(t, conn.ports[0], os.urandom(100000))
    marks = {p.name: p.mark() for p in (share, conn)}
    gw.proc.signal(signal.SIGKILL)
    check(gw.proc.wait(5) == -signal.SIGKILL, "the gateway did not die of SIGKILL")
    for p in (share, conn):
        _, m, _ = p.wait_for_log(r"gateway .*127\.0\.0\.1:%d.*retrying in" % nginx.port, 8,
                                 since=marks[p.name])
        t.note("%s: %s" % (p.name, m.string))
    time.sleep(1.0)  # a few failed attempts through nginx (502) while it is down
    for p in (share, conn):
        _, m, _ = p.wait_for_log(r"\b502\b.*retrying in", 1, since=marks[p.name])
        t.note("%s: %s" % (p.name, m.string))
    gw = restart_gateway(t, gw, "gateway-2")
    restarted = time.monotonic()
    for p in (share, conn):
        when = wait_back(p, marks[p.name])
        t.note("%s: back online %.2f s after the restart" % (p.name, when - restarted))
        check(when - restarted <= BACK_WITHIN, "%s back %.2f s after the gateway restarted"
              % (p.name, when - restarted))
    conn.wait_for_log(r"share agent online$", 5, since=marks[conn.name])
    echo_through(t, conn.ports[0], os.urandom(100000))
    check(share.running() and conn.running(), "an agent exited")


def test_nginx_restart(t):
    """nginx itself is stopped and started again: the agents' links end, they reconnect
    through the new nginx, and a new connection works."""
    target = t.echo_server()
    gw, nginx, share, conn = behind_nginx(t, target.port)
    echo_through(t, conn.ports[0], os.urandom(100000))
    marks = {p.name: p.mark() for p in (share, conn)}
    nginx.stop()
    for p in (share, conn):
        _, m, _ = p.wait_for_log(r"gateway .*127\.0\.0\.1:%d.*retrying in" % nginx.port, 8,
                                 since=marks[p.name])
        t.note("%s: %s" % (p.name, m.string))
    time.sleep(1.0)
    nginx.start()
    restarted = time.monotonic()
    for p in (share, conn):
        when = wait_back(p, marks[p.name])
        t.note("%s: back online %.2f s after nginx restarted" % (p.name, when - restarted))
        check(when - restarted <= BACK_WITHIN, "%s back %.2f s after nginx restarted"
              % (p.name, when - restarted))
    conn.wait_for_log(r"share agent online$", 5, since=marks[conn.name])
    echo_through(t, conn.ports[0], os.urandom(100000))
    check(gw.proc.running() and share.running() and conn.running(), "a process exited")


IDLE = 8.0


def test_nginx_idle(t):
    """nginx ends an upgraded connection silent for proxy_read_timeout (3 s here): the
    gateway's pings (every 1 s here) keep idle links and an idle channel open through it
    for 8 s.  The control: with the default 20 s interval the same nginx drops them."""
    for ping_ms, survives in ((1000, True), (20000, False)):
        target = t.echo_server()
        gw, nginx, share, conn = behind_nginx(
            t, target.port, name="gateway-ping-%d" % ping_ms, read_timeout="3s",
            limits={"websocket_ping_interval_ms": ping_ms})
        sock = t.connect(conn.ports[0])
        sock.sendall(b"before")
        check(sock.recv(100) == b"before", "no echo through the new channel")
        marks = {p.name: p.mark() for p in (share, conn)}
        deadline = time.monotonic() + IDLE
        while time.monotonic() < deadline and not any(
                p.count(r"link lost|retrying in", marks[p.name]) for p in (share, conn)):
            time.sleep(0.2)
        lost = [p.name for p in (share, conn) if p.count(r"link lost|retrying in", marks[p.name])]
        if not survives:
            check(lost, "with pings every 20 s, nginx's 3 s proxy_read_timeout did not end "
                  "the idle links within %.0f s: this case cannot tell pings from no pings"
                  % IDLE)
            t.note("pings every 20 s: %s lost the link within %.0f s idle, as expected"
                   % (" and ".join(lost), IDLE))
        else:
            check(not lost, "%s lost the link while idle behind nginx, pinged every %d ms: %s"
                  % (lost, ping_ms, [p.matches(r"link lost|retrying in", marks[p.name])[0][1]
                                     .string for p in (share, conn)
                                     if p.name in lost]))
            sock.sendall(b"after")
            check(sock.recv(100) == b"after",
                  "the channel idle for %.0f s behind nginx no longer echoes" % IDLE)
            t.note("pings every %d ms: links and a channel idle for %.0f s through nginx's 3 s "
                   "read timeout stayed open" % (ping_ms, IDLE))
        sock.close()
        for p in (share, conn, gw.proc):
            p.stop()
        nginx.stop()


def test_nginx_misconfigured_agents(t):
    """Agents behind nginx set up wrong are told what to set, and keep trying: the outer
    pin wrong or missing (web_fingerprint, with nginx's key), the inner pin wrong
    (gateway_fingerprint, with the gateway's), a path nginx does not proxy (404)."""
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    nginx = start_nginx(t, gw.ws_port)
    other_path = nginx.url.replace(WS_PATH, "/elsewhere")
    cases = [
        ("outer pin wrong", via(nginx.url, gw.fingerprint), True,
         ["web_fingerprint", nginx.fingerprint]),
        ("outer pin missing", via(nginx.url), True, ["web_fingerprint", nginx.fingerprint]),
        ("inner pin wrong", via(nginx.url, nginx.fingerprint), nginx.fingerprint,
         ["gateway_fingerprint", gw.fingerprint]),
        ("a path nginx does not proxy", via(other_path, nginx.fingerprint), True,
         ["404", "/elsewhere"]),
    ]
    for i, (what, how, pin, words) in enumerate(cases):
        # debug: every attempt is a line (at info, repeats are summarised).
        p = t.connect_agent(gw, s1, ["127.0.0.1:9"], name="connect-%d" % i, pin=pin,
                            wait_online=False, wait_share=False, debug=True, **how)
        _, m, _ = p.wait_for_log(r"retrying in", 10)
        t.note("%s: %s" % (what, m.string))
        missing = [w for w in words + ["gateway %s: " % how["gateway_address"]]
                   if w not in m.string]
        check(not missing, "%s: the agent's failure does not say %s: %s"
              % (what, " or ".join(missing), m.string))
        p.wait_for_count(r"retrying in", 2, 5)
        check(p.running(), "%s: the agent exited" % what)
        p.stop()


def test_wrong_scheme_or_port(t):
    """An agent that speaks the wrong kind to a gateway's port is told which to use:
    wss:// to a TLS port with "websocket": false (raw TLS only there), and ws:// to the
    TLS port (it takes wss://)."""
    s1 = Session("s1")
    gw = ws_gateway(t, [s1], extra={"websocket": False})
    cases = [
        ("wss:// with websocket false", "wss://127.0.0.1:%d%s" % (gw.port, WS_PATH),
         gw.fingerprint, ['"websocket" setting is false', "127.0.0.1:%d (raw TLS)" % gw.port]),
        ("ws:// to the TLS port", "ws://127.0.0.1:%d%s" % (gw.port, WS_PATH), None,
         ["takes wss://", "websocket_listen"]),
    ]
    for i, (what, url, pin, words) in enumerate(cases):
        p = t.connect_agent(gw, s1, ["127.0.0.1:9"], name="connect-%d" % i, pin=gw.fingerprint,
                            wait_online=False, wait_share=False, debug=True, **via(url, pin))
        _, m, _ = p.wait_for_log(r"retrying in", 10)
        t.note("%s: %s" % (what, m.string))
        missing = [w for w in words if w not in m.string]
        check(not missing, "%s: the agent's failure does not say %s: %s"
              % (what, " or ".join(missing), m.string))
        check(p.running(), "%s: the agent exited" % what)
        p.stop()


def test_web_server_without_alpn(t):
    """A TLS terminator that negotiates no ALPN (HTTP/1.1 does not need it; inspecting
    proxies often choose none) is not refused for that: the agent gets as far as the
    upgrade, and says what the server answered (here a 404)."""
    cert = Certificate(t.dir, "no-alpn")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(cert.cert, cert.key)  # and no set_alpn_protocols(): none chosen
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(1)
    port = listener.getsockname()[1]
    answered = []

    def serve():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not answered:
            try:
                raw, _ = listener.accept()
            except OSError:
                continue
            try:
                raw.settimeout(5)
                conn = ctx.wrap_socket(raw, server_side=True)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 8192:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                answered.append((conn.selected_alpn_protocol(), head.split(b"\r\n")[0]))
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                conn.close()
            except (OSError, ssl.SSLError):
                raw.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    url = "wss://127.0.0.1:%d%s" % (port, WS_PATH)
    p = t.connect_agent(gw, s1, ["127.0.0.1:9"], wait_online=False, wait_share=False,
                        debug=True, **via(url, cert.fingerprint))
    _, m, _ = p.wait_for_log(r"retrying in", 10)
    t.note(m.string)
    server.join(25)
    listener.close()
    check(answered, "the TLS server without ALPN never got a request: %s" % m.string)
    check(answered[0][0] is None, "the server chose ALPN %r" % (answered[0][0],))
    check(answered[0][1] == ("GET %s HTTP/1.1" % WS_PATH).encode(),
          "the request line was %r" % answered[0][1])
    check("404" in m.string and "ALPN" not in m.string,
          "the agent did not get past the TLS handshake to the 404: %s" % m.string)
    p.stop()


def test_raw_agent_on_plain_listener(t):
    """An agent given websocket_listen's address as host:port (raw TLS) is turned away at
    its ClientHello, not after the handshake deadline, and the gateway says why."""
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])  # handshake_timeout_ms: the default 10 s
    started = time.monotonic()
    p = t.connect_agent(gw, s1, ["127.0.0.1:9"], pin=gw.fingerprint, wait_online=False,
                        wait_share=False, debug=True,
                        gateway_address="127.0.0.1:%d" % gw.ws_port)
    _, m, _ = p.wait_for_log(r"retrying in", 8)
    took = time.monotonic() - started
    t.note("after %.1f s: %s" % (took, m.string))
    _, g, _ = gw.proc.wait_for_log(r"a TLS handshake on websocket_listen", 5)
    t.note(g.string)
    check(took < 5, "the agent waited %.1f s (the handshake deadline is 10 s)" % took)
    check("wss://" in g.string, "the gateway's line does not say what to use: %s" % g.string)
    check(p.running(), "the agent exited")
    p.stop()


# ---- straight to the gateway, and mixed halves ------------------------------------------


def test_direct_wss(t):
    """wss:// straight to the gateway's own TLS port (no nginx): the outer TLS is the
    gateway's, so web_fingerprint is the gateway's key; 32 MiB each way pass."""
    target = t.duplex_server(seed="direct", total=32 * MIB, conn_timeout=60)
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    url = "wss://127.0.0.1:%d%s" % (gw.port, WS_PATH)
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port], **via(url, gw.fingerprint))
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], **via(url, gw.fingerprint))
    elapsed = check_duplex(t, conn.ports[0], target, 32 * MIB)
    t.note("32 MiB each way over wss to the gateway's port in %.1f s" % elapsed)


def test_plain_ws(t):
    """ws:// straight to websocket_listen (no outer TLS; the inner TLS still protects the
    links): 32 MiB each way pass."""
    target = t.duplex_server(seed="plain", total=32 * MIB, conn_timeout=60)
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    url = "ws://127.0.0.1:%d%s" % (gw.ws_port, WS_PATH)
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port], **via(url))
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], **via(url))
    check_duplex(t, conn.ports[0], target, 32 * MIB)


def test_mixed_halves(t):
    """One agent raw (host:port), the other wss via nginx, both ways round: a WebSocket
    tunnel half joined to a raw one carries 32 MiB each way intact."""
    for share_ws in (False, True):
        target = t.duplex_server(seed="mixed-%s" % share_ws, total=32 * MIB, conn_timeout=60)
        s1 = Session("s1")
        gw = ws_gateway(t, [s1], name="gateway-%s" % ("ws-share" if share_ws else "raw-share"))
        nginx = start_nginx(t, gw.ws_port, name="nginx-%s" % share_ws)
        web = via(nginx.url, nginx.fingerprint)
        share = t.share(gw, s1, ["127.0.0.1:%d" % target.port],
                        name="share-%s" % ("ws" if share_ws else "raw"),
                        **(web if share_ws else via()))
        conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port],
                               name="connect-%s" % ("raw" if share_ws else "ws"),
                               **(via() if share_ws else web))
        elapsed = check_duplex(t, conn.ports[0], target, 32 * MIB)
        t.note("share %s, connect %s: 32 MiB each way in %.1f s"
               % ("wss" if share_ws else "raw", "raw" if share_ws else "wss", elapsed))
        for p in (share, conn, gw.proc):
            p.stop()
        nginx.stop()


# ---- HTTP proxies ----------------------------------------------------------------------


def proxied_connects(proxy, port):
    return proxy.proc.count(r"Request \(file descriptor \d+\): CONNECT 127\.0\.0\.1:%d " % port)


def failure_naming(p, proxy, timeout=10):
    """The agent's first failed attempt whose words name @proxy's address."""
    _, m, _ = p.wait_for_log(r"^(?=.*127\.0\.0\.1(:| port )%d\b).*retrying in" % proxy.port,
                             timeout)
    return m.string


def test_proxy_raw(t):
    """Both agents reach the gateway's raw TLS port through tinyproxy (CONNECT, Basic
    auth): data passes, and tinyproxy carried their links and tunnels."""
    target = t.duplex_server(seed="proxied-raw", total=16 * MIB, conn_timeout=60)
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    proxy = TinyProxy(t, [gw.port])
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port], **via(proxy=proxy.url()))
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], **via(proxy=proxy.url()))
    check_duplex(t, conn.ports[0], target, 16 * MIB)
    n = proxied_connects(proxy, gw.port)
    check(n >= 4, "tinyproxy carried %d CONNECTs to the gateway, expected both control "
          "links and both tunnel halves:\n%s" % (n, proxy.proc.tail(20)))
    for p in (share, conn):
        check(proxy.password not in p.text(), "%s wrote the proxy's password in its log" % p.name)


def test_proxy_wss(t):
    """The connect agent on wss:// via nginx through tinyproxy: data passes."""
    target = t.duplex_server(seed="proxied-wss", total=16 * MIB, conn_timeout=60)
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    nginx = start_nginx(t, gw.ws_port)
    proxy = TinyProxy(t, [nginx.port])
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port], **via(nginx.url, nginx.fingerprint))
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port],
                           **via(nginx.url, nginx.fingerprint, proxy=proxy.url()))
    check_duplex(t, conn.ports[0], target, 16 * MIB)
    n = proxied_connects(proxy, nginx.port)
    check(n >= 2, "tinyproxy carried %d CONNECTs to nginx, expected the connect agent's "
          "link and tunnel half:\n%s" % (n, proxy.proc.tail(20)))
    check(proxy.password not in conn.text(), "the connect agent wrote the proxy's password")


def test_proxy_wrong_credentials(t):
    """A wrong proxy password: the agent's log names the proxy and says the credentials
    were refused (not the password itself), it does not crash, and it keeps retrying."""
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    nginx = start_nginx(t, gw.ws_port)
    proxy = TinyProxy(t, [gw.port, nginx.port])
    for url, what in ((None, "raw"), (nginx.url, "wss")):
        wrong = "wrong-proxy-pw-%s" % what
        conn = t.connect_agent(gw, s1, ["127.0.0.1:9"], name="connect-%s" % what,
                               wait_online=False, wait_share=False,
                               **via(url, nginx.fingerprint if url else None,
                                     proxy=proxy.url(password=wrong)))
        line = failure_naming(conn, proxy)
        t.note("%s: %s" % (what, line))
        check("proxy" in line.lower(), "%s: the failure does not say it was the proxy: %s"
              % (what, line))
        check(any(w in line.lower() for w in ("credential", "authenticat", "password")),
              "%s: the failure does not say the proxy refused the credentials: %s"
              % (what, line))
        # Retrying: tinyproxy sees a new CONNECT within the backoff's cap.
        port = nginx.port if url else gw.port
        first = proxied_connects(proxy, port)
        deadline = time.monotonic() + 8
        while proxied_connects(proxy, port) <= first and time.monotonic() < deadline:
            time.sleep(0.1)
        check(proxied_connects(proxy, port) > first, "%s: no new attempt within 8 s" % what)
        check(conn.running(), "%s: the connect agent exited:\n%s" % (what, conn.tail(10)))
        check(wrong not in conn.text(), "%s: the proxy password is in the log" % what)
        conn.stop()


def test_proxy_refuses_connect(t):
    """A proxy whose rules refuse CONNECT to the gateway's port (403): the agent's log
    names the proxy and the refusal, and it keeps running."""
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    nginx = start_nginx(t, gw.ws_port)
    proxy = TinyProxy(t, [443])  # not the gateway's, not nginx's
    for url, what in ((None, "raw"), (nginx.url, "wss")):
        conn = t.connect_agent(gw, s1, ["127.0.0.1:9"], name="connect-%s" % what,
                               wait_online=False, wait_share=False,
                               **via(url, nginx.fingerprint if url else None,
                                     proxy=proxy.url()))
        line = failure_naming(conn, proxy)
        t.note("%s: %s" % (what, line))
        low = line.lower()
        check("proxy" in low, "%s: the failure does not name the proxy: %s" % (what, line))
        check(any(w in low for w in ("refus", "not allowed", "forbidden", "403", "denied")),
              "%s: the failure does not say the proxy refused: %s" % (what, line))
        time.sleep(0.5)
        check(conn.running(), "%s: the connect agent exited:\n%s" % (what, conn.tail(10)))
        conn.stop()


def test_proxy_environment(t):
    """No `proxy` key: the agent takes https_proxy from its environment (wss via nginx
    and raw TLS); `"proxy": "direct"` ignores it."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = ws_gateway(t, [s1])
    nginx = start_nginx(t, gw.ws_port)
    proxy = TinyProxy(t, [gw.port, nginx.port])
    env = {"https_proxy": proxy.url(), "http_proxy": proxy.url()}
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port],
                    **via(proxy="direct", env=env))
    check(proxied_connects(proxy, gw.port) == 0,
          "the share agent with \"proxy\": \"direct\" went through the environment's proxy")
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port],
                           **via(nginx.url, nginx.fingerprint, env=env))
    echo_through(t, conn.ports[0], os.urandom(1 * MIB))
    check(proxied_connects(proxy, nginx.port) >= 2,
          "https_proxy in the environment: tinyproxy carried %d CONNECTs to nginx"
          % proxied_connects(proxy, nginx.port))
    raw = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], name="connect-raw",
                          **via(env=env))
    echo_through(t, raw.ports[0], os.urandom(1 * MIB))
    check(proxied_connects(proxy, gw.port) >= 2,
          "https_proxy in the environment, raw TLS: tinyproxy carried %d CONNECTs to the "
          "gateway" % proxied_connects(proxy, gw.port))


# ---- a third-party client: Node's ws -------------------------------------------------------


def node_gateway(t, s1, handshake_ms=10000):
    """A gateway for the Node cases: fast pings, a smaller maximum message, and a handshake
    deadline (it covers accept → the control link's first bytes, so it must outlast
    the seconds a ws session spends on pings before its TLS)."""
    limits = dict(FAST_PINGS, max_websocket_message_bytes=MAX_MESSAGE,
                  handshake_timeout_ms=handshake_ms)
    return ws_gateway(t, [s1], limits=limits)


def check_session(t, gw, r, what, outer=None):
    check("error" not in r, "%s: %s" % (what, r.get("error")))
    check(r["status"] == 101, "%s: HTTP %s" % (what, r["status"]))
    check("permessage-deflate" in (r.get("offered_extensions") or ""),
          "%s: ws did not offer permessage-deflate (%s): the next check proves nothing"
          % (what, r.get("offered_extensions")))
    check("sec-websocket-extensions" not in r["headers"] and r["extensions"] == "",
          "%s: the gateway took an extension (ws offered permessage-deflate): %s"
          % (what, r["headers"].get("sec-websocket-extensions")))
    check(r["pong_matches"], "%s: the pong's payload is not the ping's" % what)
    check(r["gateway_pings"] >= 3, "%s: %d pings from the gateway in 3 s at a 300 ms interval"
          % (what, r["gateway_pings"]))
    check(r["open_after_pings"], "%s: the gateway ended the connection although ws answered "
          "its pings" % what)
    check(r["inner_alpn"] == "culvert/1" and r["inner_tls"] == "TLSv1.3",
          "%s: the TLS inside the WebSocket: ALPN %s, %s" % (what, r["inner_alpn"],
                                                            r["inner_tls"]))
    check(r["inner_fingerprint"] == gw.fingerprint,
          "%s: the TLS inside is not the gateway's key: %s" % (what, r["inner_fingerprint"]))
    check(r["binary_in"] >= 1 and r["text_in"] == 0,
          "%s: %d binary and %d text messages from the gateway" % (what, r["binary_in"],
                                                                     r["text_in"]))
    check(r["close_code"] == 1000, "%s: the gateway closed with %s (%s), expected 1000"
          % (what, r["close_code"], r.get("close_reason")))
    if outer:
        check(r.get("outer_fingerprint") == gw.fingerprint,
              "%s: the outer TLS is not the gateway's key: %s" % (what,
                                                                  r.get("outer_fingerprint")))
        check(r.get("outer_tls") == "TLSv1.3", "%s: outer TLS %s" % (what, r.get("outer_tls")))
    t.note("%s: %d gateway pings, %d binary messages (%d bytes) in the TLS handshake, close "
           "in %d ms" % (what, r["gateway_pings"], r["binary_in"], r["binary_in_bytes"],
                         r["close_ms"]))


def test_node_ws_session(t):
    """Node's ws against websocket_listen and the TLS port: 101 without extensions (ws
    offers permessage-deflate), ping → pong with the same payload, the gateway's pings
    answered, a TLS 1.3 handshake with the gateway's control-link TLS inside binary
    messages, and close 1000 answered with 1000."""
    s1 = Session("s1")
    gw = node_gateway(t, s1)
    client = Certificate(t.dir, "node-client", server=False)
    tls = {"cert": client.cert, "key": client.key}
    for what, url, alpn, outer in (
            ("ws:// websocket_listen", "ws://127.0.0.1:%d%s" % (gw.ws_port, WS_PATH), None,
             False),
            ("wss:// TLS port, no ALPN", "wss://127.0.0.1:%d%s" % (gw.port, WS_PATH), None, True),
            ("wss:// TLS port, ALPN http/1.1", "wss://127.0.0.1:%d%s" % (gw.port, WS_PATH),
             ["http/1.1"], True)):
        r = node_client(t, {"mode": "session", "url": url, "alpn": alpn, "ping_wait_ms": 3000,
                            "tls": tls})
        check_session(t, gw, r, what, outer)
        if alpn:
            check(r.get("outer_alpn") == "http/1.1", "%s: ALPN %s" % (what, r.get("outer_alpn")))
    check(gw.proc.running(), "the gateway exited")


def frame(opcode, payload=b"", fin=True, mask=True, rsv=0, length=None):
    """A client frame as RFC 6455 lays it out; @length overrides the length field (the
    payload still follows as given)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    m = 0x80 if mask else 0
    if n < 126 and length is None:
        head += bytes([m | n])
    elif n < 65536 and length is None:
        head += bytes([m | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([m | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def frame_len16(opcode, payload):
    """A frame whose length uses the 16-bit form although it is below 126 (not minimal)."""
    key = b"\x01\x02\x03\x04"
    return bytes([0x80 | opcode, 0x80 | 126]) + len(payload).to_bytes(2, "big") + key + \
        bytes(b ^ key[i % 4] for i, b in enumerate(payload))


# (name, bytes after the upgrade, the close codes allowed)
MALFORMED = [
    ("an unmasked client frame", frame(2, b"\x16hello", mask=False), (1002,)),
    ("a 64-bit length of 2^63", frame(2, b"", length=1 << 63), (1002, 1009)),
    ("opcode 3 (reserved)", frame(3, b"abc"), (1002,)),
    ("a continuation frame with no message started", frame(0, b"\x16abc"), (1002,)),
    ("a text frame", frame(1, b"hello"), (1003,)),
    ("a message above max_websocket_message_bytes", frame(2, b"\x16" * (MAX_MESSAGE + 1)),
     (1009,)),
    ("fragments adding up to more than the maximum",
     frame(2, b"\x16", fin=False) + frame(0, b"\x00" * MAX_MESSAGE), (1009,)),
    ("reserved bit RSV1 set (no extension agreed)", frame(2, b"\x16abc", rsv=4), (1002,)),
    ("a ping with 126 bytes of payload", frame(9, b"p" * 126), (1002,)),
    ("a fragmented ping", frame(9, b"ping", fin=False), (1002,)),
    ("a new binary frame inside a fragmented message",
     frame(2, b"\x16", fin=False) + frame(2, b"abc"), (1002,)),
    ("a length in the 16-bit form below 126", frame_len16(2, b"\x16abc"), (1002,)),
    ("a close frame with a 1-byte payload", frame(8, b"\x03"), (1002,)),
    ("a close frame with code 1005 (never sent)", frame(8, (1005).to_bytes(2, "big")), (1002,)),
    ("a close frame with a reason that is not UTF-8",
     frame(8, (1000).to_bytes(2, "big") + b"\xff\xfe"), (1002,)),
]


def check_gateway_serves(t, gw, conn, what):
    check(gw.proc.running(), "the gateway exited after %s:\n%s" % (what, gw.proc.tail(10)))
    echo_through(t, conn.ports[0], os.urandom(64 * 1024))


def test_node_malformed_frames(t):
    """Hand-made frames after a hand-made upgrade, on websocket_listen and on the TLS
    port: each protocol error is answered with a Close of its code and the connection
    ends; after each, the gateway is up and an agent (over ws) still passes data, and a
    good ws client still works at the end."""
    s1 = Session("s1")
    gw = node_gateway(t, s1)
    target = t.echo_server()
    url = "ws://127.0.0.1:%d%s" % (gw.ws_port, WS_PATH)
    t.share(gw, s1, ["127.0.0.1:%d" % target.port], **via(url))
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port], **via(url))
    check_gateway_serves(t, gw, conn, "the start")
    failures = []
    for port, tls, where in ((gw.ws_port, False, "websocket_listen"), (gw.port, True, "TLS port")):
        for name, data, codes in MALFORMED:
            r = node_client(t, {"mode": "raw", "port": port, "tls": tls, "path": WS_PATH,
                                "send_hex": data.hex(), "timeout_ms": 6000})
            what = "%s on the %s" % (name, where)
            if "error" in r and "status" not in r:
                failures.append("%s: %s" % (what, r["error"]))
                continue
            if r.get("status") != 101 or not r.get("accept_ok"):
                failures.append("%s: the upgrade: %s" % (what, r))
                continue
            if r.get("close_code") not in codes:
                failures.append("%s: close code %s (%s), expected %s; frames %s, end %s"
                                % (what, r.get("close_code"), r.get("close_reason"),
                                   " or ".join(map(str, codes)), r.get("frames"), r.get("end")))
            elif r.get("ms_to_end") is None:
                failures.append("%s: Close %s sent, but the connection is still open after 6 s"
                                % (what, r["close_code"]))
            else:
                t.note("%s: close %s in %d ms" % (what, r["close_code"], r["ms_to_end"]))
            check_gateway_serves(t, gw, conn, what)
    check(not failures, "%d of %d malformed inputs not answered as RFC 6455 says:\n  %s"
          % (len(failures), 2 * len(MALFORMED), "\n  ".join(failures)))
    client = Certificate(t.dir, "node-client", server=False)
    r = node_client(t, {"mode": "session", "url": url, "ping_wait_ms": 1000,
                        "tls": {"cert": client.cert, "key": client.key}})
    check("error" not in r and r.get("close_code") == 1000,
          "a good ws client after the malformed ones: %s" % r)


# ---- HTTP that is not a good upgrade ----------------------------------------------------


def open_http(port, use_tls):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if use_tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["http/1.1"])
        sock = ctx.wrap_socket(sock)
    return sock


def peer_end(sock, seconds):
    """As harness.how_closed, for plain and TLS sockets: a TLS peer that closes without
    close_notify is an end too ("eof"), not an exception."""
    started = time.monotonic()
    data = b""
    while True:
        left = started + seconds - time.monotonic()
        if left <= 0:
            return "open", time.monotonic() - started, data
        sock.settimeout(left)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return "open", time.monotonic() - started, data
        except ssl.SSLEOFError:
            return "eof", time.monotonic() - started, data
        except OSError:
            return "reset", time.monotonic() - started, data
        if not b:
            return "eof", time.monotonic() - started, data
        data += b


def test_handshake_deadline(t):
    """A client that never completes the upgrade (silent, a half request, or one header
    byte every 300 ms) is closed within handshake_timeout_ms, on both listeners."""
    s1 = Session("s1")
    gw = node_gateway(t, s1, handshake_ms=HANDSHAKE_MS)
    limit = HANDSHAKE_MS / 1000.0
    for port, use_tls, where in ((gw.ws_port, False, "websocket_listen"),
                                 (gw.port, True, "TLS port")):
        for how in ("silent", "half a request", "a byte at a time"):
            sock = t.add(open_http(port, use_tls))
            started = time.monotonic()
            if how == "half a request":
                sock.sendall(b"GET /culvert HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n")
            if how == "a byte at a time":
                closed = None
                request = b"GET /culvert HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
                for b in request:
                    try:
                        sock.sendall(bytes([b]))
                    except OSError:
                        closed = time.monotonic() - started
                        break
                    state, _, _ = peer_end(sock, 0.3)
                    if state != "open":
                        closed = time.monotonic() - started
                        break
                    if time.monotonic() - started > limit + 3:
                        break
                check(closed is not None, "%s, %s: still open after %.1f s"
                      % (where, how, time.monotonic() - started))
                elapsed = closed
            else:
                state, elapsed, _ = peer_end(sock, limit + 3)
                check(state != "open", "%s, %s: still open after %.1f s" % (where, how, elapsed))
                elapsed = time.monotonic() - started
            t.note("%s, %s: closed after %.2f s" % (where, how, elapsed))
            check(limit - 0.5 <= elapsed <= limit + 1.5,
                  "%s, %s: closed after %.2f s, the handshake deadline is %.1f s"
                  % (where, how, elapsed, limit))
    check(gw.proc.running(), "the gateway exited")


def http_exchange(port, use_tls, request):
    """Send @request, read the reply until the server closes (5 s at most): (status, how
    it ended, the reply)."""
    sock = open_http(port, use_tls)
    try:
        sock.sendall(request)
        state, _, data = peer_end(sock, 5)
    finally:
        sock.close()
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split()
    status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return status, state, data


def test_not_an_upgrade(t):
    """HTTP requests other than a valid upgrade on websocket_path get 400, 404 or 426 and
    are closed, on both listeners."""
    s1 = Session("s1")
    gw = node_gateway(t, s1)
    upgrade = (b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
    cases = [
        ("another path", b"GET /other HTTP/1.1\r\nHost: x\r\n" + upgrade + b"\r\n", (404, 400)),
        ("no Upgrade header", b"GET /culvert HTTP/1.1\r\nHost: x\r\n\r\n", (426, 400)),
        ("POST", b"POST /culvert HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + upgrade + b"\r\n",
         (400, 404, 405, 426)),
        ("version 8", b"GET /culvert HTTP/1.1\r\nHost: x\r\n" + upgrade.replace(b"13", b"8") +
         b"\r\n", (400, 426)),
        ("no key", b"GET /culvert HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
         b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n", (400, 426)),
        ("not HTTP", b"\x00\x01hello\r\n\r\n", (400, None)),
    ]
    bad = []
    for port, use_tls, where in ((gw.ws_port, False, "websocket_listen"),
                                 (gw.port, True, "TLS port")):
        for name, request, allowed in cases:
            status, state, data = http_exchange(port, use_tls, request)
            t.note("%s, %s: %s, %s" % (where, name, status, state))
            if status not in allowed or state == "open":
                bad.append("%s, %s: HTTP %s, connection %s: %r" % (where, name, status, state,
                                                                   data[:120]))
    check(not bad, "\n  ".join(["bad requests not refused and closed:"] + bad))
    check(gw.proc.running(), "the gateway exited")


def test_forwarded_for(t):
    """On websocket_listen, a connection from a trusted proxy (127.0.0.1 by default) is
    known by the last X-Forwarded-For entry (what nginx added); on the TLS port, or from
    an address not in websocket_trusted_proxies, the header is not believed."""
    s1 = Session("s1")
    for trusted in (None, ["192.0.2.99"]):
        extra = {"websocket_trusted_proxies": trusted} if trusted else None
        name = "gateway-trusting-%s" % ("nobody-here" if trusted else "loopback")
        gw = ws_gateway(t, [s1], name=name, extra=extra, debug=True)
        for port, use_tls, where in ((gw.ws_port, False, "ws"), (gw.port, True, "tls")):
            path = "/xff-%s" % where
            status, _, _ = http_exchange(port, use_tls, (
                "GET %s HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.1, 192.0.2.7\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                "\r\n" % path).encode())
            check(status == 404, "%s %s: HTTP %s" % (name, path, status))
            _, m, _ = gw.proc.wait_for_log(r"(\S+): HTTP GET %s\b" % path, 5)
            expected = "192.0.2.7" if where == "ws" and not trusted else "127.0.0.1"
            t.note("%s, %s: logged as %s" % (name, where, m.group(1)))
            check(m.group(1) == expected, "%s, %s port: the request is logged as from %s, "
                  "expected %s:\n%s" % (name, where, m.group(1), expected, m.string))
        gw.proc.stop()


def upgrade_from(port, forwarded_for):
    """A WebSocket upgrade on websocket_listen as a proxy would send it for a client at
    @forwarded_for; returns (socket, HTTP status)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  "\r\n" % (WS_PATH, forwarded_for)).encode())
    head = b""
    deadline = time.monotonic() + 5
    while b"\r\n\r\n" not in head and time.monotonic() < deadline:
        try:
            b = sock.recv(4096)
        except OSError:
            break
        if not b:
            break
        head += b
    parts = head.split(b"\r\n", 1)[0].split()
    return sock, int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def test_forwarded_admission(t):
    """The per-address cap on unauthenticated connections (an eighth of
    max_pending_handshakes, 16 at least) counts a proxied client by its X-Forwarded-For
    address: one forwarded address that holds 16 silent upgraded connections gets no
    17th, while another forwarded address, and an agent straight from 127.0.0.1 (the
    proxy's own address), still get in."""
    s1 = Session("s1")
    gw = ws_gateway(t, [s1], limits={"max_pending_handshakes": 64,
                                     "handshake_timeout_ms": 15000})
    held = []
    for i in range(16):
        sock, status = upgrade_from(gw.ws_port, "192.0.2.7")
        t.add(sock)
        check(status == 101, "silent connection %d from 192.0.2.7: HTTP %s" % (i + 1, status))
        held.append(sock)
    sock, status = upgrade_from(gw.ws_port, "192.0.2.7")
    t.add(sock)
    state, elapsed, body = peer_end(sock, 3)
    t.note("the 17th from 192.0.2.7: HTTP %s %r, then %s after %.2f s" % (status, body, state,
                                                                          elapsed))
    check(status != 101 and state != "open", "a 17th connection from 192.0.2.7: HTTP %s, "
          "still %s after 3 s: the per-address cap does not count forwarded addresses"
          % (status, state))
    other, status = upgrade_from(gw.ws_port, "192.0.2.8")
    t.add(other)
    check(status == 101, "192.0.2.8 is refused (HTTP %s) while 192.0.2.7 is at its cap"
          % status)
    state, _, _ = peer_end(other, 1)
    check(state == "open", "192.0.2.8's upgraded connection was closed (%s)" % state)
    # The proxy's own address is not charged for its clients: an agent from it logs in.
    share = t.share(gw, s1, ["127.0.0.1:9"])
    check(share.running(), "the share agent exited")
    for sock in held:
        check(peer_end(sock, 0.05)[0] == "open", "a held connection from 192.0.2.7 ended early")


if __name__ == "__main__":
    run_tests([
        case("through nginx: %d MiB each way at once, SHA-256 both ways" % (BIG // MIB),
             test_nginx_big_duplex),
        case("through nginx: 200 concurrent channels, 256 KiB each way each, checksummed",
             test_nginx_many_channels),
        case("through nginx: the client half-closes, the target's answer still arrives",
             test_nginx_half_close),
        case("through nginx: a client that stops reading, memory stays bounded, all 128 MiB "
             "arrive", test_nginx_stalled_reader),
        case("through nginx: gateway SIGKILL + restart, the agents are back, a new connection "
             "works", test_nginx_gateway_restart),
        case("through nginx: nginx restarted, the agents reconnect", test_nginx_restart),
        case("through nginx with a 3 s read timeout: the gateway's pings keep idle links open",
             test_nginx_idle),
        case("behind nginx, agents set up wrong are told which key to set to what",
             test_nginx_misconfigured_agents),
        case("wss:// straight to the gateway's TLS port, pinned to its key: data passes",
             test_direct_wss),
        case("ws:// straight to websocket_listen: data passes", test_plain_ws),
        case("a TLS terminator that negotiates no ALPN is not refused for it",
             test_web_server_without_alpn),
        case("a raw agent aimed at websocket_listen is turned away at its ClientHello",
             test_raw_agent_on_plain_listener),
        case("the wrong scheme for a port (wss:// with websocket false, ws:// to the TLS port) "
             "is named", test_wrong_scheme_or_port),
        case("mixed halves: raw share + wss connect, and wss share + raw connect",
             test_mixed_halves),
        case("proxy: both agents raw TLS through tinyproxy with Basic auth", test_proxy_raw),
        case("proxy: the connect agent wss via nginx through tinyproxy", test_proxy_wss),
        case("proxy: wrong credentials are named in the log, the agent keeps retrying",
             test_proxy_wrong_credentials),
        case("proxy: a proxy that refuses CONNECT is named with its refusal",
             test_proxy_refuses_connect),
        case("proxy: https_proxy in the environment when no proxy key is set; \"direct\" "
             "ignores it", test_proxy_environment),
        case("Node's ws: upgrade, pings both ways, TLS 1.3 inside binary messages, close 1000",
             test_node_ws_session),
        case("malformed frames: the right close code each, and the gateway keeps serving",
             test_node_malformed_frames),
        case("an upgrade never completed is closed within the handshake deadline",
             test_handshake_deadline),
        case("HTTP that is not a valid upgrade gets 4xx and is closed", test_not_an_upgrade),
        case("X-Forwarded-For is believed from websocket_trusted_proxies on websocket_listen "
             "only", test_forwarded_for),
        case("the per-address cap counts a proxied client by its X-Forwarded-For address",
             test_forwarded_admission),
    ])
