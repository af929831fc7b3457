//! `serve`'s database (SQLite, WAL): the event queue, each repo's audit
//! record, the findings alerted, and the alert outbox. What reaches it is
//! redacted: events keep only what the worker needs (no comment content,
//! no title), records and findings hold redacted secrets and their
//! `secret_sha256`, and an alert body is the redacted finding.
//!
//! Exactly once: an audit's outcome (the record, the findings alerted, one
//! outbox row per alert URL, the events done) is one transaction, so a
//! crash before it leaves the events pending and the audit is done again
//! with the same result; after it, nothing is done twice.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::{Value, json};

use super::incident::{Check, Incident, POLICY, State};
use crate::finding::Status;
use crate::state::RepoState;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    scope TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE INDEX IF NOT EXISTS events_pending ON events (done_at, id);
CREATE TABLE IF NOT EXISTS records (
    repo TEXT PRIMARY KEY,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS findings (
    key TEXT PRIMARY KEY,
    repo TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    finding TEXT NOT NULL,
    event INTEGER NOT NULL,
    alerted_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error TEXT,
    UNIQUE (alert, url)
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (delivered_at, next_at);
CREATE TABLE IF NOT EXISTS incidents (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    -- newline-separated: each place's repo as reports name it, and its id
    repos TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_newest ON incidents (first_seen, id);
CREATE TABLE IF NOT EXISTS revocations (
    secret_sha256 TEXT PRIMARY KEY,
    requested_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS health (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
";

/// Columns added to `events` after the first release: a database made by
/// an earlier build gains them when opened.
const EVENT_COLUMNS: [(&str, &str); 3] = [
    // Tries of the part this event stands for that failed (0: a delivery
    // from the Hub; more: a retry record).
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    // Not audited before this time (ms): a retry's backoff.
    ("not_before", "INTEGER NOT NULL DEFAULT 0"),
    ("last_error", "TEXT"),
];

/// The outbox's `url` column holds this prefix and a digest of the URL,
/// never the URL: an alert URL is a secret (a Slack webhook URL lets
/// anyone post), and the delivery workers know the URLs from their
/// configuration.
const URL_KEY_PREFIX: &str = "sha256:";

/// The outbox's `url` for an alert recorded while no alert URL was
/// configured: expanded to one row per URL once some are.
pub const UNROUTED: &str = "";

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// One connection to the database (each thread opens its own).
pub struct Store {
    conn: Connection,
}

/// A stored event, as the worker reads it.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: i64,
    pub repo: String,
    pub scope: String,
    pub action: String,
    /// The reduced payload (JSON).
    pub body: String,
    /// Failed tries of the part this event stands for (0 for a delivery).
    pub attempts: u32,
    /// When it was accepted (ms).
    pub received_at: i64,
}

/// A part of an audit that failed for a reason that may pass (the Hub
/// down, a cut download, a rate limit past its wait): stored as an event
/// of its own, audited again after `not_before`.
#[derive(Debug, Clone)]
pub struct Retry {
    pub scope: String,
    pub action: String,
    pub body: String,
    pub attempts: u32,
    pub not_before: i64,
    pub error: String,
}

/// The key the outbox stores for an alert URL: a digest, never the URL.
pub fn url_key(url: &str) -> String {
    format!(
        "{URL_KEY_PREFIX}{}",
        &crate::finding::sha256_hex(url.trim().as_bytes())[..32]
    )
}

/// A new finding to alert, with its alert body.
pub struct Alert {
    pub key: String,
    pub id: String,
    pub repo: String,
    pub secret_sha256: String,
    pub finding: String,
    pub body: String,
    /// The token's incident: opened or given this place, in the same
    /// transaction. The alert goes out for a new token, whatever its
    /// state, and for a new place only while the incident is open.
    pub incident: Option<IncidentOp>,
}

/// What a new finding does to its token's incident.
pub struct IncidentOp {
    /// The finding, redacted.
    pub finding: crate::finding::Finding,
    /// whoami's answer, with `--verify`.
    pub check: Option<Check>,
    /// Revoked by policy before this alert (the revoke request was sent).
    pub revoked: bool,
}

/// An alert due for delivery.
pub struct Delivery {
    pub row: i64,
    pub alert: String,
    pub url: String,
    pub body: String,
    pub attempts: i64,
}

fn fail(path: &Path, e: rusqlite::Error) -> String {
    format!("{}: {e}", path.display())
}

impl Store {
    /// Opens (and creates) the database at `path`, in WAL mode with every
    /// commit synced.
    pub fn open(path: &Path) -> Result<Store, String> {
        private_files(path)?;
        let conn = Connection::open(path).map_err(|e| fail(path, e))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| fail(path, e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| fail(path, e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "{}: the database cannot be put in WAL mode (got {mode})",
                path.display()
            ));
        }
        conn.execute_batch("PRAGMA synchronous=FULL;")
            .map_err(|e| fail(path, e))?;
        conn.execute_batch(SCHEMA).map_err(|e| fail(path, e))?;
        migrate(&conn).map_err(|e| fail(path, e))?;
        // SQLite gives the WAL and SHM files the database's mode; any left
        // by an earlier, looser build are tightened here.
        private_files(path)?;
        Ok(Store { conn })
    }

    /// Stores accepted events in one transaction (one sync for all of
    /// them); returns their ids once they are on disk.
    pub fn enqueue_all(
        &mut self,
        events: &[(String, String, String, String)],
    ) -> Result<Vec<i64>, String> {
        let now = now_ms();
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let mut ids = Vec::with_capacity(events.len());
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO events (repo, scope, action, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| e.to_string())?;
            for (repo, scope, action, body) in events {
                stmt.execute(params![repo, scope, action, body, now])
                    .map_err(|e| e.to_string())?;
                ids.push(tx.last_insert_rowid());
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok(ids)
    }

    /// Proves the database can be written: one synced write.
    pub fn probe(&self) -> Result<(), String> {
        self.conn
            .execute(
                "INSERT INTO health (id, checked_at) VALUES (1, ?1) \
                 ON CONFLICT(id) DO UPDATE SET checked_at = excluded.checked_at",
                params![now_ms()],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// Parts of audits waiting to be tried again.
    pub fn retry_pending(&self) -> Result<u64, String> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE done_at IS NULL AND attempts > 0",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }

    /// When the next pending event is due (ms), if any is pending.
    pub fn next_due(&self) -> Result<Option<i64>, String> {
        self.conn
            .query_row(
                "SELECT MIN(not_before) FROM events WHERE done_at IS NULL",
                [],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(|e| e.to_string())
    }

    /// Routes the outbox to the alert URLs configured now: alerts recorded
    /// while none was configured go to each of them, and undelivered
    /// alerts to a URL no longer configured are dropped. Returns
    /// (routed, dropped).
    pub fn route_outbox(&mut self, urls: &[String]) -> Result<(u64, u64), String> {
        let keys: Vec<String> = urls.iter().map(|u| url_key(u)).collect();
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
        let mut routed = 0u64;
        if !keys.is_empty() {
            let rows: Vec<(i64, String, String, i64)> = {
                let mut stmt = tx
                    .prepare(
                        "SELECT id, alert, body, next_at FROM outbox WHERE url = ?1 AND delivered_at IS NULL",
                    )
                    .map_err(|e| e.to_string())?;
                stmt.query_map(params![UNROUTED], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .map_err(|e| e.to_string())?
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?
            };
            for (row, alert, body, next_at) in rows {
                for key in &keys {
                    tx.execute(
                        "INSERT OR IGNORE INTO outbox (alert, url, body, next_at) VALUES (?1, ?2, ?3, ?4)",
                        params![alert, key, body, next_at],
                    )
                    .map_err(|e| e.to_string())?;
                }
                tx.execute("DELETE FROM outbox WHERE id = ?1", params![row])
                    .map_err(|e| e.to_string())?;
                routed += 1;
            }
        }
        let mut dropped = 0u64;
        {
            let mut stmt = tx
                .prepare("SELECT id, url FROM outbox WHERE delivered_at IS NULL AND url != ?1")
                .map_err(|e| e.to_string())?;
            let stale: Vec<i64> = stmt
                .query_map(params![UNROUTED], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(|e| e.to_string())?
                .filter_map(|r| r.ok())
                .filter(|(_, url)| !keys.contains(url))
                .map(|(id, _)| id)
                .collect();
            for id in stale {
                tx.execute("DELETE FROM outbox WHERE id = ?1", params![id])
                    .map_err(|e| e.to_string())?;
                dropped += 1;
            }
        }
        tx.commit().map_err(|e| e.to_string())?;
        Ok((routed, dropped))
    }

    /// Stores an accepted event; returns once it is on disk.
    pub fn enqueue(
        &self,
        repo: &str,
        scope: &str,
        action: &str,
        body: &str,
    ) -> Result<i64, String> {
        self.conn
            .execute(
                "INSERT INTO events (repo, scope, action, body, received_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![repo, scope, action, body, now_ms()],
            )
            .map_err(|e| e.to_string())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Pending events, the one in progress included.
    pub fn pending(&self) -> Result<u64, String> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM events WHERE done_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }

    /// The oldest pending event of a repo not in `busy`, and every pending
    /// event of that repo (coalesced into one audit), oldest first.
    pub fn next_group(&self, busy: &[String]) -> Result<Vec<Event>, String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, repo FROM events WHERE done_at IS NULL AND not_before <= ?3 \
                 ORDER BY id LIMIT ?1 OFFSET ?2",
            )
            .map_err(|e| e.to_string())?;
        // Skip past the busy repos' events a page at a time.
        let mut offset = 0i64;
        let now = now_ms();
        let repo = loop {
            let rows: Vec<(i64, String)> = stmt
                .query_map(params![64, offset, now], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| e.to_string())?
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            if rows.is_empty() {
                return Ok(Vec::new());
            }
            if let Some((_, repo)) = rows.iter().find(|(_, r)| !busy.contains(r)) {
                break repo.clone();
            }
            offset += rows.len() as i64;
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, repo, scope, action, body, attempts, received_at FROM events \
                 WHERE done_at IS NULL AND repo = ?1 ORDER BY id LIMIT 1000",
            )
            .map_err(|e| e.to_string())?;
        let events = stmt
            .query_map(params![repo], |r| {
                Ok(Event {
                    id: r.get(0)?,
                    repo: r.get(1)?,
                    scope: r.get(2)?,
                    action: r.get(3)?,
                    body: r.get(4)?,
                    attempts: r.get::<_, i64>(5)?.clamp(0, u32::MAX as i64) as u32,
                    received_at: r.get(6)?,
                })
            })
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        Ok(events)
    }

    /// A repo's audit record, if it has one.
    pub fn record(&self, repo: &str) -> Result<Option<RepoState>, String> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT record FROM records WHERE repo = ?1",
                params![repo],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        match text {
            None => Ok(None),
            Some(t) => serde_json::from_str(&t)
                .map(Some)
                .map_err(|e| format!("the record of {repo} is not readable: {e}")),
        }
    }

    /// An incident by its id.
    pub fn incident(&self, id: &str) -> Result<Option<Incident>, String> {
        load_incident(&self.conn, "id", id)
    }

    /// Changes incident `id` with `change` in one transaction; each state
    /// change it records is alerted as `incident.updated` to `urls`.
    /// `None` when there is no such incident.
    pub fn update_incident(
        &mut self,
        id: &str,
        urls: &[String],
        change: impl FnOnce(&mut Incident),
    ) -> Result<Option<Incident>, String> {
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        let Some(mut incident) = load_incident(&tx, "id", id)? else {
            return Ok(None);
        };
        let before = incident.history.len();
        change(&mut incident);
        save_incident(&tx, &incident)?;
        alert_changes(&tx, &incident, before, &url_keys(urls), now)?;
        tx.commit().map_err(|e| e.to_string())?;
        Ok(Some(incident))
    }

    /// Incidents newest first (by first seen), `limit` of them after
    /// `cursor` (the last one's `(first_seen, id)`), of a state and a repo
    /// if given.
    pub fn incidents(
        &self,
        state: Option<State>,
        repo: Option<&str>,
        cursor: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<Incident>, String> {
        let (seen, id) = cursor.unwrap_or((i64::MAX, String::new()));
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT doc FROM incidents \
                 WHERE (?1 IS NULL OR state = ?1) \
                   AND (?2 IS NULL OR instr(repos, char(10) || ?2 || char(10)) > 0) \
                   AND (first_seen < ?3 OR (first_seen = ?3 AND (?4 = '' OR id < ?4))) \
                 ORDER BY first_seen DESC, id DESC LIMIT ?5",
            )
            .map_err(|e| e.to_string())?;
        let docs: Vec<String> = stmt
            .query_map(
                params![state.map(State::as_str), repo, seen, id, limit as i64],
                |r| r.get(0),
            )
            .map_err(|e| e.to_string())?
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        docs.iter()
            .map(|d| {
                serde_json::from_str(d).map_err(|e| format!("an incident is not readable: {e}"))
            })
            .collect()
    }

    /// How many incidents are in each state.
    pub fn incident_counts(&self) -> Result<Vec<(State, u64)>, String> {
        State::ALL
            .iter()
            .map(|s| {
                self.conn
                    .query_row(
                        "SELECT COUNT(*) FROM incidents WHERE state = ?1",
                        params![s.as_str()],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(|n| (*s, n as u64))
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    /// Open incidents not re-verified since `before` (ms), oldest first.
    pub fn open_incidents(&self) -> Result<Vec<Incident>, String> {
        self.incidents(Some(State::Open), None, None, usize::MAX >> 1)
    }

    /// Records that the revoke of these tokens is being requested (before
    /// the request, so that a crash in between still ends `revoked`).
    pub fn intend_revoke(&self, shas: &[String]) -> Result<(), String> {
        let now = now_ms();
        for sha in shas {
            self.conn
                .execute(
                    "INSERT OR IGNORE INTO revocations (secret_sha256, requested_at) VALUES (?1, ?2)",
                    params![sha, now],
                )
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Whether a revoke of this token was requested by this server.
    pub fn revoke_requested(&self, sha: &str) -> Result<bool, String> {
        self.conn
            .query_row(
                "SELECT 1 FROM revocations WHERE secret_sha256 = ?1",
                params![sha],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| e.to_string())
    }

    /// Whether this token has an incident.
    pub fn has_incident(&self, sha: &str) -> Result<bool, String> {
        load_incident(&self.conn, "secret_sha256", sha).map(|i| i.is_some())
    }

    /// The tokens alerted in `repo`: (secret_sha256, the finding as
    /// alerted, redacted), one per place.
    pub fn repo_tokens(&self, repo: &str) -> Result<Vec<(String, String)>, String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT secret_sha256, finding FROM findings WHERE repo = ?1 AND secret_sha256 != '' ORDER BY alerted_at",
            )
            .map_err(|e| e.to_string())?;
        stmt.query_map(params![repo], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| e.to_string())?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    /// Which of `keys` were alerted already.
    pub fn alerted(&self, keys: &[String]) -> Result<Vec<bool>, String> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT 1 FROM findings WHERE key = ?1")
            .map_err(|e| e.to_string())?;
        keys.iter()
            .map(|k| stmt.exists(params![k]).map_err(|e| e.to_string()))
            .collect()
    }

    /// An audit's outcome, in one transaction: the repo's record (`None`:
    /// dropped, for a deleted repo; unchanged when `keep` is false), the
    /// new findings and one outbox row per alert URL, and `events` done.
    #[allow(clippy::too_many_arguments)] // one transaction's every part
    pub fn complete(
        &mut self,
        repo: &str,
        record: Option<&RepoState>,
        keep: bool,
        alerts: &[Alert],
        urls: &[String],
        events: &[i64],
        retries: &[Retry],
    ) -> Result<(), String> {
        let keys = url_keys(urls);
        let now = now_ms();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        if keep {
            match record {
                Some(r) => {
                    let text = serde_json::to_string(r).map_err(|e| e.to_string())?;
                    tx.execute(
                        "INSERT INTO records (repo, record) VALUES (?1, ?2) \
                         ON CONFLICT(repo) DO UPDATE SET record = excluded.record",
                        params![repo, text],
                    )
                    .map_err(|e| e.to_string())?;
                }
                None => {
                    tx.execute("DELETE FROM records WHERE repo = ?1", params![repo])
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        let first = events.first().copied().unwrap_or(0);
        for a in alerts {
            let added = tx
                .execute(
                    "INSERT OR IGNORE INTO findings (key, repo, secret_sha256, finding, event, alerted_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![a.key, a.repo, a.secret_sha256, a.finding, first, now],
                )
                .map_err(|e| e.to_string())?;
            if added == 0 {
                continue;
            }
            let body = match &a.incident {
                None => Some(a.body.clone()),
                Some(op) => apply_op(&tx, op, &a.body, &keys, now)?,
            };
            let Some(body) = body else { continue };
            for key in &keys {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (alert, url, body, next_at) VALUES (?1, ?2, ?3, ?4)",
                    params![a.id, key, body, now],
                )
                .map_err(|e| e.to_string())?;
            }
        }
        for id in events {
            tx.execute(
                "UPDATE events SET done_at = ?1, body = '' WHERE id = ?2",
                params![now, id],
            )
            .map_err(|e| e.to_string())?;
        }
        for r in retries {
            tx.execute(
                "INSERT INTO events (repo, scope, action, body, received_at, attempts, not_before, last_error) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![repo, r.scope, r.action, r.body, now, r.attempts as i64, r.not_before, r.error],
            )
            .map_err(|e| e.to_string())?;
        }
        tx.commit().map_err(|e| e.to_string())
    }

    /// Alerts due for delivery to `url` now, oldest first.
    pub fn due(&self, url: &str, limit: usize) -> Result<Vec<Delivery>, String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, alert, url, body, attempts FROM outbox \
                 WHERE delivered_at IS NULL AND url = ?3 AND next_at <= ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| e.to_string())?;
        stmt.query_map(params![now_ms(), limit as i64, url_key(url)], |r| {
            Ok(Delivery {
                row: r.get(0)?,
                alert: r.get(1)?,
                url: r.get(2)?,
                body: r.get(3)?,
                attempts: r.get(4)?,
            })
        })
        .map_err(|e| e.to_string())?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
    }

    /// When the next undelivered alert to `url` is due (ms).
    pub fn next_delivery(&self, url: &str) -> Result<Option<i64>, String> {
        self.conn
            .query_row(
                "SELECT MIN(next_at) FROM outbox WHERE delivered_at IS NULL AND url = ?1",
                params![url_key(url)],
                |r| r.get::<_, Option<i64>>(0),
            )
            .map_err(|e| e.to_string())
    }

    /// Alerts not delivered yet.
    pub fn undelivered(&self) -> Result<u64, String> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }

    /// An alert delivered.
    pub fn delivered(&self, row: i64) -> Result<(), String> {
        self.conn
            .execute(
                "UPDATE outbox SET delivered_at = ?1, attempts = attempts + 1, last_error = NULL WHERE id = ?2",
                params![now_ms(), row],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// A failed delivery, tried again after `wait`.
    pub fn retry(&self, row: i64, wait: Duration, error: &str) -> Result<(), String> {
        self.conn
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, next_at = ?1, last_error = ?2 WHERE id = ?3",
                params![now_ms() + wait.as_millis() as i64, error, row],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn url_keys(urls: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = urls.iter().map(|u| url_key(u)).collect();
    if keys.is_empty() {
        keys.push(UNROUTED.to_string());
    }
    keys
}

fn load_incident(conn: &Connection, column: &str, value: &str) -> Result<Option<Incident>, String> {
    let doc: Option<String> = conn
        .query_row(
            &format!("SELECT doc FROM incidents WHERE {column} = ?1"),
            params![value],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| e.to_string())?;
    doc.map(|d| {
        serde_json::from_str(&d).map_err(|e| format!("incident {value}: not readable: {e}"))
    })
    .transpose()
}

fn save_incident(conn: &Connection, i: &Incident) -> Result<(), String> {
    // Each place's repo as reports name it, its id, and TYPEs/NS/NAME:
    // `?repo=` takes any of them.
    let mut repos = String::from("\n");
    for p in &i.places {
        let kind = serde_json::to_value(p.repo.kind)
            .ok()
            .and_then(|k| k.as_str().map(str::to_string))
            .unwrap_or_default();
        repos.push_str(&format!(
            "{}\n{}\n{kind}s/{}\n",
            p.repo.display(),
            p.repo.id,
            p.repo.id
        ));
    }
    let doc = serde_json::to_string(i).map_err(|e| e.to_string())?;
    conn.execute(
        "INSERT INTO incidents (id, secret_sha256, state, first_seen, updated_at, repos, doc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT(id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, \
         repos = excluded.repos, doc = excluded.doc",
        params![
            i.id,
            i.secret_sha256,
            i.state.as_str(),
            i.first_seen,
            i.updated_at,
            repos,
            doc
        ],
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Logs each state change recorded after `history[before]`, and alerts
/// it as `incident.updated` to `keys` (none: the change is told by the
/// alert of the finding that opened the incident).
fn alert_changes(
    conn: &Connection,
    i: &Incident,
    before: usize,
    keys: &[String],
    now: i64,
) -> Result<(), String> {
    for (n, change) in i.history.iter().enumerate().skip(before) {
        if State::parse(&change.change).is_none() {
            continue;
        }
        crate::ui::info(format!(
            "incident {}: {} by {}{}",
            i.id,
            change.change,
            change.actor,
            change
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
        let id = crate::finding::sha256_hex(format!("{}\0{n}", i.id).as_bytes())[..32].to_string();
        let body = json!({
            "type": "incident.updated",
            "id": id,
            "incident": i.view(now),
            "text": super::work::slack_text(&i.update_line()),
        })
        .to_string();
        for key in keys {
            conn.execute(
                "INSERT OR IGNORE INTO outbox (alert, url, body, next_at) VALUES (?1, ?2, ?3, ?4)",
                params![id, key, body, now],
            )
            .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// A new finding's effect on its incident, in the audit's transaction;
/// returns the alert body to send (with `incident`), or `None` when this
/// place is not alerted (its incident is closed).
fn apply_op(
    tx: &Connection,
    op: &IncidentOp,
    body: &str,
    keys: &[String],
    now: i64,
) -> Result<Option<String>, String> {
    let f = &op.finding;
    let existing = load_incident(tx, "secret_sha256", &f.secret_sha256)?;
    let new = existing.is_none();
    let mut i = existing.unwrap_or_else(|| Incident::new(f, now));
    let before = if new { 0 } else { i.history.len() };
    let added = super::incident::Place::of(f, now).is_some_and(|p| i.add_place(p));
    if let Some(c) = &op.check {
        i.add_check(c.clone());
    }
    let invalid = op
        .check
        .as_ref()
        .is_some_and(|c| c.status == Status::Invalid);
    if op.revoked && (new || i.state == State::Open) {
        i.set_state(
            State::Revoked,
            POLICY,
            Some("live token revoked by --revoke-policy live".into()),
            now,
        );
    } else if invalid && i.state == State::Open {
        i.set_state(
            State::Inactive,
            POLICY,
            Some("whoami: the token is not valid".into()),
            now,
        );
    }
    save_incident(tx, &i)?;
    // A new token's alert says what was done to it (its incident's state).
    let tell: &[String] = if new { &[] } else { keys };
    alert_changes(tx, &i, before.max(1), tell, now)?;
    if !(new || (added && i.state == State::Open)) {
        return Ok(None);
    }
    let mut v: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    v["incident"] = json!({"id": i.id, "state": i.state.as_str()});
    // The one-line text says it too (what a chat shows).
    if let Some(text) = v["text"].as_str() {
        v["text"] = json!(format!("{text} [incident {}: {}]", i.id, i.state.as_str()));
    }
    Ok(Some(v.to_string()))
}

/// Adds the columns a database of an earlier build lacks, and replaces
/// the alert URLs its outbox stored with their keys.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let have: Vec<String> = conn
        .prepare("PRAGMA table_info(events)")?
        .query_map([], |r| r.get::<_, String>(1))?
        .collect::<Result<_, _>>()?;
    for (name, decl) in EVENT_COLUMNS {
        if !have.iter().any(|c| c == name) {
            conn.execute_batch(&format!("ALTER TABLE events ADD COLUMN {name} {decl}"))?;
        }
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS events_due ON events (done_at, not_before)")?;
    let raw: Vec<(i64, String)> = conn
        .prepare("SELECT id, url FROM outbox WHERE url != '' AND url NOT LIKE 'sha256:%'")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (id, url) in raw {
        conn.execute(
            "UPDATE OR REPLACE outbox SET url = ?1 WHERE id = ?2",
            params![url_key(&url), id],
        )?;
    }
    Ok(())
}

/// The database and the files SQLite keeps beside it.
pub fn db_files(path: &Path) -> Vec<std::path::PathBuf> {
    let name = path.as_os_str().to_owned();
    let mut files = vec![path.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut n = name.clone();
        n.push(suffix);
        files.push(n.into());
    }
    files
}

/// The database holds private repo names and alert routing: it and its
/// WAL, SHM and journal files are readable by their owner only. A missing
/// database is created 0600 (SQLite gives its other files the same mode);
/// an existing file with a wider mode is tightened, with a log line.
#[cfg(unix)]
fn private_files(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("{}: cannot create the database: {e}", path.display()))?;
    }
    for file in db_files(path) {
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(
                |e| {
                    format!(
                        "{}: cannot make it private (mode {mode:o}): {e}",
                        file.display()
                    )
                },
            )?;
            crate::ui::info(format!(
                "{}: mode {mode:o} tightened to 600 (the database holds private repo names)",
                file.display()
            ));
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_files(_path: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_outcome_is_all_or_nothing_and_alerts_once_per_url() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        let a = s
            .enqueue("models/acme/m", "repo.content", "update", "{}")
            .unwrap();
        let b = s
            .enqueue("models/acme/m", "repo.content", "update", "{}")
            .unwrap();
        s.enqueue("models/acme/n", "repo.content", "update", "{}")
            .unwrap();
        assert_eq!(s.pending().unwrap(), 3);
        let group = s.next_group(&[]).unwrap();
        assert_eq!(group.iter().map(|e| e.id).collect::<Vec<_>>(), vec![a, b]);
        let other = s.next_group(&["models/acme/m".to_string()]).unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].repo, "models/acme/n");
        let alert = |key: &str| Alert {
            key: key.into(),
            id: format!("id-{key}"),
            repo: "models/acme/m".into(),
            secret_sha256: "00".into(),
            finding: "{}".into(),
            body: "{}".into(),
            incident: None,
        };
        let urls = vec![
            "http://127.0.0.1:1/a".to_string(),
            "http://127.0.0.1:1/b".to_string(),
        ];
        s.complete(
            "models/acme/m",
            Some(&RepoState::default()),
            true,
            &[alert("k1")],
            &urls,
            &[a, b],
            &[],
        )
        .unwrap();
        assert_eq!(s.pending().unwrap(), 1);
        assert_eq!(
            s.alerted(&["k1".into(), "k2".into()]).unwrap(),
            vec![true, false]
        );
        assert_eq!(s.due(&urls[0], 10).unwrap().len(), 1);
        assert_eq!(s.due(&urls[1], 10).unwrap().len(), 1);
        // The same finding again adds no alert.
        s.complete(
            "models/acme/m",
            None,
            false,
            &[alert("k1")],
            &urls,
            &[],
            &[],
        )
        .unwrap();
        assert_eq!(s.undelivered().unwrap(), 2);
        let d0 = s.due(&urls[0], 10).unwrap();
        let d1 = s.due(&urls[1], 10).unwrap();
        s.delivered(d0[0].row).unwrap();
        s.retry(d1[0].row, Duration::from_secs(60), "503").unwrap();
        assert_eq!(s.undelivered().unwrap(), 1);
        assert!(s.due(&urls[1], 10).unwrap().is_empty());
        assert!(s.record("models/acme/m").unwrap().is_some());
    }

    #[test]
    fn the_outbox_never_holds_an_alert_url_and_follows_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let mut s = Store::open(&db).unwrap();
        let alert = Alert {
            key: "k".into(),
            id: "id-k".into(),
            repo: "r".into(),
            secret_sha256: "00".into(),
            finding: "{}".into(),
            body: "{}".into(),
            incident: None,
        };
        // No URL configured: the alert waits, unrouted.
        s.complete("r", None, false, &[alert], &[], &[], &[])
            .unwrap();
        assert_eq!(s.undelivered().unwrap(), 1);
        let a = "https://hooks.example/services/T0/B0/secretpath".to_string();
        let b = "https://other.example/x".to_string();
        assert_eq!(s.route_outbox(std::slice::from_ref(&a)).unwrap(), (1, 0));
        assert_eq!(s.due(&a, 10).unwrap().len(), 1);
        // A URL no longer configured: its pending deliveries are dropped.
        assert_eq!(s.route_outbox(std::slice::from_ref(&b)).unwrap(), (0, 1));
        assert_eq!(s.undelivered().unwrap(), 0);
        drop(s);
        let bytes = std::fs::read(&db).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("secretpath") && !text.contains("hooks.example"));
    }

    #[test]
    fn retries_wait_for_their_time_and_count_as_pending() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("db")).unwrap();
        let e = s
            .enqueue("models/a/b", "repo.content", "update", "{}")
            .unwrap();
        let later = Retry {
            scope: "repo.content".into(),
            action: "update".into(),
            body: "{}".into(),
            attempts: 1,
            not_before: now_ms() + 60_000,
            error: "HTTP 503".into(),
        };
        s.complete("models/a/b", None, false, &[], &[], &[e], &[later])
            .unwrap();
        assert_eq!(s.pending().unwrap(), 1);
        assert_eq!(s.retry_pending().unwrap(), 1);
        assert!(s.next_group(&[]).unwrap().is_empty(), "not due yet");
        // A new event of the same repo takes the retry along.
        s.enqueue("models/a/b", "repo.content", "update", "{}")
            .unwrap();
        let g = s.next_group(&[]).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g.iter().map(|e| e.attempts).max(), Some(1));
    }

    #[cfg(unix)]
    #[test]
    fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        std::fs::write(&db, b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = Store::open(&db).unwrap();
        s.enqueue("-", "x", "y", "{}").unwrap();
        for f in db_files(&db).into_iter().filter(|f| f.exists()) {
            let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", f.display());
        }
    }
}
