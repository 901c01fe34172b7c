"""adaptive2: Bayesian adaptive phase 2 designs with exact operating characteristics.

The public names are loaded lazily (PEP 562), so ``import adaptive2`` is cheap
and heavy libraries (xarray, pandas, pymc, matplotlib) load only when used. Each
name is defined in one module of the layered package (``_base`` → ``kernels`` /
``model`` → ``engines`` / ``io`` → ``views`` → ``cli``); this facade is for users,
the package itself imports from the defining modules.

In IPython, ``import adaptive2`` registers the HTML cards of designs, priors and
results with the notebook's formatter (by type name: nothing is imported until
an object is shown), and the ``ds.a2`` accessor of OC Datasets is registered as
soon as an engine is used through this namespace.

Examples
--------
>>> import adaptive2 as a2
>>> a2.Beta(0.5, 0.5).update(r=16, n=20)
Beta(a=16.5, b=4.5)
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any

from adaptive2._base.version import __version__

_EXPORTS: dict[str, str] = {
    "Adaptive2Error": "adaptive2._base.errors",
    "CalibrationError": "adaptive2._base.errors",
    "ConvergenceWarning": "adaptive2._base.errors",
    "DesignError": "adaptive2._base.errors",
    "DesignFileError": "adaptive2._base.errors",
    "PrecisionWarning": "adaptive2._base.errors",
    "ResourceError": "adaptive2._base.errors",
    "RunError": "adaptive2._base.errors",
    "StatisticalWarning": "adaptive2._base.errors",
    "UsageError": "adaptive2._base.errors",
    "cache_info": "adaptive2._base.cache",
    "set_cache_limit": "adaptive2._base.cache",
    "memory_limit": "adaptive2._base.resources",
    "set_memory_limit": "adaptive2._base.resources",
    "Beta": "adaptive2.model.priors",
    "BetaMixture": "adaptive2.model.priors",
    "Conflict": "adaptive2.model.priors",
    "PriorSpec": "adaptive2.model.priors",
    "conflict": "adaptive2.model.priors",
    "ess": "adaptive2.model.priors",
    "ess_table": "adaptive2.model.priors",
    "power_prior": "adaptive2.model.priors",
    "robustify": "adaptive2.model.priors",
    "BOP2": "adaptive2.model.rules",
    "Boundary": "adaptive2.model.rules",
    "Decision": "adaptive2.model.rules",
    "DualCriterion": "adaptive2.model.rules",
    "PosteriorProbability": "adaptive2.model.rules",
    "PredictiveProbability": "adaptive2.model.rules",
    "Boundaries": "adaptive2.model.designs",
    "Design": "adaptive2.model.designs",
    "CohortScenario": "adaptive2.model.scenarios",
    "Scenario": "adaptive2.model.scenarios",
    "ScenarioGrid": "adaptive2.model.scenarios",
    "Cohort": "adaptive2.model.hierarchical",
    "Historical": "adaptive2.model.hierarchical",
    "Model": "adaptive2.model.hierarchical",
    "QuadratureGrid": "adaptive2.model.hierarchical",
    "CohortDesign": "adaptive2.model.cohorts",
    "Conduct": "adaptive2.model.conduct",
    "oc": "adaptive2.engines.exact",
    "simulate": "adaptive2.engines.montecarlo",
    "CalibrationResult": "adaptive2.engines.calibration",
    "calibrate": "adaptive2.engines.calibration",
    "CohortCalibration": "adaptive2.engines.cohort_calibration",
    "calibrate_cohorts": "adaptive2.engines.cohort_calibration",
    "FutilityCalibration": "adaptive2.engines.futility",
    "calibrate_futility": "adaptive2.engines.futility",
    "NullRegion": "adaptive2.engines.null_region",
    "null_region": "adaptive2.engines.null_region",
    "BorrowingSummary": "adaptive2.engines.borrowing",
    "borrowing_summary": "adaptive2.engines.borrowing",
    "posterior": "adaptive2.engines.posterior",
    "analyze": "adaptive2.engines.analysis",
    "SearchResult": "adaptive2.engines.search",
    "lee_liu": "adaptive2.engines.lee_liu",
    "design_search": "adaptive2.engines.design_search",
    "pareto": "adaptive2.engines.design_search",
    "SimonDesign": "adaptive2.engines.simon",
    "simon": "adaptive2.engines.simon",
    "map_prior": "adaptive2.engines.map_prior",
    "compare": "adaptive2.engines.compare",
    "ToxicityMonitor": "adaptive2.model.toxicity",
    "oc_toxicity": "adaptive2.engines.toxicity_oc",
    "ToxicityCalibration": "adaptive2.engines.toxicity_calibration",
    "calibrate_toxicity": "adaptive2.engines.toxicity_calibration",
    "BryantDayDesign": "adaptive2.engines.bryant_day",
    "BryantDayResult": "adaptive2.engines.bryant_day",
    "bryant_day": "adaptive2.engines.bryant_day",
    "Bop2EffToxResult": "adaptive2.engines.bop2_efftox",
    "bop2_efftox": "adaptive2.engines.bop2_efftox",
    "calibrate_efftox_design": "adaptive2.engines.bop2_efftox",
    "load_design": "adaptive2.io.design_files",
    "save_design": "adaptive2.io.design_files",
    "load_scenarios": "adaptive2.io.scenario_files",
    "html_card": "adaptive2.views.dispatch",
    "plot": "adaptive2.views.dispatch",
    "report": "adaptive2.views.report.appendix",
}

__all__ = [  # noqa: RUF022 - plain sorted() order, pinned by tests/test_api.py
    "Adaptive2Error",
    "BOP2",
    "Beta",
    "BetaMixture",
    "Bop2EffToxResult",
    "BorrowingSummary",
    "Boundaries",
    "Boundary",
    "BryantDayDesign",
    "BryantDayResult",
    "CalibrationError",
    "CalibrationResult",
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
    "QuadratureGrid",
    "ResourceError",
    "RunError",
    "Scenario",
    "ScenarioGrid",
    "SearchResult",
    "SimonDesign",
    "StatisticalWarning",
    "ToxicityCalibration",
    "ToxicityMonitor",
    "UsageError",
    "__version__",
    "analyze",
    "bop2_efftox",
    "borrowing_summary",
    "bryant_day",
    "cache_info",
    "calibrate",
    "calibrate_cohorts",
    "calibrate_efftox_design",
    "calibrate_futility",
    "calibrate_toxicity",
    "compare",
    "conflict",
    "design_search",
    "ess",
    "ess_table",
    "html_card",
    "lee_liu",
    "load_design",
    "load_scenarios",
    "map_prior",
    "memory_limit",
    "null_region",
    "oc",
    "oc_toxicity",
    "pareto",
    "plot",
    "posterior",
    "power_prior",
    "report",
    "robustify",
    "save_design",
    "set_cache_limit",
    "set_memory_limit",
    "simon",
    "simulate",
]

if TYPE_CHECKING:  # pragma: no cover
    from adaptive2._base.cache import cache_info, set_cache_limit
    from adaptive2._base.errors import (
        Adaptive2Error,
        CalibrationError,
        ConvergenceWarning,
        DesignError,
        DesignFileError,
        PrecisionWarning,
        ResourceError,
        RunError,
        StatisticalWarning,
        UsageError,
    )
    from adaptive2._base.resources import memory_limit, set_memory_limit
    from adaptive2.engines.analysis import analyze
    from adaptive2.engines.bop2_efftox import Bop2EffToxResult, bop2_efftox, calibrate_efftox_design
    from adaptive2.engines.borrowing import BorrowingSummary, borrowing_summary
    from adaptive2.engines.bryant_day import BryantDayDesign, BryantDayResult, bryant_day
    from adaptive2.engines.calibration import CalibrationResult, calibrate
    from adaptive2.engines.cohort_calibration import CohortCalibration, calibrate_cohorts
    from adaptive2.engines.compare import compare
    from adaptive2.engines.design_search import design_search, pareto
    from adaptive2.engines.exact import oc
    from adaptive2.engines.futility import FutilityCalibration, calibrate_futility
    from adaptive2.engines.lee_liu import lee_liu
    from adaptive2.engines.map_prior import map_prior
    from adaptive2.engines.montecarlo import simulate
    from adaptive2.engines.null_region import NullRegion, null_region
    from adaptive2.engines.posterior import posterior
    from adaptive2.engines.search import SearchResult
    from adaptive2.engines.simon import SimonDesign, simon
    from adaptive2.engines.toxicity_calibration import ToxicityCalibration, calibrate_toxicity
    from adaptive2.engines.toxicity_oc import oc_toxicity
    from adaptive2.io.design_files import load_design, save_design
    from adaptive2.io.scenario_files import load_scenarios
    from adaptive2.model.cohorts import CohortDesign
    from adaptive2.model.conduct import Conduct
    from adaptive2.model.designs import Boundaries, Design
    from adaptive2.model.hierarchical import Cohort, Historical, Model, QuadratureGrid
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
    from adaptive2.model.scenarios import CohortScenario, Scenario, ScenarioGrid
    from adaptive2.model.toxicity import ToxicityMonitor
    from adaptive2.views.dispatch import html_card, plot
    from adaptive2.views.report.appendix import report

#: Names whose first use loads the engines: the ``ds.a2`` accessor of their Datasets
#: is registered at the same time (it lives in the views layer, above the engines).
_DATASET_MAKERS = frozenset({"oc", "simulate", "compare", "report", "plot"})


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'adaptive2' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    if name in _DATASET_MAKERS:
        importlib.import_module("adaptive2.views.accessor")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def _html_card(obj: Any) -> str:
    from adaptive2.views.dispatch import html_card  # loaded when a card is first shown

    return html_card(obj)


#: Types with an HTML card (module, class name), registered with IPython by name.
_CARD_TYPES = (
    ("adaptive2.model.designs", "Design"),
    ("adaptive2.model.designs", "Boundaries"),
    ("adaptive2.model.cohorts", "CohortDesign"),
    ("adaptive2.model.hierarchical", "Model"),
    ("adaptive2.model.priors", "Beta"),
    ("adaptive2.model.priors", "BetaMixture"),
    ("adaptive2.engines.analysis_results", "AnalysisResult"),
    ("adaptive2.engines.calibration", "CalibrationResult"),
    ("adaptive2.engines.null_region", "NullRegion"),
    ("adaptive2.engines.search", "SearchResult"),
    ("adaptive2.engines.simon", "SimonDesign"),
)


def _register_notebook(formatter: Any = None) -> bool:
    """Register the HTML cards with IPython's HTML formatter (the running shell's by default).

    Returns whether a formatter was found. Registration is by type name, so no
    adaptive2 module is imported here.
    """
    if formatter is None:
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        if shell is None:
            return False
        formatter = shell.display_formatter.formatters["text/html"]
    for module, cls in _CARD_TYPES:
        formatter.for_type_by_name(module, cls, _html_card)
    return True


_register_notebook()
