"""``adaptive2 prior`` and ``adaptive2 simon``."""

from __future__ import annotations

import argparse
from typing import Any

from adaptive2.cli._common import _BadInput, _emit, _floats, _table
from adaptive2.engines.simon import simon
from adaptive2.io.design_files import load_prior
from adaptive2.model.priors import Beta, BetaMixture, PriorSpec, ess_table

QUANTILE_PROBS = (0.025, 0.05, 0.5, 0.95, 0.975)


# ---------------------------------------------------------------------------
# prior
# ---------------------------------------------------------------------------
def _prior_from_args(args: argparse.Namespace) -> Any:

    flags = any(
        v is not None for v in (args.beta, args.historical, args.power, args.robust, args.mixture)
    )
    if args.file and flags:
        raise _BadInput("give either a FILE or prior flags (--beta, --historical, ...), not both")
    if args.file:
        return load_prior(args.file)
    if not flags:
        raise _BadInput("give a FILE with a [prior] table, or --beta / --historical / --mixture")
    kwargs: dict[str, Any] = {}
    if args.mixture is not None:
        if args.beta is not None or args.historical is not None:
            raise _BadInput("--mixture cannot be combined with --beta or --historical")
        comps = [_floats(c, "--mixture component", 3) for c in args.mixture.split(";") if c.strip()]
        if not comps:
            raise _BadInput(f"--mixture must be 'w,a,b;w,a,b'; got {args.mixture!r}")
        kwargs["mixture"] = BetaMixture(
            tuple(c[0] for c in comps), tuple(c[1] for c in comps), tuple(c[2] for c in comps)
        )
    if args.historical is not None:
        parts = args.historical.split("/")
        if len(parts) != 2:
            raise _BadInput(f"--historical must be r/n, e.g. 16/20; got {args.historical!r}")
        r, n = (_floats(x, "--historical", 1)[0] for x in parts)
        kwargs["historical"] = (r, n)
        if args.beta is not None:
            kwargs["base"] = Beta(*_floats(args.beta, "--beta", 2))
    elif args.beta is not None:
        kwargs["beta"] = Beta(*_floats(args.beta, "--beta", 2))
    if args.power is not None:
        if args.historical is None:
            raise _BadInput("--power needs --historical r/n")
        kwargs["power"] = args.power
    if args.robust is not None:
        vals = _floats(args.robust, "--robust")
        if len(vals) > 3:
            raise _BadInput(f"--robust must be weight[,mean[,n]]; got {args.robust!r}")
        defaults: list[float | None] = [None, 0.5, 1.0]
        padded = vals + defaults[len(vals) :]
        kwargs["robust"] = tuple(padded)
    return PriorSpec(**kwargs)


def _cmd_prior(args: argparse.Namespace) -> None:

    spec = _prior_from_args(args)
    prior = spec.build()
    q = prior.quantiles(QUANTILE_PROBS)
    ess = ess_table(prior)
    payload = {
        "description": spec.describe(),
        "components": prior.components(),
        "mean": prior.mean,
        "sd": prior.sd,
        "quantiles": {f"{p:g}": v for p, v in q.items()},
        "ess": {k: v["value"] for k, v in ess.items()},
        "ess_reasons": {k: v["reason"] for k, v in ess.items() if v["reason"]},
    }
    lines = [f"Prior: {spec.describe()}", ""]
    lines.append(_table(prior.components(), ["w", "a", "b"]))
    lines.append("")
    lines.append(f"mean {prior.mean:.4f}   sd {prior.sd:.4f}")
    lines.append("quantiles  " + "  ".join(f"{p:g}: {v:.4f}" for p, v in q.items()))
    for k, v in ess.items():
        val = f"{v['value']:.2f}" if v["value"] is not None else f"n/a ({v['reason']})"
        lines.append(f"ESS ({k}) {val}")
    _emit(args, payload, "\n".join(lines))


# ---------------------------------------------------------------------------
# simon
# ---------------------------------------------------------------------------
def _cmd_simon(args: argparse.Namespace) -> None:

    res = simon(args.p0, args.p1, alpha=args.alpha, beta=args.beta, nmax=args.nmax)
    payload = res.to_dict()
    cols = ["design", "r1", "n1", "r", "n", "expected_n_p0", "pet_p0", "alpha", "power"]
    rows = []
    for label in ("optimal", "minimax"):
        d = payload[label]
        if d is not None:
            rows.append({"design": label, **d})
    for d in payload["admissible"]:
        rows.append({"design": f"admissible q∈[{d['q_low']:.2f},{d['q_high']:.2f}]", **d})
    head = (
        f"Simon two-stage designs: p0 = {args.p0:g}, p1 = {args.p1:g}, alpha = {args.alpha:g}, "
        f"beta = {args.beta:g}, nmax = {args.nmax}"
    )
    text = head + "\n" + (_table(rows, cols) if rows else "no design meets the constraints")
    _emit(args, payload, text)
