"""Reading podman's k8s-file logs (generator/local/tailing.py) from files written as podman 4.3 writes them."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from generator.local.tailing import MAX_LINE_CHARS, READ_BYTES, LogTail

# What podman 4.3.1 wrote for `printf 'Downloading... '; sleep 1; echo 'warning: slow mirror' >&2; sleep 1;
# echo done; printf 'tail out'; printf 'tail err' >&2` (copied from its k8s-file log)
INTERLEAVED = (
    "2026-11-29T07:51:18.299969531+00:00 stdout P Downloading... \n"
    "2026-11-29T07:51:19.301428387+00:00 stderr F warning: slow mirror\n"
    "2026-11-29T07:51:20.303347026+00:00 stdout F done\n"
    "2026-11-29T07:51:20.303347026+00:00 stdout P tail out\n"
    "2026-11-29T07:51:20.303419793+00:00 stderr P tail err\n"
)


def test_a_line_is_not_spliced_with_the_other_streams_output_written_meanwhile(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_text(INTERLEAVED)
    tail = LogTail("s", log)
    assert [text for _, text in tail.reading()] == ["warning: slow mirror", "Downloading... done"]
    assert [text for _, text in tail.flushing()] == ["tail out", "tail err"]  # each stream's own unfinished line
    assert tail.flushing() == []


def test_a_partial_line_completed_by_a_later_write_is_one_line(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    lines = INTERLEAVED.splitlines(keepends=True)
    log.write_text(lines[0])
    tail = LogTail("s", log)
    assert tail.reading() == []
    with open(log, "a") as f:
        f.write(lines[1] + lines[2][:40])  # podman's last record only half written yet
    assert tail.reading() == [("2026-11-29T07:51:19.301428387+00:00", "warning: slow mirror")]
    with open(log, "a") as f:
        f.write(lines[2][40:])
    assert tail.reading() == [("2026-11-29T07:51:20.303347026+00:00", "Downloading... done")]


def test_unfinished_output_of_both_streams_is_flushed_when_the_container_is_over(tmp_path: Path) -> None:
    log = tmp_path / "ctr.log"
    log.write_text("2026-11-29T07:51:20.1+00:00 stderr P no newline on stderr\n"
                   "2026-11-29T07:51:20.2+00:00 stdout P no newline on stdout\n")
    tail = LogTail("s", log)
    assert tail.reading() == []
    flushed = tail.flushing()
    assert [text for _, text in flushed] == ["no newline on stderr", "no newline on stdout"]  # in written order
    assert all(at > "2026-11-29T07:51:20.200000000+00:00" for at, _ in flushed)  # after every complete line


def _long_line_log(path: Path, megabytes: int) -> None:
    """One line of `megabytes` MB as conmon writes it: 8 KiB P records, then its F record."""
    piece = "x" * 8192
    record = f"2026-11-29T07:51:18.299969531+00:00 stdout P {piece}\n"
    with open(path, "w") as f:
        for _ in range(megabytes * 128):
            f.write(record)
        f.write("2026-11-29T07:51:19.3+00:00 stdout F end\n")


def _tail_all(path: Path) -> tuple[float, int, int]:
    """Seconds, tracemalloc peak bytes and characters shown, reading the whole log as Watching does."""
    tail = LogTail("s", path)
    shown = 0
    tracemalloc.start()
    began = time.perf_counter()
    while True:
        shown += sum(len(text) for _, text in tail.reading())
        if not tail.behind:
            break
    shown += sum(len(text) for _, text in tail.flushing())
    took = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return took, peak, shown


def test_one_huge_line_is_tailed_in_linear_time_and_bounded_memory(tmp_path: Path) -> None:
    small, large = tmp_path / "small.log", tmp_path / "large.log"
    _long_line_log(small, 8)
    _long_line_log(large, 16)
    small_took, small_peak, small_shown = _tail_all(small)
    large_took, large_peak, large_shown = _tail_all(large)
    assert small_shown == 8 * 1024 * 1024 + 3 and large_shown == 16 * 1024 * 1024 + 3  # every character shown
    assert large_took < 3 * small_took + 0.05  # twice the size: about twice the time, not four times
    assert large_peak < 8 * MAX_LINE_CHARS  # a few pieces of the line, not the whole line
    assert large_peak < 1.5 * small_peak + 1_000_000  # does not grow with the line


def test_many_ordinary_lines_are_tailed_in_bounded_memory(tmp_path: Path) -> None:
    log = tmp_path / "many.log"
    line = "2026-11-29T07:51:18.299969531+00:00 stdout F " + "y" * 100 + "\n"
    log.write_text(line * 200_000)  # 29 MB
    _, peak, shown = _tail_all(log)
    assert shown == 200_000 * 100
    assert peak < 8 * READ_BYTES  # what one read holds, not the whole log
