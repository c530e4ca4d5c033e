//! Goal-seek: the value of one lever at which a figure equals a goal, by
//! Brent's method (inverse quadratic interpolation and the secant step,
//! falling back on bisection) on the exact solver.
//!
//! The ends of the lever's range are run first. When they do not bracket the
//! goal, eight evenly spaced inside points are run to find a bracket (a
//! figure need not be monotone in its lever); when none brackets, no value in
//! the bounds reaches the goal and the closest one is reported.

/// Interior points tried when the ends do not bracket the goal.
const SCAN_POINTS: usize = 8;

/// How a seek ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Found {
    /// `|gap| <= tolerance` at `x`.
    Root { x: f64, gap: f64 },
    /// No bracket: `x` is where `|gap|` was smallest.
    Unreachable { x: f64, gap: f64 },
    /// The bracket closed to the precision of `x` without the gap falling
    /// within the tolerance: the figure jumps there.
    Jump { x: f64, gap: f64 },
    /// The evaluations ran out; the best point so far.
    OutOfEvaluations { x: f64, gap: f64 },
}

/// Finds `x` in `[low, high]` with `|gap(x)| <= tolerance`, with at most
/// `max_evaluations` calls of `gap`. Errors of `gap` stop the search.
pub(crate) fn seek<E>(
    low: f64,
    high: f64,
    tolerance: f64,
    max_evaluations: u32,
    gap: &mut dyn FnMut(f64) -> Result<f64, E>,
) -> Result<Found, E> {
    let mut used = 0u32;
    let mut best = (low, f64::INFINITY);
    let mut eval = |x: f64, used: &mut u32, best: &mut (f64, f64)| -> Result<f64, E> {
        *used += 1;
        let g = gap(x)?;
        if g.abs() < best.1.abs() || best.1.is_nan() {
            *best = (x, g);
        }
        Ok(g)
    };
    let f_low = eval(low, &mut used, &mut best)?;
    if f_low.abs() <= tolerance {
        return Ok(Found::Root { x: low, gap: f_low });
    }
    let f_high = eval(high, &mut used, &mut best)?;
    if f_high.abs() <= tolerance {
        return Ok(Found::Root { x: high, gap: f_high });
    }
    let mut bracket = (f_low.signum() != f_high.signum()).then_some((low, f_low, high, f_high));
    if bracket.is_none() {
        // Look inside for a sign change, from the low end up.
        let mut previous = (low, f_low);
        for k in 1..=SCAN_POINTS {
            if used >= max_evaluations {
                return Ok(Found::OutOfEvaluations { x: best.0, gap: best.1 });
            }
            let x = low + (high - low) * k as f64 / (SCAN_POINTS + 1) as f64;
            let g = eval(x, &mut used, &mut best)?;
            if g.abs() <= tolerance {
                return Ok(Found::Root { x, gap: g });
            }
            if g.signum() != previous.1.signum() {
                bracket = Some((previous.0, previous.1, x, g));
                break;
            }
            previous = (x, g);
        }
    }
    let Some((a, fa, b, fb)) = bracket else {
        return Ok(Found::Unreachable { x: best.0, gap: best.1 });
    };
    brent(a, fa, b, fb, tolerance, max_evaluations, &mut used, &mut |x, used| eval(x, used, &mut best))
}

/// Brent's method on a bracket `[a, b]` with `f(a)`, `f(b)` of opposite signs
/// (Brent 1973, "Algorithms for Minimization without Derivatives", ch. 4).
#[allow(clippy::too_many_arguments)]
fn brent<E>(
    mut a: f64,
    mut fa: f64,
    mut b: f64,
    mut fb: f64,
    tolerance: f64,
    max_evaluations: u32,
    used: &mut u32,
    f: &mut dyn FnMut(f64, &mut u32) -> Result<f64, E>,
) -> Result<Found, E> {
    let (mut c, mut fc) = (b, fb);
    let mut d = b - a;
    let mut e = d;
    loop {
        if fb.signum() == fc.signum() {
            (c, fc) = (a, fa);
            d = b - a;
            e = d;
        }
        if fc.abs() < fb.abs() {
            (a, fa) = (b, fb);
            (b, fb) = (c, fc);
            (c, fc) = (a, fa);
        }
        // The lever's own precision: a bracket this narrow cannot shrink further.
        let tol1 = 2.0 * f64::EPSILON * b.abs() + 0.5 * f64::EPSILON;
        let xm = 0.5 * (c - b);
        if fb.abs() <= tolerance {
            return Ok(Found::Root { x: b, gap: fb });
        }
        if xm.abs() <= tol1 {
            return Ok(Found::Jump { x: b, gap: fb });
        }
        if *used >= max_evaluations {
            return Ok(Found::OutOfEvaluations { x: b, gap: fb });
        }
        if e.abs() >= tol1 && fa.abs() > fb.abs() {
            let s = fb / fa;
            let (mut p, mut q) = if a == c {
                (2.0 * xm * s, 1.0 - s)
            } else {
                let (q, r) = (fa / fc, fb / fc);
                (s * (2.0 * xm * q * (q - r) - (b - a) * (r - 1.0)), (q - 1.0) * (r - 1.0) * (s - 1.0))
            };
            if p > 0.0 {
                q = -q;
            }
            p = p.abs();
            let min1 = 3.0 * xm * q - (tol1 * q).abs();
            let min2 = (e * q).abs();
            if 2.0 * p < min1.min(min2) {
                e = d;
                d = p / q;
            } else {
                d = xm;
                e = d;
            }
        } else {
            d = xm;
            e = d;
        }
        (a, fa) = (b, fb);
        b += if d.abs() > tol1 { d } else { tol1.copysign(xm) };
        fb = f(b, used)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(low: f64, high: f64, tol: f64, f: impl Fn(f64) -> f64) -> (Found, u32) {
        let mut calls = 0;
        let found = seek::<()>(low, high, tol, 100, &mut |x| {
            calls += 1;
            Ok(f(x))
        });
        (found.unwrap_or(Found::Unreachable { x: f64::NAN, gap: f64::NAN }), calls)
    }

    #[test]
    fn finds_a_root_of_a_smooth_function_in_few_evaluations() {
        let (found, calls) = run(0.0, 3.0, 1e-12, |x| x * x - 2.0);
        let Found::Root { x, gap } = found else { panic!("{found:?}") };
        assert!((x - 2f64.sqrt()).abs() < 1e-11, "{x}");
        assert!(gap.abs() <= 1e-12);
        assert!(calls < 15, "{calls} evaluations");
    }

    #[test]
    fn finds_a_bracket_inside_when_the_ends_do_not_bracket() {
        // Positive at both ends, negative in the middle.
        let (found, _) = run(0.0, 10.0, 1e-10, |x| (x - 5.0).powi(2) - 1.0);
        let Found::Root { x, .. } = found else { panic!("{found:?}") };
        assert!((x - 4.0).abs() < 1e-9, "{x}");
    }

    #[test]
    fn says_when_no_value_reaches_the_goal() {
        let (found, calls) = run(0.0, 1.0, 1e-9, |x| x + 1.0);
        assert_eq!(found, Found::Unreachable { x: 0.0, gap: 1.0 });
        assert_eq!(calls as usize, 2 + SCAN_POINTS);
    }

    #[test]
    fn a_jump_across_the_goal_is_not_a_root() {
        let (found, _) = run(0.0, 1.0, 1e-9, |x| if x < 0.3 { -1.0 } else { 1.0 });
        let Found::Jump { x, .. } = found else { panic!("{found:?}") };
        assert!((x - 0.3).abs() < 1e-12, "{x}");
    }
}
