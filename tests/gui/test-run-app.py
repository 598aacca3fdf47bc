#!/usr/bin/env python3
"""test-run-app: the desktop app starts as ./run starts it, and quits cleanly on SIGTERM.

The app is started through build-aux/run-app, the script ./run execs, on a private Xvfb
with a private session bus and empty HOME and XDG directories, as on a fresh desktop.
Each case waits (bounded) until the window named Culvert is mapped, takes a screenshot
of the screen into <build>/meson-logs/screenshots/, sends SIGTERM and expects exit
status 0 and a stderr without CRITICAL, WARNING or ERROR.  A second case starts the
binary with no schema anywhere: the app must say so in a sentence and open all the same.

usage: test-run-app.py SOURCE_DIR BUILD_DIR   (re-runs itself under xvfb-run -a)
Standard library only; prints TAP.
"""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib

WAIT_SECONDS = 20
BAD_STDERR = re.compile(r"\b(CRITICAL|WARNING|ERROR)\b")


class Failure(AssertionError):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_until(condition, what, seconds=WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise Failure("gave up after %d s waiting for %s" % (seconds, what))


def window_ids(name):
    """Ids of the X windows named @name (xwininfo prints: 0x... "name": ...)."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                          timeout=10, check=True).stdout
    return [line.split()[0] for line in tree.splitlines()
            if ('"%s"' % name) in line]


def window_info(window):
    """xwininfo's fields for @window: {'Map State': 'IsViewable', 'Width': '720', ...}."""
    out = subprocess.run(["xwininfo", "-id", window], capture_output=True, text=True,
                         timeout=10).stdout
    return dict(line.strip().split(": ", 1) for line in out.splitlines() if ": " in line)


def is_viewable(window):
    return window_info(window).get("Map State") == "IsViewable"


def png_colours(path):
    """Width, height and the number of distinct byte values in the PNG's image data: a
    blank screen has a handful (the colour and the rows' filter bytes), a drawn one many."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path)
    pos, idat = 8, b""
    width = height = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    return width, height, len(set(raw))


class Desktop:
    """Private HOME and XDG dirs and a session bus, as a freshly logged-in user has."""

    def __init__(self, build):
        self.build = build
        self.tmp = tempfile.mkdtemp(prefix="culvert-run-app-")
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("GSETTINGS_", "XDG_", "DBUS_", "CULVERT_"))}
        for var, sub in (("HOME", "home"), ("XDG_CONFIG_HOME", "config"),
                         ("XDG_DATA_HOME", "data"), ("XDG_CACHE_HOME", "cache"),
                         ("XDG_STATE_HOME", "state"), ("XDG_RUNTIME_DIR", "runtime")):
            path = os.path.join(self.tmp, sub)
            os.makedirs(path, mode=0o700)
            self.env[var] = path
        self.env["G_DEBUG"] = "fatal-warnings,fatal-criticals"
        self.bus_log = open(os.path.join(self.tmp, "dbus.log"), "w")
        self.bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1",
             "--address=unix:dir=" + self.env["XDG_RUNTIME_DIR"]],
            stdout=subprocess.PIPE, stderr=self.bus_log, env=self.env, text=True)
        address = self.bus.stdout.readline().strip()
        check(address, "dbus-daemon printed no address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address

    def close(self):
        self.bus.terminate()
        try:
            self.bus.wait(10)
        except subprocess.TimeoutExpired:
            self.bus.kill()
            self.bus.wait()
        self.bus_log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def activate(desktop, action):
    """Activate app.@action through the app's D-Bus actions, as a desktop shell would."""
    subprocess.run(["gdbus", "call", "--session", "--dest", "org.culvert.Culvert",
                    "--object-path", "/org/culvert/Culvert",
                    "--method", "org.gtk.Actions.Activate", action, "[]", "{}"],
                   env=desktop.env, check=True, timeout=10, stdout=subprocess.DEVNULL)


def run_app(desktop, argv, screenshot, env=None, before_quit=None):
    """Start @argv, wait for its window, screenshot, call @before_quit, SIGTERM; return
    its stderr."""
    err_path = os.path.join(desktop.tmp, "app.stderr")
    with open(err_path, "w") as err:
        app = subprocess.Popen(argv, env=env or desktop.env, stdout=subprocess.DEVNULL,
                               stderr=err, cwd=desktop.env["HOME"])
    try:
        def mapped():
            if app.poll() is not None:
                raise Failure("the app exited with %d before its window showed" %
                              app.returncode)
            return [w for w in window_ids("Culvert") if is_viewable(w)]
        window = wait_until(mapped, "a mapped window named Culvert")[0]

        # Mapped is not yet painted: wait until the screen is more than one colour.
        shots = os.path.join(desktop.build, "meson-logs", "screenshots")
        os.makedirs(shots, exist_ok=True)
        path = os.path.join(shots, screenshot)

        def painted():
            subprocess.run(["scrot", "--overwrite", path], check=True, timeout=10)
            return png_colours(path)[2] > 16
        wait_until(painted, "the window to be drawn (%s)" % path)
        print("# screenshot: %s" % path)
        # The window alone too, for documentation.
        info = window_info(window)
        area = ",".join(info[k] for k in ("Absolute upper-left X", "Absolute upper-left Y",
                                          "Width", "Height"))
        window_path = path.replace(".png", "-window.png")
        subprocess.run(["scrot", "--overwrite", "--autoselect", area, window_path],
                       check=True, timeout=10)
        print("# screenshot: %s" % window_path)

        if before_quit is not None:
            before_quit()
        app.send_signal(signal.SIGTERM)
        try:
            code = app.wait(10)
        except subprocess.TimeoutExpired:
            raise Failure("the app was still running 10 s after SIGTERM")
        check(code == 0, "the app exited with %d after SIGTERM, not 0" % code)
        check(not window_ids("Culvert"), "a window named Culvert is left after the exit")
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    with open(err_path) as f:
        stderr = f.read()
    for line in stderr.splitlines():
        print("# stderr: " + line)
    return stderr


def test_run_app(source, build):
    desktop = Desktop(build)
    try:
        stderr = run_app(desktop, [os.path.join(source, "build-aux", "run-app"), build],
                         "run-app.png")
        bad = [line for line in stderr.splitlines() if BAD_STDERR.search(line)]
        check(not bad, "the app's stderr has: %s" % "\n".join(bad))
        check("not installed" not in stderr, "run-app did not give the app its schema")
    finally:
        desktop.close()


def test_quit_with_gateway_window(source, build):
    """SIGTERM while the gateway window is open: its widgets let go of the gateway before
    the app does (a handler left on a finalized gateway was a use after free)."""
    desktop = Desktop(build)
    try:
        def open_gateway_window():
            activate(desktop, "gateway")
            wait_until(lambda: [w for w in window_ids("Gateway on This Computer")
                                if is_viewable(w)], "the gateway window")
        stderr = run_app(desktop, [os.path.join(source, "build-aux", "run-app"), build],
                         "run-app-gateway.png", before_quit=open_gateway_window)
        bad = [line for line in stderr.splitlines() if BAD_STDERR.search(line)]
        check(not bad, "the app's stderr has: %s" % "\n".join(bad))
    finally:
        desktop.close()


def test_no_schema(source, build):
    desktop = Desktop(build)
    try:
        env = dict(desktop.env)
        # Only the system's schemas, where no Culvert is installed.
        env["XDG_DATA_DIRS"] = "/usr/share"
        if os.path.exists("/usr/share/glib-2.0/schemas/org.culvert.Culvert.gschema.xml"):
            print("# Culvert's schema is installed in /usr/share: nothing to fall back from")
            return "SKIP Culvert is installed system-wide"
        stderr = run_app(desktop, [os.path.join(build, "gui", "culvert")],
                         "run-app-no-schema.png", env=env)
        check("settings schema org.culvert.Culvert is not installed" in stderr,
              "the app did not say that its schema is missing")
        bad = [line for line in stderr.splitlines() if BAD_STDERR.search(line)]
        check(not bad, "the app's stderr has: %s" % "\n".join(bad))
    finally:
        desktop.close()


def test_run_app_without_build(source, build):
    empty = tempfile.mkdtemp(prefix="culvert-no-build-")
    try:
        done = subprocess.run([os.path.join(source, "build-aux", "run-app"), empty],
                              capture_output=True, text=True, timeout=10)
        check(done.returncode == 1, "run-app on an empty dir exited %d" % done.returncode)
        check("Build it first: meson compile -C" in done.stderr,
              "run-app did not say what to do: %r" % done.stderr)
    finally:
        shutil.rmtree(empty)


def main():
    source, build = (os.path.abspath(p) for p in sys.argv[1:3])
    if os.environ.get("CULVERT_RUN_APP_XVFB") != "1":
        # A display of its own, also on a developer's desktop: the screenshot is the
        # whole screen, and nothing else may be on it.
        env = dict(os.environ, CULVERT_RUN_APP_XVFB="1")
        os.execvpe("xvfb-run", ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24",
                                sys.executable, os.path.abspath(__file__), source, build],
                   env)
    cases = [("the app starts through build-aux/run-app and quits on SIGTERM", test_run_app),
             ("SIGTERM with the gateway window open quits cleanly",
              test_quit_with_gateway_window),
             ("without an installed schema the app says so and opens", test_no_schema),
             ("run-app without a build says how to build", test_run_app_without_build)]
    print("1..%d" % len(cases), flush=True)
    failed = 0
    for i, (name, fn) in enumerate(cases, 1):
        started = time.monotonic()
        try:
            result = fn(source, build)
            print("ok %d - %s%s" % (i, name, " # " + result if result else ""))
        except Exception:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for line in traceback.format_exc().splitlines():
                print("# " + line)
        print("# %s: %.1f s" % (name, time.monotonic() - started), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
