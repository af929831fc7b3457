//! Incidents: one per distinct token (`secret_sha256`) this server has
//! found, with its places, its verification history and a history of
//! state changes. Data and pure transitions only; the database keeps them
//! (`store`), the workers, the re-verification loop and the operator API
//! change them. Nothing here holds a raw token.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::finding::{Finding, RepoRef, Status, Verification, sha256_hex};
use crate::sources::git::rfc3339;

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not known to be dead.
    Open,
    /// Revoked by this server, by policy or by an operator.
    Revoked,
    /// The Hub says the token no longer works (revoked elsewhere, expired).
    Inactive,
    /// An operator marked it as no risk, with a reason.
    Accepted,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Open,
        State::Revoked,
        State::Inactive,
        State::Accepted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Revoked => "revoked",
            State::Inactive => "inactive",
            State::Accepted => "accepted",
        }
    }

    pub fn parse(text: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Who changed an incident.
pub const POLICY: &str = "policy";
pub const REVERIFY: &str = "reverify";
pub const ADMIN: &str = "admin";

/// A place the token was found at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub repo: RepoRef,
    pub path: String,
    #[serde(default)]
    pub commit: Option<String>,
    /// A discussion's number and event.
    #[serde(default)]
    pub discussion: Option<(u64, String)>,
    #[serde(default)]
    pub url: Option<String>,
    /// When this server first saw it (ms).
    pub first_seen: i64,
}

impl Place {
    /// The place of a finding, as the incident keeps it.
    pub fn of(f: &Finding, now: i64) -> Option<Place> {
        Some(Place {
            repo: f.repo.clone()?,
            path: f.path.clone(),
            commit: f.commit.as_ref().map(|c| c.id.clone()),
            discussion: f.discussion.as_ref().map(|d| (d.num, d.event_id.clone())),
            url: f.url.clone(),
            first_seen: now,
        })
    }

    /// Whether `other` is the same place (the time aside).
    fn same(&self, other: &Place) -> bool {
        self.repo == other.repo
            && self.path == other.path
            && self.discussion == other.discussion
            && (self.discussion.is_some() || self.commit == other.commit)
    }
}

/// One verification of the token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub at: i64,
    pub status: Status,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub orgs: Vec<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

impl Check {
    pub fn of(v: &Verification, at: i64) -> Check {
        let token = v.token.as_ref();
        Check {
            at,
            status: v.status,
            reason: v.reason.clone(),
            owner: v.owner.as_ref().map(|o| o.name.clone()),
            orgs: v.orgs.iter().map(|o| o.name.clone()).collect(),
            role: token.and_then(|t| t.role.clone()),
            scopes: token
                .and_then(|t| t.permissions.as_ref())
                .map(|p| p.global.clone())
                .unwrap_or_default(),
        }
    }
}

/// One change of state, or a note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub at: i64,
    pub actor: String,
    pub change: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An incident, as stored (times in ms since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub state: State,
    pub rule_id: String,
    /// Redacted.
    pub secret: String,
    pub secret_sha256: String,
    pub first_seen: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub closed_at: Option<i64>,
    pub places: Vec<Place>,
    #[serde(default)]
    pub verifications: Vec<Check>,
    #[serde(default)]
    pub history: Vec<Change>,
    /// Why the last re-verification could not be done, if it could not.
    #[serde(default)]
    pub note: Option<String>,
}

/// An incident's id: stable for a token, and telling nothing of it.
pub fn incident_id(secret_sha256: &str) -> String {
    format!(
        "inc_{}",
        &sha256_hex(format!("hfleaks-incident\0{secret_sha256}").as_bytes())[..20]
    )
}

impl Incident {
    /// A new incident for a redacted finding, open.
    pub fn new(f: &Finding, now: i64) -> Incident {
        Incident {
            id: incident_id(&f.secret_sha256),
            state: State::Open,
            rule_id: f.rule_id.clone(),
            secret: f.secret.clone(),
            secret_sha256: f.secret_sha256.clone(),
            first_seen: now,
            updated_at: now,
            closed_at: None,
            places: Vec::new(),
            verifications: Vec::new(),
            history: vec![Change {
                at: now,
                actor: POLICY.to_string(),
                change: "opened".to_string(),
                reason: None,
            }],
            note: None,
        }
    }

    /// Adds a place; false if it was known.
    pub fn add_place(&mut self, place: Place) -> bool {
        if self.places.iter().any(|p| p.same(&place)) {
            return false;
        }
        self.updated_at = self.updated_at.max(place.first_seen);
        self.places.push(place);
        true
    }

    pub fn add_check(&mut self, check: Check) {
        self.updated_at = self.updated_at.max(check.at);
        self.verifications.push(check);
    }

    /// Moves to `state`; false (nothing recorded) if it is there already.
    pub fn set_state(
        &mut self,
        state: State,
        actor: &str,
        reason: Option<String>,
        now: i64,
    ) -> bool {
        if self.state == state {
            return false;
        }
        self.history.push(Change {
            at: now,
            actor: actor.to_string(),
            change: state.as_str().to_string(),
            reason,
        });
        self.state = state;
        self.updated_at = now;
        self.closed_at = (state != State::Open).then_some(now);
        true
    }

    /// The last verification's status, if any was made.
    pub fn live(&self) -> Option<Status> {
        self.verifications.last().map(|c| c.status)
    }

    /// How long the token was exposed: first seen until closed, or now.
    pub fn exposed_ms(&self, now: i64) -> i64 {
        (self.closed_at.unwrap_or(now) - self.first_seen).max(0)
    }

    /// The repo of the first place, as reports name repos.
    pub fn repo(&self) -> String {
        self.places
            .first()
            .map(|p| p.repo.display())
            .unwrap_or_default()
    }

    /// The incident as the API and alerts show it.
    pub fn view(&self, now: i64) -> Value {
        let time = |ms: i64| rfc3339(ms.div_euclid(1000), 0);
        let status = |s: Status| serde_json::to_value(s).unwrap_or(Value::Null);
        json!({
            "id": self.id,
            "state": self.state.as_str(),
            "rule_id": self.rule_id,
            "secret": self.secret,
            "secret_sha256": self.secret_sha256,
            "first_seen": time(self.first_seen),
            "updated_at": time(self.updated_at),
            "closed_at": self.closed_at.map(time),
            "exposed_seconds": self.exposed_ms(now) / 1000,
            "live": self.live().map(status),
            "owner": self.verifications.iter().rev().find_map(|c| c.owner.clone()),
            "repo": self.repo(),
            "places": self.places.iter().map(|p| json!({
                "repo": {"type": p.repo.kind, "id": p.repo.id},
                "path": p.path,
                "commit": p.commit,
                "discussion": p.discussion.as_ref().map(|(n, e)| json!({"num": n, "event_id": e})),
                "url": p.url,
                "first_seen": time(p.first_seen),
            })).collect::<Vec<_>>(),
            "verifications": self.verifications.iter().map(|c| json!({
                "at": time(c.at),
                "status": status(c.status),
                "reason": c.reason,
                "owner": c.owner,
                "orgs": c.orgs,
                "role": c.role,
                "scopes": c.scopes,
            })).collect::<Vec<_>>(),
            "history": self.history.iter().map(|h| json!({
                "at": time(h.at),
                "actor": h.actor,
                "change": h.change,
                "reason": h.reason,
            })).collect::<Vec<_>>(),
            "note": self.note,
        })
    }

    /// The one-line `text` of an `incident.updated` alert (not escaped).
    pub fn update_line(&self) -> String {
        let last = self.history.last();
        format!(
            "hfleaks: incident {} ({} {}) in {} is now {}{}{}",
            self.id,
            self.secret,
            self.rule_id,
            self.repo(),
            self.state.as_str(),
            last.map(|h| format!(" by {}", h.actor)).unwrap_or_default(),
            last.and_then(|h| h.reason.as_deref())
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::RepoKind;

    fn incident() -> Incident {
        let place = Place {
            repo: RepoRef {
                kind: RepoKind::Model,
                id: "acme/app".into(),
            },
            path: "a.py".into(),
            commit: Some("c1".into()),
            discussion: None,
            url: None,
            first_seen: 1_000,
        };
        let mut i = Incident {
            id: incident_id(&"aa".repeat(32)),
            state: State::Open,
            rule_id: "hf-user-access-token".into(),
            secret: "hf_Ab…yz".into(),
            secret_sha256: "aa".repeat(32),
            first_seen: 1_000,
            updated_at: 1_000,
            closed_at: None,
            places: Vec::new(),
            verifications: Vec::new(),
            history: Vec::new(),
            note: None,
        };
        assert!(i.add_place(place));
        i
    }

    #[test]
    fn a_place_is_added_once_and_state_changes_are_recorded_with_their_actor() {
        let mut i = incident();
        let again = i.places[0].clone();
        assert!(!i.add_place(Place {
            first_seen: 5_000,
            ..again
        }));
        assert!(i.set_state(State::Revoked, POLICY, Some("live".into()), 3_000));
        assert!(!i.set_state(State::Revoked, ADMIN, None, 4_000));
        assert_eq!(i.closed_at, Some(3_000));
        assert_eq!(i.exposed_ms(10_000), 2_000);
        let last = i.history.last().unwrap();
        assert_eq!(
            (last.actor.as_str(), last.change.as_str()),
            (POLICY, "revoked")
        );
        let v = i.view(10_000);
        assert_eq!(v["state"], "revoked");
        assert_eq!(v["live"], Value::Null, "not checked");
        assert_eq!(v["repo"], "acme/app");
        assert!(i.id.starts_with("inc_") && !i.id.contains(&"aa".repeat(10)));
    }
}
