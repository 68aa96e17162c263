"""``python -m mcptest`` and the ``mcptest`` console script."""

import sys


def main() -> None:
    """Start the test interpreter of a run early (see mcptest.prestart), then the command line."""
    from mcptest import prestart

    prestart.start(sys.argv[1:])
    from mcptest.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
