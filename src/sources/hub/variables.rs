//! A Space's variables (`GET /api/spaces/NS/NAME/variables`): the
//! configuration values the Hub shows to anyone on the Space's settings
//! page and copies into every duplicate of it. Not its secrets: those are
//! never readable back. Only the endpoint is asked, with the run's token.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{api_path, json_of};
use crate::finding::RepoRef;
use crate::http::Hub;

/// One variable, as the Hub gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub key: String,
    pub value: String,
    pub description: String,
    /// When it was last changed (`""` when the Hub does not say).
    pub updated_at: String,
}

/// Why a Space's variables were not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub message: String,
    /// The Hub refused (401, 403, 404): the token at hand cannot read the
    /// Space's settings, which is common; a note, not an error.
    pub refused: bool,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "updatedAt", default)]
    updated_at: Option<String>,
}

/// The variables of Space `repo`, by key.
pub fn read(hub: &Hub, token: Option<&str>, repo: &RepoRef) -> Result<Vec<Variable>, Unread> {
    let failed = |message: String| Unread {
        message,
        refused: false,
    };
    let url = hub.endpoint().url(&format!("{}/variables", api_path(repo)));
    let resp = hub.get(&url, token).map_err(failed)?;
    if matches!(resp.status, 401 | 403 | 404) {
        let why = super::refusal(resp.status, None, resp.error_message.as_deref());
        return Err(Unread {
            message: why,
            refused: true,
        });
    }
    let entries: BTreeMap<String, Entry> = json_of(&resp).map_err(failed)?;
    Ok(entries
        .into_iter()
        .map(|(key, e)| Variable {
            key,
            value: e.value.unwrap_or_default(),
            description: e.description.unwrap_or_default(),
            updated_at: e.updated_at.unwrap_or_default(),
        })
        .collect())
}
