"""Writing one run's results: a directory that appears whole or not at all."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ecosim.errors import InputError
from ecosim.scenario import scenario_to_yaml


@contextmanager
def atomic_directory(target: Path, replace: bool = False):
    """Yield a temporary directory beside ``target``; on success rename it to ``target``.

    On any error the temporary directory is removed, so no partial output is left behind.
    An existing non-empty ``target`` is an error unless ``replace`` is true.
    """
    target = Path(target)
    if target.exists() and not target.is_dir():
        raise InputError("exists and is not a directory", source=str(target), key="--out")
    if target.exists() and any(target.iterdir()) and not replace:
        raise InputError("already holds results; choose another --out or pass --force to replace them",
                         source=str(target), key="--out")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output directory: {exc.strerror}", source=str(parent), key="--out") from None
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    try:
        yield tmp
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.replace(target, old / "previous")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_run(result, directory: Path, csv: bool = True) -> list[Path]:
    """Write a :class:`~ecosim.model.RunResult`'s tables and provenance into ``directory``."""
    directory = Path(directory)
    steps = result.steps.copy()
    summary = pd.DataFrame([{"scenario": result.scenario.name, "seed": result.seed, **result.summary}])
    written = []
    for name, frame in (("steps", steps), ("summary", summary)):
        path = directory / f"{name}.parquet"
        frame.to_parquet(path, index=False)
        written.append(path)
        if csv:
            frame.to_csv(directory / f"{name}.csv", index=False)
            written.append(directory / f"{name}.csv")
    technologies = result.technologies
    technologies.to_parquet(directory / "technologies.parquet", index=False)
    scenario = result.scenario
    rules_source = scenario.rules_file
    if rules_source:  # keep the user's rules with the results, so scenario.yaml re-runs as is
        shutil.copyfile(rules_source, directory / "rules.py")
        scenario = scenario.model_copy(update={"rules_file": "rules.py"})
    header = f"# resolved scenario, ecosim {result.version}, seed {result.seed}\n"
    (directory / "scenario.yaml").write_text(header + scenario_to_yaml(scenario), encoding="utf-8")
    from ecosim.rules import rules_in_effect

    provenance = {
        "rules": rules_in_effect(result.scenario.rules),
        "rules_file": rules_source,
        "rules_sha256": hashlib.sha256(Path(rules_source).read_bytes()).hexdigest() if rules_source else None,
        "ecosim_version": result.version,
        "seed": result.seed,
        "scenario": result.scenario.name,
        "steps": int(len(result.steps)),
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (directory / "provenance.json").write_text(json.dumps(provenance, indent=2), encoding="utf-8")
    written += [directory / "technologies.parquet", directory / "scenario.yaml", directory / "provenance.json"]
    return written
