"""Reading podman's k8s-file logs (generator/local/tailing.py) from files written as podman 4.3 writes them."""

from __future__ import annotations

from pathlib import Path

from generator.local.tailing import LogTail

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
