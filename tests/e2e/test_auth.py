#!/usr/bin/env python3
"""Authentication and trust failures: each says what is wrong on one line, then the agent
retries with backoff — never in a tight loop, and slowly after the gateway refused its
credentials (30 s doubling, with jitter no less than half: ≥ 15 s)."""

import os
import re
import shutil
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, Session, case, check, closed_within, hash_password, run_tests,  # noqa: E402
                     shared_env)

RETRY = r"retrying in ([0-9.]+) s"
# Every attempt, at debug level (agents started with debug=True); at info a failure is
# written once and its repeats are summarised.
ATTEMPT = r" debug: gateway .*; retrying in ([0-9.]+) s"
# The first reconnect delay is 250 ms, doubling up to 3 s; each is drawn from [base/2, base].
FIRST_DELAY = 0.25
NETWORK_CAP = 3.0
# After a refused login: 30 s doubling, drawn from [base/2, base].
AUTH_MIN_DELAY = 15.0

# ---- the slow scenario: refused logins, started once, looked at by several cases -------

slow = None


def start_slow():
    """A gateway and three agents it refuses: wrong share password, wrong connect password,
    unknown session.  The limiter, and the cap on checks under way per address (the three
    log in at once from 127.0.0.1, and an unknown session is checked like any other), are
    set high so that they do not mix in rate-limited."""
    global slow
    if slow is not None:
        return slow
    t = shared_env("auth-refusals")
    s1 = Session("s1")
    gw = t.gateway([s1], limits={"auth_failures_before_backoff": 1000,
                                  "max_password_checks_per_address": 10})
    t.gw = gw
    t.bad_share = t.share(gw, s1, ["127.0.0.1:1"], name="share-badpw", password="not-the-pw",
                          wait_online=False, debug=True)
    t.bad_connect = t.connect_agent(gw, s1, ["127.0.0.1:1"], name="connect-badpw",
                                    password="not-the-pw", wait_online=False, wait_share=False,
                                    debug=True)
    t.unknown = t.connect_agent(gw, Session("no-such-session"), ["127.0.0.1:1"],
                                name="connect-unknown", wait_online=False, wait_share=False,
                                debug=True)
    slow = t
    return t


def first_refusal(proc, reason):
    """The agent's first refusal line: it names the session and @reason, and says when it
    retries; returns (time, delay in s)."""
    when, m, _ = proc.wait_for_log(r": refused: .*" + RETRY, 10)
    line = m.string
    check(reason in line, "%s: the refusal does not name %s: %s" % (proc.name, reason, line))
    # What to fix: the password's origin, named as the config names it.
    role = "share" if proc.name.startswith("share") else "connect"
    fix = ("that the variable CULVERT_PASSWORD (password_env) holds its %s password, then "
           "restart this agent" % role)
    check(fix in line, "%s: the refusal does not say what to fix (%s): %s"
          % (proc.name, fix, line))
    check("\n" not in line, "not one line")
    delay = float(m.group(1))
    check(delay >= AUTH_MIN_DELAY,
          "%s: retries %.1f s after a refused login, expected at least %.0f s: %s"
          % (proc.name, delay, AUTH_MIN_DELAY, line))
    return when, delay


def test_wrong_password(t):
    s = t.use(start_slow())
    for proc in (s.bad_share, s.bad_connect):
        when, delay = first_refusal(proc, "bad-password")
        t.note("%s: %s" % (proc.name, proc.matches(RETRY)[0][1].string))
    s.gw.proc.wait_for_log(r"share agent for session s1: wrong password", 5)
    s.gw.proc.wait_for_log(r"connect agent for session s1: wrong password", 5)


def test_unknown_session(t):
    s = t.use(start_slow())
    # The agent is told what a wrong password is told (session ids cannot be listed);
    # only the gateway's log says which it was.
    first_refusal(s.unknown, "bad-password")
    s.gw.proc.wait_for_log(r"unknown session .no-such-session", 5)
    t.note(s.unknown.matches(RETRY)[0][1].string)


def test_refusal_backoff(t):
    """No second login within 10 s of a refused one; the second comes 15-31 s after it."""
    s = t.use(start_slow())
    agents = (s.bad_share, s.bad_connect, s.unknown)
    firsts = {p.name: p.matches(ATTEMPT)[0][0] for p in agents}
    # Ten seconds after the last first refusal, count again: still one each.
    wait = max(firsts.values()) + 10 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    for p in agents:
        n = sum(1 for when, _ in p.matches(ATTEMPT) if when < firsts[p.name] + 10)
        check(n == 1, "%s: %d login attempts within 10 s of a refused one (tight loop)\n%s"
              % (p.name, n, p.tail(8)))
    for p in agents:
        found = p.wait_for_count(ATTEMPT, 2, max(1, firsts[p.name] + 32 - time.monotonic()))
        gap = found[1][0] - found[0][0]
        t.note("%s: second attempt %.1f s after the first" % (p.name, gap))
        check(AUTH_MIN_DELAY - 0.1 <= gap <= 31,
              "%s: second attempt %.1f s after a refused login, expected 15-30 s"
              % (p.name, gap))
    for p in agents:
        check(p.count(r" info: gateway .*: refused: ") == 1,
              "%s: the same refusal is written in full more than once:\n%s" % (p.name, p.tail(8)))


# ---- connection-level failures: fast backoff, but no tight loop ---------------------

def check_backoff(t, proc, pattern, window=5.0):
    """From the agent's first failure, for @window seconds: at least 2 and at most 6
    attempts (debug lines, each matching @pattern and saying when it retries), the gaps at
    least the documented minimum and growing, and at info the failure written once."""
    first, _, _ = proc.wait_for_log(ATTEMPT, 10)
    time.sleep(max(0, first + window - time.monotonic()))
    found = [(w, m) for w, m in proc.matches(ATTEMPT) if w <= first + window]
    written = [m.string for _, m in proc.matches(r" info: gateway .*" + RETRY)]
    check(len(written) == 1 and re.search(pattern, written[0]),
          "%s: %d attempts, and at info the failure /%s/ is written %d times, expected once:\n%s"
          % (proc.name, len(found), pattern, len(written), "\n".join(written)))
    lines = [m.string for _, m in found]
    for line in lines:
        check(re.search(pattern, line),
              "%s: the failure does not say /%s/: %s" % (proc.name, pattern, line))
    check(2 <= len(found) <= 6,
          "%s: %d attempts in %.0f s, expected 2 to 6 (250 ms doubling)\n%s"
          % (proc.name, len(found), window, "\n".join(lines)))
    gaps = [found[i + 1][0] - found[i][0] for i in range(len(found) - 1)]
    delays = [float(m.group(1)) for _, m in found]
    t.note("%s: %d attempts in %.0f s, gaps %s (announced %s); %s"
           % (proc.name, len(found), window, ", ".join("%.2f" % g for g in gaps),
              ", ".join("%.1f" % d for d in delays), lines[0]))
    for i, g in enumerate(gaps):
        minimum = min(FIRST_DELAY * (2 ** i), NETWORK_CAP) / 2
        check(g >= minimum - 0.02,
              "%s: attempt %d came %.3f s after the one before, expected at least %.3f s"
              % (proc.name, i + 2, g, minimum))
        check(delays[i] - 0.06 <= g <= delays[i] + 0.5,
              "%s: attempt %d came %.3f s after the one before, which announced %.1f s"
              % (proc.name, i + 2, g, delays[i]))
    for i, d in enumerate(delays):
        base = min(FIRST_DELAY * (2 ** i), NETWORK_CAP)
        check(base / 2 - 0.06 <= d <= base + 0.06,
              "%s: retry %d announced %.1f s; 250 ms doubling to 3 s with jitter gives %.3f-%.3f s"
              % (proc.name, i + 1, d, base / 2, base))
    # Each delay is drawn from [base/2, base] and the base doubles: never shorter than the
    # one before (the log rounds them, which keeps that order).
    # Below the cap the ranges do not overlap; at the cap two draws may come in any order.
    below_cap = delays[:4]
    check(below_cap == sorted(below_cap), "%s: the announced delays shrink: %s"
          % (proc.name, delays))
    if len(gaps) >= 2:
        check(gaps[-1] > gaps[0], "%s: the gaps between attempts do not grow: %s"
              % (proc.name, gaps))


def test_untrusted_gateway(t):
    """No gateway_fingerprint, and the gateway's certificate is self-signed."""
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:1"], pin=None, wait_online=False, debug=True)
    check_backoff(t, share, r"certificate is not trusted \(self-signed\); its fingerprint is "
                  + re.escape(gw.fingerprint))
    check(share.count(r"agent online") == 0, "the agent went online with an untrusted gateway")
    check(gw.proc.count(r"share agent .* online") == 0, "the gateway admitted the agent")


def test_wrong_pin(t):
    s1 = Session("s1")
    gw = t.gateway([s1])
    wrong = "sha256:" + "ab" * 32
    conn = t.connect_agent(gw, s1, ["127.0.0.1:1"], pin=wrong, wait_online=False,
                           wait_share=False, debug=True)
    check_backoff(t, conn, r"key has changed: .*pinned fingerprint is sha256:(ab)+")
    check(conn.count(r"agent online") == 0, "the agent went online with a wrong pin")
    # The gateway only sees a client hang up: it names the likely cause and its own key.
    _, m, _ = gw.proc.wait_for_log(r"the agent hung up on this gateway's certificate: most "
                                   r"likely its gateway_fingerprint is not this gateway's key, "
                                   + re.escape(gw.fingerprint), 5)
    t.note(m.string)


def test_gateway_down(t):
    """Nothing listens at the gateway's address: connection refused, the same backoff."""
    s1 = Session("s1")
    gw = t.gateway([s1], start=False)
    gw.fingerprint = "sha256:" + "00" * 32
    share = t.share(gw, s1, ["127.0.0.1:1"], wait_online=False, debug=True)
    check_backoff(t, share, r"gateway 127\.0\.0\.1:%d: .*[Cc]onnection refused" % gw.port)


def test_changed_share_key(t):
    """The share agent comes back with a new key: the connect agent refuses it, loudly."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1])
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port])
    sock = t.connect(conn.ports[0])
    sock.sendall(b"ping")
    sock.shutdown(socket.SHUT_WR)
    check(sock.recv(16) == b"ping", "the first tunnel did not work")
    conn.wait_for_log(r"pinned on first use", 5)

    share.stop()
    shutil.rmtree(share.state_dir)
    conn.wait_for_log(r"share agent offline", 5)
    mark = conn.mark()
    share2 = t.share(gw, s1, ["127.0.0.1:%d" % target.port], name="share-newkey",
                     state_dir=share.state_dir)
    share2.wait_for_log(r"share agent key sha256:\S+ \(new\)", 5)
    conn.wait_for_log(r"share agent online$", 5, since=mark)

    for attempt in range(2):
        before = conn.count(r"CHANGED")
        try:
            sock = t.connect(conn.ports[0])
        except ConnectionResetError:
            pass  # refused (a reset) before connect() returned: closed at once
        else:
            check(closed_within(sock, 2.0),
                  "attempt %d: the client's connection is still open 2 s after the key changed"
                  % attempt)
        when, m, _ = conn.wait_for_log(r"CHANGED", 5, since=mark)
        found = conn.wait_for_count(r"CHANGED", before + 1, 5)
        line = found[-1][1].string
        check("s1" in line and "refusing" in line,
              "the CHANGED line does not say which session and that it refuses: %s" % line)
        t.note(line)
    time.sleep(1)
    check(conn.count(r"CHANGED") == 2,
          "%d CHANGED lines for 2 connections: the agent retries on its own"
          % conn.count(r"CHANGED"))
    check(share2.count(r"tunnel from connect agent") == 0,
          "a tunnel opened to the share agent with the changed key")
    check(target.accepted == 1, "the target was reached through the changed key")


def test_pin_after_handshake(t):
    """The connect agent pins the share agent's key only once a tunnel's TLS handshake
    proved it: a tunnel that fails before that pins nothing."""
    target = t.echo_server()
    s1 = Session("s1")
    gw = t.gateway([s1], limits={"ticket_timeout_ms": 1000})
    share = t.share(gw, s1, ["127.0.0.1:%d" % target.port])
    conn = t.connect_agent(gw, s1, ["127.0.0.1:%d" % target.port])
    known = os.path.join(conn.state_dir, "known_shares")

    # A stopped share agent never presents its half: the connect half is dropped
    # when the ticket expires, in its TLS handshake.
    share.signal(signal.SIGSTOP)
    try:
        sock = t.connect(conn.ports[0])
        check(closed_within(sock, 10.0), "the local client is still open with no tunnel")
        conn.wait_for_log(r"the tunnel could not be opened", 10)
        check(conn.count(r"pinned on first use") == 0,
              "the key was pinned before any handshake proved it")
        check(not os.path.exists(known) or "s1 " not in open(known).read(),
              "%s holds a pin for s1 after a failed tunnel" % known)
    finally:
        share.signal(signal.SIGCONT)

    sock = t.connect(conn.ports[0])
    sock.sendall(b"ping")
    sock.shutdown(socket.SHUT_WR)
    check(sock.recv(16) == b"ping", "the tunnel did not work once the share agent was back")
    conn.wait_for_log(r"pinned on first use, the tunnel's TLS handshake having proved it", 5)
    _, m, _ = share.wait_for_log(r"share agent key (sha256:\S+)", 5)
    check(("s1 " + m.group(1)) in open(known).read(),
          "%s does not pin the share agent's key" % known)


class SamePasswordSession(Session):
    """A session whose share and connect passwords are one, hashed twice (two salts): the
    config cannot tell, the gateway must."""

    def __init__(self, id, password):
        super().__init__(id, password, password)

    def config(self):
        import subprocess
        again = subprocess.run([CLI, "hash-password"], input=(self.share_password + "\n").encode(),
                               stdout=subprocess.PIPE, timeout=30, check=True).stdout.decode()
        first = hash_password(self.share_password)
        check(again.strip() != first, "two hashes of one password are the same string")
        return {"id": self.id, "share_password_hash": first,
                "connect_password_hash": again.strip()}


def test_same_password_refused(t):
    """A share password that is also the connect password: the gateway refuses the login
    (bad-password) and tells its operator to make them differ; a session beside it with
    two passwords is not affected."""
    same = SamePasswordSession("same", "one-password-for-both")
    good = Session("good")
    gw = t.gateway([same, good])
    share = t.share(gw, same, ["127.0.0.1:1"], name="share-same", wait_online=False)
    first_refusal(share, "bad-password")
    # The agent's user reads the gateway's words too: this is the operator's to fix.
    share.wait_for_log(r"refused: .*the gateway says “this session's share and connect "
                       r"passwords are the same", 1)
    gw.proc.wait_for_log(r"share agent for session same: refused: session same: the share and "
                         r"connect passwords are the same; make them differ", 10)
    conn = t.connect_agent(gw, same, ["127.0.0.1:1"], name="connect-same", wait_online=False,
                           wait_share=False)
    first_refusal(conn, "bad-password")
    gw.proc.wait_for_log(r"connect agent for session same: refused: session same: the share "
                         r"and connect passwords are the same", 10)
    check(not share.matches(r"agent online") and not conn.matches(r"agent online"),
          "an agent with the one password was admitted")
    t.share(gw, good, ["127.0.0.1:1"], name="share-good")  # waits until it is online


if __name__ == "__main__":
    run_tests([
        case("wrong password (share and connect): one line names bad-password, next try ≥ 15 s",
             test_wrong_password),
        case("unknown session: told bad-password as a wrong password is, logged as unknown, "
             "next try ≥ 15 s",
             test_unknown_session),
        case("untrusted gateway certificate: named, backoff 250 ms doubling, ≤ 6 tries in 5 s",
             test_untrusted_gateway),
        case("wrong pinned fingerprint: named, backoff 250 ms doubling, ≤ 6 tries in 5 s",
             test_wrong_pin),
        case("gateway not reachable: named, backoff 250 ms doubling, ≤ 6 tries in 5 s",
             test_gateway_down),
        case("changed share agent key: the connect agent refuses it with CHANGED",
             test_changed_share_key),
        case("refused logins: no second try within 10 s, a second one 15-30 s later",
             test_refusal_backoff),
        case("first-use pin: written only after a tunnel's TLS handshake proved the key",
             test_pin_after_handshake),
        case("share and connect passwords the same: the gateway refuses both and says to make "
             "them differ", test_same_password_refused),
    ])
