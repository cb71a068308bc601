"""The one error type gdlab's core raises, the exit codes the CLI maps outcomes to, and the few rules
that keep an error message one short line."""

import re

EXIT_OK = 0
EXIT_FAILED = 1  # runtime failure, or a --expect bar missed
EXIT_USAGE = 2  # bad config, bad input, bad usage
EXIT_DIVERGED = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

QUOTED_LIMIT = 60  # characters of a quoted user value an error shows; a 5000-character name is not echoed whole
WORD_LIMIT = 120  # characters of a whitespace-free run (a path, a key) an error shows, start and end
MESSAGE_LIMIT = 600  # characters of a whole message: one line a terminal shows in a few rows

# Every control character mapped to its escaped form (\n, \x00, \x1b, \u2028, ...): those str.splitlines()
# breaks at would split the line, and the rest (a NUL, a terminal's ESC from a quoted YAML value) would reach
# the terminal raw, where an escape sequence can recolour or clear it.
_CONTROL = {c: repr(chr(c))[1:-1] for c in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)}
# A quoted value: an opening quote with no letter or digit before it and a closing one with none after, so
# the apostrophe in "Graphviz's" is never taken for a quote and prose between two values is never cut.
# Short values are matched too (and left as they are): skipping them let the closing quote of 'name=..',
# which follows no letter, open a "value" that ran over the prose up to the next quote.
_QUOTED = re.compile(r"(?<!\w)(['\"])((?:(?!\1).)*?)\1(?!\w)")
_LONG_WORD = re.compile(r"\S{%d,}" % (WORD_LIMIT + 1))


def shorten(text: str, limit: int = QUOTED_LIMIT) -> str:
    """`text` itself, or its first `limit` characters and '…' when it is longer."""
    return text if len(text) <= limit + 1 else text[:limit] + "…"


def shorten_middle(text: str, limit: int = WORD_LIMIT) -> str:
    """`text` itself, or its start, '…' and its end in `limit` characters: a path keeps its file name."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 3
    return text[:head] + "…" + text[len(text) - (limit - 1 - head) :]


def first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of a library's message (its first line, up to '. '), cut at a word if still long."""
    line = next((ln.strip() for ln in str(text).splitlines() if ln.strip()), "")
    end = line.find(". ")
    line = line[: end + 1] if end >= 0 else line
    if len(line) <= limit:
        return line
    cut = line.rfind(" ", 0, limit)
    return line[: cut if cut > limit // 2 else limit].rstrip(",;:") + "…"


class GdlabError(Exception):
    """A problem the user can fix; `cli` prints it as one line and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE, also: tuple[tuple, ...] = ()):
        # One line whatever user text it quotes: a line break or other control character shows escaped.
        message = message.translate(_CONTROL)
        # Here, once, rather than at every place that quotes a value: a long quoted value shows its start.
        message = _QUOTED.sub(lambda m: m[1] + shorten(m[2]) + m[1], message)
        # Then any long word left (a deep path, a 900-character key) keeps its start and end, and the
        # whole line is capped: a list of a thousand column names is not echoed whole either.
        message = _LONG_WORD.sub(lambda m: shorten_middle(m[0]), message)
        message = shorten(message, MESSAGE_LIMIT - 1)
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        # config keys as equally to blame as the one the message starts with (a pct_start and the run length it
        # is a share of), as key paths: the CLI names the overrides that set them too
        self.also = also

    def __str__(self) -> str:
        return self.message
