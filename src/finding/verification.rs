//! What verification found out about a token: whether it is live, who
//! owns it, its role and scopes, and (`--analyze`) what it exposes. Plain
//! data that the report renders; `verify` fills it, and nothing here opens
//! a connection.

use serde::{Deserialize, Serialize};

use crate::rules::Severity;

/// Whether a token still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Invalid,
    Unknown,
}

/// The account a live token authenticates as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub name: String,
    /// `user`, `org` or `app`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub fullname: Option<String>,
}

/// An organization the owner belongs to, and the owner's role in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRole {
    pub name: String,
    /// `admin`, `write`, `contributor`, `read`, … (`roleInOrg`).
    #[serde(default)]
    pub role: Option<String>,
}

/// What the Hub says about the token itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The name its owner gave it (`displayName`).
    #[serde(default)]
    pub name: Option<String>,
    /// `read`, `write` or `fineGrained` (older tokens: `admin`, `contributor`).
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `auth.type`, e.g. `access_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
    /// Fine-grained tokens only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

/// A fine-grained token's permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Permissions on everything the owner can reach (`user.billing.read`, …).
    #[serde(default)]
    pub global: Vec<String>,
    /// Permissions on named users, organizations or repositories.
    #[serde(default)]
    pub scoped: Vec<ScopedPermissions>,
}

/// Permissions on one entity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopedPermissions {
    /// `user`, `org`, `model`, `dataset`, `space`, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// The outcome of asking the Hub about one token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub status: Status,
    /// Why the status is `invalid` or `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Valid tokens: who they authenticate as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orgs: Vec<OrgRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenInfo>,
    /// Valid tokens: whether they can write (push, delete, change settings);
    /// absent when the Hub's answer does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_access: Option<bool>,
    /// `--analyze`: what the token can reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<Exposure>,
}

impl Verification {
    pub fn bare(status: Status, reason: Option<String>) -> Verification {
        Verification {
            status,
            reason,
            owner: None,
            orgs: Vec::new(),
            token: None,
            write_access: None,
            exposure: None,
        }
    }

    pub fn unknown(reason: impl Into<String>) -> Verification {
        Verification::bare(Status::Unknown, Some(reason.into()))
    }

    pub fn invalid(reason: impl Into<String>) -> Verification {
        Verification::bare(Status::Invalid, Some(reason.into()))
    }

    /// The severity of a finding with this outcome: live with write access
    /// is critical, live otherwise high, dead low; unknown keeps the rule's.
    pub fn severity(&self, rule_severity: Severity) -> Severity {
        match self.status {
            Status::Valid if self.write_access == Some(true) => Severity::Critical,
            Status::Valid => Severity::High,
            Status::Invalid => Severity::Low,
            Status::Unknown => rule_severity,
        }
    }
}

/// The repositories a token exposes, by owner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exposure {
    pub owners: Vec<OwnerRepos>,
}

/// One user's or organization's repositories, as the token sees them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnerRepos {
    pub name: String,
    pub models: RepoList,
    pub datasets: RepoList,
    pub spaces: RepoList,
}

/// One kind of repository of one owner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepoList {
    /// Repositories listed (at most `--analyze-max-repos`).
    pub count: u64,
    /// Ids of the private ones among them: only a token can reveal those.
    #[serde(default)]
    pub private: Vec<String>,
    /// More exist than were listed.
    #[serde(default)]
    pub truncated: bool,
    /// Why the list is missing or incomplete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Exposure {
    /// Total (repositories, private ones) over all owners and kinds.
    pub fn totals(&self) -> (u64, u64) {
        self.owners
            .iter()
            .flat_map(|o| [&o.models, &o.datasets, &o.spaces])
            .fold((0, 0), |(n, p), l| {
                (n + l.count, p + l.private.len() as u64)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_follows_the_outcome() {
        let mut v = Verification::bare(Status::Valid, None);
        v.write_access = Some(true);
        assert_eq!(v.severity(Severity::Low), Severity::Critical);
        v.write_access = Some(false);
        assert_eq!(v.severity(Severity::Medium), Severity::High);
        v.write_access = None;
        assert_eq!(v.severity(Severity::Medium), Severity::High);
        assert_eq!(
            Verification::invalid("x").severity(Severity::High),
            Severity::Low
        );
        assert_eq!(
            Verification::unknown("x").severity(Severity::Medium),
            Severity::Medium
        );
    }
}
