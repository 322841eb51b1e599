//! The calling thread's CPU time, for the benches' interleaved checks.

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
