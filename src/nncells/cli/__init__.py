"""The command line: ``nncells <verb> MODEL [options]``; one module per command (`main` dispatches)."""
from nncells.cli.main import main

__all__ = ["main"]
