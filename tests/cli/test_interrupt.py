"""Ctrl-C in a long simulation keeps the finished chunks; the rerun resumes bit-identically.

The run is a real ``adaptive2 simulate`` process interrupted with SIGINT once a few
checkpoint chunks exist. The rerun must not recompute any saved chunk (each chunk file is
written atomically, so a recomputed chunk would be a new file: a new inode) and its
results must equal, bit for bit, those of a run that was never interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PP = ROOT / "designs" / "frontline-pp.toml"
# 60 chunks of 10,000 trials per scenario x 2 scenarios: about 10 s uninterrupted
ARGS = ["simulate", str(PP), "--p", "0.4,0.6", "--n-sims", "600000", "--seed", "2026",
        "--quiet", "--json"]


def _chunks(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("chunk-*.npz")}


def _run(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "adaptive2", *ARGS, *extra], capture_output=True,
                          text=True, cwd=ROOT, timeout=600)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT delivery is POSIX")
def test_sigint_keeps_chunks_and_the_resumed_run_is_bit_identical(tmp_path):
    import xarray as xr

    ckpt = tmp_path / "ckpt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "adaptive2", *ARGS, "--checkpoint", str(ckpt), "--out",
         str(tmp_path / "never.nc")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    deadline = time.monotonic() + 300
    while len(_chunks(ckpt)) < 3 if ckpt.is_dir() else True:
        assert proc.poll() is None, "the run finished before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, err)
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "rerun the same command to resume" in err and str(ckpt) in err
    assert not (tmp_path / "never.nc").exists()
    kept = _chunks(ckpt)
    assert 3 <= len(kept) < 120, len(kept)  # finished chunks kept, the run not complete
    assert f"{len(kept)} of 120 chunks saved" in err

    resumed = _run("--checkpoint", str(ckpt), "--out", str(tmp_path / "resumed.nc"))
    assert resumed.returncode == 0, resumed.stderr
    after = _chunks(ckpt)
    assert len(after) == 120
    assert {k: after[k] for k in kept} == kept  # no finished chunk was computed again

    whole = _run("--out", str(tmp_path / "whole.nc"))
    assert whole.returncode == 0, whole.stderr
    a = xr.load_dataset(tmp_path / "resumed.nc")
    b = xr.load_dataset(tmp_path / "whole.nc")
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)
    assert a.attrs["seed_entropy"] == b.attrs["seed_entropy"]
