#!/usr/bin/env python3
"""A first-time operator's path: `culvert-cli init` writes a working gateway, share and
connect config; the README's quick start fetches a page through them; `fingerprint`
prints the key the gateway and the agents present, without making one."""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, START_TIMEOUT, Session, case, check, run_cli,  # noqa: E402
                     run_tests)

FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}\n$")


def fingerprint(*args):
    status, out, err = run_cli(["fingerprint"] + list(args), timeout=10)
    check(status == 0, "fingerprint %s: exit %d, stderr %r" % (" ".join(args), status, err))
    check(FINGERPRINT.match(out), "fingerprint %s printed %r, expected one sha256: line"
          % (" ".join(args), out))
    return out.strip()


# ---- fingerprint ------------------------------------------------------------------------


def test_fingerprint_of_gateway(t):
    gw = t.gateway([Session("s1")])
    fp = gw.fingerprint
    check(fingerprint("--config", gw.config_path) == fp,
          "fingerprint --config differs from the gateway's log line %s" % fp)
    check(fingerprint("--config", gw.config_path, "--kind", "gateway") == fp, "with --kind")
    check(fingerprint("--state-dir", gw.state_dir, "--role", "gateway") == fp, "with --state-dir")


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
        case("fingerprint of a gateway: the value it logs at start", test_fingerprint_of_gateway),
        case("fingerprint of a share and a connect agent: the keys they log",
             test_fingerprint_of_agents),
        case("fingerprint of a gateway without a key: says so, exit 1, makes none",
             test_fingerprint_never_makes_a_key),
        case("fingerprint: a bad command line exits 2", test_fingerprint_usage),
    ])
