"""adaptive2: Bayesian adaptive phase 2 designs with exact operating characteristics.

The public names are loaded lazily (PEP 562), so ``import adaptive2`` is cheap
and heavy libraries (xarray, pandas, pymc, matplotlib) load only when used.

Examples
--------
>>> import adaptive2 as a2
>>> a2.Beta(0.5, 0.5).update(r=16, n=20)
Beta(a=16.5, b=4.5)
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "analyze": "adaptive2.analyze",
    "BorrowingSummary": "adaptive2.borrowing",
    "borrowing_summary": "adaptive2.borrowing",
    "BOP2": "adaptive2.rules",
    "Beta": "adaptive2.priors",
    "BetaMixture": "adaptive2.priors",
    "Boundaries": "adaptive2.designs",
    "Boundary": "adaptive2.rules",
    "CalibrationError": "adaptive2.errors",
    "Cohort": "adaptive2.hierarchical",
    "CohortDesign": "adaptive2.multicohort",
    "CohortScenario": "adaptive2.multicohort",
    "Conflict": "adaptive2.priors",
    "Decision": "adaptive2.rules",
    "Design": "adaptive2.designs",
    "DesignError": "adaptive2.errors",
    "DesignFileError": "adaptive2.errors",
    "DualCriterion": "adaptive2.rules",
    "Historical": "adaptive2.hierarchical",
    "Model": "adaptive2.hierarchical",
    "PosteriorProbability": "adaptive2.rules",
    "PredictiveProbability": "adaptive2.rules",
    "PriorSpec": "adaptive2.priors",
    "Conduct": "adaptive2.simulate",
    "Scenario": "adaptive2.scenarios",
    "SearchResult": "adaptive2.search",
    "calibrate": "adaptive2.calibrate",
    "calibrate_cohorts": "adaptive2.cohort_calibration",
    "calibrate_futility": "adaptive2.futility",
    "CohortCalibration": "adaptive2.cohort_calibration",
    "FutilityCalibration": "adaptive2.futility",
    "NullRegion": "adaptive2.worst_case",
    "null_region": "adaptive2.worst_case",
    "SimonDesign": "adaptive2.simon",
    "compare": "adaptive2.compare",
    "conflict": "adaptive2.priors",
    "design_search": "adaptive2.search",
    "lee_liu": "adaptive2.search",
    "map_prior": "adaptive2.mapprior",
    "ess": "adaptive2.priors",
    "ess_table": "adaptive2.priors",
    "load_design": "adaptive2.io",
    "oc": "adaptive2.oc",
    "posterior": "adaptive2.hierarchical",
    "power_prior": "adaptive2.priors",
    "report": "adaptive2.report",
    "robustify": "adaptive2.priors",
    "simon": "adaptive2.simon",
    "simulate": "adaptive2.simulate",
}

__all__ = [
    "BOP2",
    "Beta",
    "BetaMixture",
    "BorrowingSummary",
    "Boundaries",
    "Boundary",
    "CalibrationError",
    "Cohort",
    "CohortCalibration",
    "CohortDesign",
    "CohortScenario",
    "Conduct",
    "Conflict",
    "Decision",
    "Design",
    "DesignError",
    "DesignFileError",
    "DualCriterion",
    "FutilityCalibration",
    "Historical",
    "Model",
    "NullRegion",
    "PosteriorProbability",
    "PredictiveProbability",
    "PriorSpec",
    "Scenario",
    "SearchResult",
    "SimonDesign",
    "__version__",
    "analyze",
    "borrowing_summary",
    "calibrate",
    "calibrate_cohorts",
    "calibrate_futility",
    "compare",
    "conflict",
    "design_search",
    "ess",
    "ess_table",
    "lee_liu",
    "load_design",
    "map_prior",
    "null_region",
    "oc",
    "posterior",
    "power_prior",
    "report",
    "robustify",
    "simon",
    "simulate",
]

if TYPE_CHECKING:  # pragma: no cover
    from adaptive2.analyze import analyze
    from adaptive2.borrowing import BorrowingSummary, borrowing_summary
    from adaptive2.calibrate import calibrate
    from adaptive2.cohort_calibration import CohortCalibration, calibrate_cohorts
    from adaptive2.compare import compare
    from adaptive2.designs import Boundaries, Design
    from adaptive2.errors import CalibrationError, DesignError, DesignFileError
    from adaptive2.futility import FutilityCalibration, calibrate_futility
    from adaptive2.hierarchical import Cohort, Historical, Model, posterior
    from adaptive2.io import load_design
    from adaptive2.mapprior import map_prior
    from adaptive2.multicohort import CohortDesign, CohortScenario
    from adaptive2.oc import oc
    from adaptive2.priors import (
        Beta,
        BetaMixture,
        Conflict,
        PriorSpec,
        conflict,
        ess,
        ess_table,
        power_prior,
        robustify,
    )
    from adaptive2.report import report
    from adaptive2.rules import (
        BOP2,
        Boundary,
        Decision,
        DualCriterion,
        PosteriorProbability,
        PredictiveProbability,
    )
    from adaptive2.scenarios import Scenario
    from adaptive2.search import SearchResult, design_search, lee_liu
    from adaptive2.simon import SimonDesign, simon
    from adaptive2.simulate import Conduct, simulate
    from adaptive2.worst_case import NullRegion, null_region


class _Package(types.ModuleType):
    """Keeps ``adaptive2.oc`` (and ``calibrate``, ``simon``, ``report``) the function.

    Importing a submodule binds it on its package; where a function has the same name
    as its module, that binding is skipped so ``adaptive2.<name>`` stays the function
    (the submodule remains importable as ``from adaptive2.<name> import ...``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == f"adaptive2.{name}":
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adaptive2' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
