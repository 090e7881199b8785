"""Watching for files: inotify through ctypes wakes at once; polling is the fallback."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from entrypoint.watching import Watch


def _touch_later(path: Path, delay: float) -> threading.Thread:
    t = threading.Thread(target=lambda: (time.sleep(delay), path.write_text("x")))
    t.start()
    return t


def test_inotify_wakes_the_waiter_as_soon_as_a_file_appears(tmp_path: Path) -> None:
    with Watch([str(tmp_path)], fallback_seconds=5.0) as watch:
        assert watch.inotify
        t = _touch_later(tmp_path / "out", 0.1)
        start = time.monotonic()
        watch.wait(10.0)
        took = time.monotonic() - start
        t.join()
    assert took < 2.0  # the polling interval here is 5 s: only inotify can have woken it


def test_without_a_change_the_wait_ends_at_its_timeout(tmp_path: Path) -> None:
    with Watch([str(tmp_path)]) as watch:
        start = time.monotonic()
        watch.wait(0.2)
        assert 0.15 < time.monotonic() - start < 2.0


def test_forced_polling_uses_no_inotify_and_wakes_at_the_interval(tmp_path: Path) -> None:
    with Watch([str(tmp_path)], poll_seconds=0.3) as watch:
        assert not watch.inotify
        start = time.monotonic()
        watch.wait(None)
        assert 0.25 < time.monotonic() - start < 2.0


def test_a_directory_missing_at_first_is_watched_through_its_parent(tmp_path: Path) -> None:
    later = tmp_path / "later" / "deeper"
    with Watch([str(later)], fallback_seconds=5.0) as watch:  # polling would take 5 s: only inotify is fast
        start = time.monotonic()
        t = threading.Thread(target=lambda: (time.sleep(0.1), later.mkdir(parents=True)))
        t.start()
        while not later.exists():
            watch.wait(10.0)
        t.join()
        t = _touch_later(later / "out", 0.1)
        while not (later / "out").exists():
            watch.wait(10.0)
        t.join()
        assert time.monotonic() - start < 3.0
