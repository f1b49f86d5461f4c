//! The global allocator: the system's (glibc's malloc), except for small blocks aligned
//! beyond its 16 bytes, which come from pools of their own.
//!
//! tokio aligns every task and every socket's registration to 128 bytes (a cache-line
//! pair). glibc serves such a request by taking the size plus the alignment plus 32 bytes
//! and giving the two ends back as free fragments of up to 176 bytes, which an idle server
//! never reuses: about 350 bytes wasted for each client beside the 900 it holds
//! (measured: RSS grew 1662 bytes per idle client for 1234 allocated). Here a block of
//! such a layout comes from a pool of blocks of its size (the size rounded up to a multiple
//! of the alignment) carved from page-aligned regions: block k of a region starts k sizes
//! in, a multiple of the alignment, so nothing is wasted between blocks.
//!
//! What a pool took it keeps (a freed block waits for the next of its size), as glibc's
//! heap keeps what lies between live blocks. Regions are mapped, not touched: a page costs
//! memory once a block on it is first used.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;
use std::sync::Mutex;

/// glibc's malloc aligns to 16 bytes on 64-bit targets: anything up to that goes to it.
const MALLOC_ALIGN: usize = 16;
/// The largest block a pool serves (a page); larger or more aligned goes to the system.
const MAX_BLOCK: usize = 4096;
/// How much a pool maps at a time.
const REGION: usize = 256 * 1024;
/// How many block sizes get a pool; a size seen after that goes to the system for good.
const SIZES: usize = 32;

/// One block size's pool: freed blocks (each holds the address of the next), and what is
/// left of the region being carved.
#[derive(Clone, Copy)]
struct Pool {
    size: usize,
    free: *mut u8,
    next: *mut u8,
    end: *mut u8,
}

struct Pools {
    pools: [Pool; SIZES],
    used: usize,
}

// SAFETY: the pointers are to memory only this allocator hands out, behind the mutex.
unsafe impl Send for Pools {}

const EMPTY: Pool = Pool { size: 0, free: ptr::null_mut(), next: ptr::null_mut(), end: ptr::null_mut() };

/// The size of block a layout gets from a pool, or `None` when it goes to the system.
/// Every block of a pool is aligned to any alignment that divides its size (≤ a page).
fn pooled(layout: Layout) -> Option<usize> {
    if layout.align() <= MALLOC_ALIGN || layout.align() > MAX_BLOCK {
        return None;
    }
    let size = layout.size().max(1).next_multiple_of(layout.align());
    (size <= MAX_BLOCK).then_some(size)
}

impl Pools {
    /// The pool of `size`, made if there is room for one more.
    fn pool(&mut self, size: usize, make: bool) -> Option<&mut Pool> {
        let at = self.pools[..self.used].iter().position(|p| p.size == size);
        let at = match at {
            Some(at) => at,
            None if make && self.used < SIZES => {
                self.pools[self.used] = Pool { size, ..EMPTY };
                self.used += 1;
                self.used - 1
            }
            None => return None,
        };
        Some(&mut self.pools[at])
    }
}

impl Pool {
    /// A block, or null when the system has no memory for a region.
    ///
    /// # Safety
    /// `free` must be a list of this pool's freed blocks (or null).
    unsafe fn take(&mut self) -> *mut u8 {
        if !self.free.is_null() {
            let block = self.free;
            // SAFETY: a freed block holds the address of the next (written by `give`);
            // blocks are at least 32 bytes and aligned to at least 32.
            self.free = unsafe { block.cast::<*mut u8>().read() };
            return block;
        }
        if (self.end as usize) - (self.next as usize) < self.size {
            let region = map_region();
            if region.is_null() {
                return ptr::null_mut();
            }
            self.next = region;
            // SAFETY: within the region just mapped.
            self.end = unsafe { region.add(REGION) };
        }
        let block = self.next;
        // SAFETY: at most `end`, checked above.
        self.next = unsafe { block.add(self.size) };
        block
    }

    /// # Safety
    /// `block` came from `take` on this pool and is no longer used.
    unsafe fn give(&mut self, block: *mut u8) {
        // SAFETY: the block is ours again and large and aligned enough for a pointer.
        unsafe { block.cast::<*mut u8>().write(self.free) };
        self.free = block;
    }
}

/// Page-aligned memory for a pool, or null.
fn map_region() -> *mut u8 {
    // SAFETY: an anonymous private mapping; no file, no fixed address.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            REGION,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED { ptr::null_mut() } else { p.cast() }
}

/// The allocator: [`System`] for everything but the pooled layouts.
pub struct Pooled {
    pools: Mutex<Pools>,
}

impl Pooled {
    pub const fn new() -> Self {
        Pooled { pools: Mutex::new(Pools { pools: [EMPTY; SIZES], used: 0 }) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pools> {
        // Nothing panics while holding it.
        self.pools.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for Pooled {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: pooled blocks are aligned (see `pooled`) and handed out once until given back;
// every other call is passed to `System` unchanged. A layout's size decides where its
// block came from at every call: a pool, once made, is never removed.
unsafe impl GlobalAlloc for Pooled {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(size) = pooled(layout) else { return unsafe { System.alloc(layout) } };
        let mut pools = self.lock();
        match pools.pool(size, true) {
            // SAFETY: the pool's list holds only its own freed blocks.
            Some(pool) => unsafe { pool.take() },
            None => {
                drop(pools);
                unsafe { System.alloc(layout) }
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if pooled(layout).is_none() {
            return unsafe { System.alloc_zeroed(layout) };
        }
        // SAFETY: as `alloc`; a reused block is zeroed here.
        let p = unsafe { self.alloc(layout) };
        if !p.is_null() {
            unsafe { p.write_bytes(0, layout.size()) };
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(size) = pooled(layout) else { return unsafe { System.dealloc(ptr, layout) } };
        let mut pools = self.lock();
        match pools.pool(size, false) {
            // SAFETY: a layout with a pool got its block from that pool.
            Some(pool) => unsafe { pool.give(ptr) },
            None => {
                drop(pools);
                unsafe { System.dealloc(ptr, layout) }
            }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's promise: `new_size` with `layout`'s alignment is a valid layout.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if pooled(layout).is_none() && pooled(new).is_none() {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: a new block, the bytes both hold copied, the old one given back.
        unsafe {
            let p = self.alloc(new);
            if !p.is_null() {
                ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_blocks_aligned_beyond_malloc_are_pooled() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(pooled(l(100, 8)), None);
        assert_eq!(pooled(l(100, 16)), None);
        assert_eq!(pooled(l(200, 32)), Some(224));
        assert_eq!(pooled(l(552, 128)), Some(640), "a task rounds up to a multiple of its alignment");
        assert_eq!(pooled(l(256, 128)), Some(256));
        assert_eq!(pooled(l(0, 64)), Some(64));
        assert_eq!(pooled(l(4096, 4096)), Some(4096));
        assert_eq!(pooled(l(4097, 128)), None);
        assert_eq!(pooled(l(64, 8192)), None);
    }

    /// Blocks of several pooled sizes (and a system one) from several threads at once: each
    /// aligned, none overlapping another live one (each is filled with its owner's byte and
    /// checked before it is freed), freed blocks reused, and the pools' regions carved
    /// without a gap.
    #[test]
    fn blocks_are_aligned_disjoint_and_reused() {
        static A: Pooled = Pooled::new();
        let layouts = [(640, 128), (256, 128), (4096, 4096), (96, 32), (3712, 128), (48, 8)];
        std::thread::scope(|s| {
            for t in 0..4u8 {
                s.spawn(move || {
                    let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
                    let mut seed = 0x9e37_79b9u32.wrapping_mul(u32::from(t) + 1);
                    for i in 0..20_000usize {
                        seed ^= seed << 13;
                        seed ^= seed >> 17;
                        seed ^= seed << 5;
                        if seed.is_multiple_of(3) && !live.is_empty() {
                            let (p, layout, mark) = live.swap_remove(seed as usize % live.len());
                            // SAFETY: a block this loop allocated with `layout`.
                            unsafe {
                                let bytes = std::slice::from_raw_parts(p, layout.size());
                                assert!(bytes.iter().all(|b| *b == mark), "a block was written by another owner");
                                A.dealloc(p, layout);
                            }
                        } else {
                            let (size, align) = layouts[i % layouts.len()];
                            let layout = Layout::from_size_align(size, align).unwrap();
                            let mark = t.wrapping_mul(31).wrapping_add(i as u8) | 1;
                            // SAFETY: a valid layout; the block is filled within its size.
                            let p = unsafe { A.alloc(layout) };
                            assert!(!p.is_null());
                            assert_eq!(p as usize % align, 0, "{size} bytes aligned to {align}");
                            unsafe { p.write_bytes(mark, size) };
                            live.push((p, layout, mark));
                        }
                    }
                    for (p, layout, mark) in live {
                        // SAFETY: as above.
                        unsafe {
                            assert!(std::slice::from_raw_parts(p, layout.size()).iter().all(|b| *b == mark));
                            A.dealloc(p, layout);
                        }
                    }
                });
            }
        });
        // Everything given back: a zeroed block is zero though it was written before.
        let layout = Layout::from_size_align(640, 128).unwrap();
        // SAFETY: an alloc/dealloc pair on one layout.
        unsafe {
            let p = A.alloc_zeroed(layout);
            assert!(std::slice::from_raw_parts(p, 640).iter().all(|b| *b == 0));
            A.dealloc(p, layout);
        }
    }

    /// A pool carves its region block after block, with no gap, and hands a freed block out
    /// again before carving a new one.
    #[test]
    fn blocks_are_carved_without_gaps_and_reused() {
        let a = Pooled::new();
        let layout = Layout::from_size_align(552, 128).unwrap();
        // SAFETY: alloc/dealloc pairs on one layout.
        unsafe {
            let blocks: Vec<*mut u8> = (0..100).map(|_| a.alloc(layout)).collect();
            for pair in blocks.windows(2) {
                assert_eq!(pair[1] as usize - pair[0] as usize, 640, "552 bytes aligned to 128 take 640");
            }
            a.dealloc(blocks[37], layout);
            assert_eq!(a.alloc(layout), blocks[37], "the freed block first");
            assert_eq!(a.alloc(layout) as usize, blocks[99] as usize + 640, "then the region goes on");
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_across_pool_and_system() {
        let a = Pooled::new();
        let layout = Layout::from_size_align(200, 64).unwrap();
        // SAFETY: a block grown past the pools and shrunk back into one, bytes checked.
        unsafe {
            let p = a.alloc(layout);
            for i in 0..200 {
                p.add(i).write(i as u8);
            }
            let p = a.realloc(p, layout, 10_000);
            assert_eq!(p as usize % 64, 0);
            assert!((0..200).all(|i| *p.add(i) == i as u8));
            let big = Layout::from_size_align(10_000, 64).unwrap();
            let p = a.realloc(p, big, 100);
            assert!((0..100).all(|i| *p.add(i) == i as u8));
            a.dealloc(p, Layout::from_size_align(100, 64).unwrap());
        }
    }
}
