"""``python -m mcptest`` and the ``mcptest`` console script."""

import sys


def main() -> None:
    """Start the test interpreter of a run early (see mcptest.prestart), then the command line.

    SIGINT and SIGTERM are handled from the first moment (mcptest.lifecycle): a signal at any instant ends
    with exit 130 and a message, never with a traceback or the shell's 143."""
    from mcptest import lifecycle

    lifecycle.install()
    try:
        from mcptest import prestart

        prestart.start(sys.argv[1:])
        from mcptest.cli import main as cli_main
    except KeyboardInterrupt:
        by = f" by {lifecycle.received()}" if lifecycle.received() else ""
        sys.stderr.write(f"mcptest: interrupted{by}\n")
        sys.exit(130)  # exitcodes.INTERRUPTED, not imported this early
    cli_main()


if __name__ == "__main__":
    main()
