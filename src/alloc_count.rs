//! A counting global allocator for measurements: the bytes and blocks the process holds at
//! this moment, exactly, where RSS only shows pages. Built in with the `count-alloc`
//! feature (`bench/many_clients.sh` uses it to report what an idle client costs); a normal
//! build does not install it and pays nothing.
//!
//! With the feature, `SIGUSR1` makes the binary print one line on stderr:
//! `netassist-alloc: live_bytes=N live_blocks=M peak_bytes=P`.
//!
//! The unit tests always run with it: a test on a current-thread runtime reads what its
//! own thread holds ([`held_by_this_thread`]), so tests running beside it do not blur the
//! figure.

use std::alloc::{GlobalAlloc, Layout};

use crate::alloc_pool::Pooled;
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::Relaxed};

thread_local! {
    // Const-initialised and without a destructor: safe to touch from inside the allocator.
    static THREAD_HELD: Cell<isize> = const { Cell::new(0) };
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn thread_adds(delta: isize) {
    let _ = THREAD_HELD.try_with(|h| h.set(h.get() + delta));
}

fn thread_allocated() {
    let _ = THREAD_ALLOCS.try_with(|n| n.set(n.get() + 1));
}

/// How many allocations (and growing reallocations) this thread has made so far.
pub fn allocations_by_this_thread() -> u64 {
    THREAD_ALLOCS.try_with(Cell::get).unwrap_or(0)
}

/// Bytes allocated and not yet freed by this thread (frees of other threads' blocks count
/// where they happen). Meaningful only where the counting allocator is installed.
pub fn held_by_this_thread() -> isize {
    THREAD_HELD.try_with(Cell::get).unwrap_or(0)
}

/// The program's allocator ([`Pooled`]), counting what is held.
pub struct Counting {
    inner: Pooled,
    bytes: AtomicIsize,
    blocks: AtomicIsize,
    peak: AtomicUsize,
}

impl Counting {
    pub const fn new() -> Self {
        Counting {
            inner: Pooled::new(),
            bytes: AtomicIsize::new(0),
            blocks: AtomicIsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Bytes and blocks held now, and the most bytes held at once so far.
    pub fn held(&self) -> (usize, usize, usize) {
        let bytes = self.bytes.load(Relaxed).max(0) as usize;
        (bytes, self.blocks.load(Relaxed).max(0) as usize, self.peak.load(Relaxed))
    }

    fn grew(&self, by: usize) {
        thread_allocated();
        thread_adds(by as isize);
        let now = self.bytes.fetch_add(by as isize, Relaxed) + by as isize;
        self.peak.fetch_max(now.max(0) as usize, Relaxed);
    }

    fn shrank(&self, by: usize) {
        thread_adds(-(by as isize));
        self.bytes.fetch_sub(by as isize, Relaxed);
    }

    /// The line `SIGUSR1` prints.
    pub fn line(&self) -> String {
        let (bytes, blocks, peak) = self.held();
        format!("netassist-alloc: live_bytes={bytes} live_blocks={blocks} peak_bytes={peak}")
    }
}

impl Default for Counting {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every call is passed to the program's allocator unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.inner.alloc(layout) };
        if !p.is_null() {
            self.grew(layout.size());
            self.blocks.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if !p.is_null() {
            self.grew(layout.size());
            self.blocks.fetch_add(1, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { self.inner.dealloc(ptr, layout) };
        self.shrank(layout.size());
        self.blocks.fetch_sub(1, Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                self.grew(new_size - layout.size());
            } else {
                self.shrank(layout.size() - new_size);
            }
        }
        p
    }
}

/// Prints [`Counting::line`] on stderr at each `SIGUSR1`, from a thread of its own. Call it
/// first in `main`, before any other thread exists: the signal is blocked in this thread
/// and so in every thread started after it, and only the waiting thread takes it.
#[cfg(unix)]
pub fn report_on_sigusr1(counter: &'static Counting) {
    use std::io::Write;
    // SAFETY: plain libc signal-mask calls on a local, zeroed sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        let set = set;
        std::thread::spawn(move || {
            loop {
                let mut sig = 0;
                if libc::sigwait(&set, &mut sig) != 0 {
                    return;
                }
                let _ = writeln!(std::io::stderr(), "{}", counter.line());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_what_is_held_and_the_peak() {
        let c = Counting::new();
        let small = Layout::from_size_align(100, 8).unwrap();
        // SAFETY: pairs of alloc/realloc/dealloc on the layouts given.
        unsafe {
            let a = c.alloc(small);
            let b = c.alloc_zeroed(small);
            assert_eq!(c.held(), (200, 2, 200));
            let a = c.realloc(a, small, 1000);
            assert_eq!(c.held(), (1100, 2, 1100));
            let big = Layout::from_size_align(1000, 8).unwrap();
            let a = c.realloc(a, big, 10);
            assert_eq!(c.held(), (110, 2, 1100));
            c.dealloc(a, Layout::from_size_align(10, 8).unwrap());
            c.dealloc(b, small);
        }
        assert_eq!(c.held(), (0, 0, 1100));
        assert_eq!(c.line(), "netassist-alloc: live_bytes=0 live_blocks=0 peak_bytes=1100");
    }
}
