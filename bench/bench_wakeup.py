"""How much slower a Python process runs right after it wakes, on this machine.

    .venv/bin/python bench/bench_wakeup.py [--rounds 200]

A child process blocks in `recv` on a socketpair; the parent sleeps for a gap, sends it a `start` message,
and the child times the work a waiting wrapper does on `start` (decode the JSON line, build a frozen
dataclass, a few isinstance checks) and replies with that time and the one-way wake-up latency.  With no
gap the child never sleeps long (its CPU stays warm); after 2 ms or 100 ms asleep (a step's child runs for
seconds) the same work takes several times longer on these shared VMs.  This is why every Python line on
the hand-off path (three processes, each just woken) costs far more than a warm microbenchmark says.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    action: str
    reason: str = ""


def child(sock: socket.socket) -> None:
    while data := sock.recv(100):
        woke = time.perf_counter_ns()
        message = json.loads(data)
        verdict = Verdict(message["op"]) if isinstance(message, dict) else None
        for _ in range(20):
            isinstance(verdict, int)
        done = time.perf_counter_ns()
        sock.send(f"{woke} {done - woke}".encode())
    os._exit(0)


def measure(gap: float, rounds: int) -> tuple[list[float], list[float]]:
    """The wake-up latency and the work's time, in microseconds, `rounds` times after `gap` seconds asleep."""
    parent, other = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        parent.close()
        child(other)
    other.close()
    wake, work = [], []
    for _ in range(rounds):
        time.sleep(gap)
        sent = time.perf_counter_ns()
        parent.send(b'{"op":"start"}')
        woke, took = (int(x) for x in parent.recv(100).split())
        wake.append((woke - sent) / 1e3)
        work.append(took / 1e3)
    parent.close()
    os.waitpid(pid, 0)
    return wake, work


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=200)
    ns = ap.parse_args()
    print("the same work (decode `start`, build a verdict) in a process woken after a gap asleep, microseconds")
    print(f"{'gap':<10}{'rounds':>7}{'wake-up median':>16}{'wake-up p99':>13}{'work median':>13}{'work p99':>10}")
    for gap, label in ((0.0, "none"), (0.002, "2 ms"), (0.1, "100 ms")):
        wake, work = measure(gap, ns.rounds if gap < 0.1 else max(20, ns.rounds // 2))
        print(f"{label:<10}{len(work):>7}{statistics.median(wake):>16.1f}{p99(wake):>13.1f}"
              f"{statistics.median(work):>13.1f}{p99(work):>10.1f}")
    print(f"load average while measuring: {os.getloadavg()[0]:.2f} (the machine's other users count)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
