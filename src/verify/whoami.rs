//! Reads a whoami-v2 answer into the report's types. The fine-grained
//! permission shape is not documented by Hugging Face, so every field is
//! taken leniently: a missing or oddly typed field is left out, never an
//! error. Only a body that is not a JSON object naming its owner is rejected.

use serde_json::Value;

use super::{OrgRole, Owner, Permissions, ScopedPermissions, TokenInfo};

/// What a 200 answer says about the token and its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct Whoami {
    pub owner: Owner,
    pub orgs: Vec<OrgRole>,
    pub token: Option<TokenInfo>,
}

/// Parses a whoami-v2 body, or says why it is not one.
pub fn parse(body: &str) -> Result<Whoami, String> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("malformed whoami-v2 response (not JSON: {e})"))?;
    let obj = v
        .as_object()
        .ok_or("malformed whoami-v2 response (not a JSON object)")?;
    let name = str_of(obj.get("name"))
        .filter(|n| !n.is_empty())
        .ok_or("malformed whoami-v2 response (no owner name)")?;
    let owner = Owner {
        name,
        kind: str_of(obj.get("type")).unwrap_or_else(|| "user".to_string()),
        fullname: str_of(obj.get("fullname")),
    };
    let orgs = obj
        .get("orgs")
        .and_then(Value::as_array)
        .map(|orgs| {
            orgs.iter()
                .filter_map(|o| {
                    Some(OrgRole {
                        name: str_of(o.get("name"))?,
                        role: str_of(o.get("roleInOrg")),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let token = obj.get("auth").and_then(token_info);
    Ok(Whoami { owner, orgs, token })
}

fn token_info(auth: &Value) -> Option<TokenInfo> {
    let access = auth.get("accessToken");
    let info = TokenInfo {
        name: access.and_then(|a| str_of(a.get("displayName"))),
        role: access.and_then(|a| str_of(a.get("role"))),
        created_at: access.and_then(|a| str_of(a.get("createdAt"))),
        expires_at: str_of(auth.get("expiresAt")),
        auth_type: str_of(auth.get("type")),
        permissions: access.and_then(|a| a.get("fineGrained")).map(permissions),
    };
    (info != TokenInfo::default()).then_some(info)
}

fn permissions(fine: &Value) -> Permissions {
    let scoped = fine
        .get("scoped")
        .and_then(Value::as_array)
        .map(|scopes| {
            scopes
                .iter()
                .map(|s| {
                    let entity = s.get("entity");
                    ScopedPermissions {
                        kind: entity.and_then(|e| str_of(e.get("type"))),
                        name: entity.and_then(|e| str_of(e.get("name"))),
                        permissions: strings(s.get("permissions")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Permissions {
        global: strings(fine.get("global")),
        scoped,
    }
}

fn str_of(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_string)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the token can change things: role `write` (or the older `admin`
/// and `contributor`), or fine-grained with any `*.write` permission.
/// `None` when the answer does not say (no role, or one not known here).
pub fn write_access(token: Option<&TokenInfo>) -> Option<bool> {
    let token = token?;
    match token.role.as_deref()? {
        "write" | "admin" | "contributor" => Some(true),
        "read" => Some(false),
        "fineGrained" => {
            let perms = token.permissions.as_ref()?;
            let all = perms
                .global
                .iter()
                .chain(perms.scoped.iter().flat_map(|s| s.permissions.iter()));
            Some(all.into_iter().any(|p| p.ends_with(".write")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: &str = r#"{"type":"user","id":"1","name":"alice","fullname":"Alice A",
        "email":"a@example.com","orgs":[{"name":"acme","fullname":"Acme","roleInOrg":"admin","isEnterprise":false}],
        "auth":{"type":"access_token","accessToken":{"displayName":"laptop","role":"read","createdAt":"2024-01-02T03:04:05.000Z"}},
        "somethingNew":{"x":1}}"#;

    const FINE: &str = r#"{"type":"user","name":"bob","orgs":[],
        "auth":{"type":"access_token","accessToken":{"displayName":"ci","role":"fineGrained",
        "createdAt":"2024-05-01T00:00:00.000Z","fineGrained":{"canReadGatedRepos":true,
        "global":["discussion.write","post.write"],
        "scoped":[{"entity":{"_id":"abc","type":"org","name":"acme"},"permissions":["repo.content.read","repo.write"]},
                  {"entity":{"_id":"def","type":"model","name":"bob/m"},"permissions":["repo.content.read"]}]}}}}"#;

    #[test]
    fn read_token_body_gives_owner_orgs_and_role() {
        let w = parse(READ).unwrap();
        assert_eq!(w.owner.name, "alice");
        assert_eq!(w.owner.kind, "user");
        assert_eq!(w.owner.fullname.as_deref(), Some("Alice A"));
        assert_eq!(w.orgs.len(), 1);
        assert_eq!(w.orgs[0].name, "acme");
        assert_eq!(w.orgs[0].role.as_deref(), Some("admin"));
        let t = w.token.unwrap();
        assert_eq!(t.name.as_deref(), Some("laptop"));
        assert_eq!(t.role.as_deref(), Some("read"));
        assert_eq!(t.created_at.as_deref(), Some("2024-01-02T03:04:05.000Z"));
        assert_eq!(write_access(Some(&t)), Some(false));
    }

    #[test]
    fn fine_grained_permissions_are_summarised() {
        let w = parse(FINE).unwrap();
        let t = w.token.unwrap();
        let p = t.permissions.as_ref().unwrap();
        assert_eq!(p.global, ["discussion.write", "post.write"]);
        assert_eq!(p.scoped.len(), 2);
        assert_eq!(p.scoped[0].kind.as_deref(), Some("org"));
        assert_eq!(p.scoped[0].name.as_deref(), Some("acme"));
        assert_eq!(p.scoped[0].permissions, ["repo.content.read", "repo.write"]);
        assert_eq!(write_access(Some(&t)), Some(true));
    }

    #[test]
    fn fine_grained_read_only_is_not_write() {
        let body = r#"{"name":"c","auth":{"accessToken":{"role":"fineGrained",
            "fineGrained":{"global":[],"scoped":[{"entity":{"type":"user","name":"c"},"permissions":["repo.content.read"]}]}}}}"#;
        let t = parse(body).unwrap().token.unwrap();
        assert_eq!(write_access(Some(&t)), Some(false));
    }

    #[test]
    fn roles_map_to_write_access() {
        let with = |role: &str| TokenInfo {
            role: Some(role.to_string()),
            ..TokenInfo::default()
        };
        assert_eq!(write_access(Some(&with("write"))), Some(true));
        assert_eq!(write_access(Some(&with("admin"))), Some(true));
        assert_eq!(write_access(Some(&with("read"))), Some(false));
        assert_eq!(write_access(Some(&with("mystery"))), None);
        assert_eq!(write_access(None), None);
    }

    #[test]
    fn odd_types_are_ignored_not_errors() {
        let body = r#"{"name":"d","type":7,"orgs":"none","auth":{"accessToken":{"role":["x"],"fineGrained":null}}}"#;
        let w = parse(body).unwrap();
        assert_eq!(w.owner.kind, "user");
        assert!(w.orgs.is_empty());
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        for body in [
            "",
            "<html>oops</html>",
            "[1,2]",
            "{\"type\":\"user\"}",
            "{\"name\":",
            "null",
        ] {
            let e = parse(body).unwrap_err();
            assert!(e.contains("malformed whoami-v2 response"), "{body}: {e}");
        }
    }
}
