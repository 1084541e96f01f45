"""Write the stored ``.ipynb`` notebooks from their jupytext sources (``notebooks/*.py``).

The ``.py`` files (jupytext percent format) are what people edit, lint and review; the
``.ipynb`` beside each is generated from it, stored without outputs and with fixed cell ids, so
rebuilding an unchanged notebook changes nothing::

    python -m ecosim.notebook_sync notebooks            # rewrite the .ipynb files
    python -m ecosim.notebook_sync notebooks --check    # fail if one differs from its source
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def notebook_from_source(source: Path):
    """The notebook of a jupytext source: no outputs, cell ids ``nb<number>-<cell>``."""
    import jupytext

    notebook = jupytext.read(source)
    stem = source.stem.split("_")[0]
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"nb{stem}-{number:02d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    return notebook


def render(notebook) -> str:
    import nbformat

    return nbformat.writes(notebook) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--check", action="store_true", help="only check that the .ipynb files are up to date")
    args = parser.parse_args(argv)
    stale = []
    for source in sorted(args.directory.glob("[0-9]*.py")):
        target = source.with_suffix(".ipynb")
        text = render(notebook_from_source(source))
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(target.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    if stale:
        print(f"out of date (run make notebooks-sync): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
