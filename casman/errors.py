"""The one exception family the CLI turns into a single line on stderr.

Everything a user can cause (bad input, a broken rule, a missing file, an unreachable
backend) raises a subclass of :class:`CasmanError`; anything else is a bug and keeps its
traceback.
"""


class CasmanError(Exception):
    """A failure the user can fix; ``str(error)`` is the whole message."""

    exit_code = 1


class UsageError(CasmanError):
    """Malformed input to a command (exit code 2, like click's own usage errors)."""

    exit_code = 2
