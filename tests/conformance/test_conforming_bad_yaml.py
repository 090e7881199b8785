"""Bad input to `doll generate`: YAML Kubernetes would refuse or read differently, each one line and exit 2,
and a seeded fuzz of mutated inputs that never gets a traceback out of the generator."""

from __future__ import annotations

import io
import random
import sys
import time
from pathlib import Path

import pytest
from corpus import tasks
from generated import container, gen, pod_of, wrapped_command
from test_conforming_stepactions import ACTION
from test_conforming_stepactions import RUN as ACTION_RUN

from generator.errors import GenerateError
from generator.tekton import main
from generator.tekton.generating import GenerateOptions, generate

ROOT = Path(__file__).resolve().parents[2]
RUN = """\
apiVersion: tekton.dev/v1
kind: TaskRun
metadata: {name: r}
spec:
  params: [{name: day, value: VALUE}]
  taskSpec:
    params: [{name: day}]
    steps: [{name: a, image: busybox, command: [echo, $(params.day)]}]
"""
BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"] + [
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]) + "\n"


def test_a_yaml_date_is_the_string_it_is_written_as() -> None:
    """Kubernetes decodes YAML with sigs.k8s.io/yaml, which gives a Task's fields the text written: an
    unquoted `2024-01-01` is the string "2024-01-01", never a timestamp."""
    pod = pod_of(RUN.replace("VALUE", "2024-01-01"))
    assert wrapped_command(container(pod, "step-a")) == ["echo", "2024-01-01"]


def test_an_alias_bomb_is_refused_before_it_is_expanded() -> None:
    """go-yaml decode.go allowedAliasRatio ("document contains excessive aliasing"), what Kubernetes' YAML
    decoder refuses: here 9 levels of 9 aliases, a few hundred bytes that expand to ~387 million values."""
    assert len(BOMB) < 600
    started = time.monotonic()
    with pytest.raises(GenerateError) as error:
        gen(BOMB)
    assert time.monotonic() - started < 1
    assert str(error.value) == ("run.yaml: line 1: the document contains excessive aliasing (Kubernetes' YAML "
                                "decoder refuses it too)")


def test_a_few_aliases_are_read_as_usual() -> None:
    """Anchors and aliases are YAML; go-yaml allows them below its ratio, and so does doll."""
    text = RUN.replace("steps: [{name: a, image: busybox, command: [echo, $(params.day)]}]",
                       "steps: [{name: a, image: &img busybox, command: [echo, $(params.day)]},"
                       " {name: b, image: *img, command: [echo]}]").replace("VALUE", "x")
    assert container(pod_of(text), "step-b")["image"] == "busybox"


REFUSED = {
    "!!binary": ("!!binary aGVsbG8=", "run.yaml: malformed YAML: line 5: a !!binary value (a Kubernetes object "
                 "holds only JSON: strings, numbers, booleans, lists and objects)"),
    "!!set": ("!!set {a, b}", "run.yaml: malformed YAML: line 5: a !!set value (a Kubernetes object holds only "
              "JSON: strings, numbers, booleans, lists and objects)"),
    "an anchor containing itself": ("&x [*x]", "run.yaml: line 5: an anchor's value contains itself"),
    "a 4,301-digit number": ("1" * 4301, "run.yaml: malformed YAML: line 5: an integer of 4301 digits is too "
                             "long to read"),
    "a tag its value does not fit": ('!!float "linux/amd64"', "run.yaml: malformed YAML: line 5: 'linux/amd64' is "
                                     "not a !!float"),
    "deep nesting": ("[" * 300 + "]" * 300, "run.yaml: line 5: nested more than 200 deep"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_yaml_that_has_no_json_form_is_refused_in_one_line(case: str) -> None:
    value, message = REFUSED[case]
    with pytest.raises(GenerateError) as error:
        gen(RUN.replace("VALUE", value))
    assert str(error.value) == message


def _generate_main(argv: list[str], stdin: bytes, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_a_huge_number_as_timeout_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    text = RUN.replace("VALUE", "x").replace("spec:\n", "spec:\n  timeout: " + "9" * 4301 + "\n", 1)
    assert _generate_main(["--no-registry-lookup"], text.encode(), capsys, monkeypatch) == (
        2, "", "doll generate: stdin: malformed YAML: line 5: an integer of 4301 digits is too long to read\n")


def test_input_that_is_not_utf8_on_stdin_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert _generate_main(["-"], b"kind: \xfe", capsys, monkeypatch) == (
        2, "", "doll generate: stdin: not UTF-8 text (byte 0xfe at offset 6)\n")


# ---- fuzz: seeded text mutations of real inputs -------------------------------------------------------------

PIECES = ["&a ", "*a", "!!binary ", "!!set ", "!!omap ", "!!str ", "!!int ", "!!float ", "!!timestamp ", "? ",
          "2024-01-01", "1" * 4400, "1e999", "-.inf", ".nan", "0x1F", "~", "null", "true", "[", "]", "{", "}",
          ": ", "- ", "'", '"', "\\", "\t", "\x00", "\ufeff", "#", "|", ">", "---\n", "...\n", "%YAML 1.1\n",
          "$(", ")", "$(params.", "$(workspaces.", "$(steps.", "[*]", "\n  ", "\n", "<<: *a\n", "&a [*a]",
          "é", "\U0001F600", "name: ", "kind: Task\n", "steps: ", "when: ", "workspaces: ", "-1", "0"]


def _inputs() -> list[str]:
    texts = [(ROOT / "examples" / "hello-taskrun.yaml").read_text(), RUN.replace("VALUE", "x"), ACTION + ACTION_RUN]
    small = sorted(tasks(), key=lambda p: p.stat().st_size)[:6]
    return texts + [p.read_text() for p in small]


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text) + 1)
        choice = rng.random()
        if choice < 0.45:
            text = text[:at] + rng.choice(PIECES) + text[at:]
        elif choice < 0.7:
            text = text[:at] + text[at + rng.randint(1, 12):]
        elif choice < 0.85:
            lines = text.splitlines(keepends=True)
            i = rng.randrange(len(lines))
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
            text = "".join(lines)
        else:
            text = text[:at] + text[at:at + rng.randint(1, 40)] * 2 + text[at + 40:]
    return text


OPTIONS = GenerateOptions(registry=None, name="f", namespace="ns")
COUNT = 10_000


def test_ten_thousand_mutated_inputs_never_crash_the_generator() -> None:
    """Every mutated input either generates or is refused in one line (a GenerateError without a newline):
    never another exception, which `doll generate` would print as a traceback."""
    rng = random.Random(20261203)
    inputs = _inputs()
    outcomes: dict[str, int] = {"generated": 0, "refused": 0}
    for n in range(COUNT):
        text = _mutate(rng.choice(inputs), rng)
        try:
            generate([("fuzz.yaml", text)], {}, OPTIONS)
            outcomes["generated"] += 1
        except GenerateError as exc:
            assert "\n" not in str(exc).strip(), (n, text, str(exc))
            outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001 - what this test exists to catch
            pytest.fail(f"mutation {n} raised {type(exc).__name__}: {exc}\n--- input ---\n{text[:3000]}")
    assert outcomes["generated"] > COUNT // 20 and outcomes["refused"] > COUNT // 5, outcomes
