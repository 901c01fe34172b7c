import subprocess
import sys

import adaptive2


def test_all_is_sorted_and_resolvable():
    assert adaptive2.__all__ == sorted(adaptive2.__all__)
    for name in adaptive2.__all__:
        assert getattr(adaptive2, name) is not None


def test_public_names_are_functions_even_after_their_modules_are_imported():
    # The modules behind a2.oc, a2.calibrate, a2.simon and a2.report have other names, so
    # importing them binds nothing over the functions (no __setattr__ tricks).
    import adaptive2.engines.calibration
    import adaptive2.engines.exact
    import adaptive2.engines.simon
    import adaptive2.views.report

    for name in ("oc", "calibrate", "simon", "report"):
        assert callable(getattr(adaptive2, name)), name
        assert not isinstance(getattr(adaptive2, name), type(sys))


def test_import_is_light():
    code = (
        "import sys, adaptive2; "
        "heavy = [m for m in ('pandas', 'xarray', 'scipy', 'pymc', 'matplotlib', 'dask') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_cli_exact_path_is_light():
    """`adaptive2 oc design.toml` computes exactly without plots, PyMC or an optimiser.

    (Dask is not in the list: xarray itself imports it, when installed, the first
    time it builds a Dataset, to recognise dask arrays.)
    """
    from _shipped import DESIGNS_DIR

    code = (
        "import sys; from adaptive2.cli import main; "
        f"code = main(['oc', {str(DESIGNS_DIR / 'frontline-pp.toml')!r}, '--json']); "
        "heavy = [m for m in ('scipy.optimize', 'pymc', 'matplotlib', 'arviz', 'distributed') "
        "if m in sys.modules]; print(code, ','.join(heavy), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "0", out.stderr
    assert '"p_efficacy"' in out.stdout


def test_global_numpy_random_state_untouched_by_simulation():
    import numpy as np

    from adaptive2 import Beta, Design, PosteriorProbability, oc

    before = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    d = Design(name="g", prior=Beta(1, 1), looks=(10,), final=PosteriorProbability(0.2, 0.9))
    oc(d, [0.2], method="simulate", n_sims=100, seed=3)
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002
