"""The one error type gdlab's core raises, and the exit codes the CLI maps outcomes to."""

EXIT_OK = 0
EXIT_FAILED = 1  # runtime failure, or a --expect bar missed
EXIT_USAGE = 2  # bad config, bad input, bad usage
EXIT_DIVERGED = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class GdlabError(Exception):
    """A problem the user can fix; `cli` prints it as one line and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message
