"""End-to-end harness: real culvert-cli processes on loopback, real TCP services.

Standard library only.  Everything here is bounded in time: every socket has a
timeout, every wait a deadline, and every process and server a test starts is
stopped when the test ends, whether it passed or not.

A test file lists its cases and calls run_tests(), which prints TAP:

    def test_something(t):          # t is a TestEnv: temp dir, processes, servers
        gw = t.start_gateway(sessions=[Session("s1")])
        ...

    run_tests([case("name", test_something), ...])

Processes are started with PR_SET_PDEATHSIG, so that they die with the test
script even when it is killed itself (meson's timeout).  Start them from the main
thread: the signal follows the thread that forked, not the process.
"""

import ctypes
import hashlib
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def _default_cli():
    return os.path.join(HERE, "..", "..", "_build", "engine", "cli", "culvert-cli")


CLI = os.environ.get("CULVERT_CLI") or _default_cli()

# As meson sets them, also when a test is run by hand: every culvert-cli started here
# inherits them, so a g_warning or g_critical aborts it (see TestEnv.crashes()).
for _name, _value in (("G_DEBUG", "gc-friendly,fatal-warnings,fatal-criticals"),
                      ("G_ENABLE_DIAGNOSTIC", "1")):
    os.environ.setdefault(_name, _value)

# How a process ends when GLib aborts on a fatal message, or when it crashes.
CRASH_SIGNALS = (signal.SIGABRT, signal.SIGTRAP, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL,
                 signal.SIGFPE)

# Everything that waits uses one of these unless it says otherwise.
START_TIMEOUT = 10.0
IO_TIMEOUT = 30.0


class TestFailure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


# ---- ports, checksums, data ----------------------------------------------------------


def free_port():
    """A TCP port free on 127.0.0.1 right now (the kernel's choice for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class DataStream:
    """A reproducible pseudo-random byte stream: seed, length, chunk size."""

    def __init__(self, seed, total, chunk=256 * 1024):
        self.seed = seed
        self.total = total
        self.chunk = chunk

    def chunks(self):
        rng = random.Random(self.seed)
        left = self.total
        while left > 0:
            n = min(self.chunk, left)
            yield rng.randbytes(n)
            left -= n

    def digest(self):
        h = hashlib.sha256()
        for c in self.chunks():
            h.update(c)
        return h.hexdigest()

    def data(self):
        return b"".join(self.chunks())


# ---- sockets -------------------------------------------------------------------------


def connect(port, timeout=IO_TIMEOUT, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=min(timeout, START_TIMEOUT))
    s.settimeout(timeout)
    return s


def recv_all(sock, deadline, limit=None):
    """Read until EOF or the deadline (then raise); returns the bytes."""
    parts = []
    n = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("no EOF before the deadline (%d bytes read)" % n)
        sock.settimeout(min(left, 5.0))
        try:
            b = sock.recv(1 << 20)
        except socket.timeout:
            continue
        if not b:
            return b"".join(parts)
        parts.append(b)
        n += len(b)
        if limit is not None and n > limit:
            raise TestFailure("more than %d bytes read" % limit)


def digest_to_eof(conn):
    """Read a server-side connection to EOF; returns (bytes read, SHA-256 hex digest)."""
    h = hashlib.sha256()
    n = 0
    while True:
        b = conn.recv(1 << 20)
        if not b:
            return n, h.hexdigest()
        h.update(b)
        n += len(b)


def echo_through(t, port, payload, timeout=10):
    """Send @payload to an echo target through the mapping at @port, end the stream, and
    check that all of it comes back."""
    sock = t.connect(port)
    sock.sendall(payload)
    sock.shutdown(socket.SHUT_WR)
    got = recv_all(sock, time.monotonic() + timeout)
    check(got == payload, "echo: got %d bytes back, sent %d" % (len(got), len(payload)))


def closed_within(sock, seconds):
    """True when the peer closes (EOF or reset) within @seconds; False if it is still open."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not b:
            return True


def how_closed(sock, seconds):
    """How the peer ends the connection within @seconds: "reset", "eof" (a FIN, after any
    data, which is returned too) or "open"; returns (how, seconds it took, data)."""
    started = time.monotonic()
    deadline = started + seconds
    data = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return "open", time.monotonic() - started, data
        sock.settimeout(left)
        try:
            b = sock.recv(65536)
        except socket.timeout:
            return "open", time.monotonic() - started, data
        except (ConnectionResetError, BrokenPipeError):
            return "reset", time.monotonic() - started, data
        if not b:
            return "eof", time.monotonic() - started, data
        data += b


def duplex(sock, stream, deadline, shut_wr=True):
    """Send @stream while receiving everything the peer sends until EOF, at once.

    Returns (sent_digest, received_digest, received_length)."""
    sent = hashlib.sha256()
    errors = []

    def sender():
        try:
            for c in stream.chunks():
                sent.update(c)
                view = memoryview(c)
                while view:
                    if time.monotonic() > deadline:
                        raise TestFailure("send did not finish before the deadline")
                    try:
                        n = sock.send(view)
                    except socket.timeout:
                        continue
                    view = view[n:]
            if shut_wr:
                sock.shutdown(socket.SHUT_WR)
        except Exception as e:  # reported by the caller
            errors.append(e)

    th = threading.Thread(target=sender, daemon=True)
    sock.settimeout(5.0)
    th.start()
    got = hashlib.sha256()
    n = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise TestFailure("receive did not finish before the deadline (%d bytes)" % n)
            try:
                b = sock.recv(1 << 20)
            except socket.timeout:
                continue
            if not b:
                break
            got.update(b)
            n += len(b)
    finally:
        th.join(max(0.1, deadline - time.monotonic()))
    if th.is_alive():
        raise TestFailure("the sender is still running at the deadline")
    if errors:
        raise errors[0]
    return sent.hexdigest(), got.hexdigest(), n


# ---- TCP services run by the test --------------------------------------------------


class TcpServer:
    """A listening socket on 127.0.0.1 with a thread per connection.

    Subclasses implement handle(conn, index); what they learn goes in self.results
    (index → dict).  close() stops everything within a second or two."""

    def __init__(self, name="server", conn_timeout=IO_TIMEOUT):
        self.name = name
        self.conn_timeout = conn_timeout
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(512)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.results = {}
        self.errors = []
        self.conns = []
        self.threads = []
        self.accepted = 0
        self.stopping = False
        self.done = threading.Condition(self.lock)
        self.acceptor = threading.Thread(target=self._accept_loop, name=name, daemon=True)
        self.acceptor.start()

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(self.conn_timeout)
            with self.lock:
                index = self.accepted
                self.accepted += 1
                self.conns.append(conn)
            th = threading.Thread(target=self._run, args=(conn, index), daemon=True)
            self.threads.append(th)
            th.start()

    def _run(self, conn, index):
        try:
            self.handle(conn, index)
        except Exception as e:
            if not self.stopping:
                with self.lock:
                    self.errors.append("connection %d: %r" % (index, e))
        finally:
            try:
                conn.close()
            except OSError:
                pass
            with self.lock:
                self.results.setdefault(index, {})["closed"] = True
                self.done.notify_all()

    def handle(self, conn, index):
        raise NotImplementedError

    def set_result(self, index, **kw):
        with self.lock:
            self.results.setdefault(index, {}).update(kw)

    def wait_closed(self, count, timeout):
        """Wait until @count connections have been handled to the end."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while sum(1 for r in self.results.values() if r.get("closed")) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("%s: %d of %d connections finished within %.0f s"
                                      % (self.name,
                                         sum(1 for r in self.results.values() if r.get("closed")),
                                         count, timeout))
                self.done.wait(left)

    def close(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.acceptor.join(2)
        for th in self.threads:
            th.join(0.5)


class EchoServer(TcpServer):
    """Echoes until EOF, then closes its side; optionally keeps what it received."""

    def __init__(self, keep=False, **kw):
        self.keep = keep
        super().__init__(**kw)

    def handle(self, conn, index):
        h = hashlib.sha256()
        kept = [] if self.keep else None
        n = 0
        while True:
            b = conn.recv(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
            if kept is not None:
                kept.append(b)
            conn.sendall(b)
        conn.shutdown(socket.SHUT_WR)
        self.set_result(index, received=n, digest=h.hexdigest(),
                        data=b"".join(kept) if kept is not None else None)


class DuplexServer(TcpServer):
    """Sends its own stream (seed, length) while it reads the client's to EOF.

    A pure echo cannot tell a tunnel that loops data back from one that carries it;
    this target's stream is its own.  @rate (bytes/s) paces the sending."""

    def __init__(self, seed, total, rate=None, **kw):
        self.stream = DataStream(seed, total, chunk=64 * 1024 if rate else 256 * 1024)
        self.rate = rate
        super().__init__(**kw)

    def handle(self, conn, index):
        sent = {}

        def sender():
            try:
                start = time.monotonic()
                n = 0
                digest = hashlib.sha256()
                for c in self.stream.chunks():
                    if self.stopping:
                        return
                    if self.rate:
                        wait = start + n / self.rate - time.monotonic()
                        if wait > 0:
                            time.sleep(wait)
                    conn.sendall(c)
                    digest.update(c)
                    n += len(c)
                conn.shutdown(socket.SHUT_WR)
                sent["n"] = n
                sent["digest"] = digest.hexdigest()
            except Exception as e:
                sent["error"] = e

        th = threading.Thread(target=sender, daemon=True)
        th.start()
        n, digest = digest_to_eof(conn)
        th.join(self.conn_timeout)
        if "error" in sent:
            raise sent["error"]
        self.set_result(index, received=n, digest=digest, sent=sent.get("n"),
                        sent_digest=sent.get("digest"))


class ReplyAfterEofServer(TcpServer):
    """Reads the request to EOF and only then replies: the request's SHA-256 digest in
    hex, then @reply_len bytes of a stream seeded with that digest."""

    def __init__(self, reply_len, **kw):
        self.reply_len = reply_len
        super().__init__(**kw)

    @staticmethod
    def reply_for(request_digest, reply_len):
        return DataStream(request_digest, reply_len)

    def handle(self, conn, index):
        n, digest = digest_to_eof(conn)
        self.set_result(index, received=n, digest=digest)
        conn.sendall(digest.encode())
        for c in self.reply_for(digest, self.reply_len).chunks():
            conn.sendall(c)
        conn.shutdown(socket.SHUT_WR)
        self.set_result(index, replied=True)


# ---- processes ----------------------------------------------------------------------

# Resolved here, in the parent: the child, between fork and exec, only makes the call.
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):
    _prctl = None
_PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)


def _die_with_parent():
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)


_all_procs = []

PROXY_ENV = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
             "ALL_PROXY", "NO_PROXY")


class Proc:
    """A culvert-cli process; stdout and stderr are captured line by line, each line
    with the monotonic time it arrived."""

    def __init__(self, name, args, env=None, cwd=None):
        self.name = name
        self.args = args
        full_env = dict(os.environ)
        # Plain "HH:MM:SS.mmm ROLE LEVEL: message" lines, whatever runs us.
        full_env.pop("JOURNAL_STREAM", None)
        full_env.pop("G_MESSAGES_DEBUG", None)
        full_env.pop("CULVERT_PASSWORD", None)
        # Whoever runs the tests may have a proxy set; an agent would take it (GIO's
        # proxy resolver reads it).  A test that wants one passes it in @env.
        for name in PROXY_ENV:
            full_env.pop(name, None)
        full_env["LC_ALL"] = "C.UTF-8"
        if env:
            full_env.update(env)
        self.started = time.monotonic()
        self.popen = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, env=full_env, cwd=cwd,
                                      preexec_fn=_die_with_parent)
        _all_procs.append(self)
        self.lines = []  # (monotonic time, text)
        self.cond = threading.Condition()
        self.eof = False
        self.reader = threading.Thread(target=self._read, name=name, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in iter(self.popen.stdout.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append((time.monotonic(), line))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    @property
    def pid(self):
        return self.popen.pid

    def mark(self):
        """The number of lines so far: pass it as since= to look only at later lines."""
        with self.cond:
            return len(self.lines)

    def matches(self, regex, since=0):
        """Every (time, match) of @regex in the lines from @since on."""
        r = re.compile(regex)
        with self.cond:
            lines = self.lines[since:]
        out = []
        for t, line in lines:
            m = r.search(line)
            if m:
                out.append((t, m))
        return out

    def count(self, regex, since=0):
        return len(self.matches(regex, since))

    def wait_for_log(self, regex, timeout, since=0):
        """The first (time, match, index) of @regex from line @since on, waiting at most
        @timeout seconds; raises TestFailure with the log's tail otherwise."""
        r = re.compile(regex)
        deadline = time.monotonic() + timeout
        i = since
        with self.cond:
            while True:
                while i < len(self.lines):
                    t, line = self.lines[i]
                    m = r.search(line)
                    if m:
                        return t, m, i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (self.eof and i >= len(self.lines)):
                    why = "exited with %s" % self.popen.poll() if self.eof else \
                        "no such line within %.1f s" % timeout
                    raise TestFailure("%s: waiting for /%s/: %s\n%s"
                                      % (self.name, regex, why, self.tail(15)))
                self.cond.wait(min(left, 0.5))

    def wait_for_count(self, regex, n, timeout, since=0):
        deadline = time.monotonic() + timeout
        while True:
            found = self.matches(regex, since)
            if len(found) >= n:
                return found
            if time.monotonic() > deadline:
                raise TestFailure("%s: %d of %d lines /%s/ within %.1f s\n%s"
                                  % (self.name, len(found), n, regex, timeout, self.tail(15)))
            with self.cond:
                self.cond.wait(0.2)

    def tail(self, n=30):
        with self.cond:
            lines = self.lines[-n:]
        return "\n".join("  %s| %s" % (self.name, l) for _, l in lines)

    def text(self):
        with self.cond:
            return "\n".join(l for _, l in self.lines)

    def running(self):
        return self.popen.poll() is None

    def signal(self, sig):
        if self.running():
            self.popen.send_signal(sig)

    def wait(self, timeout):
        """The exit status, or raise TestFailure if it is still running at @timeout."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s (pid %d) still running after %.1f s\n%s"
                              % (self.name, self.pid, timeout, self.tail(10)))

    def kill(self):
        if self.running():
            self.popen.kill()
        try:
            self.popen.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.reader.join(2)

    def stop(self, timeout=3.0):
        """SIGTERM, then SIGKILL if it does not go within @timeout."""
        if self.running():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


def _kill_everything(*_):
    for p in _all_procs:
        try:
            if p.popen.poll() is None:
                p.popen.kill()
        except Exception:
            pass


_password_hashes = {}


def hash_password(password):
    """culvert-cli hash-password, once per password per test script."""
    if password not in _password_hashes:
        r = subprocess.run([CLI, "hash-password"], input=(password + "\n").encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        if r.returncode != 0:
            raise TestFailure("hash-password failed: %s" % r.stderr.decode(errors="replace"))
        _password_hashes[password] = r.stdout.decode().strip()
    return _password_hashes[password]


def run_cli(args, timeout=30, input=None, env=None):
    """A short culvert-cli command: (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.pop("JOURNAL_STREAM", None)
    full_env["LC_ALL"] = "C.UTF-8"
    full_env.update(env or {})
    env = full_env
    r = subprocess.run([CLI] + list(args), input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=env)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


# ---- the roles ----------------------------------------------------------------------


class Session:
    def __init__(self, id, share_password=None, connect_password=None):
        self.id = id
        self.share_password = share_password or ("share-pw-" + id)
        self.connect_password = connect_password or ("connect-pw-" + id)

    def config(self):
        return {
            "id": self.id,
            "share_password_hash": hash_password(self.share_password),
            "connect_password_hash": hash_password(self.connect_password),
        }


class Gateway:
    """A running gateway: its process, port, fingerprint and config file."""

    def __init__(self, t, name, config_path, port, state_dir, record=None):
        self.t = t
        self.name = name
        self.config_path = config_path
        self.port = port
        self.state_dir = state_dir
        self.record = record
        self.extra_args = []  # more command-line options, e.g. a debug mode
        self.env = None  # more environment, e.g. G_MESSAGES_DEBUG
        self.proc = None
        self.fingerprint = None

    def start(self):
        args = [CLI, "gateway", "--config", self.config_path]
        if self.record:
            args += ["--debug-record-tunnels", self.record]
        args += self.extra_args
        self.proc = self.t.spawn(self.name, args, env=self.env)
        _, m, _ = self.proc.wait_for_log(r"gateway key fingerprint: (sha256:[0-9a-fA-F:]+)",
                                         START_TIMEOUT)
        self.fingerprint = m.group(1)
        # Its raw TLS port's line: a WebSocket listener may have one of its own.
        self.proc.wait_for_log(r"listening on 127\.0\.0\.1 port %d$" % self.port, START_TIMEOUT)
        return self

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port


class TestEnv:
    """One test's world: a temp dir, and everything started in it, all stopped at the end."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="culvert-e2e-")
        self.procs = []
        self.closers = []
        self.notes = []
        self.others = []  # shared environments whose logs belong in this test's diagnostics
        self.log_files = []  # (name, path): files whose tails belong there too (nginx's log)

    # -- bookkeeping

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write_json(self, name, obj):
        p = self.path(name)
        with open(p, "w") as f:
            json.dump(obj, f, indent=2)
        return p

    def spawn(self, name, args, env=None):
        p = Proc(name, args, env=env)
        self.procs.append(p)
        return p

    def add(self, thing):
        """Stop @thing (a server, a socket: anything with close()) at the end."""
        self.closers.append(thing)
        return thing

    def note(self, text):
        """A line for the TAP diagnostics, pass or fail."""
        self.notes.append(text)

    def close(self):
        for p in self.procs:
            try:
                p.kill()
            except Exception:
                pass
        for c in reversed(self.closers):
            try:
                c.close()
            except Exception:
                pass
        if os.environ.get("CULVERT_E2E_KEEP"):
            self.note("kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def use(self, other):
        """This test looks at @other (a shared environment): show its logs on failure."""
        self.others.append(other)
        return other

    def crashes(self):
        """A description of every process here that a crash or a fatal GLib message ended."""
        found = []
        for p in self.procs:
            status = p.popen.poll()
            if status is not None and status < 0 and -status in CRASH_SIGNALS:
                found.append("%s (pid %d) died of %s\n%s"
                             % (p.name, p.pid, signal.Signals(-status).name, p.tail(20)))
        return found

    def diagnostics(self, lines=40):
        out = [p.tail(lines) for p in self.procs + [p for o in self.others for p in o.procs]]
        for name, path in self.log_files:
            try:
                with open(path, errors="replace") as f:
                    out += ["  %s| %s" % (name, l.rstrip("\n")) for l in f.readlines()[-lines:]]
            except OSError:
                pass
        return "\n".join(out)

    # -- services

    def echo_server(self, **kw):
        return self.add(EchoServer(**kw))

    def duplex_server(self, seed, total, **kw):
        return self.add(DuplexServer(seed, total, **kw))

    def reply_after_eof_server(self, reply_len, **kw):
        return self.add(ReplyAfterEofServer(reply_len, **kw))

    def connect(self, port, timeout=IO_TIMEOUT):
        return self.add(connect(port, timeout))

    # -- culvert

    def gateway(self, sessions, port=None, name="gateway", record=None, limits=None,
                join=None, start=True, codes=False, extra_config=None):
        """Write a gateway config (self-signed key in its own state dir) and start it;
        @codes turns session codes on; @extra_config: more top-level keys."""
        port = port or free_port()
        state_dir = self.path(name + "-state")
        config = {
            "listen": ["127.0.0.1:%d" % port],
            "state_dir": state_dir,
            "sessions": [s.config() for s in sessions],
            "log_level": "info",
        }
        if limits:
            config["limits"] = limits
        if join:
            config["join"] = join
        if codes:
            config["codes"] = {"enabled": True}
        config.update(extra_config or {})
        path = self.write_json(name + ".json", config)
        gw = Gateway(self, name, path, port, state_dir, record)
        if start:
            gw.start()
        return gw

    def rewrite_gateway_config(self, gw, sessions):
        with open(gw.config_path) as f:
            config = json.load(f)
        config["sessions"] = [s.config() for s in sessions]
        with open(gw.config_path, "w") as f:
            json.dump(config, f, indent=2)

    def _agent_config(self, gw, session, name, state_dir, pin, gateway_address):
        config = {
            "gateway": gateway_address or gw.address,
            "session": session.id,
            "password_env": "CULVERT_PASSWORD",
            "name": name,
            "state_dir": state_dir or self.path(name + "-state"),
        }
        if pin is True:
            config["gateway_fingerprint"] = gw.fingerprint
        elif pin:
            config["gateway_fingerprint"] = pin
        return config

    def _agent_env(self, password, debug, extra_env=None):
        env = {"CULVERT_PASSWORD": password}
        env.update(extra_env or {})
        if debug:
            # Every attempt of the link is a debug line; info lines summarise repeats.
            env["G_MESSAGES_DEBUG"] = "culvert-engine"
        return env

    def share(self, gw, session, allow, name="share", state_dir=None, pin=True,
              password=None, gateway_address=None, wait_online=True, debug=False,
              extra_config=None, extra_env=None):
        """Start a share agent; wait until the gateway welcomed it unless told not to;
        @extra_env: more environment (e.g. https_proxy)."""
        config = self._agent_config(gw, session, name, state_dir, pin, gateway_address)
        config["allow"] = list(allow)
        config.update(extra_config or {})
        path = self.write_json(name + ".json", config)
        p = self.spawn(name, [CLI, "share", "--config", path],
                       env=self._agent_env(password or session.share_password, debug,
                                           extra_env))
        p.config_path = path
        p.state_dir = config["state_dir"]
        if wait_online:
            p.wait_for_log(r"share agent online in session", START_TIMEOUT)
        return p

    def connect_agent(self, gw, session, mappings, name="connect", state_dir=None, pin=True,
                      password=None, gateway_address=None, wait_online=True,
                      wait_share=True, debug=False, extra_config=None, extra_env=None):
        """Start a connect agent; @mappings is a list of (target "host:port") — each gets a
        free local port — or of (local port, target).  Returns the process with
        .ports, the local ports in order."""
        config = self._agent_config(gw, session, name, state_dir, pin, gateway_address)
        ports = []
        config["mappings"] = []
        for m in mappings:
            if isinstance(m, tuple):
                lport, target = m
            else:
                lport, target = free_port(), m
            ports.append(lport)
            config["mappings"].append({"listen": "127.0.0.1:%d" % lport, "target": target})
        config.update(extra_config or {})
        path = self.write_json(name + ".json", config)
        p = self.spawn(name, [CLI, "connect", "--config", path],
                       env=self._agent_env(password or session.connect_password, debug,
                                           extra_env))
        p.config_path = path
        p.state_dir = config["state_dir"]
        p.ports = ports
        p.wait_for_count(r"mapping 127\.0\.0\.1:\d+ ", len(ports), START_TIMEOUT)
        if wait_online:
            p.wait_for_log(r"connect agent online in session", START_TIMEOUT)
        if wait_share:
            p.wait_for_log(r"share agent online$", START_TIMEOUT)
        return p

    def pair(self, sessions=None, allow=None, mappings=None, record=None):
        """A gateway, a share agent and a connect agent on one session: (gw, share, conn)."""
        session = (sessions or [Session("s1")])[0]
        gw = self.gateway(sessions or [session], record=record)
        share = self.share(gw, session, allow)
        conn = self.connect_agent(gw, session, mappings)
        return gw, share, conn


# ---- TAP ----------------------------------------------------------------------------


class Case:
    def __init__(self, name, fn, todo=None):
        self.name = name
        self.fn = fn
        self.todo = todo


def case(name, fn, todo=None):
    """A test case; @todo, when set, is a known product bug: TAP "# TODO" and its reason."""
    return Case(name, fn, todo)


_shared_envs = []


def shared_env(name):
    """An environment that outlives one case (for slow scenarios several cases look at,
    started once); run_tests() closes it at the end."""
    t = TestEnv(name)
    _shared_envs.append(t)
    return t


def _diag(text):
    for line in str(text).splitlines():
        print("# " + line)


def run_tests(cases):
    """Run @cases in order, print TAP, exit 0 when every case passed (or is a TODO)."""
    signal.signal(signal.SIGTERM, lambda *a: (_kill_everything(), os._exit(1)))
    signal.signal(signal.SIGINT, lambda *a: (_kill_everything(), os._exit(1)))
    only = os.environ.get("CULVERT_E2E_ONLY")
    print("1..%d" % len(cases), flush=True)
    failed = 0
    for i, c in enumerate(cases, 1):
        if only and only not in c.name:
            print("ok %d - %s # SKIP not selected by CULVERT_E2E_ONLY" % (i, c.name), flush=True)
            continue
        t = TestEnv(c.name)
        started = time.monotonic()
        error = None
        try:
            c.fn(t)
        except Exception:
            error = traceback.format_exc()
        crashes = t.crashes()
        if crashes:
            error = (error or "") + "\n".join(crashes)
        diagnostics = t.diagnostics() if error else ""
        t.close()
        elapsed = time.monotonic() - started
        directive = " # TODO %s" % c.todo if c.todo else ""
        if error is None:
            print("ok %d - %s%s" % (i, c.name, directive))
        else:
            print("not ok %d - %s%s" % (i, c.name, directive))
            if not c.todo:
                failed += 1
            _diag(error)
            _diag(diagnostics)
        for n in t.notes:
            _diag(n)
        _diag("%s: %.1f s" % (c.name, elapsed))
        sys.stdout.flush()
    for t in _shared_envs:
        t.close()
    _kill_everything()
    sys.exit(1 if failed else 0)
