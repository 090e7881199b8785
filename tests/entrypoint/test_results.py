"""Results and the termination message: Tekton's format, and the 4096-byte limit."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from entrypoint_helpers import finish, run_wrapper, stand_in, step_args, wrapper

from entrypoint import results
from contracts import exits, layout


def test_results_are_written_into_the_termination_message_in_tektons_format(tmp_path: Path) -> None:
    rdir = tmp_path / "results"
    done = run_wrapper(*step_args(tmp_path, "s", 0, results_dir=str(rdir)), "--result", "digest",
                       "--result", "url", "--result", "missing", "--", "sh", "-c",
                       f"mkdir -p {rdir}; printf sha256:abc > {rdir}/digest; printf 'http://x\n' > {rdir}/url")
    assert done.returncode == 0
    term = json.loads((tmp_path / "step-s" / "termination").read_text())
    assert term[:2] == [{"key": "digest", "value": "sha256:abc", "type": 1},
                        {"key": "url", "value": "http://x\n", "type": 1}]
    assert term[2]["key"] == "StartedAt" and term[2]["type"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", term[2]["value"])
    assert len(term) == 3
    record = json.loads((tmp_path / "step-s" / "out").read_text())
    assert record["results"] == {"digest": "sha256:abc", "url": "http://x\n"}


def test_started_at_has_millisecond_precision_in_utc() -> None:
    assert results.tekton_time(0.0) == "1970-01-01T00:00:00.000Z"
    assert results.tekton_time(1700000000.1234) == "2023-11-14T22:13:20.123Z"
    assert results.tekton_time(1700000000.9996) == "2023-11-14T22:13:21.000Z"


def test_results_over_4096_bytes_fail_the_step_but_reach_the_supervisor_in_full(tmp_path: Path) -> None:
    rdir = tmp_path / "results"
    rdir.mkdir()
    with stand_in(["big"]) as sup:
        proc = wrapper(*step_args(tmp_path, "big", 0, socket=sup.socket, results_dir=str(rdir)),
                       "--result", "blob", "--", "sh", "-c", f"head -c 5000 /dev/zero | tr '\\0' x > {rdir}/blob")
        assert finish([proc]) == [exits.EXIT_RESULTS_TOO_LARGE]
        finished = [e for e in sup.events() if e["op"] == "finished"][0]
    assert finished["results"]["blob"] == "x" * 5000
    assert finished["exit_code"] == exits.EXIT_RESULTS_TOO_LARGE and finished["reason"] == "Error"
    assert "over Kubernetes' limit of 4096" in finished["message"]
    text = (tmp_path / "step-big" / "termination").read_text()
    assert len(text.encode()) <= layout.TERMINATION_MESSAGE_LIMIT
    term = {e["key"]: e["value"] for e in json.loads(text)}
    assert "blob" not in term and "over Kubernetes' limit" in term["Message"]
    assert term["ExitCode"] == str(exits.EXIT_RESULTS_TOO_LARGE)
    assert (tmp_path / "step-big" / "out.err").exists()


def test_results_that_just_fit_are_kept(tmp_path: Path) -> None:
    rdir = tmp_path / "results"
    rdir.mkdir()
    overhead = len(results.render({"r": ""}, 0.0, 0, "Completed").text.encode())
    room = layout.TERMINATION_MESSAGE_LIMIT - overhead
    done = run_wrapper(*step_args(tmp_path, "s", 0, results_dir=str(rdir)), "--result", "r", "--",
                       "sh", "-c", f"head -c {room} /dev/zero | tr '\\0' y > {rdir}/r")
    assert done.returncode == 0
    assert len((tmp_path / "step-s" / "termination").read_bytes()) == layout.TERMINATION_MESSAGE_LIMIT


def test_results_too_large_from_a_failing_child_record_the_childs_code_everywhere(tmp_path: Path) -> None:
    rdir = tmp_path / "results"
    rdir.mkdir()
    done = run_wrapper(*step_args(tmp_path, "s", 0, results_dir=str(rdir)), "--result", "r", "--",
                       "sh", "-c", f"head -c 5000 /dev/zero | tr '\\0' x > {rdir}/r; exit 3")
    assert done.returncode == 3
    step = tmp_path / "step-s"
    term = {e["key"]: e["value"] for e in json.loads((step / "termination").read_text())}
    assert term["ExitCode"] == "3" == (step / "exitCode").read_text()
    assert json.loads((step / "out.err").read_text())["exit_code"] == 3


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_result_that_is_not_a_regular_file_fails_the_step_and_is_recorded(tmp_path: Path, kind: str) -> None:
    rdir = tmp_path / "results"
    rdir.mkdir()
    if kind == "directory":
        (rdir / "r").mkdir()
    else:
        os.mkfifo(rdir / "r")  # opening it to read would block for ever
    done = run_wrapper(*step_args(tmp_path, "s", 0, results_dir=str(rdir)), "--result", "r", "--", "true")
    assert done.returncode == exits.EXIT_WRAPPER_ERROR
    assert "result 'r'" in done.stderr and "is not a regular file" in done.stderr
    record = json.loads((tmp_path / "step-s" / "out.err").read_text())
    assert record["exit_code"] == exits.EXIT_WRAPPER_ERROR and "not a regular file" in record["message"]
    # and the chain goes on: the next step, waiting for this one's post file, hears of the failure
    nxt = run_wrapper(*step_args(tmp_path, "t", 1, prev="s"), "--", "true")
    assert nxt.returncode == exits.EXIT_SKIPPED


def test_non_ascii_results_are_written_as_utf8_and_the_limit_counts_their_bytes(tmp_path: Path) -> None:
    """Tekton pkg/termination/write.go, WriteMessage: json.Marshal writes UTF-8 as it is and the 4096 limit
    is on the bytes; 700 `é` (1,400 bytes) fit, escaped to ASCII (`\\u00e9`, 6 bytes each) they would not."""
    rdir = tmp_path / "results"
    rdir.mkdir()
    (tmp_path / "value").write_text("é" * 700)
    done = run_wrapper(*step_args(tmp_path, "s", 0, results_dir=str(rdir)), "--result", "word", "--", "sh", "-c",
                       f"cp {tmp_path / 'value'} {rdir}/word")
    assert done.returncode == 0, done.stderr
    raw = (tmp_path / "step-s" / "termination").read_bytes()
    assert "é".encode() * 700 in raw and len(raw) <= layout.TERMINATION_MESSAGE_LIMIT
    assert json.loads(raw)[0] == {"key": "word", "value": "é" * 700, "type": 1}


def _kubelet_keeps(text: str, containers: int) -> str:
    """pkg/kubelet/status/status_manager.go normalizeStatus: each container's termination message is cut to
    MaxPodTerminationMessageLogLength (12 KiB) / the Pod's containers (init and ephemeral ones included),
    in bytes, wherever that falls."""
    return text.encode()[:12 * 1024 // containers].decode("utf-8", errors="ignore")


def test_a_message_over_the_pods_share_keeps_what_fits_and_stays_valid_json(tmp_path: Path) -> None:
    """30 containers: the Pod status keeps 409 bytes of each message.  The step succeeds (the supervisor has
    every result), its message is what the kubelet keeps, whole: valid JSON naming the results left out."""
    rdir = tmp_path / "results"
    rdir.mkdir()
    with stand_in(["s"]) as sup:
        proc = wrapper(*step_args(tmp_path, "s", 0, socket=sup.socket, results_dir=str(rdir)),
                       "--container-count", "30", "--result", "a", "--result", "big", "--", "sh", "-c",
                       f"printf small > {rdir}/a; head -c 1500 /dev/zero | tr '\\0' x > {rdir}/big")
        assert finish([proc]) == [0]
        finished = [e for e in sup.events() if e["op"] == "finished"][0]
    assert finished["results"] == {"a": "small", "big": "x" * 1500} and finished["exit_code"] == 0
    text = (tmp_path / "step-s" / "termination").read_text()
    assert len(text.encode()) <= 409 and _kubelet_keeps(text, 30) == text
    term = {e["key"]: e["value"] for e in json.loads(_kubelet_keeps(text, 30))}
    assert term["a"] == "small" and "big" not in term
    assert "left out" in term["Message"] and "big" in term["Message"]
    assert json.loads((tmp_path / "step-s" / "out").read_text())["results"]["big"] == "x" * 1500


def test_a_message_within_the_share_is_unchanged_and_over_4096_still_fails_within_the_share() -> None:
    small = results.render({"a": "1"}, 0.0, 0, "Completed", share=layout.termination_share(3))
    assert small.fits and json.loads(small.text)[0] == {"key": "a", "value": "1", "type": 1}
    huge = results.render({"a": "x" * 5000}, 0.0, 0, "Completed", share=layout.termination_share(30))
    assert not huge.fits and len(huge.text.encode()) <= 409
    assert {e["key"] for e in json.loads(huge.text)} >= {"StartedAt", "ExitCode", "Message"}
    assert layout.termination_share(0) == layout.termination_share(2) == 4096
    assert layout.termination_share(3) == 4096 and layout.termination_share(6) == 2048
