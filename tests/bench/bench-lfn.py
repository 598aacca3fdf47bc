#!/usr/bin/env python3
"""One stream over a long fat path: Culvert, plain TCP, stunnel and OpenSSH at 100 ms.

A benchmark run by hand, as root, not a test (see tests/bench/CHAINS.md).  This kernel
has no netem, so the script makes the long path itself:

  * it moves into a network namespace of its own (unshare(CLONE_NEWNET)), which ends
    with it: every address it uses is that namespace's loopback;
  * `iptables-legacy -A INPUT -i lo -p tcp --dport/--sport PORT -j NFQUEUE` sends the
    packets of one link of each chain to bench-delay (built in _build-release when
    libnetfilter-queue-dev is installed), which holds each for half the round trip.
    Queued at INPUT, after loopback has orphaned them, the packets no longer count
    against the sender's TCP small-queue limit, as on a real path;
  * the long link is the one between the two sides: client → target for plain TCP,
    stunnel client → stunnel server, ssh -L → sshd, and connect agent → gateway for
    Culvert (the share agent dials the gateway on another port, undelayed: a gateway
    near the shared machine);
  * the namespace's TCP buffers (net.ipv4.tcp_rmem/tcp_wmem, per namespace) are the
    default or raised to --buffers MiB.

Each chain carries `iperf3 -c … -t SECONDS -i 1` (one stream) to an iperf3 server.
The script prints MB/s per second of the run (the window's growth), the mean, the
mean from second 3 on, and the RSS of the chain's processes during the run and after
it has been idle for --idle seconds (the window's memory given back).

    sudo python3 tests/bench/bench-lfn.py
    sudo python3 tests/bench/bench-lfn.py --rtt-ms 100 --buffers 64 --seconds 10 --json out.json
"""

import argparse
import ctypes
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
DELAY = os.path.join(TOP, "_build-release", "tests", "bench", "bench-delay")
CLONE_NEWNET = 0x40000000
CHAINS = ["direct", "culvert", "stunnel", "ssh"]

spec = importlib.util.spec_from_file_location("bench_chains", os.path.join(HERE, "bench-chains.py"))
bc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bc)
log = bc.log


def enter_namespace():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise bc.BenchError("unshare(CLONE_NEWNET): %s (run as root)" % os.strerror(ctypes.get_errno()))
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


def set_buffers(mib, cc):
    """Raises the namespace's TCP autotuning ceilings to @mib MiB (0: leave the defaults),
    and sets its congestion control to @cc (None: the machine's)."""
    if cc:
        with open("/proc/sys/net/ipv4/tcp_congestion_control", "w") as f:
            f.write(cc)
    if mib:
        top = mib * 1024 * 1024
        with open("/proc/sys/net/ipv4/tcp_rmem", "w") as f:
            f.write("4096 131072 %d" % top)
        with open("/proc/sys/net/ipv4/tcp_wmem", "w") as f:
            f.write("4096 16384 %d" % top)
    with open("/proc/sys/net/ipv4/tcp_rmem") as f:
        rmem = f.read().split()
    with open("/proc/sys/net/ipv4/tcp_wmem") as f:
        wmem = f.read().split()
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
        cc = f.read().strip()
    return "tcp_rmem %s, tcp_wmem %s, congestion control %s" % (" ".join(rmem), " ".join(wmem), cc)


def iptables(*args):
    subprocess.run(["iptables-legacy"] + list(args), check=True)


def delay_port(port):
    for side in ("--dport", "--sport"):
        iptables("-A", "INPUT", "-i", "lo", "-p", "tcp", side, str(port), "-j", "NFQUEUE",
                 "--queue-num", "0")


def iperf(port, seconds):
    out = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds),
                          "-i", "1", "-J"], capture_output=True, text=True, timeout=seconds + 60)
    if out.returncode != 0:
        raise bc.BenchError("iperf3: " + (out.stdout[-400:] + out.stderr).strip())
    data = json.loads(out.stdout)
    per_second = [i["sum"]["bytes"] / i["sum"]["seconds"] / 1e6 for i in data["intervals"]]
    received = data["end"]["sum_received"]
    return per_second, received["bytes"] / received["seconds"] / 1e6


def sample_rss(pids_fn, stop, samples):
    while not stop.is_set():
        samples.append(sum(bc.rss_kib(p) for p in pids_fn()))
        stop.wait(0.25)


def run_chain(name, target, workdir, args):
    chain = bc.make_chain(name, target, workdir, args)
    chain.start()
    try:
        bc.settle(1.0)
        idle_before = sum(bc.rss_kib(p) for p in chain.pids())
        stop, samples = threading.Event(), []
        sampler = threading.Thread(target=sample_rss, args=(chain.pids, stop, samples), daemon=True)
        sampler.start()
        try:
            per_second, mean = iperf(chain.bulk_port, args.seconds)
        finally:
            stop.set()
            sampler.join()
        time.sleep(args.idle)
        idle_after = sum(bc.rss_kib(p) for p in chain.pids())
        steady = per_second[2:] or per_second
        res = {"chain": name, "per_second": per_second, "mean": mean,
               "steady": sum(steady) / len(steady), "rss_idle_before_mib": idle_before / 1024,
               "rss_peak_mib": max(samples or [0]) / 1024, "rss_idle_after_mib": idle_after / 1024}
        log("  %s: %.0f MB/s (from second 3: %.0f); per second: %s; RSS %.1f → peak %.1f → %.1f MiB"
            % (name, mean, res["steady"], " ".join("%.0f" % v for v in per_second),
               res["rss_idle_before_mib"], res["rss_peak_mib"], res["rss_idle_after_mib"]))
        return res
    finally:
        chain.stop()


def one_setting(buffers, args, workdir):
    results = {}
    sysctl = set_buffers(buffers, args.cc)
    log("buffers: %s" % sysctl)
    target = bc.Target(workdir)
    iperf_port = bc.free_port()
    server = subprocess.Popen(["iperf3", "-s", "-p", str(iperf_port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, preexec_fn=bc.die_with_parent)
    # The chains reach iperf3 through their bulk mapping; the echo port is only for their
    # own start-up checks.
    fake = types.SimpleNamespace(bulk_port=iperf_port, echo_port=target.echo_port)
    try:
        time.sleep(0.3)
        for name in args.chains:
            log("%s (buffers %s)" % (name, "%d MiB" % buffers if buffers else "default"))
            # The delay goes on before the chain starts, so that what it measures of the
            # round trip at its start (the mux's first PING) is the long path's.
            iptables("-F", "INPUT")
            try:
                results[name] = run_delayed(name, fake, workdir, args)
            except bc.BenchError as e:
                log("  %s: %s" % (name, e))
                results[name] = {"chain": name, "error": str(e)}
    finally:
        iptables("-F", "INPUT")
        bc.stop_process(server)
        target.stop()
    return {"sysctl": sysctl, "results": results}


def run_delayed(name, fake, workdir, args):
    """Runs a chain with the delay on its long link.  Each chain class picks that link's
    port (far_port) before it starts its first process, so the rule goes in from spawn():
    the chain's own start-up (logins, the mux's first PING, which window growth is judged
    by) already sees the long path."""
    cls = type(bc.make_chain(name, fake, workdir, args))
    plain_spawn = cls.spawn

    def spawn_after_rule(self, argv, logname, **kw):
        if getattr(self, "far_port", None) and not getattr(self, "delayed", False):
            delay_port(self.far_port)
            self.delayed = True
        return plain_spawn(self, argv, logname, **kw)

    cls.spawn = spawn_after_rule
    try:
        if name == "direct":
            delay_port(fake.bulk_port)
        return run_chain(name, fake, workdir, args)
    finally:
        del cls.spawn  # the base class's again


def table(runs, args):
    lines = ["| chain | buffers | MB/s (mean of %d s) | MB/s from second 3 | × plain TCP | per second | RSS idle → peak → idle after %g s (MiB) |"
             % (args.seconds, args.idle), "|---|---|---|---|---|---|---|"]
    for buffers, run in runs:
        plain = run["results"].get("direct", {}).get("steady")
        for name in args.chains:
            r = run["results"].get(name)
            if not r:
                continue
            label = "%d MiB" % buffers if buffers else "default"
            if "error" in r:
                lines.append("| %s | %s | error: %s | | | | |" % (name, label, r["error"]))
                continue
            ratio = "%.2f×" % (r["steady"] / plain) if plain else "–"
            lines.append("| %s | %s | %.0f | %.0f | %s | %s | %.1f → %.1f → %.1f |"
                         % (name, label, r["mean"], r["steady"], ratio,
                            " ".join("%.0f" % v for v in r["per_second"]),
                            r["rss_idle_before_mib"], r["rss_peak_mib"], r["rss_idle_after_mib"]))
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--culvert-cli", default=bc.DEFAULT_CLI)
    p.add_argument("--chains", default=",".join(CHAINS))
    p.add_argument("--rtt-ms", type=float, default=100)
    p.add_argument("--buffers", default="0,64",
                   help="comma-separated MiB of tcp_rmem/tcp_wmem max; 0 = the defaults")
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--cc", help="TCP congestion control in the namespace (default: the machine's)")
    p.add_argument("--idle", type=float, default=5)
    p.add_argument("--json")
    args = p.parse_args()
    args.chains = [c for c in args.chains.split(",") if c]
    args.wrap = {}
    bad = [c for c in args.chains if c not in CHAINS]
    if bad:
        p.error("unknown chain: " + ", ".join(bad))
    if os.geteuid() != 0:
        print("bench-lfn: needs root (a network namespace and iptables rules of its own)", file=sys.stderr)
        return 2
    missing = [t for t in ("iperf3", "iptables-legacy", "ip") if not shutil.which(t)]
    if missing:
        print("bench-lfn: missing %s. Install with:\n  sudo apt-get install -y iperf3 iptables iproute2"
              % ", ".join(missing), file=sys.stderr)
        return 2
    if not os.access(DELAY, os.X_OK):
        print("bench-lfn: no %s; install libnetfilter-queue-dev, then\n"
              "  meson setup _build-release --buildtype=release -Dgui=disabled && ninja -C _build-release"
              % DELAY, file=sys.stderr)
        return 2
    need = bc.missing_tools(args.chains)
    if need:
        print("bench-lfn: missing %s. Install with:\n  sudo apt-get install -y %s"
              % (", ".join(sorted(need)), " ".join(sorted(set(need.values())))), file=sys.stderr)
        return 2
    bc.raise_nofile()
    enter_namespace()
    workdir = tempfile.mkdtemp(prefix="bench-lfn-")
    delay = subprocess.Popen([DELAY, "0", str(args.rtt_ms / 2)], stdout=open(os.path.join(workdir, "delay.log"), "w"),
                             stderr=subprocess.STDOUT, preexec_fn=bc.die_with_parent)
    runs = []
    try:
        time.sleep(0.3)
        for b in [int(x) for x in args.buffers.split(",") if x != ""]:
            runs.append((b, one_setting(b, args, workdir)))
    finally:
        bc.stop_process(delay)
        with open(os.path.join(workdir, "delay.log")) as f:
            log(f.read().strip().replace("\n", "; "))
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nRound trip %g ms on the long link; %s\n" % (args.rtt_ms, bc.machine()))
    print(table(runs, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"argv": sys.argv, "machine": bc.machine(),
                       "runs": [{"buffers_mib": b, **r} for b, r in runs]}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
