"""Benchmark the step wrapper: hand-off latency between steps, start overhead and peak RSS.

    .venv/bin/python bench/bench_entrypoint.py [--handoffs 200] [--poll-handoffs 20] [--starts 40]

Everything runs the packaged wrapper (scripts/build-entrypoint, built here for a mount path under
.cache/ so it runs on the host).  The child of every step is `stamp`, a tiny C program (built with gcc)
that appends "<name> <start-ns> <end-ns>" to a file and exits after 100 ms; a hand-off is the time from step
i's child ending (its end stamp, right before it exits) to step i+1's child being exec'd (its start stamp).

Steps run in chains of 51.  As in a Pod, whose containers all start together, every wrapper of a chain is
started at once, and step 0's child holds until all of them (and the supervisor) are asleep, waiting:
the hand-offs then compete with nothing of the benchmark's own.  (Starting wrappers while measuring, as
an earlier version did, put their start-up CPU inside the hand-offs on a 2-core machine.)

Socket mode is driven by a minimal in-bench supervisor process speaking the protocol (start the next
step when the previous one reports finished), and by the real one (`doll supervise`).  The first row is
this machine's floor for any wrapper: `relay`, a static C program per step that waits for one byte on a
FIFO, posix_spawns the same child in its own process group, reaps it and writes one byte to the next
step's FIFO (no supervisor, no Python, no records).  All numbers are from one run, printed as tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from contracts import exits, layout, wire  # noqa: E402
from supervisor.timings import HANDOFF_QUIET_SECONDS as QUIET  # noqa: E402

import settling  # noqa: E402  (bench/ is on sys.path: this script's directory)

CACHE = ROOT / ".cache" / "bench-entrypoint"
STAMP_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
static long long now(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec; }
int main(int argc, char **argv) {
  long long start = now();
  if (argc > 2 && strcmp(argv[1], "--spawn") == 0) {  /* time and peak RSS of argv[2...], from a small parent */
    int status; struct rusage ru; pid_t pid = fork();
    if (pid == 0) { execv(argv[2], argv + 2); _exit(127); }
    wait4(pid, &status, 0, &ru);
    long cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    printf("%lld %ld %d %ld\n", now() - start, ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128, cpu_us);
    return 0; }
  if (argc < 3) return 0;
  if (argc > 3 && argv[3][0] == '@') {  /* hold until the file argv[3]+1 exists (step 0: until all are waiting) */
    struct timespec d = {0, 1000000L}; while (access(argv[3] + 1, F_OK) != 0) nanosleep(&d, NULL); }
  else if (argc > 3) { struct timespec d = {0, atol(argv[3]) * 1000000L}; nanosleep(&d, NULL); }
  FILE *f = fopen(argv[1], "a"); if (!f) return 1;
  fprintf(f, "%s %lld ", argv[2], start); fprintf(f, "%lld\n", now()); fclose(f); return 0; }
"""
RELAY_C = r"""
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
/* relay IN OUT CMD ARGS: wait for a byte on the FIFO IN ("-": none), run CMD in its own process group,
   reap it, write a byte to the FIFO OUT ("-": none) */
int main(int argc, char **argv) {
  char b; pid_t pid; int status; posix_spawnattr_t attr;
  if (argc < 4) return 2;
  int in = strcmp(argv[1], "-") ? open(argv[1], O_RDONLY) : -1;
  int out = strcmp(argv[2], "-") ? open(argv[2], O_RDWR) : -1;  /* O_RDWR: does not wait for a reader */
  if (in >= 0 && read(in, &b, 1) != 1) return 2;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  if (posix_spawn(&pid, argv[3], NULL, &attr, argv + 3, environ)) return 3;
  if (waitpid(pid, &status, 0) != pid || status != 0) return 4;
  if (out >= 0 && write(out, "x", 1) != 1) return 5;
  return 0; }
"""
CHAIN = 51  # steps per chain: every wrapper of a chain is started at once, as a Pod starts its containers
# the Pod's doll-run and doll-steps volumes (socket, post files) are memory-backed emptyDirs: so is the bench's
RUN_ROOT = os.environ.get("DOLL_BENCH_DIR", "/dev/shm" if os.path.isdir("/dev/shm") else "/tmp")
CHILD_MS = 100  # each later child runs this long (the previous wrapper has exited by the next hand-off)


def _gcc(source: str, name: str) -> Path:
    """`source` compiled (static, -O2) once per content."""
    binary = CACHE / f"{name}-{hashlib.sha256(source.encode()).hexdigest()[:12]}"
    if not binary.exists():
        (CACHE / f"{name}.c").write_text(source)
        subprocess.run(["gcc", "-O2", "-static", "-o", str(binary), str(CACHE / f"{name}.c")], check=True)
    return binary


def build() -> tuple[Path, Path]:
    """The packaged wrapper (for a mount path under .cache/, per content hash) and the stamp program."""
    h = hashlib.sha256()
    for path in sorted([*(ROOT / "entrypoint").rglob("*.py"), ROOT / "scripts" / "build-entrypoint"]):
        h.update(path.read_bytes())
    bundle = CACHE / f"bin-{h.hexdigest()[:12]}"
    if not (bundle / "entrypoint").exists():
        env = dict(os.environ, DOLL_BIN_PATH=str(bundle))
        subprocess.run([str(ROOT / "scripts" / "build-entrypoint"), str(bundle)], env=env, check=True,
                       stderr=subprocess.DEVNULL)
    return bundle / "entrypoint", _gcc(STAMP_C, "stamp")


def serve(path: str, steps: int) -> None:
    """The minimal supervisor: start step i+1 once step i has reported finished, and (as the real one does)
    ack step i only after the quiet window, so that its wrapper's exit does not compete with the exec."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(server, selectors.EVENT_READ)
    conns: dict[int, socket.socket] = {}
    buffers: dict[socket.socket, bytes] = {}
    nxt = 0
    done = 0
    acks: list[tuple[float, socket.socket]] = []  # (when, whom): acks held for the quiet window
    while done < steps or acks:
        while acks and acks[0][0] <= time.monotonic():
            acks.pop(0)[1].sendall(wire.encode(wire.Ack()))
        for key, _ in sel.select(max(0.0, acks[0][0] - time.monotonic()) if acks else None):
            if key.fileobj is server:
                conn, _ = server.accept()
                buffers[conn] = b""
                sel.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj  # type: ignore[assignment]
            data = conn.recv(65536)
            if not data:
                sel.unregister(conn)
                conn.close()
                continue
            buffers[conn] += data
            while b"\n" in buffers[conn]:
                line, buffers[conn] = buffers[conn].split(b"\n", 1)
                msg = wire.decode(line)
                if isinstance(msg, wire.Hello):
                    conns[msg.index] = conn
                elif isinstance(msg, wire.Finished):
                    nxt += 1
                    done += 1
                if nxt in conns and (isinstance(msg, wire.Finished) or msg.op == "hello"):
                    conns.pop(nxt).sendall(wire.encode(wire.Start()))  # the next step first,
                if isinstance(msg, wire.Finished):
                    acks.append((time.monotonic() + (QUIET if nxt < steps else 0.0), conn))
    server.close()


def chain(wrapper: Path, stamp: Path, steps: int, mode: str) -> tuple[list[float], list[tuple[float, ...]]]:
    """Run `steps` steps in chains of CHAIN; return the hand-offs in milliseconds, and each one's three parts."""
    lat: list[float] = []
    parts: list[tuple[float, ...]] = []
    while steps > 1:
        n = min(steps, CHAIN)
        a, b = _one_chain(wrapper, stamp, n, mode)
        lat += a
        parts += b
        steps -= n - 1
    return lat, parts


def _one_chain(wrapper: Path, stamp: Path, steps: int, mode: str) -> tuple[list[float], list[tuple[float, ...]]]:
    """All wrappers start at once (as the Pod's containers do); step 0's child holds until every wrapper and
    the supervisor are asleep, waiting, so the hand-offs measured compete with nothing of the bench's own."""
    work = Path(tempfile.mkdtemp(prefix="bench", dir=RUN_ROOT))
    stamps = work / "stamps"
    go = work / "go"
    sup = None
    sock = str(work / "s.sock")
    try:
        if mode == "socket":
            sup = subprocess.Popen([sys.executable, __file__, "--serve", sock, str(steps)])
        elif mode == "real":
            sock = str(work / "control.sock")
            plan = {"steps": [{"name": f"s{i}", "index": i, "container": f"step-s{i}"} for i in range(steps)],
                    "run_dir": str(work), "metrics_port": _free_port(), "linger_seconds": 0,
                    "publish_to_api": False, "pod": {"name": "bench"}}
            (work / "plan.json").write_text(json.dumps(plan))
            sup = subprocess.Popen([sys.executable, "-m", "generator.cli", "supervise", "--plan",
                                    str(work / "plan.json")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if sup is not None:
            while not os.path.exists(sock):
                time.sleep(0.005)
        for i in range(steps):  # as init does in the Pod
            (work / f"s{i}").mkdir()
        procs: list[subprocess.Popen[bytes]] = []
        relay = _gcc(RELAY_C, "relay") if mode == "floor" else None
        for i in range(steps):
            if relay is not None:  # step i waits on the FIFO f<i> and releases f<i+1>
                if i + 1 < steps:
                    os.mkfifo(work / f"f{i + 1}")
                argv = [str(relay), str(work / f"f{i}") if i else "-",
                        str(work / f"f{i + 1}") if i + 1 < steps else "-"]
                hold = f"@{go}" if i == 0 else str(CHILD_MS)
                procs.append(subprocess.Popen([*argv, str(stamp), str(stamps), str(i), hold]))
                continue
            argv = [str(wrapper), "--name", f"s{i}", "--index", str(i), "--post-file", str(work / f"s{i}" / "out")]
            if i:
                argv += ["--wait-file", str(work / f"s{i - 1}" / "out")]
            if mode in ("socket", "real"):
                argv += ["--socket", sock]
            if mode == "poll":
                argv += ["--poll-seconds", "1"]
            hold = f"@{go}" if i == 0 else str(CHILD_MS)
            procs.append(subprocess.Popen([*argv, "--", str(stamp), str(stamps), str(i), hold],
                                          stderr=subprocess.DEVNULL))
        settling.wait_until_idle([p.pid for p in procs] + ([sup.pid] if sup is not None else []))
        go.touch()
        for p in procs:
            if p.wait(120) != 0:
                raise RuntimeError(f"a step failed in {mode} mode")
        if sup is not None:
            sup.wait(30)
        rows = {int(a): (int(b) / 1e9, int(c) / 1e9)
                for a, b, c in (line.split() for line in stamps.read_text().splitlines())}
        handoffs = [(rows[i + 1][0] - rows[i][1]) * 1e3 for i in range(steps - 1)]
        if mode == "floor":  # no records: no parts
            return handoffs, []
        records = {i: json.loads((work / f"s{i}" / "out").read_text()) for i in range(steps)}
        parts = [((records[i]["finished_at"] - rows[i][1]) * 1e3,  # child ended -> its wrapper reaped it
                  (records[i + 1]["started_at"] - records[i]["finished_at"]) * 1e3,  # -> next wrapper spawns
                  (rows[i + 1][0] - records[i + 1]["started_at"]) * 1e3)  # -> the next child runs
                 for i in range(steps - 1)]
        return handoffs, parts
    finally:
        if sup is not None and sup.poll() is None:
            sup.kill()
            sup.wait()
        shutil.rmtree(work, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def starts(stamp: Path, argv: list[str], n: int) -> tuple[list[float], list[float], list[float]]:
    """Wall time (ms), CPU time (ms) and peak RSS (MB) of `argv`, n times, measured by `stamp --spawn`
    (a small parent: a peak RSS measured from a fork of this Python would be this Python's)."""
    times, cpu, rss = [], [], []
    for _ in range(n):
        out = subprocess.run([str(stamp), "--spawn", *argv], capture_output=True, text=True, check=True).stdout
        ns, kb, code, cpu_us = (int(x) for x in out.split())
        if code != 0:
            raise RuntimeError(f"{argv} failed")
        times.append(ns / 1e6)
        cpu.append(cpu_us / 1e3)
        rss.append(kb / 1024)
    return times, cpu, rss


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--handoffs", type=int, default=200)
    ap.add_argument("--poll-handoffs", type=int, default=20)
    ap.add_argument("--starts", type=int, default=40)
    ap.add_argument("--serve", nargs=2, help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.serve:
        serve(ns.serve[0], int(ns.serve[1]))
        return 0
    os.chdir(ROOT)
    CACHE.mkdir(parents=True, exist_ok=True)
    wrapper, stamp = build()
    size = sum(p.stat().st_size for p in wrapper.parent.rglob("*") if p.is_file()) / 2**20
    print(f"packaged wrapper: {wrapper.parent} ({size:.1f} MB on disk), {os.cpu_count()} CPUs\n")
    print("hand-off latency: previous step's child exited -> next step's child exec'd")
    print(f"{'mode':<30}{'handoffs':>9}{'median ms':>11}{'p99 ms':>9}{'max ms':>9}")
    split: dict[str, list[tuple[float, float]]] = {}
    floor: list[float] = []
    for mode, label, n in (("floor", "floor: C relay, no supervisor", ns.handoffs),
                           ("socket", "socket (in-bench supervisor)", ns.handoffs),
                           ("real", "socket (real supervisor)", ns.handoffs),
                           ("watch", "file mode, dnotify", ns.handoffs),
                           ("poll", "file mode, polling every 1 s", ns.poll_handoffs)):
        lat, parts = chain(wrapper, stamp, n + 1, mode)
        if mode == "floor":
            floor = lat
        else:
            split[label] = [(statistics.median(p[k] for p in parts), p99([p[k] for p in parts])) for k in range(3)]
        print(f"{label:<30}{len(lat):>9}{statistics.median(lat):>11.2f}{p99(lat):>9.2f}{max(lat):>9.2f}")
    print("\nwhere a hand-off goes (median / p99 of each part, ms; the wrappers' own clocks, from their post files)")
    print(f"{'mode':<30}{'child exit -> reaped':>22}{'-> next spawns':>16}{'-> child runs':>15}")
    for label, parts3 in split.items():
        a, b, c = (f"{m:.2f} / {q:.2f}" for m, q in parts3)
        print(f"{label:<30}{a:>22}{b:>16}{c:>15}")
    print("\nstart overhead and peak RSS (wrapper + child vs the child alone)")
    print(f"{'run':<34}{'n':>4}{'median ms':>11}{'p90 ms':>9}{'min ms':>9}{'CPU ms':>8}{'peak RSS MB':>13}")
    plain_t, plain_c, plain_r = starts(stamp, [str(stamp)], ns.starts)
    rows = [("plain exec of the child", plain_t, plain_c, plain_r),
            ("packaged wrapper -> child", *starts(stamp, [str(wrapper), "--name", "s", "--", str(stamp)], ns.starts)),
            ("python -m entrypoint -> child", *starts(stamp, [sys.executable, "-m", "entrypoint", "--name", "s",
                                                              "--", str(stamp)], ns.starts))]
    for label, t, c, r in rows:
        p90 = sorted(t)[int(0.9 * (len(t) - 1))]
        print(f"{label:<34}{len(t):>4}{statistics.median(t):>11.2f}{p90:>9.2f}{min(t):>9.2f}"
              f"{statistics.median(c):>8.1f}{max(r):>13.1f}")
    overhead = statistics.median(rows[1][1]) - statistics.median(plain_t)
    print(f"\npackaged wrapper start overhead (median difference): {overhead:.1f} ms; "
          f"targets: socket p99 <= 3 ms, RSS <= 20 MB, start <= 60 ms")
    print(f"this machine's hand-off floor (C relay): median {statistics.median(floor):.2f} ms, "
          f"p99 {p99(floor):.2f} ms")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} (the machine's other users count)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
