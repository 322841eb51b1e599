//! The calling thread's CPU time, for the benches' interleaved checks, and
//! [`Spent`]: the wall-clock and CPU time of timed stretches.

use std::time::{Duration, Instant};

/// The calling thread's time on a CPU so far, in ns
/// (`CLOCK_THREAD_CPUTIME_ID`). Other jobs on this 2-core machine
/// (compilers, test runs) preempt a bench; wall time then includes their
/// time slices, this does not (their cache and memory traffic still shows).
/// (`/proc/thread-self/schedstat` and the tick counts of `stat` are not
/// used: on some kernels they advance in scheduler ticks, far too coarse
/// for stretches of milliseconds.)
pub(crate) fn thread_cpu_ns() -> Option<u64> {
    let now = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    let secs = u64::try_from(now.tv_sec).ok()?;
    let nanos = u64::try_from(now.tv_nsec).ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// Wall-clock and thread CPU time of timed stretches.
#[derive(Clone, Copy)]
pub(crate) struct Spent {
    pub(crate) wall: Duration,
    /// `None` when the CPU clock could not be read.
    pub(crate) cpu: Option<Duration>,
}

impl Spent {
    pub(crate) const ZERO: Spent = Spent {
        wall: Duration::ZERO,
        cpu: Some(Duration::ZERO),
    };

    /// Runs `f`, timing it both ways.
    #[allow(
        dead_code,
        reason = "used by some of the benches that include this file"
    )]
    pub(crate) fn measure(f: impl FnOnce()) -> Spent {
        let cpu = thread_cpu_ns();
        let wall = Instant::now();
        f();
        let wall = wall.elapsed();
        Spent {
            wall,
            cpu: cpu_since(cpu),
        }
    }
}

/// The thread's CPU time since `start` (a [`thread_cpu_ns`] reading).
pub(crate) fn cpu_since(start: Option<u64>) -> Option<Duration> {
    thread_cpu_ns()
        .zip(start)
        .map(|(end, start)| Duration::from_nanos(end.saturating_sub(start)))
}

impl std::ops::AddAssign for Spent {
    fn add_assign(&mut self, other: Spent) {
        self.wall += other.wall;
        self.cpu = self.cpu.zip(other.cpu).map(|(a, b)| a + b);
    }
}
