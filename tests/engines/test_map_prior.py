"""MAP priors by quadrature and their beta-mixture approximation."""

import numpy as np
import pytest
from scipy import integrate, special

from adaptive2._base.errors import ConvergenceWarning, DesignError
from adaptive2.engines.map_prior import map_prior
from adaptive2.model.hierarchical import Historical, Model
from adaptive2.model.priors import ess

STRATA = [Historical(f"s{i}", r, n) for i, (r, n) in
          enumerate([(10, 40), (12, 45), (8, 38), (15, 50), (9, 30)])]


def _pooled_mean(strata, p0, mu_mean, mu_sd):
    """tau = 0: the MAP is the posterior of the common theta = mu (1-D quadrature)."""
    off = special.logit(p0)

    def dens(t):
        p = special.expit(t + off)
        loglik = sum(h.r * np.log(p) + (h.n - h.r) * np.log1p(-p) for h in strata)
        return np.exp(loglik + 160 - 0.5 * ((t - mu_mean) / mu_sd) ** 2)

    z = integrate.quad(dens, -10, 10, limit=200)[0]
    m = integrate.quad(lambda t: dens(t) * special.expit(t + off), -10, 10, limit=200)[0]
    return m / z


def test_map_with_tau_near_zero_is_the_pooled_posterior():
    model = Model(tau_scale=1e-4)
    with pytest.warns(ConvergenceWarning, match="close to pooling"):
        mp = map_prior(STRATA, p0=0.25, model=model)
    assert mp.mean == pytest.approx(_pooled_mean(STRATA, 0.25, 0.0, 2.0), abs=2e-4)


def test_mixture_approximation_matches_the_map_moments_and_quantiles():
    mp = map_prior(STRATA, p0=0.25, model=Model(tau_scale=0.5))
    assert mp.kl < 0.002
    assert mp.mixture.mean == pytest.approx(mp.mean, abs=2e-3)
    assert mp.mixture.sd == pytest.approx(mp.sd, rel=0.03)
    cdf = np.cumsum(mp.mass) - mp.mass / 2  # mid-cell cumulative probabilities
    for q in (0.05, 0.5, 0.95):
        assert mp.mixture.cdf(np.interp(q, cdf, mp.p)) == pytest.approx(q, abs=0.02)


def test_more_strata_give_a_more_informative_map():
    one = map_prior(STRATA[:1], p0=0.25, model=Model(tau_scale=0.5))
    five = map_prior(STRATA, p0=0.25, model=Model(tau_scale=0.5))
    assert ess(five.mixture) > ess(one.mixture)
    assert five.sd < one.sd


def test_phase1_map_is_shrunk_towards_the_reference():
    mp = map_prior([Historical("phase1", 16, 20)], p0=0.4)
    # 16/20 alone would give about 0.79; the hierarchy pulls towards p0 = 0.4
    assert 0.4 < mp.mean < 16.5 / 21


def test_bad_inputs():
    with pytest.raises(DesignError, match="`historical` of map_prior"):
        map_prior([], p0=0.3)
    with pytest.raises(DesignError, match="no `tie`"):
        map_prior([Historical("h", 3, 10, tie="x")], p0=0.3)
    with pytest.raises(DesignError, match="`model` of map_prior"):
        map_prior(STRATA, p0=0.3, model=Model(kind="exnex"))
    with pytest.raises(DesignError, match="`p0` of map_prior"):
        map_prior(STRATA, p0=1.3)
