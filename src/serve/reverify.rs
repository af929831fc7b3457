//! What is done to an incident after it is opened: re-verification every
//! `--reverify-every` (with `--verify`), and an operator's verify, revoke
//! and accept. The database never holds a raw token, so each of these
//! reads the token again from one of its places on the Hub (the file at
//! its commit, the discussion, the Space's variables), recognizes it by
//! its `secret_sha256`, and only then asks whoami or the revoke endpoint.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::incident::{ADMIN, Check, Incident, REVERIFY, State};
use super::store::{Store, now_ms};
use super::{RevokePolicy, Shared};
use crate::audit::hub::one_discussion;
use crate::audit::variables::{PATH_PREFIX, space_variables};
use crate::finding::{ScanError, Status, sha256_hex};
use crate::http::Hub;
use crate::notebook::is_notebook;
use crate::sources::hub::{encode_path, web_url};
use crate::ui;
use crate::verify::revoke::revoke_public;

/// What is asked of an incident.
pub enum Action {
    /// The periodic check (actor `reverify`).
    Reverify,
    /// An operator's "verify now" (actor `admin`).
    Verify,
    /// An operator's revoke.
    Revoke,
    /// An operator's accept, with the reason.
    Accept(String),
}

/// Why an action could not be done.
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    /// Not in a state that allows it, or the token could not be read.
    Conflict(String),
    /// The database or the Hub failed.
    Failed(String),
}

/// Runs the periodic re-verification until SIGTERM (with `--verify`).
pub fn run(shared: &Shared) {
    let Some(mut store) = shared.open_store() else {
        return;
    };
    let every = shared.config.reverify_every;
    let mut next = Instant::now() + every;
    while !shared.stop.load(Ordering::Relaxed) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(100).min(every));
            continue;
        }
        next = Instant::now() + every;
        let open = match store.open_incidents() {
            Ok(o) => o,
            Err(e) => {
                ui::error(&ScanError::new("serve", format!("incidents: {e}")));
                continue;
            }
        };
        for incident in open {
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            if let Err(Refusal::Failed(e) | Refusal::Conflict(e)) =
                act(shared, &mut store, &incident.id, Action::Reverify)
            {
                ui::note(format!("incident {}: re-verification: {e}", incident.id));
            }
        }
    }
}

/// Does `action` to incident `id` and returns it as it is now.
pub fn act(
    shared: &Shared,
    store: &mut Store,
    id: &str,
    action: Action,
) -> Result<Incident, Refusal> {
    let config = &shared.config;
    let incident = store
        .incident(id)
        .map_err(Refusal::Failed)?
        .ok_or(Refusal::NotFound)?;
    let update = |store: &mut Store, change: &mut dyn FnMut(&mut Incident)| {
        store
            .update_incident(id, &config.alerts, |i| change(i))
            .map_err(Refusal::Failed)?
            .ok_or(Refusal::NotFound)
    };
    match action {
        Action::Accept(reason) => {
            if incident.state != State::Open {
                return Err(Refusal::Conflict(format!(
                    "the incident is {}, not open",
                    incident.state.as_str()
                )));
            }
            update(store, &mut |i| {
                i.set_state(State::Accepted, ADMIN, Some(reason.clone()), now_ms());
            })
        }
        Action::Revoke => {
            if incident.state == State::Revoked {
                return Ok(incident);
            }
            let token = token_of(shared, store, &incident)?;
            revoke(shared, store, &incident.secret_sha256, token)?;
            update(store, &mut |i| {
                i.note = None;
                i.set_state(
                    State::Revoked,
                    ADMIN,
                    Some("revoked by an operator".into()),
                    now_ms(),
                );
            })
        }
        Action::Reverify | Action::Verify => {
            let actor = if matches!(action, Action::Reverify) {
                REVERIFY
            } else {
                ADMIN
            };
            if matches!(action, Action::Reverify) && incident.state != State::Open {
                return Ok(incident);
            }
            if !config.verify.enabled || config.verify.offline {
                return Err(Refusal::Conflict(
                    "serve runs without --verify: tokens are not sent to whoami".into(),
                ));
            }
            let token = token_of(shared, store, &incident)?;
            let results = crate::verify::check_all(std::slice::from_ref(&token), &config.verify);
            let Some(v) = results.get(&token).cloned() else {
                return Err(Refusal::Failed("whoami gave no answer".into()));
            };
            let live_revoke = v.status == Status::Valid
                && incident.state == State::Open
                && config.revoke_policy == RevokePolicy::Live;
            if live_revoke {
                revoke(shared, store, &incident.secret_sha256, token)?;
            }
            let now = now_ms();
            update(store, &mut |i| {
                i.note = None;
                i.add_check(Check::of(&v, now));
                if i.state != State::Open {
                    return;
                }
                if v.status == Status::Invalid {
                    i.set_state(
                        State::Inactive,
                        actor,
                        Some(format!(
                            "whoami: {}",
                            v.reason.as_deref().unwrap_or("the token is not valid")
                        )),
                        now,
                    );
                } else if live_revoke {
                    i.set_state(
                        State::Revoked,
                        super::incident::POLICY,
                        Some("live token revoked by --revoke-policy live".into()),
                        now,
                    );
                }
            })
        }
    }
}

/// The incident's raw token, read again; when no place has it, the
/// incident gets a note saying so (and stays as it is).
fn token_of(shared: &Shared, store: &mut Store, incident: &Incident) -> Result<String, Refusal> {
    read_token(shared, incident).or_else(|why| {
        let note = format!("no place could be read again: {why}");
        store
            .update_incident(&incident.id, &shared.config.alerts, |i| {
                i.note = Some(note.clone());
                i.updated_at = now_ms();
            })
            .map_err(Refusal::Failed)?;
        Err(Refusal::Conflict(format!(
            "the token could not be read again from any of its places: {why}"
        )))
    })
}

/// Asks the Hub to revoke `token`, recorded first (see
/// [`Store::intend_revoke`]).
fn revoke(shared: &Shared, store: &mut Store, sha: &str, token: String) -> Result<(), Refusal> {
    store
        .intend_revoke(&[sha.to_string()])
        .map_err(Refusal::Failed)?;
    let hub = Hub::new(
        shared.config.verify.endpoint.clone(),
        shared.config.verify.timeout,
    );
    match revoke_public(&hub, &[token]).pop() {
        Some((_, Ok(()))) => {
            shared.metrics.revocations.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        Some((_, Err(e))) => Err(Refusal::Failed(format!("the revoke request failed: {e}"))),
        None => Err(Refusal::Failed("no revoke request was made".into())),
    }
}

/// The raw token of `incident`, read again from the first of its places
/// that still holds it.
pub fn read_token(shared: &Shared, incident: &Incident) -> Result<String, String> {
    let mut why = Vec::new();
    for place in &incident.places {
        let at = if place.path.is_empty() {
            format!("{} (a commit message)", place.repo.display())
        } else {
            format!("{}: {}", place.repo.display(), place.path)
        };
        match read_at(shared, place, &incident.secret_sha256) {
            Ok(Some(token)) => return Ok(token),
            Ok(None) => why.push(format!("{at}: no longer there")),
            Err(e) => why.push(format!("{at}: {e}")),
        }
    }
    if why.is_empty() {
        why.push("it has no place".into());
    }
    Err(why.join("; "))
}

fn read_at(
    shared: &Shared,
    place: &super::incident::Place,
    sha: &str,
) -> Result<Option<String>, String> {
    let config = &shared.config;
    let scanner = &shared.scanner;
    let token = config.token.as_deref();
    let findings = if let Some((num, _)) = &place.discussion {
        one_discussion(scanner, &config.client, token, &place.repo, *num, None)?.0
    } else if place.path.starts_with(PATH_PREFIX) {
        space_variables(scanner, &config.client, token, &place.repo, None)
            .map_err(|e| e.message)?
            .findings
    } else if let (Some(commit), false) = (&place.commit, place.path.is_empty()) {
        // An archive member (`a.zip!b.env`): the archive is read whole.
        let outer = place.path.split('!').next().unwrap_or(&place.path);
        let url = format!(
            "{}/resolve/{commit}/{}",
            web_url(&config.client, &place.repo),
            encode_path(outer)
        );
        let limit = config
            .lfs
            .unwrap_or(config.max_file_size)
            .max(config.max_file_size);
        let content = config.client.content(&url, token, None, limit)?;
        if content.status != 200 {
            return Err(format!("HTTP {}", content.status));
        }
        scanner.scan(&content.body, "", is_notebook(outer)).findings
    } else {
        return Ok(None);
    };
    Ok(findings
        .into_iter()
        .find(|f| f.secret_sha256 == sha && sha256_hex(f.secret.as_bytes()) == sha)
        .map(|f| f.secret))
}
