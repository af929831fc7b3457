//! A Hub repo cloned into a temporary bare repository, in process: `gix`
//! speaks git's smart-HTTP protocol (v2) and writes the pack, its index and
//! the refs; every HTTP request goes through the run's shared client
//! ([`Hub::git_request`]), so the endpoint rule, the token's use (the
//! password of HTTP Basic, as git clients send it, and only to the
//! endpoint), rate limits and retries are those of every other request.
//! No git binary, credential helper or prompt is involved.
//!
//! Refs fetched: branches, tags and `refs/pr/*` (a pull request's commits
//! can hold what a squash-merge left out of main); not `refs/convert/*`
//! (the Hub's generated Parquet and DuckDB exports) unless asked for
//! (`--include converted`). LFS and Xet files are pointers in git, and
//! only the pointers are fetched.

use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use gix_transport::client::blocking_io::http::{
    GetResponse, Http, PostBodyDataKind, PostResponse, connect_http,
};

use crate::http::Hub;

/// The refs a clone takes: everything that holds user content.
pub const REFSPECS: [&str; 3] = [
    "+refs/heads/*:refs/heads/*",
    "+refs/tags/*:refs/tags/*",
    "+refs/pr/*:refs/pr/*",
];

/// The dataset viewer's generated Parquet export (`refs/convert/parquet`),
/// fetched only on request: it repeats the owner's data, converted.
pub const CONVERTED_REFSPEC: &str = "+refs/convert/parquet:refs/convert/parquet";

/// The user name the Hub's git clients send with a token as password.
pub const HUB_GIT_USER: &str = "hf_user";

/// Why a clone failed, and whether the transfer was cut off (then another
/// try may succeed; a refusal or a bad URL will not change).
#[derive(Debug, Clone)]
pub struct CloneError {
    pub message: String,
    pub cut_off: bool,
}

impl CloneError {
    /// A failure another try will not mend.
    pub fn new(message: String) -> CloneError {
        CloneError {
            message,
            cut_off: false,
        }
    }
}

impl std::fmt::Display for CloneError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Clones the repo at `url` (bare) into the empty directory `into`, or, if
/// `into` is a repository already (`--cache`), fetches into it and drops
/// the refs the remote no longer has; then points HEAD at the remote's
/// default branch. `login` is HTTP Basic's user and password, sent only to
/// the client's endpoint. `Err` says why, in words a person can act on
/// (not found or private, gated, a broken or cut-off pack). `converted`:
/// fetch `refs/convert/parquet` too.
pub fn clone_bare(
    client: &Arc<Hub>,
    login: Option<(&str, &str)>,
    url: &str,
    into: &Path,
    converted: bool,
) -> Result<(), CloneError> {
    let failure = Arc::new(Mutex::new(None));
    let http = HubHttp {
        hub: client.clone(),
        login: login.map(|(u, p)| (u.to_string(), p.to_string())),
        failure: failure.clone(),
    };
    let mut refspecs = REFSPECS.to_vec();
    if converted {
        refspecs.push(CONVERTED_REFSPEC);
    }
    let result = fetch(http, url, into, &refspecs);
    result.map_err(|e| {
        // The HTTP layer's own words are clearer than gix's chain.
        failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or(e)
    })
}

fn fetch(http: HubHttp, url: &str, into: &Path, refspecs: &[&str]) -> Result<(), CloneError> {
    let fail = |msg: String| CloneError::new(msg);
    let existing = into.join("HEAD").is_file();
    let git = if existing {
        gix::open(into).map_err(|e| fail(format!("cannot open the cached clone: {e}")))?
    } else {
        gix::init_bare(into).map_err(|e| fail(format!("cannot create a clone: {e}")))?
    };
    let remote = git
        .remote_at_without_url_rewrite(url)
        .and_then(|r| r.with_refspecs(refspecs.iter().copied(), gix::remote::Direction::Fetch))
        .map_err(|e| fail(format!("bad clone URL: {e}")))?;
    let parsed = gix::url::parse(gix::bstr::BStr::new(url))
        .map_err(|e| fail(format!("bad clone URL: {e}")))?;
    let transport = connect_http(http, parsed, gix::protocol::transport::Protocol::V2, false);
    let options = gix::remote::ref_map::Options {
        // Ask for every ref, so that HEAD's target is known too.
        prefix_from_spec_as_filter_on_remote: false,
        ..Default::default()
    };
    let outcome = remote
        .to_connection_with_transport(transport)
        // Never a credential helper or a prompt: the token, if any, is sent
        // by the HTTP layer, and nothing else is ever asked for.
        .with_credentials(|_| Ok(None))
        .prepare_fetch(gix::progress::Discard, options)
        .map_err(|e| fail(format!("cannot list refs: {e}")))?
        .receive(gix::progress::Discard, &AtomicBool::new(false))
        // Close-delimited answers end cleanly even when the server hung
        // up halfway; gix then finds the pack short.
        .map_err(|e| CloneError {
            message: format!("clone: the pack transfer was cut off or the pack is broken ({e})"),
            cut_off: true,
        })?;
    let mut head = None;
    let mut remote_names = std::collections::HashSet::new();
    for r in &outcome.ref_map.remote_refs {
        use gix::protocol::handshake::Ref;
        let (name, target) = match r {
            Ref::Symbolic {
                full_ref_name,
                target,
                ..
            } => (full_ref_name.to_string(), Some(target.to_string())),
            Ref::Peeled { full_ref_name, .. }
            | Ref::Direct { full_ref_name, .. }
            | Ref::Unborn { full_ref_name, .. } => (full_ref_name.to_string(), None),
        };
        if name == "HEAD" {
            head = target;
        }
        remote_names.insert(name);
    }
    if existing {
        prune(into, &remote_names).map_err(fail)?;
    }
    if let Some(target) = head.filter(|t| t.starts_with("refs/heads/")) {
        std::fs::write(into.join("HEAD"), format!("ref: {target}\n"))
            .map_err(|e| fail(format!("cannot set HEAD: {e}")))?;
    }
    Ok(())
}

/// Deletes the fetched refs the remote no longer has (a deleted branch, a
/// closed pull request's ref), so that a cached clone holds what a fresh
/// one would.
fn prune(dir: &Path, remote: &std::collections::HashSet<String>) -> Result<(), String> {
    let repo = git2::Repository::open_bare(dir)
        .map_err(|e| format!("cannot open the cached clone: {}", e.message()))?;
    let names: Vec<String> = repo
        .references()
        .map_err(|e| e.message().to_string())?
        .flatten()
        .filter_map(|r| r.name().ok().map(str::to_string))
        .filter(|n| {
            ["refs/heads/", "refs/tags/", "refs/pr/"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .filter(|n| !remote.contains(n))
        .collect();
    for name in names {
        if let Ok(mut r) = repo.find_reference(&name) {
            r.delete()
                .map_err(|e| format!("cannot drop the stale ref {name}: {}", e.message()))?;
        }
    }
    Ok(())
}

/// gix's HTTP backend, on the run's shared client.
struct HubHttp {
    hub: Arc<Hub>,
    login: Option<(String, String)>,
    /// The first failure, as the HTTP layer words it.
    failure: Arc<Mutex<Option<CloneError>>>,
}

/// One request: sent when its answer is first read (a POST's body is
/// written in full before that), and its answer's headers and body.
struct Exchange {
    hub: Arc<Hub>,
    url: String,
    headers: Vec<(String, String)>,
    login: Option<(String, String)>,
    failure: Arc<Mutex<Option<CloneError>>>,
    /// The body of a POST, as written so far.
    post: Option<Vec<u8>>,
    answer: Answer,
}

enum Answer {
    Pending,
    Ready {
        headers: Option<Cursor<Vec<u8>>>,
        body: Option<BufReader<ureq::BodyReader<'static>>>,
    },
    Failed(io::ErrorKind, String),
}

type Shared = Arc<Mutex<Exchange>>;

impl Exchange {
    /// Sends the request unless it was sent; takes its headers or body.
    fn take<T>(&mut self, part: impl FnOnce(&mut Answer) -> Option<T>) -> io::Result<T> {
        if matches!(self.answer, Answer::Pending) {
            self.answer = self.send();
        }
        if let Answer::Failed(kind, msg) = &self.answer {
            return Err(io::Error::new(*kind, msg.clone()));
        }
        part(&mut self.answer).ok_or_else(|| io::Error::other("HTTP answer read twice"))
    }

    fn send(&mut self) -> Answer {
        let result = self.hub.git_request(
            &self.url,
            &self.headers,
            self.post.as_deref(),
            self.login.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
        );
        let fail = |kind, msg: String| {
            let mut slot = self.failure.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| CloneError::new(msg.clone()));
            Answer::Failed(kind, msg)
        };
        match result {
            Err(e) => fail(io::ErrorKind::ConnectionAborted, e),
            Ok(resp) if resp.status().as_u16() == 200 => {
                let mut lines = Vec::new();
                for (name, value) in resp.headers() {
                    lines.extend_from_slice(name.as_str().as_bytes());
                    lines.extend_from_slice(b": ");
                    lines.extend_from_slice(value.as_bytes());
                    lines.push(b'\n');
                }
                Answer::Ready {
                    headers: Some(Cursor::new(lines)),
                    body: Some(BufReader::with_capacity(
                        1 << 16,
                        resp.into_body().into_reader(),
                    )),
                }
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok());
                let msg = super::refusal(status, header("x-error-code"), header("x-error-message"));
                let kind = match status {
                    401 => io::ErrorKind::PermissionDenied,
                    _ => io::ErrorKind::Other,
                };
                fail(kind, format!("clone: {msg}"))
            }
        }
    }
}

impl HubHttp {
    fn exchange(
        &self,
        url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
        post: Option<Vec<u8>>,
    ) -> Shared {
        let headers = headers
            .into_iter()
            .filter_map(|h| {
                let (k, v) = h.as_ref().split_once(':')?;
                Some((k.trim().to_string(), v.trim().to_string()))
            })
            // The client sets its own; gix's would only repeat it.
            .filter(|(k, _)| !k.eq_ignore_ascii_case("user-agent"))
            .collect();
        Arc::new(Mutex::new(Exchange {
            hub: self.hub.clone(),
            url: url.to_string(),
            headers,
            login: self.login.clone(),
            failure: self.failure.clone(),
            post,
            answer: Answer::Pending,
        }))
    }
}

fn to_gix(e: io::Error) -> gix_error::Error {
    gix_error::Error::from_error(e)
}

impl Http for HubHttp {
    type Headers = Part;
    type ResponseBody = Part;
    type PostBody = PostBody;

    fn get(
        &mut self,
        url: &str,
        _base_url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> gix_error::Result<GetResponse<Part, Part>> {
        let shared = self.exchange(url, headers, None);
        // A GET is sent now, so that a refusal is the handshake's error.
        shared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(|_| Some(()))
            .map_err(to_gix)?;
        Ok(GetResponse {
            headers: Part::headers(shared.clone()),
            body: Part::body(shared),
        })
    }

    fn post(
        &mut self,
        url: &str,
        _base_url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
        _body: PostBodyDataKind,
    ) -> gix_error::Result<PostResponse<Part, Part, PostBody>> {
        let shared = self.exchange(url, headers, Some(Vec::new()));
        Ok(PostResponse {
            post_body: PostBody(shared.clone()),
            headers: Part::headers(shared.clone()),
            body: Part::body(shared),
        })
    }

    fn configure(&mut self, _config: &dyn std::any::Any) -> gix_error::Result {
        // git's http.* settings do not apply: the run's client decides.
        Ok(())
    }
}

/// Where a POST's body is written; it is sent when the answer is read.
pub struct PostBody(Shared);

impl Write for PostBody {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut ex = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let pending = matches!(ex.answer, Answer::Pending);
        match ex.post.as_mut() {
            Some(body) if pending => {
                body.extend_from_slice(buf);
                Ok(buf.len())
            }
            _ => Err(io::Error::other("request body written after it was sent")),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The headers (one `Name: value` line each) or the body of an answer,
/// taken out of the exchange on first read.
pub struct Part {
    shared: Shared,
    headers: bool,
    reader: Option<Box<dyn BufRead + Send>>,
}

impl Part {
    fn headers(shared: Shared) -> Part {
        Part {
            shared,
            headers: true,
            reader: None,
        }
    }

    fn body(shared: Shared) -> Part {
        Part {
            shared,
            headers: false,
            reader: None,
        }
    }

    fn reader(&mut self) -> io::Result<&mut Box<dyn BufRead + Send>> {
        if self.reader.is_none() {
            let want_headers = self.headers;
            let mut ex = self.shared.lock().unwrap_or_else(|p| p.into_inner());
            let reader: Box<dyn BufRead + Send> = ex.take(|answer| match answer {
                Answer::Ready { headers, body } => {
                    if want_headers {
                        headers
                            .take()
                            .map(|h| Box::new(h) as Box<dyn BufRead + Send>)
                    } else {
                        body.take().map(|b| Box::new(b) as Box<dyn BufRead + Send>)
                    }
                }
                _ => None,
            })?;
            self.reader = Some(reader);
        }
        Ok(self.reader.as_mut().expect("set above"))
    }

    /// A read that failed after the answer began: the connection was cut.
    fn cut_off(&self, e: io::Error) -> io::Error {
        let ex = self.shared.lock().unwrap_or_else(|p| p.into_inner());
        let mut slot = ex.failure.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| CloneError {
            message: format!("clone: the connection was cut off while receiving the pack ({e})"),
            cut_off: true,
        });
        e
    }
}

impl Read for Part {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.reader()?.read(buf) {
            Err(e) => Err(self.cut_off(e)),
            ok => ok,
        }
    }
}

impl BufRead for Part {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let failed = self.reader()?.fill_buf().err();
        if let Some(e) = failed {
            return Err(self.cut_off(e));
        }
        self.reader()?.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Some(r) = self.reader.as_mut() {
            r.consume(amt);
        }
    }
}
