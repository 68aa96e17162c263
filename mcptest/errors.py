"""The errors mcptest raises for bad input; the CLI turns each into one line and an exit code."""

from __future__ import annotations

from mcptest import exitcodes


class McptestError(Exception):
    """Base of every error that the CLI reports as one line with an exit code."""

    exit_code: int = exitcodes.CONFIG_ERROR


class ConfigError(McptestError):
    """A configuration value is invalid: names file, line, dotted key, value and what was expected."""

    exit_code = exitcodes.CONFIG_ERROR

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        super().__init__(self.format())

    def format(self) -> str:
        """``file:line: key: message``, leaving out the parts that are unknown."""
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = [p for p in (where, self.key) if p]
        parts.append(self.message)
        return ": ".join(parts)


class UsageError(McptestError):
    """The command line asks for something impossible (an unknown suite, a missing run id)."""

    exit_code = exitcodes.CONFIG_ERROR


class RefusedError(McptestError):
    """The command would do something wrong with valid input (save a failed run as the baseline)."""

    exit_code = exitcodes.REFUSED


class NoDataError(McptestError):
    """Nothing was measured or collected where something had to be."""

    exit_code = exitcodes.NO_TESTS_OR_DATA
