#!/usr/bin/env python3
"""test-packaging: the Flatpak manifest and the Windows installer scripts stay buildable.

Neither a Flatpak runtime nor MSYS2 is on a Debian CI machine, so this checks what can
be checked here: the manifest as flatpak-builder would read it (flatpak/README.md says
why it is as it is), culvert.nsi compiled by Debian's makensis around a stand-in payload,
and build-msys2.sh parsed by bash.

usage: test-packaging.py SOURCE_DIR CASE   (CASE: flatpak, nsis or msys2); prints TAP.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import traceback

SOURCE = os.path.abspath(sys.argv[1])

# Libraries that org.gnome.Platform ships: a module building one of them would shadow
# the runtime's copy and miss its security updates.
RUNTIME_LIBRARIES = {"glib", "glib-networking", "gtk", "gtk4", "libadwaita", "libsecret",
                     "json-glib", "gnutls", "libsoup", "libsoup3", "nettle"}
FINISH_ARGS = {"--share=network", "--share=ipc", "--socket=wayland", "--socket=fallback-x11",
               "--device=dri", "--talk-name=org.freedesktop.secrets"}
# Meson's own options the culvert module may set besides the project's.
MESON_BUILTINS = {"buildtype": {"plain", "debug", "debugoptimized", "release", "minsize"},
                  "b_lto": {"true", "false"}, "b_ndebug": {"true", "false", "if-release"}}


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def read(*path):
    with open(os.path.join(SOURCE, *path), encoding="utf-8") as f:
        return f.read()


def project_options():
    """{name: (type, choices or None)} from meson_options.txt."""
    options = {}
    for m in re.finditer(r"option\(\s*'([\w-]+)'\s*,\s*type\s*:\s*'(\w+)'(.*?)\)\s*$",
                         read("meson_options.txt"), re.M | re.S):
        name, kind, rest = m.groups()
        choices = None
        if kind == "feature":
            choices = {"enabled", "disabled", "auto"}
        elif kind == "boolean":
            choices = {"true", "false"}
        elif kind == "combo":
            c = re.search(r"choices\s*:\s*\[([^\]]*)\]", rest)
            choices = set(re.findall(r"'([^']*)'", c.group(1))) if c else set()
        options[name] = (kind, choices)
    return options


def check_source(module, source):
    kind = source.get("type")
    where = "module %s, source %s" % (module, json.dumps(source))
    if kind == "git":
        check(re.fullmatch(r"[0-9a-f]{40}", source.get("commit", "")),
              "%s: a git source must pin its full commit" % where)
    elif kind in ("archive", "file"):
        check(re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")),
              "%s: an %s source must pin its sha256" % (where, kind))
    elif kind == "dir":
        path = os.path.normpath(os.path.join(SOURCE, "flatpak", source.get("path", "")))
        check(path == SOURCE or path.startswith(SOURCE + os.sep),
              "%s: a dir source must be this tree (or inside it)" % where)
    else:
        raise Failure("%s: type %r is not pinned by a commit or a sha256" % (where, kind))


def case_flatpak():
    manifest = json.loads(read("flatpak", "org.culvert.Culvert.json"))
    app_id = re.search(r"application_id = '([^']+)'", read("data", "meson.build")).group(1)
    executable = re.search(r"executable\('([^']+)'", read("gui", "meson.build")).group(1)
    check(manifest.get("id") == app_id, "id is %r, the app's is %r" % (manifest.get("id"), app_id))
    check(manifest.get("runtime") == "org.gnome.Platform",
          "runtime is %r, not org.gnome.Platform" % manifest.get("runtime"))
    check(manifest.get("sdk") == "org.gnome.Sdk", "sdk is %r" % manifest.get("sdk"))
    check(re.fullmatch(r"\d+", str(manifest.get("runtime-version", ""))),
          "runtime-version %r is not a GNOME release" % manifest.get("runtime-version"))
    check(manifest.get("command") == executable,
          "command is %r, the app's executable is %r" % (manifest.get("command"), executable))
    args = set(manifest.get("finish-args", []))
    check(args == FINISH_ARGS, "finish-args: missing %s, unexpected %s" %
          (sorted(FINISH_ARGS - args), sorted(args - FINISH_ARGS)))

    modules = manifest.get("modules", [])
    names = [m.get("name") for m in modules]
    check(names and names[-1] == "culvert", "the last module is %r, not culvert" % names[-1:])
    shadowed = RUNTIME_LIBRARIES.intersection(names)
    check(not shadowed, "modules %s are in org.gnome.Platform already" % sorted(shadowed))
    check("libsodium" in names, "libsodium (not in the runtime) is not built")
    for module in modules:
        check(module.get("sources"), "module %s has no sources" % module.get("name"))
        for source in module["sources"]:
            check_source(module.get("name"), source)

    culvert = modules[-1]
    check(culvert.get("buildsystem") == "meson", "the culvert module is not built with meson")
    options = project_options()
    for opt in culvert.get("config-opts", []):
        m = re.fullmatch(r"-D([\w-]+)=(.*)", opt) or re.fullmatch(r"--([\w-]+)=(.*)", opt)
        check(m, "config-opts %r is not -Dname=value or --name=value" % opt)
        name, value = m.groups()
        if opt.startswith("-D") and name in options:
            kind, choices = options[name]
        elif name in MESON_BUILTINS:
            kind, choices = "builtin", MESON_BUILTINS[name]
        else:
            raise Failure("config-opts %r: no option %r in meson_options.txt" % (opt, name))
        check(choices is None or value in choices,
              "config-opts %r: %s option %s takes %s" % (opt, kind, name, sorted(choices or [])))


def makensis(defines):
    args = ["makensis", "-V4", "-WX"] + ["-D%s=%s" % kv for kv in defines.items()]
    return subprocess.run(args + [os.path.join(SOURCE, "windows-installer", "culvert.nsi")],
                          capture_output=True, text=True, timeout=120)


def case_nsis():
    with tempfile.TemporaryDirectory(prefix="culvert-nsis-") as tmp:
        # What build-msys2.sh stages, in miniature.
        stage = os.path.join(tmp, "stage")
        files = ["bin/culvert.exe", "bin/culvert-cli.exe", "bin/libadwaita-1-0.dll",
                 "lib/gio/modules/libgiognutls.dll",
                 "share/glib-2.0/schemas/gschemas.compiled",
                 "share/icons/hicolor/scalable/apps/org.culvert.Culvert.svg"]
        for rel in files:
            path = os.path.join(stage, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(b"MZ stand-in for " + rel.encode())
        out = os.path.join(tmp, "culvert-0.1.0-setup.exe")
        done = makensis({"VERSION": "0.1.0", "STAGE_DIR": stage, "OUTFILE": out})
        for line in (done.stdout + done.stderr).splitlines()[-15:]:
            print("# makensis: " + line)
        check(done.returncode == 0, "makensis failed (exit %d)" % done.returncode)
        for rel in files:
            check('File: "%s"' % os.path.basename(rel) in done.stdout,
                  "the installer does not pack %s" % rel)
        with open(out, "rb") as f:
            check(f.read(2) == b"MZ", "%s is not a Windows executable" % out)
        check('"share-gateway.culvert" ' not in done.stdout,
              "an installer built without SHARE_GATEWAY packs a share gateway")

        # A helpdesk's own installer carries its default gateway for sharing.
        provisioning = os.path.join(tmp, "acme.culvert")
        with open(provisioning, "w") as f:
            f.write('{"share_gateway": {"address": "relay.example.com:8443", '
                    '"fingerprint": "sha256:' + "ab" * 32 + '"}}')
        done = makensis({"VERSION": "0.1.0", "STAGE_DIR": stage, "OUTFILE": out,
                         "SHARE_GATEWAY": provisioning})
        check(done.returncode == 0, "makensis with SHARE_GATEWAY failed (exit %d)"
              % done.returncode)
        check('File: "acme.culvert"->"share-gateway.culvert"' in done.stdout,
              "the installer does not pack the helpdesk's share gateway")
        check(re.search(r'SetOutPath: "\$INSTDIR\\etc\\culvert"', done.stdout) is not None,
              "the share gateway is not installed into etc\\culvert")

        # The script refuses to be built without its payload, in words.
        done = makensis({"VERSION": "0.1.0"})
        check(done.returncode != 0, "makensis built an installer without STAGE_DIR")
        check("Pass the staged tree" in done.stdout + done.stderr,
              "makensis without STAGE_DIR did not say what is missing")


def case_msys2():
    script = os.path.join(SOURCE, "windows-installer", "build-msys2.sh")
    done = subprocess.run(["bash", "-n", script], capture_output=True, text=True, timeout=30)
    check(done.returncode == 0, "bash -n: %s" % done.stderr)
    text = read("windows-installer", "build-msys2.sh")
    for needle, why in (('"$pkg-libadwaita"', "installs libadwaita"),
                        ('"$pkg-gtk4"', "installs GTK 4"),
                        ('"$pkg-glib-networking"', "installs the GIO TLS module"),
                        ("libgiognutls.dll", "bundles the GIO TLS module"),
                        ("gio-querymodules", "registers the GIO modules"),
                        ("glib-compile-schemas", "compiles the schemas"),
                        ("ldd", "finds DLLs with ldd"),
                        ("libadwaita-1-*.dll", "checks that libadwaita was bundled"),
                        ("culvert.nsi", "makes the installer")):
        check(needle in text, "build-msys2.sh no longer %s (%s)" % (why, needle))
    check("$pkg-libsecret" not in text, "build-msys2.sh installs libsecret, which has no "
          "Secret Service to talk to on Windows")


def main():
    name = sys.argv[2]
    cases = {"flatpak": case_flatpak, "nsis": case_nsis, "msys2": case_msys2}
    print("1..1")
    try:
        cases[name]()
        print("ok 1 - %s" % name)
    except Exception:
        print("not ok 1 - %s" % name)
        for line in traceback.format_exc().splitlines():
            print("# " + line)
        sys.exit(1)


if __name__ == "__main__":
    main()
