"""What produced a result: ecosim's version and a hash of the model's source code.

A sweep records :func:`code_identity` in its ``index.json``; resuming it with different code
would mix runs of two models under one experiment, so the store refuses that unless asked
(``ecosim sweep --resume --allow-code-change``).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecosim import __version__

PACKAGE = Path(__file__).resolve().parent

NOT_MODEL = frozenset({
    "cli", "viz", "analysis.py", "report.py", "plots.py", "bench.py", "run_figures.py", "paramdoc.py",
    "output.py", "store.py", "executors.py", "worker_pool.py", "resources.py", "strict_yaml.py",
    "provenance.py", "errors.py", "__init__.py", "notebooks", "calibration_report.py",
})
"""Parts of the package that do not change what a run computes (the CLI, the visualiser, the
store, the statistics). Everything else — the model, agents, rules, pipeline, network,
metrics, scenario schema, and any module added later — is hashed."""


@lru_cache(maxsize=1)
def model_code_sha256() -> str:
    """SHA-256 over the path and bytes of every model source file of the installed package."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] in NOT_MODEL or "__pycache__" in relative.parts:
            continue
        digest.update(str(relative.as_posix()).encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def code_identity(rules_files: list[str] | None = None) -> dict[str, Any]:
    """ecosim's version, the model code's hash and the hash of each user rules file (by path)."""
    rules = {}
    for name in sorted(set(rules_files or [])):
        try:
            rules[name] = hashlib.sha256(Path(name).read_bytes()).hexdigest()
        except OSError:
            rules[name] = None
    return {"ecosim_version": __version__, "model_sha256": model_code_sha256(), "rules_sha256": rules}
