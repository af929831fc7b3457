//! Revocation: asks the Hub to kill leaked tokens. Only ever on the user's
//! explicit command (`hfleaks revoke`). The public endpoint takes batches,
//! needs no authentication and always answers 202, so a success means
//! "revocation requested", never "revoked"; the organization endpoint
//! cuts one token off from one organization, with its admin's token.

use serde_json::json;

use super::client::{Hub, status_text};

/// The most tokens sent in one request to the public endpoint.
pub const BATCH: usize = 100;

/// `POST /api/credentials/revoke` for each batch of at most [`BATCH`]
/// tokens. Returns, per batch, the number of tokens and the outcome.
pub fn revoke_public(hub: &Hub, tokens: &[String]) -> Vec<(usize, Result<(), String>)> {
    let url = hub.endpoint().url("/api/credentials/revoke");
    tokens
        .chunks(BATCH)
        .map(|batch| {
            let body = json!({ "credentials": batch });
            let outcome = hub.post_json(&url, None, &body).and_then(|r| {
                let secrets: Vec<&str> = batch.iter().map(String::as_str).collect();
                accepted(r.status, &r.error_message, &secrets)
            });
            (batch.len(), outcome)
        })
        .collect()
}

/// `POST /api/organizations/ORG/settings/tokens/revoke` with the admin's
/// token, one token at a time.
pub fn revoke_in_org(hub: &Hub, org: &str, admin: &str, token: &str) -> Result<(), String> {
    let url = hub.endpoint().url(&format!(
        "/api/organizations/{}/settings/tokens/revoke",
        crate::sources::hub::encode(org)
    ));
    let r = hub.post_json(&url, Some(admin), &json!({ "token": token }))?;
    accepted(r.status, &r.error_message, &[token, admin])
}

/// 2xx is accepted; anything else is the reason, with no token in it.
fn accepted(status: u16, message: &Option<String>, secrets: &[&str]) -> Result<(), String> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let mut reason = status_text(status);
    if let Some(m) = message {
        reason.push_str(&format!(": {}", super::clean_all(m, secrets)));
    }
    Err(reason)
}
