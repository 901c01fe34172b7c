"""The one memo layer: bounded by bytes, read-only values, nothing kept alive beyond it."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

from adaptive2._base.cache import MEMO, Memo, cache_info, memoized, set_cache_limit, sizeof
from adaptive2.engines.posterior import lattice
from adaptive2.kernels import quadrature
from adaptive2.model.cohorts import CohortDesign, attainable
from adaptive2.model.hierarchical import Cohort, Model, QuadratureGrid
from adaptive2.model.rules import PosteriorProbability

COHORTS = (Cohort("a", 0.2, 0.4, (10, 20)), Cohort("b", 0.3, 0.5, (10, 20)))
GRID = QuadratureGrid(n_theta=101, n_mu=41, n_tau=12)


@pytest.fixture
def limit():
    """Restore the memo's limit (and empty it) after the test."""
    before = MEMO.limit
    MEMO.clear()
    yield
    set_cache_limit(before)
    MEMO.clear()


def test_sizeof_counts_array_buffers():
    a = np.zeros(10_000)
    assert a.nbytes <= sizeof(a) <= a.nbytes + 200
    nested = {"x": (a, [a]), "y": 3}
    assert sizeof(nested) >= 2 * a.nbytes  # a shared array counts twice: a bound errs safe


def test_cached_arrays_cannot_be_written(limit):
    res = lattice(Model(kind="hierarchical"), COHORTS, (10, 12), grid=GRID)
    again = lattice(Model(kind="hierarchical"), COHORTS, (10, 12), grid=GRID)
    assert again is res  # served from the memo
    for arr in (res.p_above["a"], res.mean["b"]):
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[0, 0] = 0.5
    design = CohortDesign(name="d", model=Model(kind="hierarchical"), cohorts=COHORTS,
                          final=PosteriorProbability(0.2, 0.9), grid=GRID)
    values = attainable(design, "a", "final")
    assert values.size > 10
    # every array reachable from a stored value is frozen, however deeply nested
    memo = Memo()
    stored = memo.get(("t",), lambda: {"x": [np.zeros(3), (np.ones(2),)], "y": np.arange(4)})
    for arr in (stored["x"][0], stored["x"][1][0], stored["y"]):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 7


def test_memo_stays_within_its_byte_bound_over_50_models(limit):
    bound = 4 * 2**20
    set_cache_limit(bound)
    misses = cache_info()["misses"]
    peak = 0
    for i in range(50):
        model = Model(kind="hierarchical", tau_scale=0.25 + 0.05 * i)
        res = lattice(model, COHORTS, (20, 20), grid=GRID)
        assert res.p_above["a"].shape == (21, 21)
        info = cache_info()
        peak = max(peak, info["bytes"])
        assert info["bytes"] <= bound, (i, info)
        assert info["bytes"] == sum(size for _, size in MEMO._items.values())
    assert cache_info()["misses"] - misses >= 50  # each model computed once
    assert peak > bound / 2  # the bound was reached: old models were evicted
    assert 0 < len(MEMO) < 50 * 2


def test_a_value_larger_than_the_bound_is_returned_but_not_kept():
    memo = Memo(limit=1000)
    big = memo.get(("big",), lambda: np.zeros(1000))
    assert big.shape == (1000,) and len(memo) == 0 and memo.nbytes == 0


def test_memo_keeps_no_engine_alive(limit):
    for i in range(3):
        lattice(Model(kind="exnex", tau_scale=0.3 + 0.1 * i), COHORTS, (10, 10), grid=GRID)
    gc.collect()
    # (type(o), not isinstance: a dead weakref.proxy left by another library would raise)
    assert any(type(o) is quadrature._Engine for o in gc.get_objects())
    MEMO.clear()
    gc.collect()
    alive = [o for o in gc.get_objects() if type(o) is quadrature._Engine]
    assert alive == []  # no lru_cache on a method, no other reference outside the memo


def test_memoized_functions_share_the_memo_and_clear_their_namespace(limit):
    calls = []

    @memoized("test.square")
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert square(3) == 9 and square(3) == 9 and calls == [3]
    square.cache_clear()  # type: ignore[attr-defined]
    assert square(3) == 9 and calls == [3, 3]


@pytest.mark.parametrize(("value", "limit_bytes", "warns"),
                         [("64", 64 * 2**20, False), ("0.5", 2**19, False),
                          ("lots", 512 * 2**20, True), ("-1", 512 * 2**20, True)])
def test_limit_from_the_environment(value, limit_bytes, warns):
    code = ("import warnings; warnings.simplefilter('always'); "
            "import adaptive2._base.cache as c; print(c.MEMO.limit)")
    env = {**os.environ, "ADAPTIVE2_CACHE_MB": value}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    assert int(out.stdout) == limit_bytes
    assert ("ADAPTIVE2_CACHE_MB must be a number of MiB >= 0" in out.stderr) is warns


def _together(memo: Memo, computes: list, stagger: float = 0.0) -> list:
    """memo.get("k", compute) from one thread per compute, started together (or
    ``stagger`` seconds apart, in order)."""
    import threading
    import time

    out: list = [None] * len(computes)

    def ask(i: int) -> None:
        try:
            out[i] = memo.get("k", computes[i])
        except RuntimeError as err:
            out[i] = err

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(computes))]
    for t in threads:
        t.start()
        time.sleep(stagger)
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    return out


def test_threads_asking_together_compute_once():
    import time

    calls = []

    def slow() -> np.ndarray:
        calls.append(1)
        time.sleep(0.2)
        return np.arange(3.0)

    memo = Memo()
    got = _together(memo, [slow] * 4)
    assert len(calls) == 1
    assert all(g is got[0] for g in got)


def test_a_failed_computation_lets_the_waiting_thread_compute():
    import time

    def fails() -> np.ndarray:
        time.sleep(0.2)
        raise RuntimeError("boom")

    def works() -> np.ndarray:
        return np.ones(2)

    memo = Memo()
    got = _together(memo, [fails, works], stagger=0.05)  # the failing one claims the key
    assert isinstance(got[0], RuntimeError)
    np.testing.assert_array_equal(got[1], np.ones(2))
    assert memo.get("k", lambda: np.zeros(2)) is got[1]  # kept


def test_a_thread_asking_again_for_the_key_it_computes_does_not_wait_for_itself():
    """No deadlock; the first value stored under the key is the one kept and returned."""
    memo = Memo()
    got = memo.get("k", lambda: memo.get("k", lambda: np.zeros(1)) + 1)
    np.testing.assert_array_equal(got, [0.0])
