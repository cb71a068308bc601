"""The one error type gdlab's core raises, and the exit codes the CLI maps outcomes to."""

EXIT_OK = 0
EXIT_FAILED = 1  # runtime failure, or a --expect bar missed
EXIT_USAGE = 2  # bad config, bad input, bad usage
EXIT_DIVERGED = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


# Every character str.splitlines() breaks at, mapped to its escaped form (\n, \x0b, \u2028, ...).
_LINE_BREAKS = {c: repr(chr(c))[1:-1] for c in (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)}


class GdlabError(Exception):
    """A problem the user can fix; `cli` prints it as one line and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        # One line whatever user text it quotes: a line break inside a key, value or override shows escaped.
        message = message.translate(_LINE_BREAKS)
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
