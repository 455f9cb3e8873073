"""The errors nncells raises for bad input and failed runs: catch what you handle.

``NNCellsError`` is the base (a ``ValueError``); the CLI prints its message as one line on stderr
and exits with status 2.

Examples
--------
>>> from nncells import Box
>>> try:
...     Box(1, 0)
... except DomainError as e:
...     print(e)
box is empty: lo >= hi in dimension 0 (1.0 >= 0.0)
"""
from __future__ import annotations


class NNCellsError(ValueError):
    """A user-facing error: bad input, unreadable model, inconsistent options."""


class ModelError(NNCellsError):
    """A model file or module that cannot become a `Network` (format, layers, verification)."""


class DomainError(NNCellsError):
    """A domain that is empty, has no interior, or does not fit the network's input dimension."""


class RunError(NNCellsError):
    """A run that cannot start, continue or resume (output directory, checkpoints, workers)."""


class ModelWarning(UserWarning):
    """A model was read, but maybe not as the user meant: a state dict holds no architecture and
    is read as a Linear-ReLU chain. On the command line it is one line on stderr,
    ``nncells: warning: ...``.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("read as a chain", ModelWarning)
    >>> seen[0].category.__name__
    'ModelWarning'
    """


class Terminated(KeyboardInterrupt):
    """A termination signal turned into an interruption, so that it takes Ctrl-C's path: a run
    checkpoints and stops with one line. ``signum``: the signal (SIGTERM, what a batch scheduler
    sends before it preempts a job); the command line exits with status ``128 + signum``.

    Examples
    --------
    >>> import signal
    >>> e = Terminated(signal.SIGTERM)
    >>> isinstance(e, KeyboardInterrupt), e.signum == signal.SIGTERM
    (True, True)
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = int(signum)
