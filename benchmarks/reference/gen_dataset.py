"""Writes a gravity-shaped synthetic dataset folder (BENCHMARKS.md, section 5):
    python gen_dataset.py ECONOMIES SECTORS DENSITY OUT_DIR
"""
import sys, os, numpy as np
n, S, density, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(1)
os.makedirs(out, exist_ok=True)
eco = np.array([f"E{i:03d}" for i in range(n)])
open(f"{out}/dataset.toml","w").write('id = "synth"\ntitle = "synthetic"\ndescription = "synthetic"\nbase_year = 2023\ncurrency = "USD"\nunit = "million"\n[[sources]]\nid = "synthetic"\ntitle = "synthetic"\n')
with open(f"{out}/economies.csv","w") as f:
    f.write("code,name,groups,gdp\n")
    for e in eco: f.write(f"{e},{e},,1000\n")
with open(f"{out}/sectors.csv","w") as f:
    f.write("code,name,hs,import_demand_elasticity,substitution_elasticity,supply_elasticity,source\n")
    for s in range(S): f.write(f"S{s:05d},S{s},{s},-1.25,5,2,synthetic\n")
size = 10 ** rng.uniform(0, 3, n)
vv, rr = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
vv, rr = vv.ravel(), rr.ravel()
with open(f"{out}/flows.csv","w") as f, open(f"{out}/tariffs.csv","w") as t:
    f.write("exporter,importer,sector,value,source,quality\n")
    t.write("importer,exporter,sector,rate_pct,basis\n")
    for s in range(S):
        keep = (vv == rr) | (rng.random(n * n) < density)
        v, r = vv[keep], rr[keep]
        val = size[v] * size[r] / 100 * np.where(v == r, 5.0, 1.0) * rng.uniform(0.5, 1.5, len(v))
        code = f"S{s:05d}"
        f.write("".join(f"{eco[a]},{eco[b]},{code},{x:.4f},synthetic,estimated\n" for a, b, x in zip(v, r, val)))
        t.write("".join(f"{eco[b]},*,{code},{x:.2f},MFN\n" for b, x in zip(range(n), rng.uniform(0, 10, n))))
