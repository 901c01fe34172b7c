import subprocess
import sys

import adaptive2


def test_all_is_sorted_and_resolvable():
    assert adaptive2.__all__ == sorted(adaptive2.__all__)
    for name in adaptive2.__all__:
        assert getattr(adaptive2, name) is not None


def test_functions_named_like_their_modules_stay_functions():
    # Importing the submodules binds them on the package; the functions must win.
    import adaptive2.calibrate
    import adaptive2.oc
    import adaptive2.report
    import adaptive2.simon

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


def test_global_numpy_random_state_untouched_by_simulation():
    import numpy as np

    from adaptive2 import Beta, Design, PosteriorProbability, oc

    before = np.random.get_state()[1].copy()  # noqa: NPY002 (the legacy global state)
    d = Design(name="g", prior=Beta(1, 1), looks=(10,), final=PosteriorProbability(0.2, 0.9))
    oc(d, [0.2], method="simulate", n_sims=100, seed=3)
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002
