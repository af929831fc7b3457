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

use rusqlite::{Connection, OptionalExtension, params};

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
";

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
}

/// A new finding to alert, with its alert body.
pub struct Alert {
    pub key: String,
    pub id: String,
    pub repo: String,
    pub secret_sha256: String,
    pub finding: String,
    pub body: String,
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
        Ok(Store { conn })
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
                "SELECT id, repo FROM events WHERE done_at IS NULL ORDER BY id LIMIT ?1 OFFSET ?2",
            )
            .map_err(|e| e.to_string())?;
        // Skip past the busy repos' events a page at a time.
        let mut offset = 0i64;
        let repo = loop {
            let rows: Vec<(i64, String)> = stmt
                .query_map(params![64, offset], |r| Ok((r.get(0)?, r.get(1)?)))
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
                "SELECT id, repo, scope, action, body FROM events \
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
    pub fn complete(
        &mut self,
        repo: &str,
        record: Option<&RepoState>,
        keep: bool,
        alerts: &[Alert],
        urls: &[String],
        events: &[i64],
    ) -> Result<(), String> {
        let now = now_ms();
        let tx = self.conn.transaction().map_err(|e| e.to_string())?;
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
            for url in urls {
                tx.execute(
                    "INSERT OR IGNORE INTO outbox (alert, url, body, next_at) VALUES (?1, ?2, ?3, ?4)",
                    params![a.id, url, a.body, now],
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
        tx.commit().map_err(|e| e.to_string())
    }

    /// Alerts due for delivery now, oldest first.
    pub fn due(&self, limit: usize) -> Result<Vec<Delivery>, String> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, alert, url, body, attempts FROM outbox \
                 WHERE delivered_at IS NULL AND next_at <= ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(|e| e.to_string())?;
        stmt.query_map(params![now_ms(), limit as i64], |r| {
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
        )
        .unwrap();
        assert_eq!(s.pending().unwrap(), 1);
        assert_eq!(
            s.alerted(&["k1".into(), "k2".into()]).unwrap(),
            vec![true, false]
        );
        assert_eq!(s.due(10).unwrap().len(), 2);
        // The same finding again adds no alert.
        s.complete("models/acme/m", None, false, &[alert("k1")], &urls, &[])
            .unwrap();
        assert_eq!(s.undelivered().unwrap(), 2);
        let d = s.due(10).unwrap();
        s.delivered(d[0].row).unwrap();
        s.retry(d[1].row, Duration::from_secs(60), "503").unwrap();
        assert_eq!(s.undelivered().unwrap(), 1);
        assert!(s.due(10).unwrap().is_empty());
        assert!(s.record("models/acme/m").unwrap().is_some());
    }
}
