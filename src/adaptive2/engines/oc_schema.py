"""The schema shared by the exact OC engines: variable names, stop reasons, default grid.

:func:`adaptive2.engines.exact.oc` and the joint efficacy-toxicity engine
(:func:`adaptive2.engines.toxicity_oc.oc_toxicity`, to which ``oc`` routes
co-monitored designs) return the same variables; both take them from here.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DEFAULT_GRID", "OC_VARIABLES", "REASONS"]

OC_VARIABLES = (
    "p_efficacy",
    "p_futility",
    "p_early_stop",
    "p_final_fail",
    "p_go",
    "p_consider",
    "p_nogo",
    "expected_n",
    "sd_n",
    "p_n",
    "p_stop_at",
)
"""Variables of every single-cohort OC dataset (each with a ``_mcse`` twin)."""

REASONS = ("futility", "efficacy", "consider")
"""The ``reason`` coordinate of ``p_stop_at``."""

DEFAULT_GRID = tuple(np.round(np.linspace(0.0, 1.0, 21), 10))
"""True response rates when neither the call nor the design gives scenarios."""
