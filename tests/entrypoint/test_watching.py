"""Watching for files: dnotify wakes at once; polling is the fallback."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

from entrypoint.watching import Watch


def _touch_later(path: Path, delay: float) -> threading.Thread:
    t = threading.Thread(target=lambda: (time.sleep(delay), path.write_text("x")))
    t.start()
    return t


def test_dnotify_wakes_the_waiter_as_soon_as_a_file_appears(tmp_path: Path) -> None:
    with Watch([str(tmp_path)], fallback_seconds=5.0) as watch:
        assert watch.notified
        t = _touch_later(tmp_path / "out", 0.1)
        start = time.monotonic()
        watch.wait(10.0)
        took = time.monotonic() - start
        t.join()
    assert took < 2.0  # the polling interval here is 5 s: only dnotify can have woken it


def test_without_a_change_the_wait_ends_at_its_timeout(tmp_path: Path) -> None:
    with Watch([str(tmp_path)]) as watch:
        start = time.monotonic()
        watch.wait(0.2)
        assert 0.15 < time.monotonic() - start < 2.0


def test_forced_polling_uses_no_dnotify_and_wakes_at_the_interval(tmp_path: Path) -> None:
    with Watch([str(tmp_path)], poll_seconds=0.3) as watch:
        assert not watch.notified
        start = time.monotonic()
        watch.wait(None)
        assert 0.25 < time.monotonic() - start < 2.0


def test_a_directory_missing_at_first_is_watched_through_its_parent(tmp_path: Path) -> None:
    later = tmp_path / "later" / "deeper"
    with Watch([str(later)], fallback_seconds=5.0) as watch:  # polling would take 5 s: only dnotify is fast
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


def test_a_file_renamed_into_place_wakes_the_waiter(tmp_path: Path) -> None:
    """How a post file appears: written under a temporary name, then renamed."""
    (tmp_path / ".out.tmp").write_text("{}")
    with Watch([str(tmp_path)], fallback_seconds=5.0) as watch:
        t = threading.Thread(target=lambda: (time.sleep(0.1), (tmp_path / ".out.tmp").rename(tmp_path / "out")))
        t.start()
        start = time.monotonic()
        while not (tmp_path / "out").exists():
            watch.wait(10.0)
        t.join()
        assert time.monotonic() - start < 2.0


def test_closing_the_watch_gives_back_sigio_and_the_wake_up_fd(tmp_path: Path) -> None:
    before = signal.getsignal(signal.SIGIO)
    with Watch([str(tmp_path)]) as watch:
        assert watch.notified and signal.getsignal(signal.SIGIO) != before
    assert signal.getsignal(signal.SIGIO) == before
    assert signal.set_wakeup_fd(-1) == -1


def test_outside_the_main_thread_it_polls(tmp_path: Path) -> None:
    seen: list[bool] = []

    def watch_here() -> None:
        with Watch([str(tmp_path)], fallback_seconds=0.05) as watch:
            seen.append(watch.notified)
            watch.wait(None)

    t = threading.Thread(target=watch_here)
    t.start()
    t.join(5)
    assert seen == [False]
