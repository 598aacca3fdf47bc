#!/usr/bin/env python3
"""A burned code, at a terminal: the sharer gets a new one with one action (Enter), and
the new one works.  The share command runs on a pseudo-terminal, as a person runs it."""

import os
import re
import select
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import CLI, START_TIMEOUT, case, check, run_tests  # noqa: E402
import harness  # noqa: E402

CODE = re.compile(rb"Session code: (\d{3,9}-\d{3}-\d{3})")


class Terminal:
    """culvert-cli share on a pty: what it prints there, and keys typed into it."""

    def __init__(self, args, log_path):
        self.master, slave = os.openpty()
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=self.log,
                                     preexec_fn=harness._die_with_parent)
        os.close(slave)
        self.seen = b""

    def wait_for(self, pattern, timeout, start=0):
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.seen, start)
            if m:
                return m
            left = deadline - time.monotonic()
            check(left > 0, "no /%s/ on the terminal within %.0f s; it shows:\n%s"
                  % (pattern.pattern.decode(), timeout, self.seen.decode(errors="replace")))
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the other end closed
                    time.sleep(0.05)

    def type(self, keys):
        os.write(self.master, keys)

    def close(self):
        self.proc.kill()
        self.proc.wait(5)
        os.close(self.master)
        self.log.close()


def test_enter_renews(t):
    echo = t.echo_server()
    gw = t.gateway([], codes=True)
    common = ["--gateway", gw.address, "--fingerprint", gw.fingerprint]
    term = Terminal([CLI, "share", "--code", "--accept", "--offer",
                     "echo=127.0.0.1:%d" % echo.port, "--state-dir", t.path("share-state")]
                    + common, t.path("share.log"))
    try:
        first = term.wait_for(CODE, START_TIMEOUT)
        code = first.group(1).decode()
        nameplate, secret = code.split("-", 1)[0], code.replace("-", "")[-6:]
        wrong = "%s-%03d-%03d" % (nameplate, (int(secret[:3]) + 1) % 1000, int(secret[3:]))
        guesser = t.spawn("guesser", [CLI, "connect", "--code", wrong, "--map", "0:echo",
                                      "--state-dir", t.path("guesser-state")] + common)
        guesser.wait_for_log(r"it is burned", START_TIMEOUT)
        burned = term.wait_for(re.compile(rb"this code is burned\. Press Enter for a new code"),
                               START_TIMEOUT, first.end())
        term.type(b"\n")
        second = term.wait_for(CODE, START_TIMEOUT, burned.end())
        new_code = second.group(1).decode()
        t.note("burned %s, then %s" % (code, new_code))
        check(new_code != code, "Enter gave the same code again: %s" % code)
        conn = t.spawn("connect", [CLI, "connect", "--code", new_code, "--map", "0:echo",
                                   "--state-dir", t.path("connect-state")] + common)
        conn.wait_for_log(r"Code confirmed\. Verification: \d{3} \d{3}", START_TIMEOUT)
        term.wait_for(re.compile(rb"Code confirmed"), START_TIMEOUT, second.end())
    finally:
        term.close()


run_tests([
    case("a burned code at a terminal: Enter gives a new code, and it works",
         test_enter_renews),
])
