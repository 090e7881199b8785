"""contracts.journal.parse_record, and a journal whose bad lines are skipped on replay rather than fatal."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from contracts.errors import InputError
from contracts.journal import parse_record
from supervisor.journaling import Journal
from supervisor.logs import Log


@pytest.mark.parametrize("record", [
    {"ev": "run", "at": 1.0},
    {"ev": "released", "at": 1, "step": "a", "handoff": None},
    {"ev": "held", "at": 1.0, "step": "a", "reason": "onFailure",
     "report": {"exit_code": 2, "reason": "Error", "started_at": 0.5, "finished_at": 0.9, "results": {"r": "v"}}},
    {"ev": "finished", "at": 2.0, "step": "a", "outcome": "failed", "reason": "Error", "exit_code": None,
     "started_at": None, "finished_at": 2.0, "results": {}, "message": "", "source": "lost"},
    {"ev": "sidecar_failed", "at": 1.0, "sidecar": "db", "reason": "exited"},
    {"ev": "run_finished", "at": 3.0, "outcome": "Succeeded", "reason": "Succeeded", "message": ""},
])
def test_a_record_the_supervisor_writes_parses_as_itself(record: dict[str, Any]) -> None:
    assert parse_record(json.loads(json.dumps(record))) == record


@pytest.mark.parametrize(("data", "field"), [
    ([1, 2], "record"),
    ({"ev": "exploded", "at": 1.0}, "ev"),
    ({"at": 1.0}, "ev"),
    ({"ev": "finished", "at": 1.0}, "finished.step"),
    ({"ev": "run", "at": "x"}, "run.at"),
    ({"ev": "run", "at": True}, "run.at"),
    ({"ev": "run", "at": 10 ** 400}, "run.at"),  # a 401-digit number: OverflowError as a float
    ({"ev": "run", "at": float("nan")}, "run.at"),
    ({"ev": "released", "at": 1.0, "step": "a", "handoff": float("inf")}, "released.handoff"),
    ({"ev": "finished", "at": 1.0, "step": "a", "outcome": "great", "reason": "x"}, "finished.outcome"),
    ({"ev": "finished", "at": 1.0, "step": "a", "outcome": "failed", "reason": "x", "results": {"r": 1}},
     "finished.results"),
    ({"ev": "held", "at": 1.0, "step": "a", "reason": "onFailure", "report": {"started_at": "soon"}},
     "held.report.started_at"),
    ({"ev": "skipped", "at": 1.0, "step": "a", "cancelled": "yes"}, "skipped.cancelled"),
])
def test_a_bad_record_is_refused_naming_the_field(data: object, field: str) -> None:
    with pytest.raises(InputError, match=f"^{field.replace('.', '[.]')}"):
        parse_record(data)


def test_a_bad_line_in_the_journal_is_skipped_with_a_warning_and_the_rest_replayed(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text('{"ev":"run","at":1.0}\n{"ev":"finished"}\n{"ev":"run","at":"x"}\n[]\nnot json\n'
                    '{"ev":"run","at":1' + "0" * 400 + '}\n{"ev":"released","at":2.0,"step":"a","handoff":null}\n')
    stream = io.StringIO()
    journal, records = Journal.open(str(path), Log(stream))
    journal.close()
    assert records == [{"ev": "run", "at": 1.0}, {"ev": "released", "at": 2.0, "step": "a", "handoff": None}]
    warnings = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(w["event"], w["line"]) for w in warnings] == [("journal_record_skipped", n) for n in (2, 3, 4, 5, 6)]
    assert warnings[0]["error"] == "finished.at: missing"
