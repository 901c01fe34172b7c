"""Design searches: Lee & Liu (2008) predictive-probability search for N <= 60 (target <= 5 s).

Setting: p0 = 0.2, p1 = 0.4, alpha = 0.10, power = 0.80, prior Beta(0.2, 0.8), continuous
monitoring from the 10th patient, N = 10..60, theta_T exact over [0.80, 0.999], theta_L on
0.001..0.200 (200 values). Also: the same search with cohorts of 5, and a Simon-style
``design_search`` of the predictive family (N = 20..40, 2-4 equally spaced looks).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from adaptive2.engines.design_search import design_search
from adaptive2.engines.lee_liu import lee_liu

from _timing import median_time, report, save

KW = {"alpha": 0.10, "power": 0.80, "n_range": (10, 60), "first_look": 10}


def lee_liu_every() -> None:
    lee_liu(0.2, 0.4, **KW)


def lee_liu_cohorts() -> None:
    lee_liu(0.2, 0.4, looks=5, **KW)


def family_search() -> None:
    design_search(
        "predictive",
        0.2,
        0.4,
        alpha=0.10,
        power=0.80,
        n_values=range(20, 41),
        look_schedules=(2, 3, 4),
    )


def main() -> None:
    repeat = 3
    res = lee_liu(0.2, 0.4, **KW)
    print(f"  {res}".replace("\n", "\n  "))
    records = [
        report(
            "Lee & Liu search, N=10..60, every patient from 10, 200 theta_L, exact theta_T",
            median_time(lee_liu_every, repeat=repeat),
            5.0,
            repeat,
        ),
        report(
            "Lee & Liu search, N=10..60, cohorts of 5 from 10",
            median_time(lee_liu_cohorts, repeat=repeat),
            5.0,
            repeat,
        ),
        report(
            "design_search predictive family, N=20..40, 2-4 equal looks (63 calibrations)",
            median_time(family_search, repeat=repeat),
            None,
            repeat,
        ),
    ]
    save(records, "search")


if __name__ == "__main__":
    main()
