//! Where every cell's mocks run: a runtime of their own, at raised priority.

/// The runtime every cell's mocks run on (listeners, request handling, schedules): two
/// worker threads of their own, apart from the drivers' runtime. In-process SDK work (the
/// Rust SDK signs and parses on the runner's threads, slowly in a debug build) would
/// otherwise hold a worker for tens of milliseconds and delay a scheduled transition or
/// an IMDS answer sharing it; the OS schedules threads fairly, tokio does not preempt.
///
/// The threads also run at a higher CPU priority (nice -10) where the OS allows it (as
/// root): on EC2 the metadata service does not compete with the instance's processes for
/// CPU, so the mock should not lose a scheduler race to the SDK processes it serves.
pub fn mock_runtime() -> Result<&'static tokio::runtime::Runtime, String> {
    static RUNTIME: std::sync::OnceLock<Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("mock-imds")
                .on_thread_start(raise_priority)
                .enable_all()
                .build()
                .map_err(|e| format!("could not start the mocks' runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Raises the calling thread's priority to nice -10, silently keeping it where the OS
/// refuses (not root).
pub(super) fn raise_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory-safety preconditions; on Linux the
    // nice value is per thread, and `who` names this thread.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, -10);
    }
}
