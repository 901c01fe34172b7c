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
from typing import TYPE_CHECKING, Any

from adaptive2._base.version import __version__

_EXPORTS: dict[str, str] = {
    "analyze": "adaptive2.engines.analysis",
    "BorrowingSummary": "adaptive2.engines.borrowing",
    "borrowing_summary": "adaptive2.engines.borrowing",
    "BOP2": "adaptive2.model.rules",
    "Beta": "adaptive2.model.priors",
    "BetaMixture": "adaptive2.model.priors",
    "Boundaries": "adaptive2.model.designs",
    "Boundary": "adaptive2.model.rules",
    "Adaptive2Error": "adaptive2._base.errors",
    "CalibrationError": "adaptive2._base.errors",
    "ConvergenceWarning": "adaptive2._base.errors",
    "PrecisionWarning": "adaptive2._base.errors",
    "StatisticalWarning": "adaptive2._base.errors",
    "Cohort": "adaptive2.model.hierarchical",
    "CohortDesign": "adaptive2.model.cohorts",
    "CohortScenario": "adaptive2.model.cohorts",
    "Conflict": "adaptive2.model.priors",
    "Decision": "adaptive2.model.rules",
    "Design": "adaptive2.model.designs",
    "DesignError": "adaptive2._base.errors",
    "DesignFileError": "adaptive2._base.errors",
    "DualCriterion": "adaptive2.model.rules",
    "Historical": "adaptive2.model.hierarchical",
    "Model": "adaptive2.model.hierarchical",
    "PosteriorProbability": "adaptive2.model.rules",
    "PredictiveProbability": "adaptive2.model.rules",
    "PriorSpec": "adaptive2.model.priors",
    "Conduct": "adaptive2.engines.montecarlo",
    "Scenario": "adaptive2.model.scenarios",
    "SearchResult": "adaptive2.engines.search",
    "calibrate": "adaptive2.engines.calibration",
    "calibrate_cohorts": "adaptive2.engines.cohort_calibration",
    "calibrate_futility": "adaptive2.engines.futility",
    "CohortCalibration": "adaptive2.engines.cohort_calibration",
    "FutilityCalibration": "adaptive2.engines.futility",
    "NullRegion": "adaptive2.engines.null_region",
    "null_region": "adaptive2.engines.null_region",
    "SimonDesign": "adaptive2.engines.simon",
    "compare": "adaptive2.engines.compare",
    "conflict": "adaptive2.model.priors",
    "design_search": "adaptive2.engines.search",
    "lee_liu": "adaptive2.engines.search",
    "map_prior": "adaptive2.engines.map_prior",
    "ess": "adaptive2.model.priors",
    "ess_table": "adaptive2.model.priors",
    "load_design": "adaptive2.io.design_files",
    "oc": "adaptive2.engines.exact",
    "posterior": "adaptive2.model.hierarchical",
    "power_prior": "adaptive2.model.priors",
    "report": "adaptive2.views.report",
    "robustify": "adaptive2.model.priors",
    "simon": "adaptive2.engines.simon",
    "simulate": "adaptive2.engines.montecarlo",
}

__all__ = [  # noqa: RUF022 - plain sorted() order, pinned by tests/test_api.py
    "Adaptive2Error",
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
    "ConvergenceWarning",
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
    "PrecisionWarning",
    "PredictiveProbability",
    "PriorSpec",
    "Scenario",
    "SearchResult",
    "SimonDesign",
    "StatisticalWarning",
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
    from adaptive2._base.errors import (
        Adaptive2Error,
        CalibrationError,
        ConvergenceWarning,
        DesignError,
        DesignFileError,
        PrecisionWarning,
        StatisticalWarning,
    )
    from adaptive2.engines.analysis import analyze
    from adaptive2.engines.borrowing import BorrowingSummary, borrowing_summary
    from adaptive2.engines.calibration import calibrate
    from adaptive2.engines.cohort_calibration import CohortCalibration, calibrate_cohorts
    from adaptive2.engines.compare import compare
    from adaptive2.engines.exact import oc
    from adaptive2.engines.futility import FutilityCalibration, calibrate_futility
    from adaptive2.engines.map_prior import map_prior
    from adaptive2.engines.montecarlo import Conduct, simulate
    from adaptive2.engines.null_region import NullRegion, null_region
    from adaptive2.engines.search import SearchResult, design_search, lee_liu
    from adaptive2.engines.simon import SimonDesign, simon
    from adaptive2.io.design_files import load_design
    from adaptive2.model.cohorts import CohortDesign, CohortScenario
    from adaptive2.model.designs import Boundaries, Design
    from adaptive2.model.hierarchical import Cohort, Historical, Model, posterior
    from adaptive2.model.priors import (
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
    from adaptive2.model.rules import (
        BOP2,
        Boundary,
        Decision,
        DualCriterion,
        PosteriorProbability,
        PredictiveProbability,
    )
    from adaptive2.model.scenarios import Scenario
    from adaptive2.views.report import report


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adaptive2' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
