#!/usr/bin/env python3
"""One-line use: `culvert-cli gateway|share|connect` from flags alone, from a config file
with flags that override its keys, and the agents' log_level (key and flag)."""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CLI, START_TIMEOUT, DataStream, Session, case, check,  # noqa: E402
                     duplex, free_port, run_tests)

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
    # agent tells the tunnel's details and each connection's bytes.
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
    conn.wait_for_log(r" debug: .*bytes", START_TIMEOUT)
    check(share.running(), "the share agent exited:\n" + share.tail())
    check(share.text() == "", "at log_level warning the share agent printed:\n" + share.tail())


run_tests([
    case("log_level key: warning is quiet, debug tells bytes", test_log_level_key),
])
