//! Running out of memory ends the run like any other bad input: exit 2 and
//! one line on stderr. Rust's default reaction to a failed allocation is an
//! abort (exit 134, SIGABRT, a core dump where enabled), which a CI job or
//! Helm reports as a crash, not as "this input is too large here".
//!
//! This only helps where allocations can fail: an address-space limit
//! (`ulimit -v`, `prlimit --as`) or a kernel that does not overcommit. Under
//! a cgroup memory limit the kernel kills the process instead (SIGKILL), and
//! nothing in it gets to say anything.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, with a failure that exits instead of aborting.
pub struct ExitOnFailure;

/// Fixed bytes: nothing may be allocated (or formatted) once memory is gone.
const MESSAGE: &[u8] = b"secret-rollout: error: out of memory: the input needs more memory than \
this process may use (see \"Performance\" in the README for what fits where)\n";

/// Set by the first thread that runs out of memory: the work is parallel, so
/// several can fail at once, and the message must appear once.
static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cold]
fn out_of_memory() -> ! {
    if FAILED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // Another thread is writing the message and ends the process.
        loop {
            // SAFETY: pause(2) only waits; it allocates nothing.
            unsafe { libc::pause() };
        }
    }
    // SAFETY: write(2) on fd 2 with a static buffer, then _exit(2): neither
    // allocates, runs destructors or flushes Rust's buffered stdout, so no
    // partial stdout leaves a buffer here either (render writes stdout only
    // after every allocation it needs has succeeded).
    unsafe {
        let mut rest = MESSAGE;
        while !rest.is_empty() {
            let n = libc::write(2, rest.as_ptr().cast(), rest.len());
            if n <= 0 {
                break;
            }
            rest = &rest[n as usize..];
        }
        libc::_exit(2)
    }
}

// SAFETY: every call is forwarded to `System` unchanged; only a null answer
// (which the caller would have turned into an abort) is handled here.
unsafe impl GlobalAlloc for ExitOnFailure {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if p.is_null() {
            out_of_memory();
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if p.is_null() {
            out_of_memory();
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() {
            out_of_memory();
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}
