"""The ``ecosim`` command: one click group, one module per command.

Bad input (:class:`ecosim.errors.InputError`, click usage errors) exits 2 with one message and
no traceback; an internal error exits 1.
"""

from __future__ import annotations

import errno
import sys

import click

from ecosim.errors import InputError


class _LazyGroup(click.Group):
    """Imports each command's module only when it is used, so ``ecosim --help`` stays fast."""

    commands_by_module = {
        "run": "ecosim.cli.run_command",
        "check": "ecosim.cli.check_command",
        "sweep": "ecosim.cli.sweep_command",
        "compare": "ecosim.cli.compare_command",
        "report": "ecosim.cli.report_command",
        "validate": "ecosim.cli.validate_command",
        "calibrate": "ecosim.cli.calibrate_command",
        "viz": "ecosim.cli.viz_command",
        "bench": "ecosim.cli.bench_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in self.commands_by_module if self.get_command(ctx, name) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        module_name = self.commands_by_module.get(name)
        if module_name is None:
            return None
        import importlib

        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # command not built yet
                return None
            raise
        return module.command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecosim", prog_name="ecosim")  # looked up only for --version
def cli() -> None:
    """ecosim — simulate a technology-transfer ecosystem and compare policies."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    try:
        status = cli.main(args=argv, prog_name="ecosim", standalone_mode=False)
    except InputError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) or exc.exit_code == 2 else exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except OSError as exc:
        if exc.errno not in USER_SIDE_ERRNOS:
            return _internal_error()
        click.echo(f"error: {describe_os_error(exc)}", err=True)
        return 2
    except Exception:  # an internal error: say so, with the traceback for a bug report
        return _internal_error()
    return status if isinstance(status, int) else 0


USER_SIDE_ERRNOS = frozenset({
    errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENOENT, errno.ENOTDIR,
    errno.EISDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EBUSY, errno.ETXTBSY, errno.EFBIG,
    errno.EXDEV, errno.ENOTEMPTY, errno.ENXIO, errno.ENODEV,
})
"""Operating-system errors caused by the user's paths, permissions or disk, not by ecosim: exit 2."""


def describe_os_error(exc: OSError) -> str:
    """``PATH: reason`` (and what to do, for a full disk)."""
    where = f"{exc.filename}: " if exc.filename else ""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += ("; files that were complete are kept — free some space (or choose another --out) and run "
                   "the same command again (with --resume for a sweep)")
    return where + reason


def _internal_error() -> int:
    import traceback

    traceback.print_exc()
    click.echo("internal error: this is a bug in ecosim; please report it with the traceback above", err=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
