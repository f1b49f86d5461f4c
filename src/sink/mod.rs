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

use tokio::sync::mpsc;
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

/// The engines' side of the output: cheap to clone, one per task.
#[derive(Clone)]
pub struct Events {
    tx: mpsc::Sender<Event>,
    data: bool,
}

impl Events {
    /// Sends an event, waiting while the writer is behind. After the output has gone away
    /// the event is dropped: the run is stopping anyway.
    pub async fn send(&self, kind: EventKind) {
        let _ = self.tx.send(Event::now(kind)).await;
    }

    /// Whether anyone wants a `Data` event per message. When not (`--quiet`), engines
    /// build none: the hot path stays a read/write loop.
    pub fn wants_data(&self) -> bool {
        self.data
    }

    /// An `Events` whose receiver is handed to the caller: for tests and embedding.
    pub fn channel(wants_data: bool) -> (Events, mpsc::Receiver<Event>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Events { tx, data: wants_data }, rx)
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
