"""Exception and warning hierarchy of adaptive2.

Every error a user can provoke with bad input is an :class:`Adaptive2Error`.
Errors about values are also :class:`ValueError`, so generic handlers work.
"""

from __future__ import annotations

__all__ = [
    "Adaptive2Error",
    "CalibrationError",
    "ConvergenceWarning",
    "DesignError",
    "DesignFileError",
    "PrecisionWarning",
    "StatisticalWarning",
]


class Adaptive2Error(Exception):
    """Base class of every error raised by adaptive2 on purpose."""


class DesignError(Adaptive2Error, ValueError):
    """A prior, rule, design or argument is invalid; the message names the field."""


class DesignFileError(DesignError):
    """A design file cannot be read; the message names the file and the key."""


class CalibrationError(Adaptive2Error, ValueError):
    """A calibration target cannot be met or the search is ill-posed."""


class StatisticalWarning(UserWarning):
    """A result is valid but deserves a statistician's attention."""


class PrecisionWarning(StatisticalWarning):
    """A Monte Carlo figure is less precise than requested."""


class ConvergenceWarning(StatisticalWarning):
    """An iterative fit (root finding, quadrature, MCMC) did not fully converge."""
