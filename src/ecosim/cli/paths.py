"""Output paths checked before any work, so a bad one is bad input (exit 2) and not a lost hour.

Each check names the option and the path, says why it cannot be used (missing folder,
permission, a directory where a file is expected, a device, a dangling symbolic link) and
creates nothing. The writes themselves stay atomic in the commands; these checks only make
the common mistakes fail at once instead of after the work.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ecosim.errors import InputError


def check_output_file(path: str | os.PathLike[str], option: str, creates_folders: bool = False) -> Path:
    """Refuse ``path`` as a file to (re)write unless a regular file can be written there.

    ``creates_folders``: the command makes missing folders on the way (then the nearest existing
    one must be writable); otherwise the file's folder must exist.
    """
    target = Path(path)
    where = {"source": str(target), "key": option}
    if target.is_symlink() and not target.exists():
        raise InputError("is a symbolic link to nothing; give a real file name", **where)
    if target.exists():
        if target.is_dir():
            raise InputError("is a directory; expected a file name", **where)
        if not stat.S_ISREG(target.stat().st_mode):
            raise InputError("is not a regular file (a device, pipe or socket); expected a file name", **where)
        if not os.access(target, os.W_OK):
            raise InputError("cannot be written: permission denied", **where)
    folder = target.parent
    while creates_folders and not folder.exists() and folder != folder.parent:
        if folder.is_symlink():
            raise InputError(f"{folder} is a symbolic link to nothing", **where)
        folder = folder.parent
    _check_folder_writable(folder, where)
    return target


def check_output_directory(path: str | os.PathLike[str], option: str) -> Path:
    """Refuse ``path`` as a folder to write into (created if missing) unless that can work."""
    target = Path(path)
    where = {"source": str(target), "key": option}
    if target.is_symlink() and not target.exists():
        raise InputError("is a symbolic link to nothing; give a real folder", **where)
    if target.exists():
        if not target.is_dir():
            raise InputError("exists and is not a directory", **where)
        if not os.access(target, os.W_OK | os.X_OK):
            raise InputError("cannot write in this directory: permission denied", **where)
        return target
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():
            raise InputError(f"{ancestor} is a symbolic link to nothing", **where)
        ancestor = ancestor.parent
    _check_folder_writable(ancestor, where)
    return target


def _check_folder_writable(folder: Path, where: dict[str, str]) -> None:
    folder = folder if str(folder) else Path(".")
    if not folder.exists():
        raise InputError(f"its folder {folder} does not exist", **where)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a directory", **where)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write in {folder}: permission denied", **where)
