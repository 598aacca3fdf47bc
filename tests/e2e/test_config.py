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


def check_config(t, path, *extra, env=None):
    status, out, err = run_cli(["check-config"] + list(extra) + [path], timeout=10, env=env)
    t.note(err.strip())
    return status, out, err


def make_wrong_role_case(written, given):
    """A config run by another role's command (or checked as another kind) says whose it
    is and which command runs it, not "allow: unknown key"."""
    deciding = {"share": "allow", "connect": "mappings", "gateway": "listen"}[written]
    whose = {"share": "a share agent's", "connect": "a connect agent's",
             "gateway": "a gateway's"}

    def test(t):
        path = write(t, written + ".json", valid(written))
        expected = "%s: this is %s config (it has %s), not %s; use culvert-cli %s" % (
            path, whose[written], deciding, whose[given], written)
        status, out, err = run_cli([given, "--config", path], timeout=10,
                                   env={"CULVERT_PASSWORD": "pw"})
        t.note(err.strip())
        check(status == EXIT_CONFIG, "culvert-cli %s exited %d: %s" % (given, status, err))
        check(expected in err, "expected %r, got %r" % (expected, err))
        status, out, err = check_config(t, path, "--kind", given)
        check(status == EXIT_CONFIG and expected in err,
              "check-config --kind %s: %d %r" % (given, status, err))
    return test


def make_typo_case(role, right, typo):
    """A typo in the key that tells the kind: check-config still guesses the kind, and
    names the typo with the key it meant."""
    def test(t):
        config = valid(role)
        config[typo] = config.pop(right)
        path = write(t, "%s-typo.json" % role, config)
        status, out, err = check_config(t, path)
        expected = "%s: %s: unknown key, did you mean %s?" % (path, typo, right)
        check(status == EXIT_CONFIG, "exit %d: %s" % (status, err))
        check(expected in err, "expected %r, got %r" % (expected, err))
    return test


def test_hash_dollars_eaten(t):
    """What bash leaves of a hash pasted in double quotes is recognised."""
    config = valid("gateway")
    mangled = run_bash('echo "%s"' % config["sessions"][0]["share_password_hash"])
    check("$" not in mangled, "bash left the $ signs: %r" % mangled)
    config["sessions"][0]["share_password_hash"] = mangled
    path = write(t, "gateway.json", config)
    status, out, err = check_config(t, path)
    check(status == EXIT_CONFIG, "exit %d: %s" % (status, err))
    check("sessions[0].share_password_hash: " in err and "whose “$” signs the shell removed; "
          "quote it with single quotes, or paste the output of “culvert-cli hash-password”" in err,
          "the eaten $ signs are not named: %r" % err)


def test_same_hash(t):
    """One hash pasted for both sides: check-config and the gateway's start refuse it and
    name the session."""
    config = valid("gateway")
    session = config["sessions"][0]
    session["connect_password_hash"] = session["share_password_hash"]
    path = write(t, "gateway.json", config)
    for args in (["check-config", path], ["gateway", "--config", path]):
        status, out, err = run_cli(args, timeout=10)
        t.note(err.strip())
        check(status == EXIT_CONFIG, "%s: exit %d: %s" % (args[0], status, err))
        check("%s: sessions[0].connect_password_hash: " % path in err
              and "got the same hash: in session “s1”, whoever shares could also connect" in err,
              "%s does not name the session: %r" % (args[0], err))


def run_bash(command):
    import subprocess
    env = {k: v for k, v in os.environ.items() if not k.startswith(("v", "m", "argon"))}
    return subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, env=env,
                          timeout=10, check=True).stdout.decode().strip()


if __name__ == "__main__":
    cases = [case("a valid %s config passes check-config (control)" % role, make_valid_case(role))
             for role in BAD]
    for role, bad in BAD.items():
        for kind, mutate, key in bad:
            cases.append(case("%s config, %s: exit 2, names the file and %s" % (role, kind, key),
                              make_bad_case(role, kind, mutate, key)))
    for written, given in (("share", "connect"), ("connect", "share"), ("gateway", "share"),
                           ("share", "gateway")):
        cases.append(case("a %s config given to %s says whose it is" % (written, given),
                          make_wrong_role_case(written, given)))
    for role, right, typo in (("share", "allow", "alow"), ("connect", "mappings", "mapings"),
                              ("gateway", "sessions", "sesions"),
                              ("gateway", "listen", "lisen")):
        cases.append(case("check-config names the typo %s in a %s config" % (typo, role),
                          make_typo_case(role, right, typo)))
    cases.append(case("a hash whose $ the shell ate is recognised", test_hash_dollars_eaten))
    cases.append(case("share and connect hashes the same string: refused, naming the session",
                      test_same_hash))
    run_tests(cases)
