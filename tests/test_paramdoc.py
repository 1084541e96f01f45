"""docs/PARAMETERS.md and the rule list in docs/RULES.md are generated from the code and kept current."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

import ecosim
import ecosim.agents
import ecosim.rules
from ecosim.paramdoc import (
    RULES_BEGIN,
    RULES_END,
    _row,
    builtin_rules,
    parameter_rows,
    parameters_markdown,
    replace_generated,
    rules_markdown,
    write_docs,
)
from ecosim.rules import available_rules, load_rules_file, rule_doc
from ecosim.scenario import FIELDS, RULE_KINDS, Scenario

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
REGENERATE = "regenerate with: python -m ecosim.paramdoc --write docs"


def _leaf_keys(data: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        keys |= _leaf_keys(value, key) if isinstance(value, dict) else {key}
    return keys


def _generated_rules_part(text: str) -> str:
    start, end = text.index(RULES_BEGIN) + len(RULES_BEGIN), text.index(RULES_END)
    return text[start:end].strip()


def test_parameters_doc_is_up_to_date_with_the_schema():
    on_disk = (DOCS / "PARAMETERS.md").read_text(encoding="utf-8")
    assert on_disk == parameters_markdown(), (
        f"docs/PARAMETERS.md is out of date with src/ecosim/scenario.py; {REGENERATE}"
    )


def test_every_scenario_key_is_documented_exactly_once():
    rows = parameter_rows()
    keys = [r.key for r in rows]
    assert len(keys) == len(set(keys))
    assert set(keys) == _leaf_keys(Scenario().model_dump(mode="json"))
    assert {f"fields.{f}.technical_success" for f in FIELDS} <= set(keys)


def test_every_scenario_parameter_has_a_description():
    missing = [r.key for r in parameter_rows() if not r.description]
    assert not missing, f"give these scenario fields a Field(description=...): {missing}"


def test_parameter_rows_show_the_schema_default_and_bounds():
    rows = {r.key: r for r in parameter_rows()}
    capacity = rows["policy.managers.capacity"]
    assert capacity.type == "integer"
    assert capacity.default == str(Scenario().policy.managers.capacity)
    assert capacity.bounds == "≥ 1, ≤ 1000"
    sigma = rows["technology.log_value_sigma"]
    assert sigma.bounds == "> 0, ≤ 5"
    assert sigma.default == repr(Scenario().technology.log_value_sigma)
    costs = rows["technology.gate_cost"]
    assert costs.type == "4 × number" and costs.bounds == "each > 0"
    assert rows["seed"].type == "integer or null" and rows["seed"].default == "null"
    assert rows["fields.medicine.technical_success"].default.startswith("[")


def test_constraints_nested_in_annotated_aliases_are_rendered():
    Unit = Annotated[float, Field(ge=0.0, le=1.0)]

    class Example(BaseModel):
        pair: tuple[Unit, Unit] = Field((0.25, 0.5), description="two shares")
        count: int = Field(3, gt=0, lt=10, description="a count")
        label: str | None = Field(None, max_length=5, description="a label")

    pair = _row("example.pair", Example.model_fields["pair"])
    assert (pair.type, pair.default, pair.bounds) == ("2 × number", "[0.25, 0.5]", "each ≥ 0, ≤ 1")
    count = _row("example.count", Example.model_fields["count"])
    assert (count.type, count.default, count.bounds) == ("integer", "3", "> 0, < 10")
    label = _row("example.label", Example.model_fields["label"])
    assert (label.type, label.default, label.bounds) == ("text or null", "null", "length ≤ 5")


def test_cross_key_checks_are_listed_with_their_messages():
    text = parameters_markdown()
    assert "budget shares must sum to at most 1" in text
    assert "`policy.proof_of_concept.trl_window`: expected 1 ≤ low ≤ high ≤ 9" in text
    assert "at most 2,000,000 are allowed" in text


def test_module_entry_point_prints_the_parameter_tables():
    done = subprocess.run(
        [sys.executable, "-m", "ecosim.paramdoc"], capture_output=True, text=True, check=True
    )
    assert done.stdout == parameters_markdown()


def test_rules_doc_lists_every_builtin_rule_and_is_up_to_date():
    text = (DOCS / "RULES.md").read_text(encoding="utf-8")
    assert _generated_rules_part(text) == rules_markdown().strip(), (
        f"docs/RULES.md is out of date; {REGENERATE}"
    )
    generated = rules_markdown()
    for kind, names in builtin_rules().items():
        assert f"`{kind}`" in generated
        assert len(names) >= 2, f"{kind} needs a default and at least one alternative"
        for name in names:
            assert f"`{name}`" in generated and rule_doc(kind, name) in generated
    assert set(builtin_rules()) == set(RULE_KINDS)


def test_user_rules_stay_out_of_the_builtin_list():
    load_rules_file(REPO / "examples" / "my_rules.py")
    assert "fit_seekers" in available_rules("adoption")
    assert "fit_seekers" not in builtin_rules()["adoption"]
    assert "fit_seekers" not in rules_markdown()


def test_write_docs_regenerates_both_files(tmp_path):
    shutil.copy(DOCS / "RULES.md", tmp_path / "RULES.md")
    stale = replace_generated(
        (tmp_path / "RULES.md").read_text(encoding="utf-8"), "| stale | table |"
    )
    (tmp_path / "RULES.md").write_text(stale, encoding="utf-8")
    (tmp_path / "PARAMETERS.md").write_text("old\n", encoding="utf-8")
    written = write_docs(tmp_path)
    assert {p.name for p in written} == {"PARAMETERS.md", "RULES.md"}
    assert (tmp_path / "PARAMETERS.md").read_text(encoding="utf-8") == parameters_markdown()
    rules = (tmp_path / "RULES.md").read_text(encoding="utf-8")
    assert "stale" not in rules
    assert rules == (DOCS / "RULES.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- names in the prose docs exist

CODE_REF = re.compile(r"`([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)`")
PATH_REF = re.compile(r"`([\w./-]+\.(?:py|md|yaml))`")


def _code_namespace() -> tuple[dict[str, object], dict[str, type]]:
    """The model's modules by short and package-relative names, and its classes by name."""
    names = [
        f"ecosim.{m}"
        for m in (
            "scenario",
            "model",
            "pipeline",
            "transfer",
            "network",
            "metrics",
            "errors",
            "paramdoc",
        )
    ]
    for package in (ecosim.agents, ecosim.rules):
        names += [
            f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
        ]
    modules: dict[str, object] = {"rules": ecosim.rules, "agents": ecosim.agents}
    for full in names:
        module = importlib.import_module(full)
        modules.setdefault(full.removeprefix("ecosim."), module)
        modules.setdefault(full.rsplit(".", 1)[-1], module)
    classes = {
        name: obj
        for module in modules.values()
        for name, obj in vars(module).items()
        if inspect.isclass(obj) and obj.__module__.startswith("ecosim.")
    }
    return modules, classes


def _has_attribute(obj: object, name: str) -> bool:
    if hasattr(obj, name):
        return True
    if inspect.isclass(obj):  # dataclass fields and attributes set in methods
        annotated = any(name in getattr(c, "__annotations__", {}) for c in obj.__mro__)
        return annotated or re.search(rf"self\.{name}\b", inspect.getsource(obj)) is not None
    return False


def _resolves(token: str, modules: dict, classes: dict, live_model: object) -> bool | None:
    """True/False if ``token`` names something in ecosim that does/does not exist; None if it is not ecosim's."""
    parts = token.removeprefix("ecosim.").split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        if head in modules:
            obj, rest = modules[head], parts[i:]
            break
    else:
        if parts[0] not in classes:
            return None
        obj, rest = classes[parts[0]], parts[1:]
    for j, name in enumerate(rest):
        if not _has_attribute(obj, name):
            # `model.x`: an attribute of a built EcosystemModel
            return (
                obj is modules["model"] and j == 0 and len(rest) == 1 and hasattr(live_model, name)
            )
        obj = getattr(obj, name, None)
    return True


def test_every_function_parameter_and_file_named_in_the_docs_exists(tiny_model_for_docs):
    modules, classes = _code_namespace()
    keys = {r.key for r in parameter_rows()}
    sections = {k.split(".")[0] for k in keys if "." in k}
    checked, missing = 0, []
    for doc in ("ODD.md", "RULES.md", "PARAMETERS.md"):
        text = (DOCS / doc).read_text(encoding="utf-8")
        for path in set(PATH_REF.findall(text)):
            if path.startswith("results/"):  # made by a run; the docs point to nothing outside the repository
                continue
            roots = (REPO, REPO / "src", REPO / "src" / "ecosim", REPO / "scenarios")
            checked += 1
            if not any((root / path).exists() for root in roots):
                missing.append(f"{doc}: file {path}")
        for token in set(CODE_REF.findall(text)) - set(PATH_REF.findall(text)):
            if token in keys or any(k.startswith(token + ".") for k in keys):
                checked += 1
                continue
            found = _resolves(token, modules, classes, tiny_model_for_docs)
            if found is None and token.split(".")[0] in sections:
                found = False  # looks like a scenario key but is not one
            if found is None:
                continue
            checked += 1
            if not found:
                missing.append(f"{doc}: {token}")
    assert not missing, (
        "the docs name things the code does not have (update docs/ODD.md or docs/RULES.md): "
        + ", ".join(sorted(missing))
    )
    assert checked > 150  # the check is not vacuous


@pytest.fixture(scope="module")
def tiny_model_for_docs():
    from ecosim.model import EcosystemModel
    from ecosim.scenario import load_scenario

    return EcosystemModel(load_scenario(REPO / "scenarios" / "tiny.yaml", {"steps": 1}), seed=1)
