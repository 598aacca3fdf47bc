#!/usr/bin/env python3
"""culvert-cli's own help: `--help` and `-h` answer for the tool and for every subcommand
with a usage line and exit 0, say nothing stale, and the man page documents every
subcommand the tool lists."""

import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import case, check, run_cli, run_tests  # noqa: E402

MAN_PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                        "culvert-cli.1")

# What the tool must offer; the help's own list is compared with it, so that a command
# added or dropped without its help and man page fails here.
COMMANDS = ["version", "hash-password", "check-config", "init", "fingerprint", "gateway",
            "share", "connect", "status"]

# Words that only a help text that fell behind the code would say.
STALE = re.compile(r"not (built|implemented|done) yet|not yet (built|implemented)|\bTODO\b|"
                   r"coming soon", re.IGNORECASE)


def listed_commands(help_text):
    """The command names in the "Commands:" block of the top-level help."""
    check("Commands:" in help_text, "no \"Commands:\" in the help: %r" % help_text)
    block = help_text.split("Commands:", 1)[1]
    names = []
    for line in block.splitlines()[1:]:
        m = re.match(r"^  (\S+)\s{2,}\S", line)
        if not m:
            break
        names.append(m.group(1))
    return names


def check_help(args, usage):
    status, out, err = run_cli(args, timeout=10)
    shown = " ".join(args)
    check(status == 0, "culvert-cli %s exited %d, expected 0; stderr: %s" % (shown, status, err))
    check(err == "", "culvert-cli %s wrote to stderr: %r" % (shown, err))
    check(re.search(r"^Usage:\n  " + re.escape(usage) + r" ", out, re.MULTILINE),
          "culvert-cli %s has no usage line \"Usage: %s …\": %r" % (shown, usage, out))
    stale = STALE.search(out)
    check(stale is None, "culvert-cli %s says something stale: %r" % (shown, stale and stale.group(0)))
    return out


def test_tool_help(t):
    for flag in ("--help", "-h"):
        out = check_help([flag], "culvert-cli [OPTION…] COMMAND")
        check(listed_commands(out) == COMMANDS,
              "culvert-cli %s lists %s, expected %s" % (flag, listed_commands(out), COMMANDS))
        check("COMMAND --help" in out, "the help does not say how to get a command's help")


def make_command_help_case(command):
    def test(t):
        for flag in ("--help", "-h"):
            check_help([command, flag], "culvert-cli %s [OPTION…]" % command)
    return test


def test_no_arguments_still_refused(t):
    # --help is the only thing hash-password and version accept: a password given as an
    # argument would be visible to every user of the machine.
    for args in (["s3cret-pw"], ["--s3cret-pw"], ["-x"]):
        status, out, err = run_cli(["hash-password"] + args, timeout=10)
        shown = " ".join(args)
        check(status == 2, "hash-password %s exited %d, expected 2" % (shown, status))
        check(out == "", "hash-password %s printed %r" % (shown, out))
        check("takes no arguments" in err and "stdin" in err, "unclear error: %r" % err)
        check("s3cret" not in err, "hash-password repeats its argument: %r" % err)
    # --help wins, as everywhere in GOption: the usage, no hash, and nothing repeated.
    status, out, err = run_cli(["hash-password", "--help", "s3cret-pw"], timeout=10)
    check(status == 0 and out.startswith("Usage:") and "$argon2id" not in out
          and "s3cret" not in out + err,
          "hash-password --help ARG: exit %d, stdout %r, stderr %r" % (status, out, err))
    status, out, err = run_cli(["version", "extra"], timeout=10)
    check(status == 2 and "takes no arguments" in err,
          "version with an argument: exit %d, stderr %r" % (status, err))
    status, out, err = run_cli(["version"], timeout=10)
    check(status == 0 and out.startswith("culvert-cli ") and "wire protocol" in out,
          "version: exit %d, stdout %r" % (status, out))


def test_unknown_command(t):
    status, out, err = run_cli(["no-such-command"], timeout=10)
    check(status == 2, "an unknown command exited %d, expected 2" % status)
    check("no-such-command" in err and "--help" in err, "unclear error: %r" % err)


def test_man_page_documents_every_command(t):
    with open(MAN_PAGE, encoding="utf-8") as f:
        man = f.read()
    check(not STALE.search(man), "the man page says something stale: %r"
          % (STALE.search(man) and STALE.search(man).group(0)))

    def section(name):
        m = re.search(r"^\.SH \"?%s\"?\n(.*?)(?=^\.SH )" % re.escape(name), man,
                      re.MULTILINE | re.DOTALL)
        check(m is not None, "the man page has no %s section" % name)
        return m.group(1)

    synopsis = section("SYNOPSIS")
    documented = re.findall(r"^\.TP\n\.B (\S+)\n", section("COMMANDS"), re.MULTILINE)
    for command in COMMANDS:
        check(re.search(r"^\.B culvert-cli\n\.B %s\n" % re.escape(command), synopsis,
                        re.MULTILINE),
              "the man page's SYNOPSIS does not show %s" % command)
        check(command in documented, "the man page's COMMANDS section does not describe %s"
              % command)
    check(sorted(documented) == sorted(COMMANDS),
          "the man page's COMMANDS are %s, the tool's %s" % (documented, COMMANDS))


if __name__ == "__main__":
    cases = [case("culvert-cli --help and -h: usage, every command, exit 0", test_tool_help)]
    for command in COMMANDS:
        cases.append(case("culvert-cli %s --help and -h: usage, exit 0" % command,
                          make_command_help_case(command)))
    cases += [
        case("arguments other than --help are still refused", test_no_arguments_still_refused),
        case("an unknown command: exit 2, names it", test_unknown_command),
        case("the man page shows and describes every command", test_man_page_documents_every_command),
    ]
    run_tests(cases)
