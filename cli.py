"""``python cli.py ...`` from a source tree. The command line is the package ``mmdata.cli``; this file is not installed."""

from mmdata.cli import app, main

__all__ = ["app", "main"]

if __name__ == "__main__":
    main()
