"""Post files (contracts/records.py): a step owns its step directory, so whatever it wrote there is checked."""

from __future__ import annotations

from pathlib import Path

from contracts.records import read_post


def test_a_post_file_with_results_that_are_not_an_object_of_strings_is_read_without_them(tmp_path: Path) -> None:
    """Tekton pkg/pod/status.go reads results only from the termination message and drops what does not parse
    (filterResults); a post file is doll's and is sanitized field by field."""
    step = tmp_path / "step-a"
    step.mkdir()
    for results in ('"abc"', "[1, 2]", '{"k": 1, "ok": "v"}', "null"):
        (step / "out").write_text('{"exit_code": 0, "reason": "Completed", "results": %s, "started_at": 1e400,'
                                  ' "finished_at": NaN, "message": 7}' % results)
        record = read_post(str(tmp_path), "a")
        assert record is not None and record.exit_code == 0 and record.reason == "Completed"
        assert record.results == ({"ok": "v"} if results.startswith("{") else {})
        assert (record.started_at, record.finished_at, record.message) == (None, 0.0, "")
