#!/usr/bin/env python3
"""Bad configs: `culvert-cli gateway|share|connect --config FILE` exits 2 at once, and its
error names the file and the key."""

import copy
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Session, case, check, free_port, run_cli, run_tests  # noqa: E402

EXIT_CONFIG = 2


def valid(role):
    s1 = Session("s1")
    if role == "gateway":
        return {"listen": ["127.0.0.1:%d" % free_port()], "state_dir": "gw-state",
                "sessions": [s1.config()], "limits": {"max_links": 100}}
    agent = {"gateway": "127.0.0.1:%d" % free_port(), "session": "s1",
             "password_env": "CULVERT_PASSWORD", "state_dir": role + "-state"}
    if role == "share":
        agent["allow"] = ["127.0.0.1:5900"]
    else:
        agent["mappings"] = [{"listen": "127.0.0.1:%d" % free_port(), "target": "127.0.0.1:5900"}]
    return agent


def without(key):
    def mutate(c):
        del c[key]
    return mutate


def setting(key, value):
    def mutate(c):
        c[key] = value
    return mutate


def drop_session_key(key):
    def mutate(c):
        del c["sessions"][0][key]
    return mutate


def set_mapping(key, value):
    def mutate(c):
        c["mappings"][0][key] = value
    return mutate


# role → [(kind, mutation, key the error must name)]
BAD = {
    "gateway": [
        ("missing key", drop_session_key("connect_password_hash"),
         "sessions[0].connect_password_hash"),
        ("wrong type", setting("listen", "127.0.0.1:8443"), "listen"),
        ("unknown key", setting("sesions", []), "sesions"),
        ("bad port", setting("listen", ["127.0.0.1:99999"]), "listen[0]"),
    ],
    "share": [
        ("missing key", without("session"), "session"),
        ("wrong type", setting("allow", "127.0.0.1:5900"), "allow"),
        ("unknown key", setting("alow", ["127.0.0.1:22"]), "alow"),
        ("bad port", setting("gateway", "127.0.0.1:70000"), "gateway"),
    ],
    "connect": [
        ("missing key", without("gateway"), "gateway"),
        ("wrong type", setting("session", 42), "session"),
        ("unknown key", setting("mapings", []), "mapings"),
        ("bad port", set_mapping("listen", "127.0.0.1:65536"), "mappings[0].listen"),
    ],
}


def write(t, name, config):
    return t.write_json(name, config)


def make_valid_case(role):
    def test(t):
        path = write(t, role + ".json", valid(role))
        status, out, err = run_cli(["check-config", path], timeout=10)
        check(status == 0, "the valid %s config is refused (%d): %s" % (role, status, err))
    return test


def make_bad_case(role, kind, mutate, key):
    def test(t):
        config = copy.deepcopy(valid(role))
        mutate(config)
        path = write(t, "%s-%s.json" % (role, kind.replace(" ", "-")), config)
        status, out, err = run_cli([role, "--config", path], timeout=10,
                                   env={"CULVERT_PASSWORD": "pw"})
        t.note(err.strip())
        check(status == EXIT_CONFIG,
              "culvert-cli %s exited %d, expected %d; stderr: %s" % (role, status, EXIT_CONFIG,
                                                                   err))
        check(path in err, "the error does not name the file %s: %s" % (path, err))
        # "FILE: KEY: what was expected, what came", as a compiler's errors.
        check(("%s: %s: " % (path, key)) in err,
              "the error does not say \"%s: %s: …\": %s" % (path, key, err))
        check(len(err.strip().splitlines()) == 1, "the error is not one line: %r" % err)
        check(status == run_cli(["check-config", path], timeout=10)[0] == EXIT_CONFIG,
              "check-config does not refuse it the same way")
    return test


if __name__ == "__main__":
    cases = [case("a valid %s config passes check-config (control)" % role, make_valid_case(role))
             for role in BAD]
    for role, bad in BAD.items():
        for kind, mutate, key in bad:
            cases.append(case("%s config, %s: exit 2, names the file and %s" % (role, kind, key),
                              make_bad_case(role, kind, mutate, key)))
    run_tests(cases)
