"""Errors that the command line turns into exit status 2 (bad input) with one clear message."""


class InputError(Exception):
    """Bad input from the user: a file, a key, a value or an option.

    The message names the file, the key path and what was expected; the CLI prints it
    without a traceback and exits with status 2.
    """

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        self.source = source
        self.key = key
        prefix = ""
        if source:
            prefix += f"{source}: "
        if key:
            prefix += f"{key}: "
        super().__init__(prefix + message)
