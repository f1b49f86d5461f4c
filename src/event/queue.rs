//! The queue between the engines and the views: bounded by events and by the bytes of data
//! events, so a slow view slows the sockets instead of growing memory. An engine's
//! [`Events::send`] queues at once when there is room and returns a 16-byte [`Sending`]
//! that only waits (boxed) when there is not.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::sync::{Semaphore, mpsc};

use super::{Event, EventKind};

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
    ///
    /// The event is queued when `send` is called if there is room (the common case); only
    /// a wait is boxed. A connection's future holds this 16-byte `Sending` at each of its
    /// awaits instead of an event and a channel's send future (hundreds of bytes): what an
    /// idle client costs.
    pub fn send(&self, kind: EventKind) -> Sending<'_> {
        match self.send_now(kind) {
            None => Sending(None),
            Some(kind) => Sending(Some(Box::pin(self.send_waiting(kind)))),
        }
    }

    /// Sends events in order, as [`send`](Self::send) does each: those there is room for
    /// at once go now; from the first that must wait, the rest wait behind it (boxed).
    pub fn send_all<'a, I>(&'a self, kinds: I) -> Sending<'a>
    where
        I: IntoIterator<Item = EventKind>,
        I::IntoIter: Send + 'a,
    {
        let mut kinds = kinds.into_iter();
        while let Some(kind) = kinds.next() {
            if let Some(kind) = self.send_now(kind) {
                return Sending(Some(Box::pin(async move {
                    self.send_waiting(kind).await;
                    for kind in kinds {
                        self.send(kind).await;
                    }
                })));
            }
        }
        Sending(None)
    }

    /// Queues the event if there is room now; hands it back otherwise.
    fn send_now(&self, kind: EventKind) -> Option<EventKind> {
        let cost = cost(&kind);
        let permit = match self.room.try_acquire_many(cost) {
            Ok(permit) => permit,
            Err(tokio::sync::TryAcquireError::NoPermits) => return Some(kind),
            Err(tokio::sync::TryAcquireError::Closed) => return None,
        };
        match self.tx.try_send(Event::now(kind)) {
            Ok(()) => {
                permit.forget();
                None
            }
            Err(mpsc::error::TrySendError::Full(event)) => Some(event.kind),
            Err(mpsc::error::TrySendError::Closed(_)) => None,
        }
    }

    async fn send_waiting(&self, kind: EventKind) {
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

/// An event on its way: done, or waiting for room in the queue.
#[must_use = "an event waiting for room is sent only when awaited"]
pub struct Sending<'a>(Option<Pin<Box<dyn Future<Output = ()> + Send + 'a>>>);

impl Sending<'_> {
    /// Nothing to send.
    pub fn done() -> Self {
        Sending(None)
    }
}

impl Future for Sending<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            None => Poll::Ready(()),
            Some(waiting) => waiting.as_mut().poll(cx),
        }
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
