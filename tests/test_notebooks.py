"""The policymakers' notebooks: jupytext pairs stored clean, and run top to bottom.

Executing them needs the ``notebooks`` extra (nbclient, nbformat, ipykernel with a kernel
named ``python3``); the execution test is marked slow because the four together take a few
minutes on a 2-core machine.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = ("01_tour.ipynb", "02_which_policy.ipynb", "03_combining_and_sensitivity.ipynb",
            "04_change_a_rule.ipynb")
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_SECONDS = 600


def test_every_issue_notebook_is_in_the_notebooks_folder():
    assert sorted(p.name for p in NOTEBOOKS) == sorted(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has stored outputs"
            assert cell.execution_count is None, f"{path.name}: a code cell has an execution count"
    assert notebook.metadata["kernelspec"]["name"] == "python3"


def test_every_notebook_is_a_jupytext_pair_and_the_stored_one_is_its_source():
    from ecosim.notebook_sync import notebook_from_source, render

    for path in NOTEBOOKS:
        source = path.with_suffix(".py")
        assert source.exists(), f"{path.name} has no jupytext source {source.name}"
        assert path.read_text(encoding="utf-8") == render(notebook_from_source(source)), (
            f"{path.name} differs from {source.name}; run `make notebooks-sync`")


def test_notebooks_start_with_plain_language_and_keep_code_cells_short():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert [c.cell_type for c in notebook.cells[:2]] == ["markdown", "markdown"], path.name
        words = sum(len(c.source.split()) for c in notebook.cells if c.cell_type == "markdown")
        code = [c for c in notebook.cells if c.cell_type == "code"]
        assert words > 300, f"{path.name}: too little explanation"
        if path.name.startswith(("01", "02", "03")):  # the policymakers' notebooks: short calls of ecosim functions
            assert max(len(c.source.splitlines()) for c in code) <= 25, path.name
        if path.name.startswith("01"):  # the tour: every cell one or two instructions, no programming
            settings, *calls = code
            assert max(len(c.source.splitlines()) for c in calls) <= 2, path.name
            lines = [line.strip() for c in calls for line in c.source.splitlines()]
            assert not [line for line in lines if line.startswith(("for ", "def ", "class ", "import ", "from "))
                        or " for " in line or "lambda" in line], path.name
            assert words > 3 * sum(len(c.source.split()) for c in code), f"{path.name}: more code than prose"


def _private_names(source: str) -> list[str]:
    """Private names a cell's code reaches for: ``from ecosim._x import``, ``import _y``, ``obj._z``."""
    code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    found = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ecosim"):
            found += [node.module] if any(p.startswith("_") for p in node.module.split(".")) else []
            found += [a.name for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(p.startswith("_") for p in a.name.split("."))]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            found.append(node.attr)
    return found


def test_private_name_check_catches_private_ecosim_use():
    assert _private_names("from ecosim.rules.adoption import _logistic") == ["_logistic"]
    assert _private_names("%matplotlib inline\nx = model._build_world") == ["_build_world"]
    assert _private_names("from ecosim import analysis\nanalysis.compare(runs)") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_use_only_public_names(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert _private_names(cell.source) == [], f"{path.name}, cell {cell.id}"


def _ecosim_calls(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every ``module.name`` a notebook's code reaches in a module it imports
    with ``from ecosim import module``."""
    notebook = nbformat.read(path, as_version=4)
    code = "\n".join(line for c in notebook.cells if c.cell_type == "code"
                     for line in c.source.splitlines() if not line.lstrip().startswith(("%", "!")))
    tree = ast.parse(code)
    modules = {a.asname or a.name: f"ecosim.{a.name}" for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module == "ecosim" for a in node.names}
    return [(modules[node.value.id], node.attr) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_call_only_functions_ecosim_has(path):
    """A function renamed or removed in ecosim fails here, not only in the slow execution test."""
    import importlib

    missing = [f"{module}.{name}" for module, name in _ecosim_calls(path)
               if not hasattr(importlib.import_module(module), name)]
    assert missing == [], f"{path.name} calls what ecosim does not have"


def test_notebooks_draw_the_comparison_as_the_report_does():
    """One figure for the changes against the baseline everywhere: the report's small multiples
    (``plots.forest_panels``), not a notebook's own forest plot."""
    drawers = {path.name: {name for module, name in _ecosim_calls(path) if "forest" in name} for path in NOTEBOOKS}
    assert drawers["02_which_policy.ipynb"] == {"forest_panels"}
    assert drawers["04_change_a_rule.ipynb"] == {"forest_panels"}
    assert all(names <= {"forest_panels"} for names in drawers.values()), drawers


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom_without_an_error(path, tmp_path):
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(path, as_version=4)
    # Notebooks that write results do so under ECOSIM_NOTEBOOK_RESULTS (a temporary folder here).
    os.environ["ECOSIM_NOTEBOOK_RESULTS"] = str(tmp_path)
    try:
        client = nbclient.NotebookClient(
            notebook, kernel_name="python3", timeout=CELL_TIMEOUT_SECONDS,
            resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
        )
        client.execute()  # raises CellExecutionError naming the cell if any cell raises
    finally:
        os.environ.pop("ECOSIM_NOTEBOOK_RESULTS", None)
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code_cells)
    assert not any(o.output_type == "error" for c in code_cells for o in c.outputs)
    # every figure shown once (a pyplot figure returned from a cell would be shown twice)
    assert all(sum("image/png" in o.get("data", {}) for o in c.outputs) <= 1 for c in code_cells), path.name
