//! The one thread that writes accepted webhooks to the database. The
//! HTTP side sends it each checked event and awaits the reply; it stores
//! every event waiting at that moment in one transaction (one sync for
//! all of them), so a burst costs a few commits, not one per request.
//! It also answers the health probe (a synced write) and the gauges
//! `/metrics` shows, so no request ever blocks the async side on SQLite.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::Shared;
use super::store::Store;
use crate::finding::ScanError;
use crate::ui;

/// Events (and probes) waiting for the writer: past this, a request is
/// answered 503 and the Hub delivers it again, instead of the queue
/// growing without bound in memory.
const BACKLOG: usize = 4096;
/// The most events one transaction stores.
const BATCH: usize = 512;
/// How long a health probe's result is reused: a flood of `/healthz`
/// costs one synced write a second, not one per request.
const PROBE_EVERY: Duration = Duration::from_secs(1);

/// An event checked and reduced, ready to store.
pub struct NewEvent {
    pub repo: String,
    pub scope: String,
    pub action: String,
    pub body: String,
}

/// The queue's gauges, for `/metrics`.
#[derive(Default, Clone)]
pub struct Gauges {
    pub pending: u64,
    pub retry_pending: u64,
    pub undelivered: u64,
    pub incidents: Vec<(super::incident::State, u64)>,
}

pub enum Command {
    Store(NewEvent, oneshot::Sender<Result<i64, String>>),
    Probe(oneshot::Sender<Result<(), String>>),
    Gauges(oneshot::Sender<Result<Gauges, String>>),
}

/// The HTTP side's handle on the writer.
#[derive(Clone)]
pub struct Writer {
    tx: SyncSender<Command>,
}

/// Why a command got no answer.
pub enum Refused {
    /// The writer is behind by [`BACKLOG`] commands.
    Busy,
    /// The writer has stopped (or failed).
    Gone,
}

impl Writer {
    pub fn new() -> (Writer, Receiver<Command>) {
        let (tx, rx) = std::sync::mpsc::sync_channel(BACKLOG);
        (Writer { tx }, rx)
    }

    fn send<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<oneshot::Receiver<T>, Refused> {
        let (tx, rx) = oneshot::channel();
        match self.tx.try_send(make(tx)) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(Refused::Busy),
            Err(TrySendError::Disconnected(_)) => Err(Refused::Gone),
        }
    }

    /// Stores an event; resolves once it is on disk, with its id.
    pub async fn store(&self, event: NewEvent) -> Result<i64, String> {
        match self.send(|tx| Command::Store(event, tx)) {
            Ok(rx) => rx
                .await
                .unwrap_or_else(|_| Err("the writer stopped".into())),
            Err(Refused::Busy) => Err("the database writer is behind".into()),
            Err(Refused::Gone) => Err("the database writer has stopped".into()),
        }
    }

    /// Whether the database can be written now.
    pub async fn probe(&self) -> Result<(), String> {
        match self.send(Command::Probe) {
            Ok(rx) => rx
                .await
                .unwrap_or_else(|_| Err("the writer stopped".into())),
            Err(Refused::Busy) => Ok(()),
            Err(Refused::Gone) => Err("the database writer has stopped".into()),
        }
    }

    pub async fn gauges(&self) -> Result<Gauges, String> {
        match self.send(Command::Gauges) {
            Ok(rx) => rx
                .await
                .unwrap_or_else(|_| Err("the writer stopped".into())),
            Err(Refused::Busy) => Err("the database writer is behind".into()),
            Err(Refused::Gone) => Err("the database writer has stopped".into()),
        }
    }
}

/// Runs until every [`Writer`] is dropped.
pub fn run(shared: &Shared, mut store: Store, rx: Receiver<Command>) {
    let mut probed: Option<(Instant, Result<(), String>)> = None;
    loop {
        let first = match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(c) => c,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let mut events = Vec::new();
        let mut replies = Vec::new();
        for command in batch {
            match command {
                Command::Store(e, reply) => {
                    events.push((e.repo, e.scope, e.action, e.body));
                    replies.push(reply);
                }
                Command::Probe(reply) => {
                    let fresh = probed
                        .as_ref()
                        .filter(|(at, _)| at.elapsed() < PROBE_EVERY)
                        .map(|(_, r)| r.clone());
                    let result = fresh.unwrap_or_else(|| {
                        let r = store.probe();
                        probed = Some((Instant::now(), r.clone()));
                        r
                    });
                    let _ = reply.send(result);
                }
                Command::Gauges(reply) => {
                    let g = (|| {
                        Ok(Gauges {
                            pending: store.pending()?,
                            retry_pending: store.retry_pending()?,
                            undelivered: store.undelivered()?,
                            incidents: store.incident_counts()?,
                        })
                    })();
                    let _ = reply.send(g);
                }
            }
        }
        if events.is_empty() {
            continue;
        }
        match store.enqueue_all(&events) {
            Ok(ids) => {
                for (reply, id) in replies.into_iter().zip(ids) {
                    let _ = reply.send(Ok(id));
                }
                shared.notify();
            }
            Err(e) => {
                ui::error(&ScanError::new(
                    shared.config.db.display().to_string(),
                    format!(
                        "{} could not be stored (answered 503): {e}",
                        ui::plural(events.len() as u64, "event")
                    ),
                ));
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
