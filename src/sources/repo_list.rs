//! One line of `hfleaks repos`' list: a git URL (credentials kept apart
//! from the id, which is what reports show), a `file://` URL or a path.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

/// One line of the list.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// As reported: the line, without credentials.
    pub id: String,
    /// A local repository.
    pub path: PathBuf,
    pub remote: Option<Remote>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Remote {
    /// `scheme://host[:port]`: the only place `login` is sent.
    pub origin: String,
    /// The clone URL, without credentials.
    pub url: String,
    pub login: Option<(String, String)>,
}

/// A list line: `https://[user[:password]@]host/path` (or `http://` on a
/// loopback host), `file:///path`, or a local path.
pub fn parse_entry(line: &str) -> Result<Entry, String> {
    if let Some(path) = line.strip_prefix("file://") {
        return Ok(Entry {
            id: line.to_string(),
            path: PathBuf::from(percent_decode_str(path).decode_utf8_lossy().into_owned()),
            remote: None,
        });
    }
    let Some((scheme, rest)) = line.split_once("://") else {
        if line.contains('@') && !line.starts_with('/') && !line.starts_with('.') {
            // Not echoed: what is before the @ may be a password.
            return Err(
                "an SSH-style or scheme-less URL with credentials is not supported; use an https:// URL"
                    .to_string(),
            );
        }
        return Ok(Entry {
            id: line.to_string(),
            path: PathBuf::from(line),
            remote: None,
        });
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(format!(
            "{scheme}:// URLs are not supported: use https:// (or http:// on a loopback host), file:// or a path"
        ));
    }
    if rest.contains(['?', '#']) {
        // A query may carry a token (`?private_token=…`): never in an id.
        return Err("a URL with a query or fragment is not supported".to_string());
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if host.is_empty() {
        return Err("a URL without a host".to_string());
    }
    let login = userinfo.map(|u| {
        let (user, password) = u.split_once(':').unwrap_or((u, ""));
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        (decode(user), decode(password))
    });
    let origin = format!("{scheme}://{host}");
    let url = format!("{origin}/{path}");
    Ok(Entry {
        id: url.clone(),
        path: PathBuf::new(),
        remote: Some(Remote { origin, url, login }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_kept_for_cloning_but_never_in_the_id() {
        let e = parse_entry("https://bot:s%40cret@git.example/team/repo.git").unwrap();
        assert_eq!(e.id, "https://git.example/team/repo.git");
        let r = e.remote.unwrap();
        assert_eq!(r.origin, "https://git.example");
        assert_eq!(r.url, "https://git.example/team/repo.git");
        assert_eq!(r.login, Some(("bot".into(), "s@cret".into())));
    }

    #[test]
    fn paths_file_urls_and_unsupported_schemes() {
        let e = parse_entry("../other/repo").unwrap();
        assert_eq!((e.id.as_str(), e.remote), ("../other/repo", None));
        assert_eq!(e.path, PathBuf::from("../other/repo"));
        let e = parse_entry("file:///srv/git/a%20b.git").unwrap();
        assert_eq!(e.path, PathBuf::from("/srv/git/a b.git"));
        assert!(
            parse_entry("ssh://git@host/x")
                .unwrap_err()
                .contains("ssh://")
        );
        assert!(
            parse_entry("git@github.com:org/repo.git")
                .unwrap_err()
                .contains("SSH")
        );
        let e = parse_entry("bot:s3cret@git.example/team/x.git").unwrap_err();
        assert!(!e.contains("s3cret"), "{e}");
        let e = parse_entry("https://h.example/r.git?private_token=abc").unwrap_err();
        assert!(!e.contains("abc") && e.contains("query"), "{e}");
    }
}
