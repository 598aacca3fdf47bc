#!/usr/bin/env python3
"""Bad configs: `culvert-cli gateway|share|connect --config FILE` exits 2 at once, and its
error names the file and the key."""

import copy
import os
import shutil
import subprocess
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


def test_missing_brace(t):
    """A missing } names the { left open, where it was opened, and shows its line with a
    caret, instead of json-glib's "unexpected character ']'" further on."""
    import json
    config = valid("gateway")
    text = json.dumps(config, indent=2)
    lines = text.splitlines()
    # The line that closes the session object (the first lone "}"): drop it.
    closing = next(i for i, line in enumerate(lines) if line.strip() == "}" and i < len(lines) - 1)
    opened = max(i for i in range(closing) if lines[i].strip() == "{")
    del lines[closing]
    path = t.path("gateway.json")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    column = lines[opened].index("{") + 1
    status, out, err = check_config(t, path)
    check(status == EXIT_CONFIG, "exit %d: %s" % (status, err))
    first, quoted, caret = (err.splitlines() + ["", "", ""])[:3]
    expected = "%s:%d:%d: Parse error: this { is not closed: a ] at %d:" % (
        path, opened + 1, column, closing + 1)
    check(first.startswith(expected) and first.endswith("comes before its }"),
          "expected %r…, got %r" % (expected, first))
    check(quoted == "    " + lines[opened], "the line is not shown: %r" % quoted)
    check(caret == "    " + " " * (column - 1) + "^", "the caret is not under the {: %r" % caret)
    status, out, err = run_cli(["gateway", "--config", path], timeout=10)
    check(status == EXIT_CONFIG and expected in err, "the gateway says otherwise: %r" % err)


def run_bash(command):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("v", "m", "argon"))}
    return subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, env=env,
                          timeout=10, check=True).stdout.decode().strip()


TLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "files", "tls")
FINGERPRINT = "sha256:" + "ab" * 32


def share_with(t, **keys):
    config = valid("share")
    config["gateway_fingerprint"] = FINGERPRINT
    config.update(keys)
    return write(t, "share.json", config)


def expect_error(t, path, part, env=None):
    status, out, err = check_config(t, path, env=env)
    check(status == EXIT_CONFIG, "check-config exited %d, expected 2: %r" % (status, err))
    check(out == "", "the OK line came too: %r" % out)
    check(part in err, "expected %r in %r" % (part, err))
    check(len(err.strip().splitlines()) == 1, "not one line: %r" % err)


def expect_ok(t, path, env=None):
    status, out, err = check_config(t, path, env=env)
    check(status == 0, "check-config exited %d: %r" % (status, err))
    check(out.startswith(path + ": OK ("), "no OK line: %r" % out)
    return err


def test_password_file_missing(t):
    pw = t.path("share.password")
    config = valid("share")
    config["gateway_fingerprint"] = FINGERPRINT
    del config["password_env"]
    config["password_file"] = pw
    path = write(t, "share.json", config)
    expect_error(t, path, "%s: password_file: %s: " % (path, pw))
    expect_error(t, path, "No such file")


def write_password(t, mode):
    pw = t.path("share.password")
    with open(pw, "w") as f:
        f.write("the-password\n")
    os.chmod(pw, mode)
    return pw


def test_password_file_mode(t):
    pw = write_password(t, 0o644)
    config = valid("share")
    config["gateway_fingerprint"] = FINGERPRINT
    del config["password_env"]
    config["password_file"] = pw
    path = write(t, "share.json", config)
    expect_error(t, path, "%s: password_file: %s: expected a password file only its owner can "
                 "read, got permissions 0644 (run: chmod 600 %s)" % (path, pw, pw))
    os.chmod(pw, 0o600)
    err = expect_ok(t, path)
    check(err == "", "a warning for a good config: %r" % err)


def test_password_env(t):
    path = share_with(t)
    env = dict(os.environ)
    env.pop("CULVERT_PASSWORD", None)
    r = subprocess.run([os.environ.get("CULVERT_CLI") or "culvert-cli", "check-config", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=10)
    err = r.stderr.decode()
    t.note(err.strip())
    check(r.returncode == 0, "an unset variable fails the check: %r" % err)
    check("%s: warning: password_env: the environment variable CULVERT_PASSWORD is not set here"
          % path in err, "no warning for the unset variable: %r" % err)
    err = expect_ok(t, path, env={"CULVERT_PASSWORD": "pw"})
    check(err == "", "a warning though the variable is set: %r" % err)


def test_password_env_empty(t):
    path = share_with(t)
    expect_error(t, path, "%s: password_env: environment variable CULVERT_PASSWORD: expected a "
                 "password, got nothing" % path, env={"CULVERT_PASSWORD": ""})


def test_no_fingerprint(t):
    for role in ("share", "connect"):
        config = valid(role)
        path = write(t, role + ".json", config)
        err = expect_ok(t, path, env={"CULVERT_PASSWORD": "pw"})
        check(err.startswith(path + ": warning: no gateway_fingerprint: ")
              and "culvert-cli fingerprint" in err and len(err.strip().splitlines()) == 1,
              "%s: no one-line warning about the missing fingerprint: %r" % (role, err))
        config["gateway_fingerprint"] = FINGERPRINT
        path = write(t, role + ".json", config)
        err = expect_ok(t, path, env={"CULVERT_PASSWORD": "pw"})
        check(err == "", "%s: a warning with a fingerprint: %r" % (role, err))


def gateway_with_certificate(t, cert, key):
    config = valid("gateway")
    config["certificate"] = {"cert_file": cert, "key_file": key}
    return write(t, "gateway.json", config)


def private_copy(t, name):
    p = t.path(name)
    shutil.copy(os.path.join(TLS, name), p)
    os.chmod(p, 0o600)
    return p


def test_certificate_unreadable(t):
    key = private_copy(t, "server-key.pem")
    missing = t.path("fullchain.pem")
    path = gateway_with_certificate(t, missing, key)
    expect_error(t, path, "%s: certificate: " % path)
    expect_error(t, path, missing)
    # The key as Git checks it out (0644): start-up refuses it, so does the check.
    path = gateway_with_certificate(t, os.path.join(TLS, "server-fullchain.pem"),
                                    os.path.join(TLS, "server-key.pem"))
    if os.stat(os.path.join(TLS, "server-key.pem")).st_mode & 0o007:
        expect_error(t, path, "are too open")
    # Not a certificate at all.
    path = gateway_with_certificate(t, key, key)
    expect_error(t, path, "holds no PEM certificate")
    path = gateway_with_certificate(t, os.path.join(TLS, "server-fullchain.pem"), key)
    expect_ok(t, path)


def test_certificate_not_matching(t):
    key = private_copy(t, "server-key.pem")
    path = gateway_with_certificate(t, os.path.join(TLS, "ca.pem"), key)
    expect_error(t, path, "%s: certificate: the private key in \"%s\" does not belong to the "
                 "certificate" % (path, key))


def make_certificate(t, template):
    certtool = shutil.which("certtool")
    if certtool is None:
        return None, None
    key, cert, cfg = t.path("k.pem"), t.path("c.pem"), t.path("c.cfg")
    with open(cfg, "w") as f:
        f.write(template)
    subprocess.run([certtool, "--generate-privkey", "--key-type", "ecdsa", "--outfile", key],
                   check=True, capture_output=True, timeout=30)
    os.chmod(key, 0o600)
    subprocess.run([certtool, "--generate-self-signed", "--load-privkey", key, "--template", cfg,
                    "--outfile", cert], check=True, capture_output=True, timeout=30)
    return cert, key


def test_certificate_expired(t):
    cert, key = make_certificate(t, 'cn = "old"\nactivation_date = "2020-01-01 00:00:00"\n'
                                    'expiration_date = "2021-01-01 00:00:00"\n')
    if cert is None:
        t.note("no certtool (gnutls-bin): not checked")
        return
    path = gateway_with_certificate(t, cert, key)
    expect_error(t, path, "%s: certificate: the certificate (or one that issued it) expired at "
                 "2021-01-01T00:00:00Z" % path)
    cert, key = make_certificate(t, 'cn = "soon"\nexpiration_days = 3\n')
    path = gateway_with_certificate(t, cert, key)
    err = expect_ok(t, path)
    check("%s: warning: certificate: the certificate (or one that issued it) expires at" % path
          in err and "in less than 14 days" in err, "no warning of the coming expiry: %r" % err)


def test_state_dir(t):
    blocker = t.path("not-a-dir")
    with open(blocker, "w") as f:
        f.write("x")
    for role in ("gateway", "share"):
        config = valid(role)
        config["state_dir"] = os.path.join(blocker, "state")
        config["gateway_fingerprint"] = FINGERPRINT
        if role == "gateway":
            del config["gateway_fingerprint"]
        path = write(t, role + ".json", config)
        # As start-up would: the key file cannot be opened there.
        expect_error(t, path, "%s: state_dir: could not open \"%s\"" % (
            path, os.path.join(blocker, "state", role == "gateway" and "gateway.pem"
                               or "agent.pem")), env={"CULVERT_PASSWORD": "pw"})
        expect_error(t, path, "Not a directory", env={"CULVERT_PASSWORD": "pw"})
        check(not os.path.exists(t.path(role + "-state")), "check-config made a directory")
    # A state dir that does not exist yet but can be made: fine, and not made.
    config = valid("gateway")
    path = write(t, "gateway.json", config)
    expect_ok(t, path)
    check(not os.path.exists(t.path("gw-state")), "check-config made the state directory")


def test_sessions_file_mode(t):
    config = valid("gateway")
    sessions = {"sessions": config.pop("sessions")}
    sessions_path = write(t, "sessions.json", sessions)
    os.chmod(sessions_path, 0o644)
    config["sessions_file"] = sessions_path
    path = write(t, "gateway.json", config)
    expect_error(t, path, "%s: sessions_file: %s: expected a sessions file only its owner can read"
                 % (path, sessions_path))
    os.chmod(sessions_path, 0o600)
    expect_ok(t, path)


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
    cases += [
        case("password file missing: exit 2, names password_file and the path",
             test_password_file_missing),
        case("password file 0644: exit 2, says chmod 600; 0600 passes", test_password_file_mode),
        case("password_env not set here: a warning, exit 0", test_password_env),
        case("password_env set but empty: exit 2, as at start", test_password_env_empty),
        case("no gateway_fingerprint: one warning line, exit 0", test_no_fingerprint),
        case("certificate or key missing, too open, or not a certificate: exit 2",
             test_certificate_unreadable),
        case("a key that is not the certificate's: exit 2", test_certificate_not_matching),
        case("an expired certificate: exit 2; one that expires soon: a warning",
             test_certificate_expired),
        case("a state_dir that cannot be made: exit 2; one that can is not made",
             test_state_dir),
        case("a sessions file others may read: exit 2", test_sessions_file_mode),
        case("a missing }: names the { left open, shows its line and a caret",
             test_missing_brace),
    ]
    run_tests(cases)
