//! Views that consume events. Engines send [`Event`]s into a bounded channel; one writer
//! thread owns the output and renders them through a [`Sink`] (human lines or JSON lines).
//! The bound is deliberate: a terminal or pipe that cannot keep up slows the sockets down
//! (TCP back-pressure) instead of growing memory. A closed output (`| head`) stops the run
//! quietly.

pub mod human;
pub mod json;
pub mod pcap;

use rust_i18n::t;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use tokio_util::sync::CancellationToken;

use crate::event::{Event, EventKind};

/// Something that renders events.
pub trait Sink: Send {
    fn event(&mut self, event: &Event) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
    /// Where a file sink records that it failed ([`FileSink`]).
    fn failures(&self) -> Option<Arc<std::sync::Mutex<Vec<String>>>> {
        None
    }
}

/// Several sinks fed the same events, in order (a view and a capture).
pub struct Tee(pub Vec<Box<dyn Sink>>);

impl Sink for Tee {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.event(event))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.iter_mut().try_for_each(|s| s.flush())
    }
    fn failures(&self) -> Option<Arc<std::sync::Mutex<Vec<String>>>> {
        self.0.iter().find_map(|s| s.failures())
    }
}

/// A view that shows no per-message lines (`--quiet`) while another sink (a capture)
/// still wants every byte.
pub struct WithoutData(pub Box<dyn Sink>);

impl Sink for WithoutData {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event.kind {
            EventKind::Data { .. } => Ok(()),
            _ => self.0.event(event),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A view of one direction only (the relay's `--only c2t|t2c`); the other's bytes are
/// still counted, and captured by the sinks beside this one.
pub struct Only(pub crate::event::Dir, pub Box<dyn Sink>);

impl Sink for Only {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        match event.kind {
            EventKind::Data { dir, .. } if dir != self.0 => Ok(()),
            _ => self.1.event(event),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.1.flush()
    }
}

/// `--output FILE`: every byte received, exactly as it came, in order of arrival. `-` is
/// stdout (nc's raw mode): then the status lines go to stderr.
pub struct RawOutput(Box<dyn Write + Send>);

impl RawOutput {
    pub fn create(path: &std::path::Path) -> io::Result<RawOutput> {
        if path.as_os_str() == "-" {
            return Ok(RawOutput(Box::new(io::BufWriter::with_capacity(64 * 1024, io::stdout()))));
        }
        Ok(RawOutput(Box::new(Records::create(path)?)))
    }
}

impl Sink for RawOutput {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        match &event.kind {
            EventKind::Data { dir: crate::event::Dir::In, bytes, .. } => self.0.write_all(bytes),
            _ => Ok(()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// Whether `--output PATH` is this process's stdout (`-`, `/dev/stdout`, or the file stdout
/// is redirected to): then status lines must go to stderr, not into the bytes.
pub fn is_stdout(path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if path.as_os_str() == "-" {
        return true;
    }
    let Ok(target) = std::fs::metadata(path) else { return false };
    // SAFETY: fstat on fd 1 with a zeroed stat buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(1, &mut st) } != 0 {
        return false;
    }
    target.dev() == st.st_dev && target.ino() == st.st_ino
}

/// A file written in whole records, each record one `write` call: writes are kept in memory
/// and go to the file on `flush` (which the writer thread calls when it catches up, or after
/// [`FLUSH_BYTES`]). When the file cannot take them (a full disk), it is cut back to the end
/// of the last record that reached it whole: a capture ends on a packet boundary.
pub struct Records {
    file: std::fs::File,
    buf: Vec<u8>,
    /// Where each record in `buf` ends.
    ends: Vec<usize>,
    /// Bytes known to be in the file.
    good: u64,
}

impl Records {
    pub fn create(path: &std::path::Path) -> io::Result<Records> {
        Ok(Records {
            file: std::fs::File::create(path)?,
            buf: Vec::with_capacity(64 * 1024),
            ends: Vec::new(),
            good: 0,
        })
    }
}

impl Write for Records {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        self.ends.push(self.buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut done = 0;
        while done < self.buf.len() {
            match self.file.write(&self.buf[done..]) {
                Ok(0) => return self.cut(done, io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.cut(done, e),
            }
        }
        self.good += done as u64;
        self.buf.clear();
        self.ends.clear();
        if self.buf.capacity() > 1 << 20 {
            self.buf.shrink_to(64 * 1024);
        }
        Ok(())
    }
}

impl Records {
    /// `done` bytes of the buffer reached the file before `e`: keep the whole records.
    fn cut(&mut self, done: usize, e: io::Error) -> io::Result<()> {
        let whole = self.ends.iter().copied().take_while(|&end| end <= done).last().unwrap_or(0);
        // A device (/dev/full) cannot be cut: set_len fails there, which is fine.
        let _ = self.file.set_len(self.good + whole as u64);
        self.good += whole as u64;
        self.buf = Vec::new();
        self.ends = Vec::new();
        Err(e)
    }
}

/// A file beside the view (`--output`, `--pcap`): when it fails (a full disk), it says so
/// once on stderr and stops itself alone; the run goes on and ends with a non-zero status
/// naming the file ([`Writer::finish`]).
pub struct FileSink {
    what: String,
    inner: Box<dyn Sink>,
    failed: bool,
    failures: Arc<std::sync::Mutex<Vec<String>>>,
}

impl FileSink {
    /// `what` names the file for a person: "the capture file /tmp/x.pcap".
    pub fn new(what: String, inner: Box<dyn Sink>) -> FileSink {
        FileSink { what, inner, failed: false, failures: Arc::default() }
    }

    fn fail(&mut self, e: io::Error) {
        self.failed = true;
        let reason = crate::error::io_reason(&e);
        let line = t!("sink.cannot_write", what = self.what, reason = reason);
        let mut err = anstream::stderr();
        let _ = writeln!(err, "{}: {}", crate::lang::error_label(), crate::render::escape::shown_name(&line));
        let incomplete = t!("sink.incomplete", what = self.what, reason = reason).into_owned();
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).push(incomplete);
    }
}

impl Sink for FileSink {
    fn event(&mut self, event: &Event) -> io::Result<()> {
        if !self.failed
            && let Err(e) = self.inner.event(event)
        {
            self.fail(e);
        }
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        if !self.failed
            && let Err(e) = self.inner.flush()
        {
            self.fail(e);
        }
        Ok(())
    }
    fn failures(&self) -> Option<Arc<std::sync::Mutex<Vec<String>>>> {
        Some(self.failures.clone())
    }
}

/// After this many bytes of data events the writer flushes even while events keep coming,
/// so that what sinks hold in memory stays bounded under a flood.
pub const FLUSH_BYTES: usize = 1 << 20;

pub use crate::event::{Events, Incoming, QUEUE_BYTES};

/// The running writer thread.
pub struct Writer {
    thread: JoinHandle<io::Result<()>>,
    broken: Arc<AtomicBool>,
    failures: Option<Arc<std::sync::Mutex<Vec<String>>>>,
}

/// How the output ended.
#[derive(Debug, Default)]
pub struct Finished {
    /// The output went away (broken pipe) during the run.
    pub broken: bool,
    /// Files that failed during the run and are incomplete (one sentence each).
    pub incomplete: Vec<String>,
}

impl Writer {
    /// Waits until every `Events` clone is dropped and all events are written.
    pub fn finish(self) -> io::Result<Finished> {
        let result = self.thread.join().unwrap_or_else(|_| Err(io::Error::other("the output thread panicked")));
        let broken = self.broken.load(Ordering::Relaxed);
        let incomplete = self
            .failures
            .map(|f| std::mem::take(&mut *f.lock().unwrap_or_else(|p| p.into_inner())))
            .unwrap_or_default();
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(Finished { broken: true, incomplete }),
            Err(e) => Err(e),
            Ok(()) => Ok(Finished { broken, incomplete }),
        }
    }
}

/// Starts the writer thread. When the output breaks, `stop` is cancelled so the run ends.
pub fn spawn(mut sink: Box<dyn Sink>, wants_data: bool, stop: CancellationToken) -> (Events, Writer) {
    let (events, mut rx) = Events::channel(wants_data);
    let broken = Arc::new(AtomicBool::new(false));
    let flag = broken.clone();
    let failures = sink.failures();
    let thread = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || {
            let mut result = Ok(());
            let mut unflushed = 0;
            while let Some(event) = rx.blocking_recv() {
                if result.is_err() {
                    continue; // keep draining so that no engine waits on a dead output
                }
                if let EventKind::Data { bytes, .. } = &event.kind {
                    unflushed += bytes.len();
                }
                let mut step = sink.event(&event);
                if step.is_ok() && (rx.is_empty() || unflushed >= FLUSH_BYTES) {
                    unflushed = 0;
                    step = sink.flush();
                }
                if let Err(e) = step {
                    if e.kind() == io::ErrorKind::BrokenPipe {
                        flag.store(true, Ordering::Relaxed);
                    }
                    stop.cancel();
                    result = Err(e);
                }
            }
            if result.is_ok() {
                result = sink.flush();
            }
            result
        })
        .expect("spawning a thread at start-up");
    (events, Writer { thread, broken, failures })
}

/// Writes `line` to `w`, returning quietly-handled errors to the caller.
pub(crate) fn write_line(w: &mut dyn Write, line: &str) -> io::Result<()> {
    w.write_all(line.as_bytes())?;
    w.write_all(b"\n")
}

#[cfg(test)]
pub(crate) mod testing {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    /// A Write that keeps what was written, shared with the test.
    #[derive(Clone, Default)]
    pub struct Shared(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("test lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        pub fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("test lock").clone()).expect("UTF-8 output")
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use futures_util::FutureExt;

    use super::*;
    use crate::event::Dir;

    fn chunk(n: usize) -> EventKind {
        EventKind::Data {
            id: 1,
            peer: std::net::SocketAddr::from(([127, 0, 0, 1], 9)).into(),
            dir: Dir::In,
            bytes: Bytes::from(vec![7u8; n]),
            mark: crate::event::Mark::None,
        }
    }

    #[test]
    fn a_stalled_output_holds_at_most_its_byte_budget() {
        let (events, mut incoming) = Events::channel(true);
        // 64 KiB reads from a fast transfer: the sender must stop long before 1024 events.
        let mut sent = 0;
        while events.send(chunk(64 * 1024)).now_or_never().is_some() {
            sent += 1;
            assert!(sent < 1024, "never held back");
        }
        let mut held = 0;
        while let Some(e) = incoming.try_recv() {
            if let EventKind::Data { bytes, .. } = e.kind {
                held += bytes.len();
            }
        }
        assert!(held <= QUEUE_BYTES, "{held} bytes queued");
        assert!(held >= QUEUE_BYTES - 64 * 1024, "the budget is used: {held}");
        assert_eq!(incoming.queued_bytes(), 0);
        // Room again once taken.
        assert!(events.send(chunk(64 * 1024)).now_or_never().is_some());
        // An event larger than the whole budget still goes, alone.
        assert!(incoming.try_recv().is_some());
        assert!(events.send(chunk(QUEUE_BYTES + 1)).now_or_never().is_some());
    }
}
