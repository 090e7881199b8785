"""Task results checked against their declared types at the end of the run (contracts/task_results.py)."""

from __future__ import annotations

from contracts.plans import ResultSpec
from contracts.task_results import invalid_results, value_type


def test_a_result_s_text_is_read_as_tekton_reads_a_param_value() -> None:
    """Tekton pkg/apis/pipeline/v1, ParamValue.UnmarshalJSON: `[`-JSON of strings is an array, `{`-JSON of
    strings an object, anything else (invalid JSON, numbers inside, leading space) a string."""
    assert value_type('["a", "b"]\n') == "array" and value_type('{"k": "v"}') == "object"
    for text in ("[a, b", "[1, 2]", ' ["a"]', '{"k": 1}', "abc", ""):
        assert value_type(text) == "string"


def test_an_array_result_that_is_not_valid_json_fails_validation_with_tekton_s_message() -> None:
    """Tekton pkg/reconciler/taskrun, validateTaskRunResults (mismatchedTypesResults): the TaskRun fails with
    reason TaskRunValidationFailed."""
    why = invalid_results((ResultSpec("list", "array"),), {"list": "[a, b"})
    assert why.startswith("Provided results don't match declared results") and '"list"' in why
    assert 'expected to be "array" type but was initialized to a different type "string"' in why


def test_an_object_result_missing_a_declared_key_fails_validation() -> None:
    """Tekton pkg/reconciler/taskrun, validateTaskRunResults (missingKeysofObjectResults)."""
    spec = ResultSpec("image", "object", ("url", "digest"))
    assert invalid_results((spec,), {"image": '{"url": "x"}'}) == \
        "missing keys for these results which are required in TaskResult's properties map[image:[digest]]"
    assert invalid_results((spec,), {"image": '{"url": "x", "digest": "d"}'}) == ""


def test_string_results_and_results_never_written_are_not_checked() -> None:
    assert invalid_results((ResultSpec("s"), ResultSpec("list", "array")), {"s": "[oops"}) == ""
