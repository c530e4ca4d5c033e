//! Solves a product-level synthetic dataset (by default 200 economies x 5,000
//! sectors, 5% of pairs trading) with the sparse exact solver, on two threads,
//! and reports the wall time and the peak resident memory.
//!
//! ```sh
//! cargo run --release -p tariff-model --example sparse_scale -- --economies 200 --sectors 5000 --density 0.05
//! ```
//!
//! Options: `--seed S`, `--threads T` (default 2), `--layout auto|sparse|dense`
//! (default auto), `--solver exact|gsim`, `--structure integrated|segmented`
//! (default exact, integrated; `--dump-markets` always exact, integrated), `--eager` (generate every market first, untimed, and keep
//! them all in memory, as `synthetic_sparse_markets` does; the default
//! generates each sector in its thread when it is solved), and
//! `--dump-markets K FILE`: writes the first K markets,
//! each with the Rust solution and its solve time (best of 5), as JSON for
//! `benchmarks/reference/solve_scipy.py`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};
use tariff_model::{
    Layout, Pricing, SolveOptions, Solver, SparseMarket, Structure, solve_sparse_with_layout,
    synthetic_sparse_market,
};

struct Args {
    economies: usize,
    sectors: usize,
    density: f64,
    seed: u64,
    threads: usize,
    layout: Layout,
    solver: Solver,
    structure: Structure,
    eager: bool,
    dump: Option<(usize, String)>,
}

fn parse() -> Args {
    let mut args = Args {
        economies: 200,
        sectors: 5000,
        density: 0.05,
        seed: 2026,
        threads: 2,
        layout: Layout::Auto,
        solver: Solver::Exact,
        structure: Structure::Integrated,
        eager: false,
        dump: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--economies" => args.economies = value().parse().expect("--economies"),
            "--sectors" => args.sectors = value().parse().expect("--sectors"),
            "--density" => args.density = value().parse().expect("--density"),
            "--seed" => args.seed = value().parse().expect("--seed"),
            "--threads" => args.threads = value().parse::<usize>().expect("--threads").max(1),
            "--layout" => {
                args.layout = match value().as_str() {
                    "auto" => Layout::Auto,
                    "sparse" => Layout::Sparse,
                    "dense" => Layout::Dense,
                    other => panic!("--layout auto|sparse|dense, not {other}"),
                }
            }
            "--eager" => args.eager = true,
            "--solver" => {
                args.solver = match value().as_str() {
                    "exact" => Solver::Exact,
                    "gsim" => Solver::Gsim,
                    other => panic!("--solver exact|gsim, not {other}"),
                }
            }
            "--structure" => {
                args.structure = match value().as_str() {
                    "integrated" => Structure::Integrated,
                    "segmented" => Structure::Segmented,
                    other => panic!("--structure integrated|segmented, not {other}"),
                }
            }
            "--dump-markets" => {
                let k = value().parse().expect("--dump-markets K FILE");
                let file = value();
                args.dump = Some((k, file));
            }
            other => panic!("unknown option {other}"),
        }
    }
    args
}

/// Peak resident set size in KiB (`VmHWM`), if the kernel reports it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Default)]
struct Totals {
    markets: usize,
    flows: usize,
    failures: usize,
    generate: Duration,
    solve: Duration,
    slowest: Duration,
    max_iterations: u32,
    max_residual: f64,
    welfare: f64,
}

fn dump(args: &Args, k: usize, file: &str) {
    let options = SolveOptions::default();
    let mut out = Vec::new();
    for sector in 0..k.min(args.sectors) {
        let m = synthetic_sparse_market(args.economies, sector, args.density, args.seed);
        let mut best = Duration::MAX;
        let mut solution = None;
        for _ in 0..5 {
            let start = Instant::now();
            let s = solve_sparse_with_layout(&m, Solver::Exact, &options, &Pricing::default(), args.layout);
            best = best.min(start.elapsed());
            solution = Some(s.expect("solve"));
        }
        let s = solution.expect("solved");
        out.push(market_json(&m, sector, &s, best));
    }
    let text = serde_json::to_string(&serde_json::json!({
        "economies": args.economies,
        "density": args.density,
        "seed": args.seed,
        "layout": format!("{:?}", args.layout),
        "tolerance": options.tolerance,
        "markets": out,
    }))
    .expect("json");
    std::fs::write(file, text).unwrap_or_else(|e| panic!("{file}: {e}"));
    println!("wrote {} markets to {file}", k.min(args.sectors));
}

fn market_json(
    m: &SparseMarket,
    sector: usize,
    s: &tariff_model::SparseOutcome,
    time: Duration,
) -> serde_json::Value {
    let flows: Vec<_> = m
        .flows
        .iter()
        .map(|f| serde_json::json!([f.exporter, f.importer, f.base_value, f.base_tariff, f.new_tariff]))
        .collect();
    serde_json::json!({
        "sector": sector,
        "n": m.n,
        "flows": flows,
        "import_demand": m.import_demand,
        "substitution": m.substitution,
        "supply": m.supply,
        "rust": {
            "world_price": s.world_price,
            "consumer_price": s.consumer_price,
            "iterations": s.diagnostics.iterations,
            "residual": s.diagnostics.residual,
            "solve_seconds": time.as_secs_f64(),
        },
    })
}

fn main() {
    let args = parse();
    if let Some((k, file)) = &args.dump {
        dump(&args, *k, file);
        return;
    }
    let options = SolveOptions::default();
    let pricing = Pricing { structure: args.structure, exchange_rates: Vec::new() };
    println!(
        "{} economies x {} sectors, density {}, {} threads, layout {:?}, {:?} {:?}",
        args.economies, args.sectors, args.density, args.threads, args.layout, args.solver, args.structure
    );
    let eager: Vec<SparseMarket> = if args.eager {
        let g = Instant::now();
        let all =
            tariff_model::synthetic_sparse_markets(args.economies, args.sectors, args.density, args.seed);
        println!(
            "generated {} markets up front in {:.3} s (not in the wall time below)",
            all.len(),
            g.elapsed().as_secs_f64()
        );
        all
    } else {
        Vec::new()
    };
    let start = Instant::now();
    let totals: Vec<Totals> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.threads)
            .map(|t| {
                let (args, options, pricing, eager) = (&args, &options, &pricing, &eager);
                scope.spawn(move || {
                    let mut tot = Totals::default();
                    // Sectors t, t + T, ...: generated one at a time, so memory
                    // stays that of a market per thread.
                    for sector in (t..args.sectors).step_by(args.threads) {
                        let g = Instant::now();
                        let generated;
                        let m = if args.eager {
                            &eager[sector]
                        } else {
                            generated =
                                synthetic_sparse_market(args.economies, sector, args.density, args.seed);
                            &generated
                        };
                        let s = Instant::now();
                        tot.generate += s - g;
                        let out = solve_sparse_with_layout(m, args.solver, options, pricing, args.layout);
                        let took = s.elapsed();
                        tot.solve += took;
                        tot.slowest = tot.slowest.max(took);
                        tot.markets += 1;
                        tot.flows += m.flows.len();
                        match out {
                            Ok(o) => {
                                tot.max_iterations = tot.max_iterations.max(o.diagnostics.iterations);
                                tot.max_residual = tot.max_residual.max(o.diagnostics.residual);
                                tot.welfare += o.economies.iter().map(|e| e.welfare_change).sum::<f64>();
                            }
                            Err(e) => {
                                tot.failures += 1;
                                eprintln!("sector {sector}: {e}");
                            }
                        }
                    }
                    tot
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let wall = start.elapsed();
    let mut all = Totals::default();
    for t in &totals {
        all.markets += t.markets;
        all.flows += t.flows;
        all.failures += t.failures;
        all.generate += t.generate;
        all.solve += t.solve;
        all.slowest = all.slowest.max(t.slowest);
        all.max_iterations = all.max_iterations.max(t.max_iterations);
        all.max_residual = all.max_residual.max(t.max_residual);
        all.welfare += t.welfare;
    }
    let per = |d: Duration| d.as_secs_f64() * 1e3 / all.markets.max(1) as f64;
    println!(
        "markets {}, flows {} ({:.0} per market), failures {}",
        all.markets,
        all.flows,
        all.flows as f64 / all.markets.max(1) as f64,
        all.failures
    );
    let what = if args.eager { "solve" } else { "generation and solve" };
    println!("wall time {:.3} s ({what}, {} threads)", wall.as_secs_f64(), args.threads);
    println!(
        "thread time: solve {:.3} s ({:.3} ms per market, slowest {:.3} ms), generation {:.3} s ({:.3} ms per market)",
        all.solve.as_secs_f64(),
        per(all.solve),
        all.slowest.as_secs_f64() * 1e3,
        all.generate.as_secs_f64(),
        per(all.generate)
    );
    println!(
        "max Newton iterations {}, max residual {:.2e}, total welfare change {:.6e}",
        all.max_iterations, all.max_residual, all.welfare
    );
    match peak_rss_kib() {
        Some(kib) => println!("peak RSS (VmHWM) {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS unavailable (no /proc/self/status)"),
    }
    if all.failures > 0 {
        std::process::exit(1);
    }
}
