#!/usr/bin/env python3
"""SciPy reference of the exact model (docs/model.md, solver "exact", integrated markets).

Reads markets dumped by the Rust example
(`cargo run --release -p tariff-model --example sparse_scale -- --dump-markets K FILE`),
solves each with `scipy.optimize.root` on the market-clearing residual

    F_v(y) = sum_r M0[v,r] q[v,r] / X0[v] - exp(Ex[v] y_v)      (y = ln p, X0[v] > 0)
    F_v(y) = y_v                                                 (X0[v] = 0: no supply)

with q[v,r] = (Pvr / P_r)^(-Es_r) P_r^Em_r, Pvr = p_v T1/T0, and the CES composite
P_r (Cobb-Douglas when Es_r = 1), times each solve, checks that the world prices agree
with the Rust solution to 1e-8 (relative), and prints both times side by side.

Two SciPy variants are timed: `hybr` (MINPACK's Powell hybrid) with its own
finite-difference Jacobian, which is what `scipy.optimize.root(F, y0)` does by default,
and `hybr` with the analytic Jacobian (dense, n x n). BLAS runs on one thread, as the
Rust solve does (set before numpy is imported).

    .tools/bench-venv/bin/python benchmarks/reference/solve_scipy.py FILE [--csv OUT] [--require-speedup 100]

Exit status 1 if a market's prices disagree, a solve's residual max|F| is above the
Rust tolerance, or (with
--require-speedup X) Rust is not X times faster than the faster SciPy variant on
every market.
"""

import argparse
import json
import os
import sys
import time

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import scipy  # noqa: E402
import scipy.optimize  # noqa: E402
import scipy.sparse  # noqa: E402

AGREEMENT = 1e-8


class Market:
    """One sector market's flows (trading flows only) and elasticities."""

    def __init__(self, m):
        self.n = n = m["n"]
        flows = np.array(m["flows"], dtype=float).reshape(-1, 5)
        v = flows[:, 0].astype(np.int64)
        r = flows[:, 1].astype(np.int64)
        m0, t0, t1 = flows[:, 2], flows[:, 3].copy(), flows[:, 4].copy()
        domestic = v == r
        t0[domestic] = 1.0
        t1[domestic] = 1.0
        keep = m0 > 0.0
        self.v, self.r, self.m0 = v[keep], r[keep], m0[keep]
        self.t0, t1 = t0[keep], t1[keep]
        self.lntau = np.log(t1 / self.t0)
        self.w = self.m0 * self.t0
        self.em = np.asarray(m["import_demand"], dtype=float)
        self.es = np.asarray(m["substitution"], dtype=float)
        self.ex = np.asarray(m["supply"], dtype=float)
        self.r0 = np.bincount(self.r, weights=self.w, minlength=n)
        self.x0 = np.bincount(self.v, weights=self.m0, minlength=n)
        self.supply = self.x0 > 0.0
        self.demand = self.r0 > 0.0
        self.geometric = np.abs(1.0 - self.es) < 1e-9
        self.es_f, self.em_f = self.es[self.r], self.em[self.r]
        self.one_m_f = 1.0 - self.es_f

    def composite(self, y):
        """ln P_r and the expenditure shares s of every flow."""
        n, r = self.n, self.r
        lp = y[self.v] + self.lntau  # ln Pvr
        arg = np.where(self.geometric[r], 0.0, self.one_m_f * lp)
        top = np.full(n, -np.inf)
        np.maximum.at(top, r, arg)
        a = np.exp(arg - top[r])
        wa = self.w * a
        total = np.bincount(r, weights=wa, minlength=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            ln_ces = (top + np.log(total / self.r0)) / (1.0 - self.es)
            ln_geo = np.bincount(r, weights=self.w * lp, minlength=n) / self.r0
            ln_p = np.where(self.geometric, ln_geo, ln_ces)
            s = wa / total[r]
        ln_p = np.where(self.demand, ln_p, 0.0)
        return ln_p, lp, s

    def residual(self, y):
        ln_p, lp, _ = self.composite(y)
        q = np.exp(-self.es_f * (lp - ln_p[self.r]) + self.em_f * ln_p[self.r])
        demand = np.bincount(self.v, weights=self.m0 * q, minlength=self.n)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = demand / self.x0 - np.exp(self.ex * y)
        return np.where(self.supply, f, y)

    def jacobian(self, y):
        """df_v/dy_k = sum_r u_vr [(Es_r+Em_r) s_kr - Es_r d_vk] - Ex_v p_v^Ex_v d_vk."""
        n = self.n
        ln_p, lp, s = self.composite(y)
        q = np.exp(-self.es_f * (lp - ln_p[self.r]) + self.em_f * ln_p[self.r])
        inv_x0 = np.where(self.supply, 1.0 / np.where(self.supply, self.x0, 1.0), 0.0)
        u = self.m0 * q * inv_x0[self.v]
        cu = scipy.sparse.csr_matrix(((self.es_f + self.em_f) * u, (self.v, self.r)), shape=(n, n))
        st = scipy.sparse.csr_matrix((s, (self.r, self.v)), shape=(n, n))
        jac = (cu @ st).toarray()
        d = np.bincount(self.v, weights=self.es_f * u, minlength=n) + self.ex * np.exp(self.ex * y)
        jac[np.diag_indices(n)] -= d
        idle = ~self.supply
        jac[idle, :] = 0.0
        jac[idle, idle] = 1.0
        return jac


def solve(market, analytic, repeat):
    """Best time of `repeat` solves (the Rust times are best of 5)."""
    took = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        sol = scipy.optimize.root(
            market.residual,
            np.zeros(market.n),
            jac=market.jacobian if analytic else None,
            method="hybr",
            options={"xtol": 1e-13},
        )
        took = min(took, time.perf_counter() - start)
    residual = float(np.max(np.abs(market.residual(sol.x)))) if market.n else 0.0
    return sol, took, residual


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", help="JSON written by sparse_scale --dump-markets")
    ap.add_argument("--csv", help="also write the per-market table here")
    ap.add_argument("--require-speedup", type=float, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="solves per market and variant; the best time counts")
    args = ap.parse_args()
    with open(args.file) as fh:
        data = json.load(fh)
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, pandas {pd.__version__}; "
          f"{data['economies']} economies, density {data['density']}, Rust layout {data['layout']}")
    rows, ok = [], True
    for m in data["markets"]:
        market = Market(m)
        rust = m["rust"]
        p_rust = np.asarray(rust["world_price"])
        row = {"sector": m["sector"], "n": market.n, "flows": len(m["flows"]),
               "rust_ms": 1e3 * rust["solve_seconds"], "rust_iterations": rust["iterations"]}
        for name, analytic in (("numeric_jac", False), ("analytic_jac", True)):
            sol, took, residual = solve(market, analytic, max(1, args.repeat))
            p = np.exp(sol.x)
            diff = float(np.max(np.abs(p - p_rust) / p_rust)) if market.n else 0.0
            row[f"scipy_{name}_ms"] = 1e3 * took
            row[f"{name}_max_rel_diff"] = diff
            row[f"{name}_residual"] = residual
            # MINPACK may stop with "xtol too small" at the rounding floor:
            # what counts is the residual and the agreement.
            if not residual <= data["tolerance"] or diff > AGREEMENT:
                ok = False
                print(f"sector {m['sector']} {name}: {sol.message.strip()}, "
                      f"max relative price difference {diff:.2e}, residual {residual:.2e}", file=sys.stderr)
        rows.append(row)
    df = pd.DataFrame(rows)
    df["speedup_vs_numeric"] = df["scipy_numeric_jac_ms"] / df["rust_ms"]
    df["speedup_vs_analytic"] = df["scipy_analytic_jac_ms"] / df["rust_ms"]
    cols = ["sector", "n", "flows", "rust_ms", "scipy_numeric_jac_ms", "scipy_analytic_jac_ms",
            "speedup_vs_numeric", "speedup_vs_analytic", "numeric_jac_max_rel_diff", "analytic_jac_max_rel_diff"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(df[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
        print()
        print("median:", df[cols[3:8]].median().to_string(float_format=lambda x: f"{x:.4g}").replace("\n", ", "))
    worst = float(np.minimum(df["speedup_vs_numeric"], df["speedup_vs_analytic"]).min()) if len(df) else 0.0
    print(f"smallest speedup over the faster SciPy variant: {worst:.1f}x; "
          f"largest price difference {df[['numeric_jac_max_rel_diff', 'analytic_jac_max_rel_diff']].max().max():.2e}")
    if args.csv:
        df.to_csv(args.csv, index=False)
    if args.require_speedup is not None and worst < args.require_speedup:
        print(f"FAIL: Rust is not {args.require_speedup}x faster on every market", file=sys.stderr)
        ok = False
    print("agreement: OK" if ok else "agreement: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
