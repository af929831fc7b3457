//! Revocation: asks the Hub to kill leaked tokens. Only ever on the user's
//! explicit command (`hfleaks revoke`). The public endpoint takes batches,
//! needs no authentication and always answers 202, so a success means
//! "revocation requested", never "revoked"; the organization endpoint
//! cuts one token off from one organization, with its admin's token.

use serde_json::json;

use super::client::{Hub, status_text};
use crate::finding::redact;

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
            let outcome = hub
                .post_json(&url, None, &body)
                .and_then(|r| accepted(r.status, &r.error_message, batch));
            (batch.len(), outcome)
        })
        .collect()
}

/// `POST /api/organizations/ORG/settings/tokens/revoke` with the admin's
/// token, one token at a time.
pub fn revoke_in_org(hub: &Hub, org: &str, admin: &str, token: &str) -> Result<(), String> {
    let url = hub.endpoint().url(&format!(
        "/api/organizations/{}/settings/tokens/revoke",
        percent_encoding::utf8_percent_encode(org, percent_encoding::NON_ALPHANUMERIC)
    ));
    let r = hub.post_json(&url, Some(admin), &json!({ "token": token }))?;
    accepted(
        r.status,
        &r.error_message,
        &[token.to_string(), admin.to_string()],
    )
}

/// 2xx is accepted; anything else is the reason, with no token in it.
fn accepted(status: u16, message: &Option<String>, secrets: &[String]) -> Result<(), String> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let mut reason = status_text(status);
    if let Some(m) = message {
        let mut m = m.clone();
        for s in secrets {
            m = m.replace(s.as_str(), &redact(s));
        }
        reason.push_str(&format!(
            ": {}",
            m.chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect::<String>()
        ));
    }
    Err(reason)
}
