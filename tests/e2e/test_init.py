#!/usr/bin/env python3
"""A first-time operator's path: `culvert-cli init` writes a working gateway, share and
connect config; the README's quick start fetches a page through them; `fingerprint`
prints the key the gateway and the agents present, without making one."""

import functools
import http.server
import json
import os
import random
import re
import shlex
import stat
import subprocess
import sys
import threading
import urllib.request

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, IO_TIMEOUT, START_TIMEOUT, Proc, Session, case,  # noqa: E402
                     check, free_port, run_cli, run_tests)

FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}\n$")
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "README.md")
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                        "examples")


def fingerprint(*args):
    status, out, err = run_cli(["fingerprint"] + list(args), timeout=10)
    check(status == 0, "fingerprint %s: exit %d, stderr %r" % (" ".join(args), status, err))
    check(FINGERPRINT.match(out), "fingerprint %s printed %r, expected one sha256: line"
          % (" ".join(args), out))
    return out.strip()


def init(t, *args, name="culvert"):
    """culvert-cli init --dir T/NAME ARGS…: the directory."""
    d = t.path(name)
    status, out, err = run_cli(["init", "--dir", d] + list(args), timeout=60)
    check(status == 0, "init: exit %d, stderr %r" % (status, err))
    check(err == "", "init wrote to stderr: %r" % err)
    return d


def read_json(path):
    with open(path) as f:
        return json.load(f)


class PageServer:
    """python3 -m http.server, in a thread: serves @directory on 127.0.0.1."""

    def __init__(self, directory):
        handler = functools.partial(Handler, directory=directory)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


# ---- init ------------------------------------------------------------------------------


def serve_page(t):
    """A web server with one page of random bytes: (server, page)."""
    site = t.path("site")
    os.makedirs(site)
    page = random.Random(10).randbytes(300 * 1024)
    with open(os.path.join(site, "page.bin"), "wb") as f:
        f.write(page)
    return t.add(PageServer(site)), page


def run_roles(t, d, gw_port, local_port, env_share=None, env_connect=None, commands=None):
    """Start the gateway, share and connect agent from d/*.json (or @commands, argv lists
    run in @d); the gateway's process and its fingerprint."""
    if commands is None:
        commands = [[CLI, role, "--config", os.path.join(d, role + ".json")]
                    for role in ("gateway", "share", "connect")]
    gw = Proc("gateway", commands[0], cwd=d)
    t.procs.append(gw)
    _, m, _ = gw.wait_for_log(r"gateway key fingerprint: (sha256:[0-9a-f]+)", START_TIMEOUT)
    gw.wait_for_log(r"listening on 127\.0\.0\.1 port %d" % gw_port, START_TIMEOUT)
    share = Proc("share", commands[1], env=env_share, cwd=d)
    t.procs.append(share)
    share.wait_for_log(r"share agent online in session .demo.", START_TIMEOUT)
    conn = Proc("connect", commands[2], env=env_connect, cwd=d)
    t.procs.append(conn)
    conn.wait_for_log(r"mapping 127\.0\.0\.1:%d " % local_port, START_TIMEOUT)
    conn.wait_for_log(r"share agent online$", START_TIMEOUT)
    return gw, m.group(1)


def readme_quick_start():
    """The commands of the README's quick start block, without their comments."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^## Quick start.*?^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    check(m is not None, "the README has no quick start block")
    return [shlex.split(line, comments=True) for line in m.group(1).splitlines() if line.strip()]


def fetch_page(local_port, page):
    url = "http://127.0.0.1:%d/page.bin" % local_port
    with urllib.request.urlopen(url, timeout=IO_TIMEOUT) as reply:
        got = reply.read()
    check(got == page, "fetched %d bytes through the mapping, expected the page's %d"
          % (len(got), len(page)))


def test_quick_start(t):
    # The README's commands as they are written, run in a fresh directory, but on free
    # ports instead of 8443, 8000 and 8080 (the machine is shared): init is given them,
    # and the page is fetched with urllib where the README says curl.
    commands = readme_quick_start()
    check(len(commands) <= 5, "the quick start takes %d commands, more than 5" % len(commands))
    check([c[:2] for c in commands] == [["culvert-cli", "init"], ["culvert-cli", "gateway"],
                                        ["culvert-cli", "share"], ["culvert-cli", "connect"],
                                        ["curl", "http://127.0.0.1:8080/"]],
          "the README's quick start is %s" % commands)
    web, page = serve_page(t)
    gw_port, local_port = free_port(), free_port()
    init_argv = [CLI] + commands[0][1:] + [
        "--gateway", "127.0.0.1:%d" % gw_port, "--allow", "localhost:%d" % web.port,
        "-L", "%d:localhost:%d" % (local_port, web.port)]
    r = subprocess.run(init_argv, cwd=t.dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    check(r.returncode == 0 and r.stderr == b"", "init: exit %d, stderr %r"
          % (r.returncode, r.stderr))
    d = t.path("culvert")
    for name in ("gateway.json", "share.json", "connect.json"):
        status, out, err = run_cli(["check-config", os.path.join(d, name)], timeout=10)
        check(status == 0 and ": OK (" in out, "check-config %s: exit %d, %r %r"
              % (name, status, out, err))
        check(name in r.stdout.decode(), "init does not say it wrote %s" % name)
    for c in commands[1:4]:
        check(("culvert-cli " + " ".join(c[1:])) in r.stdout.decode(),
              "init does not print the README's next command %s" % c)

    gw, logged = run_roles(t, t.dir, gw_port, local_port,
                           commands=[[CLI] + c[1:] for c in commands[1:4]])
    check(gw.count(r"made a self-signed certificate") == 0,
          "the gateway made a new key: init did not make it")
    pinned = read_json(os.path.join(d, "connect.json"))["gateway_fingerprint"]
    check(pinned == logged, "connect.json pins %s, the gateway logs %s" % (pinned, logged))
    check(read_json(os.path.join(d, "share.json"))["gateway_fingerprint"] == logged,
          "share.json pins another fingerprint")
    check(fingerprint("--config", os.path.join(d, "gateway.json")) == logged,
          "fingerprint --config gateway.json differs from the gateway's log line")
    fetch_page(local_port, page)


# ---- the examples -----------------------------------------------------------------------


def example_files():
    found = []
    for root, _, names in os.walk(EXAMPLES):
        found += [os.path.join(root, n) for n in sorted(names) if n.endswith(".json")]
    return sorted(found)


def test_examples_check(t):
    files = example_files()
    check(len(files) == 6, "expected 3 loopback and 3 production examples, found %s" % files)
    for path in files:
        status, out, err = run_cli(["check-config", path], timeout=10)
        # A production example names files of a production machine (a Let's Encrypt key,
        # /etc/culvert/…), which check-config opens as start-up would; only that may fail.
        missing_here = ("production" in path and status == 2 and "/etc/" in err
                        and "No such file or directory" in err)
        check((status == 0 and out.startswith(path + ": OK (")) or missing_here,
              "check-config %s: exit %d, stdout %r, stderr %r" % (path, status, out, err))
        with open(path) as f:
            text = f.read()
        check(text.startswith("//"), "%s does not start with a comment saying what it is" % path)


def test_examples_run(t):
    # The loopback templates as they are, but for the one line their comments say to fill
    # in (the gateway's fingerprint) and free ports instead of 8443, 8000 and 8080.
    web, page = serve_page(t)
    gw_port, local_port = free_port(), free_port()
    d = t.path("examples")
    os.makedirs(d)
    for name in ("gateway.json", "share.json", "connect.json"):
        with open(os.path.join(EXAMPLES, name)) as f:
            text = f.read()
        for old, new in (("127.0.0.1:8443", "127.0.0.1:%d" % gw_port),
                         ("localhost:8000", "localhost:%d" % web.port),
                         ("127.0.0.1:8080", "127.0.0.1:%d" % local_port)):
            text = text.replace(old, new)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    gw = t.spawn("first-start", [CLI, "gateway", "--config", os.path.join(d, "gateway.json")])
    gw.wait_for_log(r"listening on", START_TIMEOUT)
    gw.stop()
    fp = fingerprint("--config", os.path.join(d, "gateway.json"))
    for name in ("share.json", "connect.json"):
        path = os.path.join(d, name)
        with open(path) as f:
            text = f.read()
        pin = '// "gateway_fingerprint": "sha256:…",'
        check(pin in text, "%s has no line %r to fill in" % (name, pin))
        with open(path, "w") as f:
            f.write(text.replace(pin, '"gateway_fingerprint": "%s",' % fp))
    run_roles(t, d, gw_port, local_port, env_share={"CULVERT_PASSWORD": "demo-share-password"},
              env_connect={"CULVERT_PASSWORD": "demo-connect-password"})
    fetch_page(local_port, page)


def test_init_files(t):
    d = init(t)
    for name in ("share.password", "connect.password"):
        st = os.lstat(os.path.join(d, name))
        check(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
              "%s has mode %o, expected 0600" % (name, stat.S_IMODE(st.st_mode)))
    passwords = []
    for name in ("share.password", "connect.password"):
        with open(os.path.join(d, name)) as f:
            text = f.read()
        check(re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){7}\n", text),
              "%s holds %r, expected 160 random bits in base32, in groups of four, and a newline"
              % (name, text))
        passwords.append(text)
    check(passwords[0] != passwords[1], "the share and connect passwords are the same")
    # The defaults: a loopback demo, 127.0.0.1:8080 → localhost:8000.
    gateway = read_json(os.path.join(d, "gateway.json"))
    check(gateway["listen"] == ["127.0.0.1:8443"], "listens on %s" % gateway["listen"])
    check([s["id"] for s in gateway["sessions"]] == ["demo"], "sessions %s" % gateway["sessions"])
    check(read_json(os.path.join(d, "share.json"))["allow"] == ["localhost:8000"], "allow")
    check(read_json(os.path.join(d, "connect.json"))["mappings"]
          == [{"listen": "127.0.0.1:8080", "target": "localhost:8000"}], "mappings")
    check(os.path.exists(os.path.join(d, "gateway-state", "gateway.pem")), "no gateway key")


def test_init_refuses_to_overwrite(t):
    d = init(t)
    before = {n: open(os.path.join(d, n), "rb").read() for n in os.listdir(d)
              if os.path.isfile(os.path.join(d, n))}
    status, out, err = run_cli(["init", "--dir", d], timeout=60)
    check(status == 2 and out == "", "init over its own files: exit %d, stdout %r" % (status, out))
    check(os.path.join(d, "gateway.json") in err and "exists already" in err,
          "the refusal does not name the file: %r" % err)
    after = {n: open(os.path.join(d, n), "rb").read() for n in before}
    check(before == after, "init changed files it refused to overwrite")
    # One file left from before is enough to refuse, and nothing else is written then.
    other = t.path("other")
    os.makedirs(other)
    with open(os.path.join(other, "connect.password"), "w") as f:
        f.write("old\n")
    status, out, err = run_cli(["init", "--dir", other], timeout=60)
    check(status == 2 and os.path.join(other, "connect.password") in err,
          "init over a connect.password: exit %d, stderr %r" % (status, err))
    check(os.listdir(other) == ["connect.password"], "init wrote %s" % os.listdir(other))


def test_init_bad_options(t):
    for args, said in ((["-L", "8080"], "-L"), (["--allow", "no such host:1"], "allow[0]"),
                       (["--session", "a b"], "sessions[0].id"), (["--gateway", "x"], "--gateway"),
                       (["extra"], "takes no arguments")):
        d = t.path("bad")
        status, out, err = run_cli(["init", "--dir", d] + args, timeout=60)
        check(status == 2 and said in err, "init %s: exit %d, stderr %r" % (args, status, err))
        check(not os.path.exists(d), "init %s made %s" % (args, d))


# ---- fingerprint ------------------------------------------------------------------------


def test_fingerprint_of_gateway(t):
    gw = t.gateway([Session("s1")])
    fp = gw.fingerprint
    check(fingerprint("--config", gw.config_path) == fp,
          "fingerprint --config differs from the gateway's log line %s" % fp)
    check(fingerprint("--config", gw.config_path, "--kind", "gateway") == fp, "with --kind")
    check(fingerprint("--state-dir", gw.state_dir, "--role", "gateway") == fp, "with --state-dir")


def test_fingerprint_of_cert_file(t):
    # A CA-issued certificate (certbot's fullchain.pem and privkey.pem): its key, as the
    # test files' own record of it says, and the gateway's state_dir is not looked at.
    tls = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "files", "tls")
    key = t.path("privkey.pem")
    with open(os.path.join(tls, "server-key.pem"), "rb") as f:
        data = f.read()
    with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
        f.write(data)
    config = t.write_json("gateway.json", {
        "listen": ["127.0.0.1:%d" % free_port()],
        "certificate": {"cert_file": os.path.join(tls, "server-fullchain.pem"), "key_file": key},
        "state_dir": t.path("nowhere")})
    with open(os.path.join(tls, "server-key-id.txt")) as f:
        expected = f.read().strip()
    check(fingerprint("--config", config) == expected, "not the certificate's key %s" % expected)
    check(not os.path.exists(t.path("nowhere")), "fingerprint made the state_dir")
    os.remove(key)
    status, out, err = run_cli(["fingerprint", "--config", config], timeout=10)
    check(status == 1 and out == "" and key in err and "holds no key yet" not in err,
          "a missing key_file: exit %d, stdout %r, stderr %r" % (status, out, err))


def test_fingerprint_of_agents(t):
    session = Session("s1")
    gw = t.gateway([session])
    share = t.share(gw, session, ["localhost:1"])
    _, m, _ = share.wait_for_log(r"share agent key (sha256:[0-9a-f]+)", START_TIMEOUT)
    check(fingerprint("--config", share.config_path) == m.group(1),
          "fingerprint --config share.json differs from the share agent's key %s" % m.group(1))
    check(fingerprint("--state-dir", share.state_dir, "--role", "share") == m.group(1),
          "with --state-dir")
    conn = t.connect_agent(gw, session, ["localhost:1"])
    _, m, _ = conn.wait_for_log(r"connect agent key (sha256:[0-9a-f]+)", START_TIMEOUT)
    check(fingerprint("--config", conn.config_path) == m.group(1),
          "fingerprint --config connect.json differs from the connect agent's key %s"
          % m.group(1))


def test_fingerprint_never_makes_a_key(t):
    gw = t.gateway([Session("s1")], start=False)
    for args in (["--config", gw.config_path], ["--state-dir", gw.state_dir, "--role", "gateway"]):
        status, out, err = run_cli(["fingerprint"] + args, timeout=10)
        check(status == 1, "fingerprint %s with no key yet: exit %d, expected 1" % (args, status))
        check(out == "", "fingerprint with no key yet printed %r" % out)
        check("holds no key yet" in err and gw.state_dir in err and "first start" in err,
              "unclear error: %r" % err)
    check(not os.path.exists(os.path.join(gw.state_dir, "gateway.pem")),
          "fingerprint made a key")
    # The gateway still makes its own on its first start: nothing was left half-made.
    gw.start()
    check(fingerprint("--config", gw.config_path) == gw.fingerprint, "after the first start")


def test_fingerprint_usage(t):
    for args in ([], ["--config", "a.json", "--state-dir", "d"], ["--state-dir", "d"],
                 ["--state-dir", "d", "--role", "nobody"], ["extra"]):
        status, out, err = run_cli(["fingerprint"] + args, timeout=10)
        check(status == 2 and out == "" and err.startswith("culvert-cli fingerprint: "),
              "fingerprint %s: exit %d, stdout %r, stderr %r" % (args, status, out, err))


if __name__ == "__main__":
    run_tests([
        case("quick start: init, gateway, share, connect, a page fetched through the mapping",
             test_quick_start),
        case("every example passes check-config and says what it is", test_examples_check),
        case("the loopback examples run as they are, once the fingerprint is filled in",
             test_examples_run),
        case("init: 0600 password files of 160 random bits, loopback defaults, the gateway key",
             test_init_files),
        case("init refuses to overwrite, and says which file", test_init_refuses_to_overwrite),
        case("init: a bad option exits 2 and writes nothing", test_init_bad_options),
        case("fingerprint of a gateway: the value it logs at start", test_fingerprint_of_gateway),
        case("fingerprint of a gateway with a certificate from files", test_fingerprint_of_cert_file),
        case("fingerprint of a share and a connect agent: the keys they log",
             test_fingerprint_of_agents),
        case("fingerprint of a gateway without a key: says so, exit 1, makes none",
             test_fingerprint_never_makes_a_key),
        case("fingerprint: a bad command line exits 2", test_fingerprint_usage),
    ])
