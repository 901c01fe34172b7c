"""The schema shared by the exact OC engines: variable names, stop reasons, default grid.

:func:`adaptive2.engines.exact.oc` and the joint efficacy-toxicity engine
(:func:`adaptive2.engines.toxicity_oc.oc_toxicity`, to which ``oc`` routes
co-monitored designs) return the same variables; both take them from here.

The engines compute an :class:`OCTable`: the variables, coordinates and
attributes as plain numpy arrays. It becomes an :class:`xarray.Dataset` only
when asked (:meth:`OCTable.to_dataset`, which the public functions do), so a
command that prints numbers never imports xarray or pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["DEFAULT_GRID", "OC_VARIABLES", "REASONS", "OCTable", "cohort_coords"]

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


@dataclass(frozen=True, eq=False)
class OCTable:
    """Operating characteristics as plain arrays, in the layout of an xarray Dataset.

    Attributes
    ----------
    data_vars : mapping
        Variable name → (dims, array).
    coords : mapping
        Coordinate name → array (a dimension's own coordinate) or (dims, array).
    attrs : mapping
        Provenance and method attributes.

    Examples
    --------
    >>> t = OCTable({"p_efficacy": (("scenario",), np.array([0.1, 0.8]))},
    ...             {"scenario": np.array(["null", "alt"])}, {"method": "exact"})
    >>> float(t["p_efficacy"][1]), str(t["scenario"][0])
    (0.8, 'null')
    """

    data_vars: Mapping[str, tuple[tuple[str, ...], np.ndarray]]
    coords: Mapping[str, Any]
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray:
        """The values of a variable or coordinate (a numpy array)."""
        if name in self.data_vars:
            return np.asarray(self.data_vars[name][1])
        if name in self.coords:
            value = self.coords[name]
            return np.asarray(value[1] if isinstance(value, tuple) else value)
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self.data_vars or name in self.coords

    def to_dataset(self) -> xr.Dataset:
        """The same numbers as an :class:`xarray.Dataset` (imports xarray)."""
        import xarray as xr

        return xr.Dataset(dict(self.data_vars), coords=dict(self.coords), attrs=dict(self.attrs))

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> OCTable:
        """The arrays of a Dataset (for code that reads both the same way)."""
        data = {str(k): (tuple(map(str, v.dims)), v.values) for k, v in ds.data_vars.items()}
        coords: dict[str, Any] = {}
        for k, v in ds.coords.items():
            dims = tuple(map(str, v.dims))
            coords[str(k)] = v.values if dims == (str(k),) else (dims, v.values)
        return cls(data, coords, dict(ds.attrs))


def cohort_coords(design: Any, scenarios: Any, names: Any = None) -> dict[str, Any]:
    """Coordinates of a multi-cohort OC table: scenario, cohort, look, reason, rate, role.

    ``scenarios`` are joint scenarios (their ``rate`` and roles by
    :func:`adaptive2.model.cohorts.cohort_roles`); ``names`` (default the scenarios'
    own) label them, e.g. crossed with toxicity rates.
    """
    from adaptive2.model.cohorts import cohort_roles

    cohorts = design.names
    return {
        "scenario": np.array([s.name for s in scenarios] if names is None else list(names)),
        "cohort": np.array(cohorts),
        "look": np.arange(1, design.n_looks + 1),
        "reason": np.array(["futility", "efficacy"]),
        "rate": (("scenario", "cohort"),
                 np.array([[s.rate(c) for c in cohorts] for s in scenarios])),
        "role": (("scenario", "cohort"), np.array([cohort_roles(design, s) for s in scenarios])),
    }
