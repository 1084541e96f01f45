"""The scenario schema: safe loading, validation messages, overrides and resolved YAML."""

from __future__ import annotations

import copy
import json
import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SCENARIOS, TINY
from ecosim.errors import InputError
from ecosim.scenario import (
    FIELDS,
    MAX_AGENTS,
    Scenario,
    _default_data,
    apply_overrides,
    check_safe_name,
    load_scenario,
    load_yaml,
    merge_onto,
    parse_override,
    scenario_to_yaml,
    set_dotted,
    validate_scenario,
)


def write(tmp_path, text: str, name: str = "scenario.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ loading YAML


def test_missing_file_is_input_error_naming_the_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(InputError, match="file not found") as info:
        load_yaml(path)
    assert info.value.source == str(path)


def test_directory_is_not_a_scenario(tmp_path):
    with pytest.raises(InputError, match="directory"):
        load_yaml(tmp_path)


def test_undecodable_file_is_input_error(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"name: x\n\xff\xfe\x00 bad\n")
    with pytest.raises(InputError, match="cannot read") as info:
        load_yaml(path)
    assert str(path) in str(info.value)


def test_broken_yaml_reports_line(tmp_path):
    path = write(tmp_path, "name: x\nsteps: [1, 2\nseed: 3\n")
    with pytest.raises(InputError, match=r"broken YAML at line \d+") as info:
        load_yaml(path)
    assert str(path) in str(info.value)


def test_python_object_tags_are_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = write(tmp_path, f"name: x\nsteps: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(InputError, match="tags that build Python objects are not allowed"):
        load_yaml(path)
    assert not marker.exists()


def test_top_level_must_be_a_mapping(tmp_path):
    with pytest.raises(InputError, match="mapping"):
        load_yaml(write(tmp_path, "- a\n- b\n"))


def test_empty_file_is_the_default_scenario(tmp_path):
    scenario = load_scenario(write(tmp_path, ""))
    assert scenario == Scenario()


# ------------------------------------------------------------------ validation messages


def test_unknown_key_suggests_the_nearest_valid_key(tmp_path):
    path = write(tmp_path, "world:\n  enterprises_per_regoin: 10\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message
    assert "world.enterprises_per_regoin" in message
    assert "did you mean 'enterprises_per_region'" in message


def test_unknown_key_without_a_near_match_lists_the_valid_keys():
    with pytest.raises(InputError) as info:
        validate_scenario({"world": {"zzz": 1}}, source="s.yaml")
    message = str(info.value)
    assert "world.zzz: unknown key" in message
    assert "regions" in message and "enterprises_per_region" in message


def test_unknown_key_inside_a_field_profile_is_reported_with_its_path():
    data = Scenario().model_dump(mode="json")
    data["fields"]["medicine"]["sharre"] = 0.1
    with pytest.raises(InputError, match=r"fields\.medicine\.sharre: unknown key; did you mean 'share'"):
        validate_scenario(data)


def test_wrong_type_names_key_and_value(tmp_path):
    path = write(tmp_path, "world:\n  regions: many\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    message = str(info.value)
    assert str(path) in message and "world.regions" in message and "integer" in message and "'many'" in message


@pytest.mark.parametrize("text", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_refused(tmp_path, text):
    path = write(tmp_path, f"budget:\n  per_quarter: {text}\n")
    with pytest.raises(InputError, match=r"budget\.per_quarter: Input should be a finite number"):
        load_scenario(path)


def test_non_finite_number_in_a_tuple_is_refused():
    with pytest.raises(InputError, match=r"technology\.gate_cost\.1"):
        validate_scenario({"technology": {"gate_cost": [0.5, float("nan"), 10, 20]}})


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("budget.per_quarter", -1, "greater than or equal to 0"),
        ("budget.research_grants", 1.5, "less than or equal to 1"),
        ("steps", 0, "greater than or equal to 1"),
        ("world.regions", 51, "less than or equal to 50"),
        ("technology.appraisal_sigma_min", 0.0, "greater than 0"),
    ],
)
def test_out_of_range_values_name_the_bound(key, value, expected):
    with pytest.raises(InputError, match=expected) as info:
        apply_overrides(Scenario(), {key: value}, source="s.yaml")
    assert key in str(info.value)


def test_absurd_world_size_is_bad_input_not_a_crash():
    with pytest.raises(InputError, match=r"world\.enterprises_per_region"):
        apply_overrides(Scenario(), {"world.enterprises_per_region": 100_000_000})


def test_total_agent_count_is_capped():
    overrides = {"world.regions": 50, "world.enterprises_per_region": 1_000_000}
    with pytest.raises(InputError, match=f"at most {MAX_AGENTS:,}"):
        apply_overrides(Scenario(), overrides)


def test_budget_shares_may_not_exceed_the_budget():
    with pytest.raises(InputError, match="budget shares must sum to at most 1"):
        apply_overrides(Scenario(), {"budget.research_grants": 0.9, "budget.fairs": 0.2})


def test_field_shares_must_sum_to_one():
    with pytest.raises(InputError, match="field shares must sum to 1"):
        apply_overrides(Scenario(), {"fields.it.share": 0.9})


def test_fields_must_be_exactly_the_four():
    data = Scenario().model_dump(mode="json")
    del data["fields"]["medicine"]
    with pytest.raises(InputError, match=r"missing \['medicine'\]"):
        validate_scenario(data)


def test_disclosure_trl_probabilities_must_sum_to_one():
    with pytest.raises(InputError, match="disclosure_trl_probs must sum to 1"):
        apply_overrides(Scenario(), {"technology.disclosure_trl_probs": [0.5, 0.5, 0.5, 0.0]})


def test_poc_trl_window_must_be_ordered_within_1_to_9():
    with pytest.raises(InputError, match=r"policy\.proof_of_concept\.trl_window"):
        apply_overrides(Scenario(), {"policy.proof_of_concept.trl_window": [6, 4]})


def test_several_errors_are_listed_together():
    with pytest.raises(InputError) as info:
        validate_scenario({"steps": -1, "world": {"regions": 0}})
    message = str(info.value)
    assert "steps" in message and "world.regions" in message


# ------------------------------------------------------------------ names


@pytest.mark.parametrize("name", ["../evil", "/abs", "a/b", ".hidden", "..", "a..b", "", "back\\slash"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(ValueError):
        check_safe_name(name)


@pytest.mark.parametrize("name", ["baseline", "poc_fund-2", "v1.2", "0ab"])
def test_safe_names_are_kept(name):
    assert check_safe_name(name) == name


def test_scenario_name_that_escapes_the_output_directory_is_bad_input(tmp_path):
    path = write(tmp_path, "name: ../evil\n")
    with pytest.raises(InputError, match="not a safe name") as info:
        load_scenario(path)
    assert str(path) in str(info.value)


# ------------------------------------------------------------------ overrides


@pytest.mark.parametrize(
    "text, key, value",
    [
        ("steps=8", "steps", 8),
        ("budget.per_quarter=2.5", "budget.per_quarter", 2.5),
        ("rules.adoption=risk_averse", "rules.adoption", "risk_averse"),
        ("technology.gate_cost=[1, 2, 3, 4]", "technology.gate_cost", [1, 2, 3, 4]),
        ("seed=null", "seed", None),
        ("description=", "description", ""),
        (" name = a=b", "name", "a=b"),
    ],
)
def test_parse_override_reads_yaml_typed_values(text, key, value):
    assert parse_override(text) == (key, value)


@pytest.mark.parametrize("text", ["noequals", "=3", "a..b=1", "steps=[1"])
def test_malformed_override_is_input_error(text):
    with pytest.raises(InputError, match="--set"):
        parse_override(text)


def test_set_dotted_creates_sections_and_refuses_to_descend_into_values():
    data = {"steps": 3}
    set_dotted(data, "policy.managers.capacity", 7)
    assert data["policy"]["managers"]["capacity"] == 7
    with pytest.raises(InputError, match="steps is a value, not a section"):
        set_dotted(data, "steps.x", 1)


def test_apply_overrides_returns_a_new_validated_scenario():
    base = Scenario()
    changed = apply_overrides(base, {"policy.managers.managers_per_region": 80, "steps": 9})
    assert changed.policy.managers.managers_per_region == 80 and changed.steps == 9
    assert base.policy.managers.managers_per_region == Scenario().policy.managers.managers_per_region


def test_override_unknown_key_is_refused_with_suggestion():
    with pytest.raises(InputError, match=r"policy\.managers\.managers_per_regoin: unknown key; did you mean"):
        apply_overrides(Scenario(), {"policy.managers.managers_per_regoin": 3})


def test_load_scenario_applies_overrides_on_top_of_the_file():
    scenario = load_scenario(TINY, {"steps": 5, "world.enterprises_per_region": 11})
    assert scenario.steps == 5 and scenario.world.enterprises_per_region == 11
    assert scenario.name == "tiny"


def test_rules_file_is_resolved_relative_to_the_scenario_file(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    path = write(sub, "rules_file: my_rules.py\n")
    assert load_scenario(path).rules_file == str((sub / "my_rules.py").resolve())


def test_absolute_rules_file_is_kept(tmp_path):
    target = tmp_path / "elsewhere" / "r.py"
    path = write(tmp_path, f"rules_file: {target}\n")
    assert load_scenario(path).rules_file == str(target)


# ------------------------------------------------------------------ resolved YAML


def test_resolved_yaml_round_trips_to_the_same_scenario():
    scenario = load_scenario(TINY, {"seed": 5, "rules.adoption": "risk_averse"})
    text = scenario_to_yaml(scenario)
    assert validate_scenario(yaml.safe_load(text)) == scenario


def test_resolved_yaml_writes_every_default():
    data = yaml.safe_load(scenario_to_yaml(Scenario()))
    assert set(data["fields"]) == set(FIELDS)
    assert data["policy"]["managers"]["managers_per_region"] == Scenario().policy.managers.managers_per_region
    assert set(data["rules"]) == set(Scenario().rules.model_dump())


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_validate(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert math.isclose(sum(f.share for f in scenario.fields.values()), 1.0)


def test_schema_fields_all_have_descriptions():
    """The schema is the parameter documentation: every leaf field says what it is."""

    def walk(model, prefix=""):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                yield from walk(annotation, prefix + name + ".")
            elif name != "fields":
                yield prefix + name, field.description

    undocumented = [key for key, description in walk(Scenario) if not description]
    assert undocumented == []


def test_override_of_one_field_profile_keeps_the_other_field_defaults():
    """``--set fields.medicine.log_value_mean=2`` on a file without a ``fields`` section."""
    scenario = load_scenario(TINY, {"fields.medicine.log_value_mean": 2.0})
    assert scenario.fields["medicine"].log_value_mean == 2.0
    assert scenario.fields["medicine"].share == Scenario().fields["medicine"].share
    assert scenario.fields["it"] == Scenario().fields["it"]


@pytest.mark.parametrize("key", ["steps", "world.regions", "policy.fairs.interval_quarters"])
def test_yes_no_is_not_a_count(tmp_path, key):
    """YAML reads ``true``/``no`` as booleans; a boolean where a count belongs is a wrong type."""
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        apply_overrides(Scenario(), {key: True})


@pytest.mark.parametrize(
    "key, value",
    [
        ("technology.orientation_value_effect", 3000.0),
        ("technology.quality_value_effect", -3000.0),
        ("fields.medicine.log_value_mean", 1000.0),
    ],
)
def test_log_value_parameters_are_bounded(key, value):
    """ln V of a thousand overflows exp() in the model (infinite values, NaN summaries,
    RuntimeWarnings on the console); such a number is out of range, so bad input."""
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        apply_overrides(Scenario(), {key: value})


def _merge_by_full_copy(base, update):
    """merge_onto as it was written first: copy all of ``base``, then merge ``update`` onto the copy."""
    merged = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_by_full_copy(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _containers(data) -> list:
    found = [data] if isinstance(data, (dict, list)) else []
    for child in (data.values() if isinstance(data, dict) else data if isinstance(data, list) else []):
        found += _containers(child)
    return found


_TREES = st.recursive(st.none() | st.integers(-3, 3) | st.sampled_from(["x", "y"]),
                      lambda children: st.lists(children, max_size=3)
                      | st.dictionaries(st.sampled_from("abcd"), children, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(base=st.dictionaries(st.sampled_from("abcd"), _TREES, max_size=4),
       update=st.dictionaries(st.sampled_from("abcd"), _TREES, max_size=4))
def test_merge_onto_gives_what_a_full_copy_then_merge_gives_and_shares_nothing(base, update):
    """merge_onto copies each node once; the result (keys in the same order) is the one of copying
    all of ``base`` first, and no mapping or list of it is one of ``base``'s or ``update``'s."""
    merged = merge_onto(base, update)
    assert json.dumps(merged) == json.dumps(_merge_by_full_copy(base, update))  # key order included
    inputs = {id(c) for c in _containers(base) + _containers(update)}
    assert not inputs & {id(c) for c in _containers(merged)}


def test_merge_onto_the_defaults_leaves_the_cached_defaults_alone():
    defaults = json.dumps(_default_data())
    resolved = load_scenario(SCENARIOS / "baseline.yaml").model_dump(mode="json")
    merged = merge_onto(_default_data(), resolved)
    assert json.dumps(merged) == json.dumps(_merge_by_full_copy(_default_data(), resolved))
    set_dotted(merged, "technology.matching_lambda", 99.0)
    merged["universities"].clear()
    assert json.dumps(_default_data()) == defaults
