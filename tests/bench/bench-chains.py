#!/usr/bin/env python3
"""Culvert against the usual ways to reach a service behind NAT, side by side.

A benchmark run by hand, not a test (see tests/bench/CHAINS.md).  It starts, on
loopback, one target server and four chains in front of it:

  direct    client → target
  culvert   client → connect agent → gateway → share agent → target
  culvert-wss    the same, both agents on WebSocket (wss://) to the gateway's TLS port
  culvert-nginx  the same, both agents on wss:// to nginx, which proxies to the
                 gateway's plain WebSocket port (websocket_listen)
  ssh       client → ssh -L → sshd → (port forwarded by ssh -R) → ssh -R → target
  stunnel   client → stunnel client → stunnel server (TLS 1.3) → target

and measures, for each: bulk throughput with 1 and with N streams, the round trip
of small messages, new connections per second, and 1,000 concurrent connections
echoing once a second (latency, and the memory of the chain's processes per
connection), plus the CPU seconds per GB of every process of the chain.  It then
prints a Markdown table and the project's goals as ratios, met or not met.

    python3 tests/bench/bench-chains.py                # one run, every chain
    python3 tests/bench/bench-chains.py --runs 2 --wait-load 600 --json out.json

Standard library only.  Needs Linux (/proc), culvert-cli built in _build-release
(meson setup _build-release --buildtype=release -Dgui=disabled), OpenSSH (sshd,
ssh, ssh-keygen), stunnel and openssl; it says what to install when one is missing.
Every wait has a deadline and every process it starts is stopped when it ends.
"""

import argparse
import ctypes
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
DEFAULT_CLI = os.path.join(TOP, "_build-release", "engine", "cli", "culvert-cli")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
CHAINS = ["direct", "culvert", "ssh", "stunnel"]
# The WebSocket transport, measured next to the raw path when asked for (issue 13).
WEB_CHAINS = ["culvert-wss", "culvert-nginx"]
WORKLOADS = ["bulk", "iperf", "rtt", "cps", "hold"]
START_TIMEOUT = 20.0


def log(msg):
    print("bench-chains: " + msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---- the target: one process, one epoll loop, two ports -------------------------------
#
# bulk port: the client sends 'U' or 'D' and a 64-bit big-endian count N.
#   'U' (upload): the client then sends N bytes; the target reads them all and answers 'K'.
#   'D' (download): the target sends N bytes.
# echo port: everything read is written back.

def serve_target():
    sel = selectors.DefaultSelector()
    lb = socket.socket()
    le = socket.socket()
    for ls in (lb, le):
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", 0))
        ls.listen(4096)
        ls.setblocking(False)
    sel.register(lb, selectors.EVENT_READ, ("listen", "bulk"))
    sel.register(le, selectors.EVENT_READ, ("listen", "echo"))
    sys.stdout.write("PORTS %d %d\n" % (lb.getsockname()[1], le.getsockname()[1]))
    sys.stdout.flush()
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    zeros = memoryview(bytes(1 << 20))

    class Conn:
        __slots__ = ("sock", "kind", "head", "mode", "left", "out")

        def __init__(self, sock, kind):
            self.sock = sock
            self.kind = kind
            self.head = b""
            self.mode = None
            self.left = 0
            self.out = b""

    def close(c):
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def want(c, events):
        sel.modify(c.sock, events, c)

    while True:
        for key, events in sel.select():
            data = key.data
            if isinstance(data, tuple):
                for _ in range(64):
                    try:
                        s, _ = key.fileobj.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    s.setblocking(False)
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sel.register(s, selectors.EVENT_READ, Conn(s, data[1]))
                continue
            c = data
            try:
                if events & selectors.EVENT_WRITE:
                    if c.out:
                        n = c.sock.send(c.out)
                        c.out = c.out[n:]
                        if not c.out:
                            if c.mode == "D" and c.left == 0:
                                c.sock.shutdown(socket.SHUT_WR)
                            want(c, selectors.EVENT_READ)
                    elif c.mode == "D":
                        while c.left > 0:
                            n = c.sock.send(zeros[:min(c.left, len(zeros))])
                            c.left -= n
                        c.sock.shutdown(socket.SHUT_WR)
                        want(c, selectors.EVENT_READ)
                    continue
                n = c.sock.recv_into(buf)
                if n == 0:
                    close(c)
                    continue
                if c.kind == "echo":
                    chunk = bytes(view[:n])
                    if c.out:
                        c.out += chunk
                        continue
                    try:
                        m = c.sock.send(chunk)
                    except BlockingIOError:
                        m = 0
                    if m < n:
                        c.out = chunk[m:]
                        want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
                    continue
                # bulk
                pos = 0
                if c.mode is None:
                    need = 9 - len(c.head)
                    c.head += bytes(view[:min(need, n)])
                    pos = min(need, n)
                    if len(c.head) < 9:
                        continue
                    c.mode = chr(c.head[0])
                    c.left = struct.unpack(">Q", c.head[1:9])[0]
                    if c.mode == "D":
                        want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
                        continue
                if c.mode == "U" and c.left > 0:
                    c.left -= (n - pos)
                    if c.left <= 0:
                        c.out = b"K"
                        want(c, selectors.EVENT_READ | selectors.EVENT_WRITE)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                close(c)


class Target:
    def __init__(self, logdir):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve-target"],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     stderr=open(os.path.join(logdir, "target.log"), "wb"),
                                     preexec_fn=die_with_parent, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "PORTS":
            raise BenchError("the target server did not start")
        self.bulk_port, self.echo_port = int(line[1]), int(line[2])

    def stop(self):
        stop_process(self.proc)


# ---- processes ------------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    os.setpgid(0, 0)


def stop_process(proc, timeout=5.0):
    """SIGTERM to the process's own group (so that a process run under --wrap, strace or
    valgrind, stops with its wrapper), SIGKILL after @timeout."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except OSError:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait(5)


def proc_children():
    """pid → list of child pids, from /proc."""
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pids):
    """The pids and all their descendants."""
    kids = proc_children()
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return 0.0
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def wait_for_log(path, pattern, proc, timeout=None):
    timeout = timeout or START_TIMEOUT
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        try:
            with open(path, errors="replace") as f:
                m = rx.search(f.read())
            if m:
                return m
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise BenchError("%s exited (%s) before logging /%s/; see %s"
                             % (proc.args[0], proc.returncode, pattern, path))
        time.sleep(0.05)
    raise BenchError("no /%s/ in %s within %.0f s" % (pattern, path, timeout))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo_once(port, timeout=2.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"ping")
        got = b""
        while len(got) < 4:
            b = s.recv(4 - len(got))
            if not b:
                return False
            got += b
        return got == b"ping"


def wait_echo(port, what, timeout=None):
    timeout = timeout or START_TIMEOUT
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if echo_once(port):
                return
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise BenchError("%s: no echo through port %d within %.0f s (%s)" % (what, port, timeout, last))


# ---- the chains -----------------------------------------------------------------------

class Chain:
    """Ports a client uses (bulk, echo) and the processes that make up the chain."""
    name = ""
    gateway_pid = None

    def __init__(self, target, workdir):
        self.target = target
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir, exist_ok=True)
        self.procs = []

    def spawn(self, args, logname, **kw):
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=open(os.path.join(self.dir, logname), "wb"),
                                preexec_fn=die_with_parent, **kw)
        self.procs.append(proc)
        return proc

    def pids(self):
        return tree([p.pid for p in self.procs if p.poll() is None])

    def stop(self):
        for p in reversed(self.procs):
            stop_process(p)

    def versions(self):
        return ""


class Direct(Chain):
    name = "direct"

    def start(self):
        self.bulk_port = self.target.bulk_port
        self.echo_port = self.target.echo_port
        self.far_port = self.bulk_port


class Culvert(Chain):
    name = "culvert"

    def __init__(self, target, workdir, cli, wrap, name="culvert"):
        self.name = name  # culvert (raw TLS), culvert-wss or culvert-nginx
        super().__init__(target, workdir)
        self.cli = cli
        self.wrap = wrap  # role → list of argv words put before culvert-cli

    def run_role(self, role, config):
        return self.spawn(self.wrap.get(role, []) + [self.cli, role, "--config", config],
                          role + ".log")

    def hash_password(self, password):
        out = subprocess.run([self.cli, "hash-password"], input=password + "\n",
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise BenchError("culvert-cli hash-password: " + out.stderr.strip())
        return out.stdout.strip()

    def write(self, name, obj, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            if isinstance(obj, str):
                f.write(obj)
            else:
                json.dump(obj, f, indent=2)
        os.chmod(path, mode)
        return path

    def start(self):
        share_pw, connect_pw = "bench-share-" + os.urandom(6).hex(), "bench-connect-" + os.urandom(6).hex()
        # The connect agent dials a port of its own, so that a benchmark can give its
        # leg alone a long path (bench-lfn.py): the share agent sits near the gateway.
        gw_port, web_port, self.far_port = free_port(), free_port(), free_port()
        self.write("gateway.json", {
            "listen": ["127.0.0.1:%d" % gw_port, "127.0.0.1:%d" % self.far_port],
            "websocket_listen": ["127.0.0.1:%d" % web_port] if self.name == "culvert-nginx" else [],
            "state_dir": os.path.join(self.dir, "gateway-state"),
            "sessions": [{"id": "bench", "share_password_hash": self.hash_password(share_pw),
                          "connect_password_hash": self.hash_password(connect_pw)}],
            "log_level": "info",
        })
        gw = self.run_role("gateway", os.path.join(self.dir, "gateway.json"))
        self.gateway_proc = gw
        m = wait_for_log(os.path.join(self.dir, "gateway.log"),
                         r"gateway key fingerprint: (sha256:[0-9A-Fa-f:]+)", gw)
        fingerprint = m.group(1)
        wait_for_log(os.path.join(self.dir, "gateway.log"), r"listening on", gw)
        t = self.target
        common = {"gateway": "127.0.0.1:%d" % gw_port, "gateway_fingerprint": fingerprint,
                  "session": "bench"}
        if self.name == "culvert-wss":
            common.update(gateway="wss://127.0.0.1:%d/culvert" % gw_port, web_fingerprint=fingerprint)
        elif self.name == "culvert-nginx":
            # nginx serves the gateway's own key, so the one pin names both TLS ends.
            port = self.start_nginx(web_port)
            common.update(gateway="wss://127.0.0.1:%d/culvert" % port, web_fingerprint=fingerprint)
        self.write("share.password", share_pw + "\n", 0o600)
        self.write("connect.password", connect_pw + "\n", 0o600)
        self.write("share.json", dict(common, password_file="share.password",
                                      state_dir=os.path.join(self.dir, "share-state"),
                                      allow=["127.0.0.1:%d" % t.bulk_port,
                                             "127.0.0.1:%d" % t.echo_port]))
        self.bulk_port, self.echo_port = free_port(), free_port()
        if self.name == "culvert":
            common["gateway"] = "127.0.0.1:%d" % self.far_port
        self.write("connect.json", dict(common, password_file="connect.password",
                                        state_dir=os.path.join(self.dir, "connect-state"),
                                        mappings=[{"listen": "127.0.0.1:%d" % self.bulk_port,
                                                   "target": "127.0.0.1:%d" % t.bulk_port},
                                                  {"listen": "127.0.0.1:%d" % self.echo_port,
                                                   "target": "127.0.0.1:%d" % t.echo_port}]))
        share = self.run_role("share", os.path.join(self.dir, "share.json"))
        wait_for_log(os.path.join(self.dir, "gateway.log"), r"share agent .* online", gw)
        connect = self.run_role("connect", os.path.join(self.dir, "connect.json"))
        wait_for_log(os.path.join(self.dir, "gateway.log"), r"connect agent .* online", gw)
        wait_echo(self.echo_port, "culvert")
        self.roles = {"gateway": gw, "share": share, "connect": connect}

    def start_nginx(self, upstream_port):
        """nginx in front of the gateway's plain WebSocket port, with the gateway's key."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        port = free_port()
        identity = os.path.join(self.dir, "gateway-state", "gateway.pem")
        deadline = time.monotonic() + START_TIMEOUT
        while not os.path.exists(identity) and time.monotonic() < deadline:
            time.sleep(0.05)
        for sub in ("logs", "tmp"):
            os.makedirs(os.path.join(self.dir, "nginx", sub), exist_ok=True)
        conf = self.write("nginx/nginx.conf", NGINX_CONF % {
            "dir": os.path.join(self.dir, "nginx"), "port": port, "upstream": upstream_port,
            "cert": identity})
        self.spawn([nginx, "-p", os.path.join(self.dir, "nginx"), "-c", conf,
                    "-e", os.path.join(self.dir, "nginx", "logs", "error.log")], "nginx.log")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return port
            except OSError:
                if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                    raise BenchError("nginx did not start; see %s/nginx" % self.dir)
                time.sleep(0.05)

    def role_pids(self):
        return {r: tree([p.pid]) for r, p in self.roles.items()}

    @property
    def gateway_pid(self):
        return self.gateway_proc.pid

    def versions(self):
        out = subprocess.run([self.cli, "version"], capture_output=True, text=True)
        return out.stdout.strip().splitlines()[0] if out.stdout else "?"


# What data/examples/nginx-culvert.conf says, in a private prefix: one worker per core, as
# an operator's nginx runs, and no buffering, so the relay's own cost is what shows.
NGINX_CONF = """daemon off;
worker_processes auto;
pid %(dir)s/nginx.pid;
error_log %(dir)s/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %(dir)s/tmp/body;
  proxy_temp_path %(dir)s/tmp/proxy;
  fastcgi_temp_path %(dir)s/tmp/fastcgi;
  uwsgi_temp_path %(dir)s/tmp/uwsgi;
  scgi_temp_path %(dir)s/tmp/scgi;
  server {
    listen 127.0.0.1:%(port)d ssl;
    ssl_certificate %(cert)s;
    ssl_certificate_key %(cert)s;
    ssl_protocols TLSv1.3;
    location /culvert {
      proxy_pass http://127.0.0.1:%(upstream)d;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_read_timeout 75s;
      proxy_send_timeout 75s;
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
"""


class Ssh(Chain):
    name = "ssh"
    CIPHER = "aes128-gcm@openssh.com"

    def start(self):
        d = self.dir
        for k in ("host_key", "user_key"):
            p = os.path.join(d, k)
            for f in (p, p + ".pub"):
                if os.path.exists(f):
                    os.unlink(f)
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", p],
                           check=True, stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(d, "user_key.pub"), os.path.join(d, "authorized_keys"))
        # ssh -L dials a port of its own, so that its leg alone can be given a long path.
        port, self.far_port = free_port(), free_port()
        cfg = os.path.join(d, "sshd_config")
        with open(cfg, "w") as f:
            f.write("\n".join([
                "Port %d" % port,
                "Port %d" % self.far_port,
                "ListenAddress 127.0.0.1",
                "HostKey %s" % os.path.join(d, "host_key"),
                "AuthorizedKeysFile %s" % os.path.join(d, "authorized_keys"),
                "PidFile %s" % os.path.join(d, "sshd.pid"),
                "UsePAM no",
                "StrictModes no",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password",
                "AllowTcpForwarding yes",
                "UseDNS no",
                "LogLevel ERROR",
                "MaxSessions 10",
                "",
            ]))
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation
        self.spawn([shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", cfg], "sshd.log")
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                    raise BenchError("sshd did not start; see %s/sshd.log" % d)
                time.sleep(0.05)
        user = pwd_name()
        ssh = [shutil.which("ssh"), "-N", "-F", "/dev/null", "-p", str(port),
               "-i", os.path.join(d, "user_key"), "-o", "IdentitiesOnly=yes",
               "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=" + os.path.join(d, "known_hosts"),
               "-o", "ExitOnForwardFailure=yes", "-o", "Compression=no",
               "-c", self.CIPHER]
        t = self.target
        rb, re_ = free_port(), free_port()
        # Share side: the sshd host listens on rb/re and forwards to the target.
        self.spawn(ssh + ["-R", "127.0.0.1:%d:127.0.0.1:%d" % (rb, t.bulk_port),
                          "-R", "127.0.0.1:%d:127.0.0.1:%d" % (re_, t.echo_port),
                          "%s@127.0.0.1" % user], "ssh-R.log")
        deadline = time.monotonic() + START_TIMEOUT
        while True:  # wait for the remote forward to listen
            try:
                socket.create_connection(("127.0.0.1", re_), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.procs[-1].poll() is not None:
                    raise BenchError("ssh -R did not start; see %s/ssh-R.log" % d)
                time.sleep(0.05)
        # Connect side: local ports → the remote-forwarded ports.
        self.bulk_port, self.echo_port = free_port(), free_port()
        ssh_l = [a if a != str(port) else str(self.far_port) for a in ssh]
        self.spawn(ssh_l + ["-L", "127.0.0.1:%d:127.0.0.1:%d" % (self.bulk_port, rb),
                            "-L", "127.0.0.1:%d:127.0.0.1:%d" % (self.echo_port, re_),
                            "%s@127.0.0.1" % user], "ssh-L.log")
        wait_echo(self.echo_port, "ssh")

    def versions(self):
        out = subprocess.run(["ssh", "-V"], capture_output=True, text=True)
        return (out.stderr or out.stdout).strip()


def pwd_name():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


class Stunnel(Chain):
    name = "stunnel"

    @staticmethod
    def binary():
        return shutil.which("stunnel4") or shutil.which("stunnel")

    def start(self):
        d = self.dir
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=bench-stunnel"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = self.target
        sb, se = free_port(), free_port()
        self.far_port = sb  # the TLS hop
        self.bulk_port, self.echo_port = free_port(), free_port()
        tls = "sslVersionMin = TLSv1.3\n" if self.tls13() else ""
        with open(os.path.join(d, "server.conf"), "w") as f:
            f.write("foreground = yes\npid =\ndebug = 3\n%s"
                    "[bulk]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\ncert = %s\nkey = %s\n"
                    "[echo]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\ncert = %s\nkey = %s\n"
                    % (tls, sb, t.bulk_port, cert, key, se, t.echo_port, cert, key))
        with open(os.path.join(d, "client.conf"), "w") as f:
            f.write("foreground = yes\npid =\ndebug = 3\nclient = yes\n%s"
                    "[bulk]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                    "verifyPeer = yes\nCAfile = %s\n"
                    "[echo]\naccept = 127.0.0.1:%d\nconnect = 127.0.0.1:%d\n"
                    "verifyPeer = yes\nCAfile = %s\n"
                    % (tls, self.bulk_port, sb, cert, self.echo_port, se, cert))
        self.spawn([self.binary(), os.path.join(d, "server.conf")], "server.log")
        self.spawn([self.binary(), os.path.join(d, "client.conf")], "client.log")
        wait_echo(self.echo_port, "stunnel")

    def tls13(self):
        out = subprocess.run([self.binary(), "-version"], capture_output=True, text=True)
        m = re.search(r"OpenSSL (\d+)\.(\d+)\.(\d+)", out.stderr + out.stdout)
        return bool(m) and (int(m.group(1)), int(m.group(2))) >= (1, 1)

    def versions(self):
        out = subprocess.run([self.binary(), "-version"], capture_output=True, text=True)
        lines = [l.strip() for l in (out.stderr + out.stdout).splitlines() if l.startswith(("stunnel", "Running"))]
        return "; ".join(lines)


# ---- workloads ------------------------------------------------------------------------

def snapshot_cpu(pids):
    return {p: cpu_seconds(p) for p in pids}


def cpu_delta(before, pids):
    return sum(max(0.0, cpu_seconds(p) - before.get(p, 0.0)) for p in pids)


def bulk(port, total, streams, direction, timeout):
    """Moves @total bytes over @streams connections at once; returns seconds."""
    per = total // streams
    barrier = threading.Barrier(streams + 1)
    errors = []
    chunk = memoryview(bytes(1 << 20))

    def worker():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.settimeout(timeout)
            barrier.wait(30)
            if direction == "up":
                s.sendall(b"U" + struct.pack(">Q", per))
                left = per
                while left > 0:
                    n = s.send(chunk[:min(left, len(chunk))])
                    left -= n
                if s.recv(1) != b"K":
                    raise BenchError("no acknowledgement after the upload")
            else:
                s.sendall(b"D" + struct.pack(">Q", per))
                buf = bytearray(1 << 20)
                left = per
                while left > 0:
                    n = s.recv_into(buf)
                    if n == 0:
                        raise BenchError("EOF with %d bytes to go" % left)
                    left -= n
            s.close()
        except Exception as e:  # reported below
            errors.append(e)
            try:
                barrier.abort()
            except Exception:
                pass

    ths = [threading.Thread(target=worker, daemon=True) for _ in range(streams)]
    for th in ths:
        th.start()
    barrier.wait(30)
    t0 = time.perf_counter()
    for th in ths:
        th.join(timeout + 5)
    elapsed = time.perf_counter() - t0
    if errors or any(th.is_alive() for th in ths):
        raise BenchError("bulk with %d streams: %r" % (streams, errors[:1] or "timeout"))
    return elapsed, per * streams


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def ping_pong(port, count, size=64, warmup=100):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = os.urandom(size)
    buf = bytearray(size)
    times = []
    for i in range(warmup + count):
        t0 = time.perf_counter()
        s.sendall(msg)
        got = 0
        while got < size:
            n = s.recv_into(memoryview(buf)[got:])
            if n == 0:
                raise BenchError("ping-pong: EOF")
            got += n
        dt = time.perf_counter() - t0
        if i >= warmup:
            times.append(dt)
    s.close()
    if bytes(buf) != msg:
        raise BenchError("ping-pong: wrong echo")
    return times


def conn_rate(port, seconds, threads):
    """New connections per second: connect, send 1 byte, get 1 byte, close."""
    counts = [0] * threads
    fails = [0] * threads
    lat = [[] for _ in range(threads)]
    stop = time.monotonic() + seconds

    def worker(i):
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
                try:
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    s.sendall(b"x")
                    ok = s.recv(1) == b"x"
                finally:
                    s.close()
            except OSError:
                ok = False
            if ok:
                counts[i] += 1
                lat[i].append(time.perf_counter() - t0)
            else:
                fails[i] += 1
                time.sleep(0.01)

    t0 = time.monotonic()
    ths = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for th in ths:
        th.start()
    for th in ths:
        th.join(seconds + 30)
    elapsed = time.monotonic() - t0
    all_lat = [x for l in lat for x in l]
    return sum(counts) / elapsed, sum(fails), all_lat


def hold(port, nconns, seconds, size, pids_fn):
    """@nconns connections, each echoing @size bytes once a second for @seconds.

    Returns a dict: how many stayed up, the echo latencies, RSS before/after."""
    rss_before = sum(rss_kib(p) for p in pids_fn())
    socks = []
    t_open = time.monotonic()
    for i in range(nconns):
        for attempt in range(50):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise BenchError("hold: could not open connection %d" % i)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        socks.append(s)
    sel = selectors.DefaultSelector()
    state = []
    for i, s in enumerate(socks):
        st = {"i": i, "sent_at": None, "got": 0, "dead": False}
        state.append(st)
        sel.register(s, selectors.EVENT_READ, st)
    msg = os.urandom(size)

    def run_round(due_of, until, lat, record):
        """Sends when due, reads echoes, until @until (monotonic); returns late count."""
        late = 0
        pending = sorted(range(nconns), key=lambda i: due_of(i))
        k = 0
        while True:
            now = time.perf_counter()
            while k < len(pending) and due_of(pending[k]) <= now:
                st = state[pending[k]]
                if st["dead"]:
                    k += 1
                    continue
                if st["sent_at"] is not None:
                    late += 1  # the previous echo has not come back within a second
                try:
                    socks[st["i"]].send(msg)
                    st["sent_at"] = time.perf_counter()
                    st["got"] = 0
                except OSError:
                    st["dead"] = True
                k += 1
            if now >= until and all(st["sent_at"] is None or st["dead"] for st in state):
                break
            if now >= until + 5:
                break
            nxt = due_of(pending[k]) if k < len(pending) else until
            for key, _ in sel.select(max(0.0, min(nxt - time.perf_counter(), 0.05))):
                st = key.data
                try:
                    b = key.fileobj.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    b = b""
                if not b:
                    st["dead"] = True
                    sel.unregister(key.fileobj)
                    continue
                st["got"] += len(b)
                if st["sent_at"] is not None and st["got"] >= size:
                    if record:
                        lat.append(time.perf_counter() - st["sent_at"])
                    st["sent_at"] = None
                    st["got"] -= size
        return late

    # Round 0: every connection echoes once (the tunnels open their channels).
    open_lat = []
    base = time.perf_counter()
    run_round(lambda i: base, base, open_lat, True)
    opened_s = time.monotonic() - t_open
    up_after_open = sum(1 for st in state if not st["dead"] and st["sent_at"] is None)
    rss_open = sum(rss_kib(p) for p in pids_fn())
    # The held phase: connection i sends at base + i/nconns + k seconds.
    lat = []
    base = time.perf_counter() + 0.2
    late_total = 0
    for k in range(int(seconds)):
        start = base + k
        late_total += run_round(lambda i: start + i / nconns, start + 1.0, lat, True)
    rss_end = sum(rss_kib(p) for p in pids_fn())
    dead = sum(1 for st in state if st["dead"])
    unanswered = sum(1 for st in state if st["sent_at"] is not None and not st["dead"])
    for s in socks:
        s.close()
    expected = nconns * int(seconds)
    return {
        "conns": nconns, "seconds": seconds, "open_s": opened_s,
        "up_after_open": up_after_open, "dead": dead, "late": late_total,
        "unanswered": unanswered, "echoes": len(lat), "expected": expected,
        "all_up": dead == 0 and up_after_open == nconns and len(lat) == expected,
        "p50_ms": percentile(lat, 50) * 1e3, "p99_ms": percentile(lat, 99) * 1e3,
        "max_ms": max(lat) * 1e3 if lat else float("nan"),
        "rss_before_kib": rss_before, "rss_open_kib": rss_open, "rss_end_kib": rss_end,
        "kib_per_conn": (max(rss_open, rss_end) - rss_before) / nconns,
    }


def settle(seconds=1.0):
    time.sleep(seconds)


def run_chain(chain, args):
    res = {"chain": chain.name}
    gb = 1e9
    all_pids = chain.pids
    if "bulk" in args.workloads:
        pids = all_pids()
        before = snapshot_cpu(pids)
        gw_before = cpu_seconds(chain.gateway_pid) if chain.gateway_pid else None
        roles_before = {}
        if isinstance(chain, Culvert):
            roles_before = {r: snapshot_cpu(ps) for r, ps in chain.role_pids().items()}
        moved = 0
        for streams in (1, args.streams):
            for direction in args.directions:
                settle(0.5)
                secs, n = bulk(chain.bulk_port, args.bulk_bytes, streams, direction,
                               timeout=args.bulk_timeout)
                moved += n
                key = "bulk%d_%s" % (streams, direction)
                res[key] = n / secs / 1e6
                log("  %s: %d stream(s) %s: %.0f MB/s" % (chain.name, streams, direction, res[key]))
        res["bulk_gb"] = moved / gb
        res["cpu_s_per_gb"] = cpu_delta(before, all_pids()) / (moved / gb) if pids else 0.0
        if chain.gateway_pid:
            res["gateway_cpu_s_per_gb"] = (cpu_seconds(chain.gateway_pid) - gw_before) / (moved / gb)
        if roles_before:
            res["role_cpu_s_per_gb"] = {r: cpu_delta(b, list(b)) / (moved / gb)
                                        for r, b in roles_before.items()}
    if "rtt" in args.workloads:
        settle(0.5)
        times = ping_pong(chain.echo_port, args.rtt_count)
        res["rtt_p50_us"] = percentile(times, 50) * 1e6
        res["rtt_p99_us"] = percentile(times, 99) * 1e6
        log("  %s: round trip p50 %.0f µs, p99 %.0f µs" % (chain.name, res["rtt_p50_us"], res["rtt_p99_us"]))
    if "cps" in args.workloads:
        settle(1.0)
        rate, fails, lat = conn_rate(chain.echo_port, args.cps_seconds, args.cps_threads)
        res["cps"] = rate
        res["cps_fail"] = fails
        res["cps_p50_ms"] = percentile(lat, 50) * 1e3
        log("  %s: %.0f connections/s (%d failed)" % (chain.name, rate, fails))
    return res


def iperf3(port, streams, seconds):
    """MB/s of `iperf3 -c … -P streams -t seconds` (client → server), as the receiver saw it."""
    out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-P", str(streams),
                          "-t", str(seconds), "-J"], capture_output=True, text=True,
                         timeout=seconds + 60)
    if out.returncode != 0:
        raise BenchError("iperf3: " + (out.stdout[-400:] + out.stderr).strip())
    received = json.loads(out.stdout)["end"]["sum_received"]
    return received["bytes"] / received["seconds"] / 1e6


def run_iperf(chain, args, res):
    """iperf3 with 1 and with --streams streams, as the outside harness of issue 14 ran it,
    on a chain whose bulk mapping leads to an iperf3 server (started by one_run())."""
    if "iperf" in args.workloads:
        for streams in (1, args.streams):
            settle(1.0)
            key = "iperf%d" % streams
            res[key] = iperf3(chain.bulk_port, streams, args.iperf_seconds)
            log("  %s: iperf3 -P %d: %.0f MB/s" % (chain.name, streams, res[key]))
    return res


def run_hold(chain, args, res):
    """The held connections, on a chain started afresh: its RSS before them is its idle RSS,
    not what the bulk runs left in its heap."""
    if "hold" in args.workloads:
        settle(1.0)
        h = hold(chain.echo_port, args.hold_conns, args.hold_seconds, 64, chain.pids)
        res["hold"] = h
        log("  %s: %d connections %s; echo p50 %.2f ms p99 %.2f ms; %.1f KiB/connection"
            % (chain.name, h["conns"], "all up" if h["all_up"] else "NOT all up",
               h["p50_ms"], h["p99_ms"], h["kib_per_conn"]))
    return res


# ---- goals and the table --------------------------------------------------------------

def fmt(v, spec="%.0f"):
    if v is None or (isinstance(v, float) and v != v):
        return "–"
    return spec % v


def goals(results, args):
    c = results.get("culvert", {})
    s = results.get("ssh", {})
    t = results.get("stunnel", {})
    out = []

    def ratio(name, a, b, want, higher=True):
        if a is None or b is None or not b:
            out.append((name, "≥ %.1f×" % want if higher else "≤ %.1f×" % want, "–", "not measured"))
            return
        r = a / b
        ok = r >= want if higher else r <= want
        out.append((name, ("≥ %g×" if higher else "≤ %g×") % want, "%.2f×" % r, "met" if ok else "NOT met"))

    for st in (1, args.streams):
        for d in args.directions:
            k = "bulk%d_%s" % (st, d)
            ratio("bulk, %d stream%s (%s): culvert / ssh" % (st, "s" if st > 1 else "", d),
                  c.get(k), s.get(k), 1.5)
            ratio("bulk, %d stream%s (%s): culvert / stunnel" % (st, "s" if st > 1 else "", d),
                  c.get(k), t.get(k), 1.0)
    for d in args.directions:
        one, many = c.get("bulk1_%s" % d), c.get("bulk%d_%s" % (args.streams, d))
        if one and many:
            out.append(("bulk (%s): culvert's %d streams not slower than 1" % (d, args.streams),
                        "≥ 1×", "%.2f×" % (many / one), "met" if many >= one else "NOT met"))
    for st in (1, args.streams):
        k = "iperf%d" % st
        ratio("iperf3 -P %d: culvert / ssh" % st, c.get(k), s.get(k), 1.5)
        ratio("iperf3 -P %d: culvert / stunnel" % st, c.get(k), t.get(k), 1.0)
    if c.get("iperf1") and c.get("iperf%d" % args.streams):
        ok = c["iperf%d" % args.streams] >= c["iperf1"]
        out.append(("iperf3: culvert's %d streams not slower than 1" % args.streams, "≥ 1×",
                    "%.2f×" % (c["iperf%d" % args.streams] / c["iperf1"]), "met" if ok else "NOT met"))
    ratio("round trip p50: culvert / stunnel", c.get("rtt_p50_us"), t.get("rtt_p50_us"), 1.0,
          higher=False)
    if c.get("cps") is not None:
        out.append(("new connections/s through culvert", "≥ 4000", "%.0f" % c["cps"],
                    "met" if c["cps"] >= 4000 else "NOT met"))
    ratio("new connections/s: culvert / ssh", c.get("cps"), s.get("cps"), 4)
    ratio("new connections/s: culvert / stunnel", c.get("cps"), t.get("cps"), 2)
    h = c.get("hold")
    if h:
        ok = h["all_up"] and h["p99_ms"] <= 1.0
        out.append(("%d connections: all up, echo p99" % h["conns"], "all up, ≤ 1 ms",
                    "%s, %.2f ms" % ("all up" if h["all_up"] else "%d down" % (h["conns"] - h["up_after_open"] + h["dead"]),
                                     h["p99_ms"]), "met" if ok else "NOT met"))
        ok = h["kib_per_conn"] <= 16
        out.append(("%d connections: RSS of gateway + agents per connection" % h["conns"],
                    "≤ 16 KiB", "%.1f KiB" % h["kib_per_conn"], "met" if ok else "NOT met"))
    for web in WEB_CHAINS:
        w = results.get(web)
        if not w:
            continue
        for st in (1, args.streams):
            for d in args.directions:
                k = "bulk%d_%s" % (st, d)
                ratio("bulk, %d stream%s (%s): %s / culvert" % (st, "s" if st > 1 else "", d, web),
                      w.get(k), c.get(k), 0.8)
        ratio("round trip p50: %s / culvert" % web, w.get("rtt_p50_us"), c.get("rtt_p50_us"), 1.2,
              higher=False)
    if c.get("gateway_cpu_s_per_gb") is not None:
        v = c["gateway_cpu_s_per_gb"]
        out.append(("gateway CPU per GB relayed", "≤ 0.2 s", "%.3f s" % v, "met" if v <= 0.2 else "NOT met"))
    return out


def table(results, args):
    cols = []
    for st in (1, args.streams):
        for d in args.directions:
            cols.append(("bulk%d_%s" % (st, d), "bulk %d× %s MB/s" % (st, d), "%.0f"))
    cols += [("iperf1", "iperf3 -P 1 MB/s", "%.0f"),
             ("iperf%d" % args.streams, "iperf3 -P %d MB/s" % args.streams, "%.0f")]
    cols += [("rtt_p50_us", "RTT p50 µs", "%.0f"), ("rtt_p99_us", "RTT p99 µs", "%.0f"),
             ("cps", "conn/s", "%.0f")]
    hc = args.hold_conns
    lines = []
    head = ["chain"] + [c[1] for c in cols] + [
        "%d conns up" % hc, "echo p50 ms", "echo p99 ms", "KiB/conn", "CPU s/GB (chain)",
        "gateway CPU s/GB"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for name in args.chains:
        r = results.get(name)
        if r is None:
            continue
        row = [name] + [fmt(r.get(k), spec) for k, _, spec in cols]
        h = r.get("hold")
        if h:
            row += ["%s" % ("yes" if h["all_up"] else "NO (%d dead, %d late)" % (h["dead"], h["late"])),
                    fmt(h["p50_ms"], "%.2f"), fmt(h["p99_ms"], "%.2f"),
                    fmt(h["kib_per_conn"], "%.1f") if name != "direct" else "–"]
        else:
            row += ["–"] * 4
        row.append(fmt(r.get("cpu_s_per_gb"), "%.2f") if name != "direct" else "–")
        row.append(fmt(r.get("gateway_cpu_s_per_gb"), "%.3f"))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("| goal | wanted | measured | status |")
    lines.append("|---|---|---|---|")
    for g in goals(results, args):
        lines.append("| " + " | ".join(g) + " |")
    c = results.get("culvert", {})
    if c.get("role_cpu_s_per_gb"):
        lines.append("")
        lines.append("Culvert CPU seconds per GB over the bulk runs: " + ", ".join(
            "%s %.3f" % (r, v) for r, v in c["role_cpu_s_per_gb"].items()))
    return "\n".join(lines)


# ---- machine, load, main --------------------------------------------------------------

def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    return "%d × %s, %d MiB, Linux %s, Python %s" % (os.cpu_count(), cpu, mem, platform.release(),
                                                    platform.python_version())


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_load(limit, seconds):
    deadline = time.monotonic() + seconds
    load = loadavg()
    if load >= limit:
        log("waiting for the 1-minute load average (%.2f) to drop below %.2f, at most %.0f s"
            % (load, limit, seconds))
    while load >= limit and time.monotonic() < deadline:
        time.sleep(5)
        load = loadavg()
    if load >= limit:
        log("load average still %.2f after %.0f s; measuring anyway" % (load, seconds))
    return load


def missing_tools(chains, workloads=()):
    need = {}
    if "iperf" in workloads and not shutil.which("iperf3"):
        need["iperf3"] = "iperf3"
    if "ssh" in chains:
        if not (shutil.which("sshd") or os.path.exists("/usr/sbin/sshd")):
            need["sshd"] = "openssh-server"
        for t in ("ssh", "ssh-keygen"):
            if not shutil.which(t):
                need[t] = "openssh-client"
    if "culvert-nginx" in chains and not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        need["nginx"] = "nginx-light"
    if "stunnel" in chains:
        if not Stunnel.binary():
            need["stunnel"] = "stunnel4"
        if not shutil.which("openssl"):
            need["openssl"] = "openssl"
    return need


def raise_nofile(want=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for lim in ((want, max(want, hard)), (min(want, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, lim)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def make_chain(name, target, workdir, args):
    if name == "direct":
        return Direct(target, workdir)
    if name == "culvert" or name in WEB_CHAINS:
        return Culvert(target, workdir, args.culvert_cli, args.wrap, name)
    if name == "ssh":
        return Ssh(target, workdir)
    return Stunnel(target, workdir)


def afresh(name, target, workdir, args, why, work, index):
    """Starts chain @name anew in front of @target, runs @work on it, stops it."""
    chain = make_chain(name, target, workdir, args)
    log("run %d: %s, started afresh %s" % (index, name, why))
    try:
        chain.start()
        work(chain)
    finally:
        chain.stop()


def one_run(args, index):
    load = wait_load(args.load_limit, args.wait_load) if args.wait_load > 0 else loadavg()
    log("run %d: load average %.2f" % (index, load))
    workdir = tempfile.mkdtemp(prefix="bench-chains-")
    target = Target(workdir)
    results = {}
    versions = {}
    iperf_port, iperf_server = free_port(), None
    if "iperf" in args.workloads:
        iperf_server = subprocess.Popen(["iperf3", "-s", "-p", str(iperf_port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=die_with_parent)
    try:
        for name in args.chains:
            chain = make_chain(name, target, workdir, args)
            log("run %d: %s" % (index, name))
            try:
                chain.start()
                versions[name] = chain.versions()
                results[name] = run_chain(chain, args)
            finally:
                chain.stop()
            if "iperf" in args.workloads:
                # The chain's bulk mapping leads to iperf3 instead of the Python target.
                to_iperf = types.SimpleNamespace(bulk_port=iperf_port, echo_port=target.echo_port)
                afresh(name, to_iperf, workdir + "/iperf", args, "in front of iperf3",
                       lambda chain: run_iperf(chain, args, results[name]), index)
            if "hold" in args.workloads:
                afresh(name, target, workdir + "/hold", args, "for the held connections",
                       lambda chain: run_hold(chain, args, results[name]), index)
    finally:
        target.stop()
        if iperf_server:
            stop_process(iperf_server)
        if args.keep:
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return {"load_before": load, "load_after": loadavg(), "results": results,
            "versions": versions, "table": table(results, args)}


def main():
    global START_TIMEOUT
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--serve-target", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--culvert-cli", default=os.environ.get("CULVERT_CLI", DEFAULT_CLI))
    p.add_argument("--chains", default=",".join(CHAINS), help="comma-separated: " + ",".join(CHAINS + WEB_CHAINS))
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ",".join(WORKLOADS))
    p.add_argument("--bulk-bytes", type=float, default=1024, help="MiB per bulk case (default 1024)")
    p.add_argument("--bulk-timeout", type=float, default=300)
    p.add_argument("--streams", type=int, default=8, help="streams of the second bulk case")
    p.add_argument("--directions", default="up", help="up (client → target), down, or up,down")
    p.add_argument("--iperf-seconds", type=int, default=10)
    p.add_argument("--rtt-count", type=int, default=2000)
    p.add_argument("--cps-seconds", type=float, default=5)
    p.add_argument("--cps-threads", type=int, default=4)
    p.add_argument("--hold-conns", type=int, default=1000)
    p.add_argument("--hold-seconds", type=int, default=20)
    p.add_argument("--start-timeout", type=float, default=20.0,
                   help="seconds a chain may take to come up (more under valgrind)")
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--wait-load", type=float, default=0,
                   help="before each run, wait up to this many seconds for the load to drop")
    p.add_argument("--load-limit", type=float, default=1.0)
    p.add_argument("--json", help="also write every number to this file")
    p.add_argument("--keep", action="store_true", help="keep the work directory (configs, logs)")
    p.add_argument("--wrap", action="append", default=[], metavar="ROLE=COMMAND",
                   help="run a Culvert role under a command, e.g. "
                        "gateway='strace -c -f -o /tmp/gw.txt' (for profiling, not for numbers)")
    args = p.parse_args()
    START_TIMEOUT = args.start_timeout
    if args.serve_target:
        serve_target()
        return 0
    args.chains = [c for c in args.chains.split(",") if c]
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.directions = [d for d in args.directions.split(",") if d]
    args.bulk_bytes = int(args.bulk_bytes * 1024 * 1024)
    wrap = {}
    for w in args.wrap:
        role, _, cmd = w.partition("=")
        wrap[role] = cmd.split()
    args.wrap = wrap
    bad = [c for c in args.chains if c not in CHAINS + WEB_CHAINS] + [w for w in args.workloads if w not in WORKLOADS]
    if bad:
        p.error("unknown: " + ", ".join(bad))
    if "culvert" in args.chains and not os.access(args.culvert_cli, os.X_OK):
        print("bench-chains: no %s; build it first:\n"
              "  meson setup _build-release --buildtype=release -Dgui=disabled && ninja -C _build-release"
              % args.culvert_cli, file=sys.stderr)
        return 2
    need = missing_tools(args.chains, args.workloads)
    if need:
        pkgs = sorted(set(need.values()))
        print("bench-chains: missing %s. Install with:\n  sudo apt-get install -y %s"
              % (", ".join(sorted(need)), " ".join(pkgs)), file=sys.stderr)
        return 2
    nofile = raise_nofile()
    log("RLIMIT_NOFILE %d/%d; %s" % (nofile[0], nofile[1], machine()))
    if nofile[0] < 4 * args.hold_conns + 100:
        log("warning: RLIMIT_NOFILE %d may be too low for %d connections" % (nofile[0], args.hold_conns))
    runs = []
    for i in range(1, args.runs + 1):
        r = one_run(args, i)
        runs.append(r)
        print("\n### Run %d (load average %.2f before, %.2f after)\n" % (i, r["load_before"], r["load_after"]))
        print(r["table"])
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "argv": sys.argv, "runs": runs}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
