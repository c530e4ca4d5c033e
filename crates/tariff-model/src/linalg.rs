//! Small dense LU factorisation with partial pivoting.

/// Solves `a x = b` in place: `a` (row-major `n * n`) is overwritten by its LU
/// factors and `b` by the solution.
///
/// Returns `Err(column)` when no pivot in that column is usable (see [`lu_factor`]).
pub(crate) fn lu_solve(a: &mut [f64], b: &mut [f64], n: usize) -> Result<(), usize> {
    let mut piv = vec![0; n];
    lu_factor(a, n, &mut piv)?;
    lu_apply(a, n, &piv, b);
    Ok(())
}

/// LU factorisation with partial pivoting, in place: `L` (unit diagonal) below
/// the diagonal, `U` above it and `1 / U[i][i]` on it; row `i` was swapped with
/// row `piv[i]` at step `i`.
///
/// Returns `Err(column)` when no pivot in that column is usable, i.e. its
/// magnitude is below `n * eps` times the largest entry of the original matrix.
pub(crate) fn lu_factor(a: &mut [f64], n: usize, piv: &mut [usize]) -> Result<(), usize> {
    debug_assert_eq!(a.len(), n * n);
    debug_assert_eq!(piv.len(), n);
    let scale = a.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
    let threshold = scale * f64::EPSILON * n as f64;
    for col in 0..n {
        let mut p = col;
        let mut best = a[col * n + col].abs();
        for row in col + 1..n {
            let v = a[row * n + col].abs();
            if v > best {
                best = v;
                p = row;
            }
        }
        if best.is_nan() || best <= threshold {
            return Err(col);
        }
        piv[col] = p;
        if p != col {
            let (top, bottom) = a.split_at_mut(p * n);
            top[col * n..(col + 1) * n].swap_with_slice(&mut bottom[..n]);
        }
        let (upper, lower) = a.split_at_mut((col + 1) * n);
        let pivot_row = &mut upper[col * n..];
        let inv = 1.0 / pivot_row[col];
        pivot_row[col] = inv;
        let pivot_tail = &pivot_row[col + 1..];
        for row in lower.chunks_exact_mut(n) {
            let factor = row[col] * inv;
            row[col] = factor;
            if factor != 0.0 {
                for (x, p) in row[col + 1..].iter_mut().zip(pivot_tail) {
                    *x -= factor * p;
                }
            }
        }
    }
    Ok(())
}

/// Solves `a x = b` in place with the factors from [`lu_factor`].
pub(crate) fn lu_apply(lu: &[f64], n: usize, piv: &[usize], b: &mut [f64]) {
    debug_assert_eq!(b.len(), n);
    for (col, &p) in piv.iter().enumerate() {
        b.swap(col, p);
    }
    for col in 0..n {
        let (b_top, b_rest) = b.split_at_mut(col + 1);
        let b_col = b_top[col];
        if b_col != 0.0 {
            for (row, bv) in b_rest.iter_mut().enumerate() {
                *bv -= lu[(col + 1 + row) * n + col] * b_col;
            }
        }
    }
    for col in (0..n).rev() {
        let row = &lu[col * n..(col + 1) * n];
        let (b_top, b_rest) = b.split_at_mut(col + 1);
        let mut s = b_top[col];
        for (x, bk) in row[col + 1..].iter().zip(&*b_rest) {
            s -= x * bk;
        }
        b_top[col] = s * row[col];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_pivoting_system() {
        let mut a = vec![0.0, 2.0, 1.0, 1.0, 1.0, 0.0, 2.0, 0.0, 3.0];
        let orig = a.clone();
        let x = [1.0, -2.0, 0.5];
        let mut b: Vec<f64> = orig.chunks(3).map(|r| r.iter().zip(&x).map(|(a, b)| a * b).sum()).collect();
        lu_solve(&mut a, &mut b, 3).unwrap();
        for (got, want) in b.iter().zip(&x) {
            assert!((got - want).abs() < 1e-14, "{got} vs {want}");
        }
    }

    #[test]
    fn reports_singular_column() {
        let mut a = vec![1.0, 2.0, 2.0, 4.0];
        let mut b = vec![1.0, 1.0];
        assert_eq!(lu_solve(&mut a, &mut b, 2), Err(1));
    }

    #[test]
    fn empty_system_is_fine() {
        assert_eq!(lu_solve(&mut [], &mut [], 0), Ok(()));
    }
}
