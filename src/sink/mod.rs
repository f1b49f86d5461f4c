//! Views that consume events. Engines send [`Event`]s into a bounded channel; one writer
//! thread owns the output and renders them through a [`Sink`] (human lines or JSON lines).
//! The bound is deliberate: a terminal or pipe that cannot keep up slows the sockets down
//! (TCP back-pressure) instead of growing memory. A closed output (`| head`) stops the run
//! quietly.

pub mod human;
pub mod json;
pub mod pcap;

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::event::{Event, EventKind};

/// Something that renders events.
pub trait Sink: Send {
    fn event(&mut self, event: &Event) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
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

/// `--output FILE`: every byte received, exactly as it came, in order of arrival.
pub struct RawOutput(io::BufWriter<std::fs::File>);

impl RawOutput {
    pub fn create(path: &std::path::Path) -> io::Result<RawOutput> {
        Ok(RawOutput(io::BufWriter::with_capacity(64 * 1024, std::fs::File::create(path)?)))
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

/// How many events may wait for the writer before engines wait for it.
const QUEUE: usize = 1024;

/// How many bytes of data events may wait for the writer (or the UI) before engines wait:
/// what a fast transfer can make the output hold, whatever the size of each read.
pub const QUEUE_BYTES: usize = 4 << 20;

/// What an event holds against [`QUEUE_BYTES`] while it waits.
fn cost(kind: &EventKind) -> u32 {
    match kind {
        EventKind::Data { bytes, .. } => bytes.len().min(QUEUE_BYTES) as u32,
        _ => 0,
    }
}

/// The engines' side of the output: cheap to clone, one per task.
#[derive(Clone)]
pub struct Events {
    tx: mpsc::Sender<Event>,
    data: bool,
    /// Bytes of data events that may still be queued.
    room: Arc<Semaphore>,
}

impl Events {
    /// Sends an event, waiting while the writer is behind (by events or by bytes). After
    /// the output has gone away the event is dropped: the run is stopping anyway.
    pub async fn send(&self, kind: EventKind) {
        let cost = cost(&kind);
        if cost > 0 {
            match self.room.acquire_many(cost).await {
                Ok(permit) => permit.forget(),
                Err(_) => return,
            }
        }
        if self.tx.send(Event::now(kind)).await.is_err() {
            self.room.add_permits(cost as usize);
        }
    }

    /// Whether anyone wants a `Data` event per message. When not (`--quiet`), engines
    /// build none: the hot path stays a read/write loop.
    pub fn wants_data(&self) -> bool {
        self.data
    }

    /// An `Events` whose receiver is handed to the caller: for tests and embedding.
    pub fn channel(wants_data: bool) -> (Events, Incoming) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let room = Arc::new(Semaphore::new(QUEUE_BYTES));
        (Events { tx, data: wants_data, room: room.clone() }, Incoming { rx, room })
    }
}

/// The receiving side of [`Events`]: each event taken gives its bytes' room back.
pub struct Incoming {
    rx: mpsc::Receiver<Event>,
    room: Arc<Semaphore>,
}

impl Incoming {
    fn taken(&self, event: Option<Event>) -> Option<Event> {
        if let Some(e) = &event {
            let cost = cost(&e.kind);
            if cost > 0 {
                self.room.add_permits(cost as usize);
            }
        }
        event
    }

    pub async fn recv(&mut self) -> Option<Event> {
        let event = self.rx.recv().await;
        self.taken(event)
    }

    pub fn try_recv(&mut self) -> Option<Event> {
        let event = self.rx.try_recv().ok();
        self.taken(event)
    }

    pub fn blocking_recv(&mut self) -> Option<Event> {
        let event = self.rx.blocking_recv();
        self.taken(event)
    }

    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Bytes of data events waiting now.
    pub fn queued_bytes(&self) -> usize {
        QUEUE_BYTES - self.room.available_permits()
    }
}

/// The running writer thread.
pub struct Writer {
    thread: JoinHandle<io::Result<()>>,
    broken: Arc<AtomicBool>,
}

impl Writer {
    /// Waits until every `Events` clone is dropped and all events are written.
    /// Returns whether the output went away (broken pipe) during the run.
    pub fn finish(self) -> io::Result<bool> {
        let result = self.thread.join().unwrap_or_else(|_| Err(io::Error::other("the output thread panicked")));
        let broken = self.broken.load(Ordering::Relaxed);
        match result {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(true),
            Err(e) => Err(e),
            Ok(()) => Ok(broken),
        }
    }
}

/// Starts the writer thread. When the output breaks, `stop` is cancelled so the run ends.
pub fn spawn(mut sink: Box<dyn Sink>, wants_data: bool, stop: CancellationToken) -> (Events, Writer) {
    let (events, mut rx) = Events::channel(wants_data);
    let broken = Arc::new(AtomicBool::new(false));
    let flag = broken.clone();
    let thread = std::thread::Builder::new()
        .name("output".into())
        .spawn(move || {
            let mut result = Ok(());
            while let Some(event) = rx.blocking_recv() {
                if result.is_err() {
                    continue; // keep draining so that no engine waits on a dead output
                }
                let mut step = sink.event(&event);
                if step.is_ok() && rx.is_empty() {
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
    (events, Writer { thread, broken })
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
        EventKind::Data { id: 1, peer: ([127, 0, 0, 1], 9).into(), dir: Dir::In, bytes: Bytes::from(vec![7u8; n]) }
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
