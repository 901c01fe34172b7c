"""Exception and warning hierarchy of adaptive2.

Every error a user can provoke with bad input is an :class:`Adaptive2Error`.
Errors about values are also :class:`ValueError`, so generic handlers work.
The command line maps them to exit codes: :class:`RunError` (the run itself
failed: a scheduler that cannot be reached, a disk that fills up) exits 1,
every other :class:`Adaptive2Error` (bad input, a bad option, a job too big
for the memory limit) exits 2.
"""

from __future__ import annotations

__all__ = [
    "Adaptive2Error",
    "CalibrationError",
    "ConvergenceWarning",
    "DesignError",
    "DesignFileError",
    "PrecisionWarning",
    "ResourceError",
    "RunError",
    "StatisticalWarning",
    "UsageError",
]


class Adaptive2Error(Exception):
    """Base class of every error raised by adaptive2 on purpose."""


class DesignError(Adaptive2Error, ValueError):
    """A prior, rule, design or argument is invalid; the message names the field."""


class DesignFileError(DesignError):
    """A design file cannot be read; the message names the file and the key."""


class CalibrationError(Adaptive2Error, ValueError):
    """A calibration target cannot be met or the search is ill-posed."""


class UsageError(Adaptive2Error, ValueError):
    """A command-line option or argument is invalid; the message names the option."""


class ResourceError(Adaptive2Error, MemoryError):
    """A job would need more memory than the limit; the message gives the estimate and way out."""


class RunError(Adaptive2Error, RuntimeError):
    """The run failed for a reason outside the input (network, disk, workers)."""


class StatisticalWarning(UserWarning):
    """A result is valid but deserves a statistician's attention."""


class PrecisionWarning(StatisticalWarning):
    """A Monte Carlo figure is less precise than requested."""


class ConvergenceWarning(StatisticalWarning):
    """An iterative fit (root finding, quadrature, MCMC) did not fully converge."""
