"""Exceptions raised for bad user input."""


class NNCellsError(ValueError):
    """A user-facing error: bad input, unreadable model, inconsistent options.

    The CLI prints its message as one line on stderr and exits with status 2.
    """
