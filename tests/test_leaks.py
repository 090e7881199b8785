"""The leak fixture itself: it must catch what it claims to catch."""

import os
import subprocess
import sys

import leaks


def test_a_finished_child_is_not_a_leak() -> None:
    before = leaks.children()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    assert leaks.leaked_processes(before, grace=0.5) == []


def test_a_running_child_is_reported_and_killed() -> None:
    before = leaks.children()
    proc = subprocess.Popen(["sleep", "30"])
    leaked = leaks.leaked_processes(before, grace=0.2)
    assert len(leaked) == 1 and "sleep 30" in leaked[0]
    proc.wait(timeout=5)  # the fixture killed and reaped it
    assert not os.path.exists(f"/proc/{proc.pid}")


def test_an_orphaned_grandchild_is_reparented_to_us_and_reported() -> None:
    before = leaks.children()
    subprocess.run(["sh", "-c", "sleep 30 & exit 0"], check=True)
    leaked = leaks.leaked_processes(before, grace=0.2)
    assert any("sleep 30" in line for line in leaked)
