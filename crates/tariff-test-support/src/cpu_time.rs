//! A process's CPU time (user + system, every thread), from `/proc/<pid>/stat`:
//! what the tests bound after a cancel and what the load generator divides by
//! the jobs of a step.

use std::time::Duration;

/// USER_HZ, the unit of utime and stime in /proc (100 on Linux).
const TICKS_PER_S: u64 = 100;

/// The CPU time process `pid` has used so far; `None` when it cannot be read
/// (no such process, or not Linux).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split(' ').skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / TICKS_PER_S))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu() {
        let before = cpu_time(std::process::id()).unwrap_or_default();
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let after = cpu_time(std::process::id()).unwrap_or_default();
        assert!(after > before, "{before:?} then {after:?}");
        assert_eq!(cpu_time(u32::MAX), None);
    }
}
