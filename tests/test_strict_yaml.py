"""The strict YAML loader: hostile files are refused with file and line, before anything is expanded."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecosim.errors import InputError
from ecosim.scenario import load_scenario, parse_override
from ecosim.strict_yaml import MAX_DEPTH, MAX_EXPANDED_NODES, load_mapping, load_value


def write(tmp_path, text: str, name: str = "hostile.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def alias_bomb(levels: int) -> str:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 9, 12])
def test_alias_bomb_is_refused_at_once_without_expanding_it(tmp_path, levels):
    path = write(tmp_path, alias_bomb(levels))
    assert path.stat().st_size < 1000
    started = time.perf_counter()
    with pytest.raises(InputError, match=f"{path}: refused at line 1, column 1: holds more than {MAX_EXPANDED_NODES:,}"):
        load_scenario(path)
    assert time.perf_counter() - started < 1.0


def test_a_small_alias_tree_is_allowed(tmp_path):
    data = load_mapping(write(tmp_path, alias_bomb(3))).data
    assert data["a2"] == [[[1] * 10] * 10] * 10


@pytest.mark.parametrize("text, line", [("a: &a [*a]\n", 1), ("top:\n  a: &x\n    b: *x\n", 3)])
def test_self_referencing_alias_is_a_cycle_not_a_recursion_error(tmp_path, text, line):
    with pytest.raises(InputError, match=f"line {line}, .*an alias refers to the value that contains it"):
        load_mapping(write(tmp_path, text))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 100_000])
def test_deep_nesting_is_refused_with_its_line(tmp_path, depth):
    path = write(tmp_path, "x: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(InputError, match=f"line 1, .*nested more than {MAX_DEPTH} levels deep"):
        load_mapping(path)


def test_block_nesting_too_deep_is_refused(tmp_path):
    text = "".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 5)) + "  " * (MAX_DEPTH + 5) + "v: 1\n"
    with pytest.raises(InputError, match="nested more than"):
        load_mapping(write(tmp_path, text))


def test_duplicate_key_is_refused_with_both_lines(tmp_path):
    path = write(tmp_path, "steps: 10\nseed: 3\nsteps: 20\n")
    with pytest.raises(InputError, match=r"line 3, column 1: duplicate key 'steps' \(first at line 1\)"):
        load_scenario(path)


def test_duplicate_key_in_a_section_is_refused(tmp_path):
    path = write(tmp_path, "world:\n  regions: 2\n  regions: 3\n")
    with pytest.raises(InputError, match="line 3.*duplicate key 'regions'"):
        load_scenario(path)


@pytest.mark.parametrize("number", ["9223372036854775808", "-9223372036854775809", "99999999999999999999999"])
def test_integers_beyond_64_bits_are_refused(tmp_path, number):
    with pytest.raises(InputError, match="line 2, .*outside the 64-bit range"):
        load_scenario(write(tmp_path, f"budget:\n  per_quarter: {number}\n"))


@pytest.mark.parametrize("key, text, expected", [
    ("steps", "yes", "expected an integer, not the yes/no value True"),
    ("steps", "'10'", "expected an integer, not the text '10' (write the number without quotes)"),
    ("seed", "true", "expected an integer, not the yes/no value True"),
    ("seed", "'7'", "expected an integer, not the text '7'"),
])
def test_yes_no_and_quoted_numbers_are_not_numbers(tmp_path, key, text, expected):
    path = write(tmp_path, f"name: x\n{key}: {text}\n")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert f"{path}: {key}: {expected}" in str(info.value) and "(line 2)" in str(info.value)


def test_yes_inside_a_tuple_is_refused_with_its_item(tmp_path):
    path = write(tmp_path, "technology:\n  gate_quarters: [2, yes, 4, 2]\n")
    with pytest.raises(InputError, match=r"technology.gate_quarters: item 2: expected an integer, not the yes/no"):
        load_scenario(path)


def test_negative_gate_durations_are_refused(tmp_path):
    path = write(tmp_path, "technology:\n  gate_quarters: [2, -4, 4, 2]\n")
    with pytest.raises(InputError, match=r"technology.gate_quarters.1: Input should be greater than or equal to 0"):
        load_scenario(path)


def test_validation_errors_give_the_line_of_the_key(tmp_path):
    path = write(tmp_path, "name: x\n\nworld:\n  regions: 2\n  universities_per_region: -3\n")
    with pytest.raises(InputError, match=r"world.universities_per_region: .*\(line 5\)"):
        load_scenario(path)


def test_merge_keys_may_be_overridden_without_a_duplicate_error(tmp_path):
    data = load_mapping(write(tmp_path, "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n")).data
    assert data["other"] == {"x": 1, "y": 3}


def test_python_tags_and_huge_files_are_refused(tmp_path):
    with pytest.raises(InputError, match="YAML tags that build Python objects are not allowed"):
        load_mapping(write(tmp_path, "a: !!python/object/apply:os.system ['true']\n"))
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (6 * 2**20) + b"\n")
    with pytest.raises(InputError, match="at most"):
        load_mapping(big)


def test_set_values_go_through_the_same_rules():
    with pytest.raises(InputError, match="--set x=&a \\[\\*a\\]: refused"):
        parse_override("x=&a [*a]")
    with pytest.raises(InputError, match="nested more than"):
        load_value("[" * 200 + "]" * 200, "--set k=...")
    assert parse_override("steps=12") == ("steps", 12)


# ---------------------------------------------------------------- generated input

# PyYAML itself folds control characters such as NEL into spaces; they are not what is tested here
text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=8)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), text)
trees = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=4), st.dictionaries(text, children, max_size=4)), max_leaves=40)


@settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.dictionaries(text, trees, max_size=5))
def test_generated_trees_load_back_or_are_refused_with_input_error(tmp_path, tree):
    path = write(tmp_path, yaml.safe_dump(tree, allow_unicode=True))
    try:
        data = load_mapping(path).data
    except InputError as exc:  # only the documented refusals
        assert str(path) in str(exc)
        assert any(word in str(exc) for word in ("64-bit", "nested", "duplicate key"))
        return
    assert data == tree


tokens = st.sampled_from(["a:", "b:", " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "&y ", "*y",
                          "<<: ", "1", "yes", "'10'", "!!python/name:os.system", "!!binary", "?", "|", ">",
                          "99999999999999999999", "-.inf", ".nan", "\t", "#", '"', "%YAML 1.1\n", "---\n", "..."])


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(tokens, max_size=60))
def test_generated_fragments_never_raise_anything_but_input_error(tmp_path, parts):
    path = write(tmp_path, "".join(parts))
    try:
        data = load_mapping(path).data
    except InputError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(data, dict)
