//! The one HTTP discipline for everything that talks to the Hub
//! (verification, revocation, the Hub audit's listings, discussions and
//! git): which endpoint tokens may go to, and the retry rules (backoff with
//! jitter, honouring `Retry-After` and the `RateLimit` header's reset time,
//! a back-off shared by every thread when the Hub says 429, and bounded
//! retries of dropped connections). Knows nothing about findings; never
//! logs a token.

use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use ureq::http::{HeaderMap, Uri};

/// Retries after the first attempt for 408, 429 and 5xx answers.
pub const MAX_RETRIES: u32 = 3;
/// How long a git request may take to connect and to start its answer.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one git answer (a pack) may take to arrive.
const GIT_BODY_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest wait a `Retry-After` may ask for before hfleaks gives up on
/// the token (reported `unknown`) instead of sleeping.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// Environment variable scaling the exponential backoff's base delay, in
/// milliseconds (default 1000). Lets tests retry fast; `Retry-After` is
/// always honoured as sent.
pub const BACKOFF_ENV: &str = "HFLEAKS_BACKOFF_BASE_MS";
/// Largest response body read (whoami answers and repo listings are small).
const MAX_BODY: u64 = 16 << 20;

/// Where tokens may be sent: an `https://` base URL, or `http://` on a
/// loopback host. Trailing `/` stripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    base: String,
    scheme: String,
    host: String,
    port: u16,
}

impl Endpoint {
    /// Checks `url` and refuses anything a token must not be sent to.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let base = url.trim().trim_end_matches('/').to_string();
        let uri: Uri = base
            .parse()
            .map_err(|e| format!("invalid Hub endpoint '{base}': {e}"))?;
        let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        if host.is_empty() || !(scheme == "https" || scheme == "http") {
            return Err(format!(
                "invalid Hub endpoint '{base}': expected a URL such as https://huggingface.co"
            ));
        }
        if uri.query().is_some() || base.contains('#') {
            return Err(format!(
                "invalid Hub endpoint '{base}': it must not have a query or fragment"
            ));
        }
        if scheme == "http" && !is_loopback(&host) {
            return Err(format!(
                "refusing to send tokens to '{base}' over plain http: use https:// \
                 (http:// is allowed only for loopback hosts such as 127.0.0.1 or localhost)"
            ));
        }
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        Ok(Endpoint {
            base,
            scheme,
            host,
            port,
        })
    }

    /// `host` or `host:port` (a port other than the scheme's default), as
    /// written in URLs.
    pub fn authority(&self) -> String {
        let default = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    /// `{base}{path}`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Resolves a `Link` target against the endpoint; `None` unless it stays
    /// on the endpoint's scheme, host and port (a token never follows a
    /// link elsewhere).
    pub fn same_origin(&self, link: &str) -> Option<String> {
        if link.starts_with('/') && !link.starts_with("//") {
            let origin_len = self.base.find("://").map(|i| i + 3).unwrap_or(0);
            let origin_end = self.base[origin_len..]
                .find('/')
                .map(|i| origin_len + i)
                .unwrap_or(self.base.len());
            return Some(format!("{}{link}", &self.base[..origin_end]));
        }
        let uri: Uri = link.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default = if scheme == "https" { 443 } else { 80 };
        let same = scheme == self.scheme
            && uri.host()?.eq_ignore_ascii_case(&self.host)
            && uri.port_u16().unwrap_or(default) == self.port;
        same.then(|| link.to_string())
    }
}

/// 127.0.0.0/8, ::1 and localhost: the only hosts plain http may reach.
pub fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// An answer from the Hub, whatever its status.
#[derive(Debug)]
pub struct HubResponse {
    pub status: u16,
    /// `X-Error-Message`, if any.
    pub error_message: Option<String>,
    /// The `Link: <…>; rel="next"` target, if any (not yet origin-checked).
    pub next: Option<String>,
    /// The body, or why it could not be read.
    pub body: Result<String, String>,
}

/// A time before which no thread sends a request: raised when the Hub
/// answers 429 so that the whole run slows down, not just one thread.
#[derive(Debug)]
struct Gate {
    not_before: Mutex<Instant>,
}

impl Gate {
    fn wait(&self) {
        loop {
            let until = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if now >= until {
                return;
            }
            thread::sleep(until - now);
        }
    }

    fn hold_for(&self, d: Duration) {
        let mut until = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        *until = (*until).max(Instant::now() + d);
    }
}

/// A blocking client for one endpoint, shared by every thread of a run.
pub struct Hub {
    agent: ureq::Agent,
    /// For git transfers: no overall deadline (a pack can take minutes),
    /// only for connecting and for the answer to start.
    git_agent: ureq::Agent,
    endpoint: Endpoint,
    timeout: Duration,
    backoff_base: Duration,
    gate: Gate,
    /// The longest wait a `Retry-After` or `RateLimit` reset may ask for.
    max_wait: Duration,
    /// Whether a dropped connection or timeout is tried again (listings and
    /// clones: yes; a token's whoami: no, it is then `unknown`).
    retry_dropped: bool,
}

impl Hub {
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Hub {
        let agent = Self::agent(&endpoint, Some(timeout));
        let git_agent = Self::agent(&endpoint, None);
        let backoff_ms = std::env::var(BACKOFF_ENV)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1000);
        Hub {
            agent,
            git_agent,
            endpoint,
            timeout,
            backoff_base: Duration::from_millis(backoff_ms),
            gate: Gate {
                not_before: Mutex::new(Instant::now()),
            },
            max_wait: MAX_RETRY_AFTER,
            retry_dropped: false,
        }
    }

    /// A client that waits out rate limits up to `max_wait` and tries a
    /// dropped connection again (the Hub audit, which has hours of work to
    /// do and must not lose a repo to one hiccup).
    pub fn patient(mut self, max_wait: Duration) -> Hub {
        self.max_wait = max_wait;
        self.retry_dropped = true;
        self
    }

    /// `timeout`: for the whole request, or (`None`, git) for connecting
    /// and for the answer's headers only.
    fn agent(endpoint: &Endpoint, timeout: Option<Duration>) -> ureq::Agent {
        let mut config = ureq::Agent::config_builder()
            // 4xx and 5xx are answers to read (status, Retry-After,
            // X-Error-Message), not errors.
            .http_status_as_error(false)
            .https_only(endpoint.is_https())
            // A token never follows a redirect anywhere.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(format!("hfleaks/{}", env!("CARGO_PKG_VERSION")));
        config = match timeout {
            Some(t) => config.timeout_global(Some(t)).accept("application/json"),
            None => config
                .timeout_connect(Some(GIT_TIMEOUT))
                .timeout_recv_response(Some(GIT_TIMEOUT))
                // A stalled transfer ends, as a failed clone, within the hour.
                .timeout_recv_body(Some(GIT_BODY_TIMEOUT)),
        };
        if !endpoint.is_https() {
            // Plain http only on loopback: never through a proxy, which
            // would see the token in clear.
            config = config.proxy(None);
        }
        config.build().new_agent()
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// GETs `url` with the token, retrying 408, 429 and 5xx up to
    /// [`MAX_RETRIES`] times. `Err` is the reason the token's status stays
    /// unknown (timeout, connection or TLS error, retries exhausted).
    pub fn get(&self, url: &str, token: Option<&str>) -> Result<HubResponse, String> {
        self.request(url, token, None)
    }

    /// POSTs the JSON `body` to `url` (with `bearer` as the Authorization,
    /// if any), with the same retry discipline as [`Hub::get`].
    pub fn post_json(
        &self,
        url: &str,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<HubResponse, String> {
        self.request(url, bearer, Some(&body.to_string()))
    }

    fn request(
        &self,
        url: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<HubResponse, String> {
        if token.is_some_and(|t| !t.bytes().all(|b| b.is_ascii_graphic())) {
            return Err("not sent: the secret cannot be an HTTP header value".to_string());
        }
        self.retrying(
            || self.send(url, token, body),
            |a| a.status,
            |a| a.retry_after,
        )
        .map(|a| a.inner)
    }

    /// Runs `attempt` until its answer is not worth another try: 408, 429
    /// and 5xx are tried again up to [`MAX_RETRIES`] times after a backoff
    /// (or the wait the Hub asked for; a 429 holds every thread), and so
    /// are dropped connections when the client is [`patient`](Hub::patient).
    fn retrying<A>(
        &self,
        mut attempt: impl FnMut() -> Result<A, Dropped>,
        status: impl Fn(&A) -> u16,
        wait_hint: impl Fn(&A) -> Option<Duration>,
    ) -> Result<A, String> {
        let mut tries = 0;
        loop {
            self.gate.wait();
            let answer = match attempt() {
                Ok(a) => a,
                Err(Dropped { message, transient }) => {
                    if !(transient && self.retry_dropped) || tries == MAX_RETRIES {
                        return Err(message);
                    }
                    thread::sleep(self.backoff(tries));
                    tries += 1;
                    continue;
                }
            };
            let code = status(&answer);
            if !is_retryable(code) {
                return Ok(answer);
            }
            let what = status_text(code);
            if tries == MAX_RETRIES {
                return Err(format!("{what} after {MAX_RETRIES} retries"));
            }
            let wait = match wait_hint(&answer) {
                Some(d) if d > self.max_wait => {
                    if code == 429 {
                        // Giving up on this request, but the others wait too.
                        self.gate.hold_for(self.max_wait);
                    }
                    return Err(format!(
                        "{what}: the Hub asks to retry after {} s",
                        d.as_secs()
                    ));
                }
                Some(d) => d,
                None => self.backoff(tries),
            };
            if code == 429 {
                self.gate.hold_for(wait);
            } else {
                thread::sleep(wait);
            }
            tries += 1;
        }
    }

    /// One git smart-HTTP request to the endpoint (`GET …/info/refs` or
    /// `POST …/git-upload-pack`), with the same retry rules; the body is
    /// left to stream. `basic` is the user and password of HTTP Basic (for
    /// the Hub, the token is the password, as git clients send it); they go
    /// only to the endpoint.
    pub fn git_request(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
        basic: Option<(&str, &str)>,
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        if self.endpoint.same_origin(url).is_none() {
            return Err("refusing a git request outside the endpoint".to_string());
        }
        let auth = basic.map(|(user, password)| {
            use base64::Engine as _;
            let pair = format!("{user}:{password}");
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let auth = auth.as_deref();
        let send = || {
            let result = match body {
                None => with_headers(self.git_agent.get(url), headers, auth).call(),
                Some(body) => with_headers(self.git_agent.post(url), headers, auth).send(body),
            };
            result.map_err(|e| self.dropped(&e))
        };
        self.retrying(send, |r| r.status().as_u16(), |r| wait_hint(r.headers()))
    }

    /// GETs a file's content (a `resolve` URL) from the endpoint, or the
    /// bytes `range` (`from`, through `to` inclusive, or to the end) of it,
    /// at most `limit` bytes. Follows up to [`MAX_CONTENT_REDIRECTS`]
    /// redirects to a content host, over https (plain http only to a
    /// loopback host), and sends the token only to the endpoint's own
    /// scheme, host and port: `Authorization` is dropped as soon as a
    /// redirect changes any of them, as huggingface_hub does. API and git
    /// requests follow no redirect. A transfer cut off, 408, 429 and 5xx
    /// are tried again as for every request.
    pub fn content(
        &self,
        url: &str,
        token: Option<&str>,
        range: Option<(u64, Option<u64>)>,
        limit: u64,
    ) -> Result<Content, String> {
        if token.is_some_and(|t| !t.bytes().all(|b| b.is_ascii_graphic())) {
            return Err("not sent: the token cannot be an HTTP header value".to_string());
        }
        if self.endpoint.same_origin(url).is_none() {
            return Err("refusing a content request outside the endpoint".to_string());
        }
        self.retrying(
            || self.content_once(url, token, range, limit),
            |c| c.status,
            |c| c.retry_after,
        )
    }

    fn content_once(
        &self,
        url: &str,
        token: Option<&str>,
        range: Option<(u64, Option<u64>)>,
        limit: u64,
    ) -> Result<Content, Dropped> {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some((from, to)) = range {
            let to = to.map_or(String::new(), |t| t.to_string());
            headers.push(("Range".to_string(), format!("bytes={from}-{to}")));
        }
        let refused = |message: String| Dropped {
            message,
            transient: false,
        };
        let mut current = url.to_string();
        for _ in 0..=MAX_CONTENT_REDIRECTS {
            // Only the endpoint itself ever sees the token.
            let auth = match self.endpoint.same_origin(&current) {
                Some(_) => bearer.as_deref(),
                None => None,
            };
            let mut resp = with_headers(self.git_agent.get(&current), &headers, auth)
                .call()
                .map_err(|e| self.dropped(&e))?;
            let status = resp.status().as_u16();
            let hdrs = resp.headers().clone();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = header(&hdrs, "location")
                    .ok_or_else(|| refused(format!("HTTP {status} without a Location")))?;
                current = redirect_target(&current, &location).map_err(refused)?;
                continue;
            }
            let mut content = Content {
                status,
                body: Vec::new(),
                total: None,
                error_code: header(&hdrs, "x-error-code"),
                error_message: header(&hdrs, "x-error-message"),
                retry_after: wait_hint(&hdrs),
            };
            if !matches!(status, 200 | 206) {
                return Ok(content);
            }
            let length = header(&hdrs, "content-length").and_then(|v| v.parse::<u64>().ok());
            content.total = match status {
                206 => header(&hdrs, "content-range")
                    .and_then(|v| v.rsplit('/').next().and_then(|t| t.trim().parse().ok())),
                _ => length,
            };
            if length.is_some_and(|n| n > limit) {
                return Err(refused(format!(
                    "the answer is {} bytes, over the {limit} expected",
                    length.unwrap_or(0)
                )));
            }
            content.body = match resp.body_mut().with_config().limit(limit).read_to_vec() {
                Ok(b) => b,
                Err(e) => return Err(self.dropped(&e)),
            };
            if length.is_some_and(|n| n != content.body.len() as u64) {
                return Err(Dropped {
                    message: format!(
                        "the download was cut off after {} of {} bytes",
                        content.body.len(),
                        length.unwrap_or(0)
                    ),
                    transient: true,
                });
            }
            return Ok(content);
        }
        Err(refused(format!(
            "more than {MAX_CONTENT_REDIRECTS} redirects"
        )))
    }

    /// `base * 2^attempt`, plus up to half of that again as jitter so
    /// threads that failed together do not retry together.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.backoff_base * 2u32.pow(attempt);
        let jitter = exp.as_millis() as u64 / 2;
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        exp + Duration::from_millis(if jitter == 0 { 0 } else { random % jitter })
    }

    fn send(&self, url: &str, token: Option<&str>, body: Option<&str>) -> Result<Answer, Dropped> {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let auth = bearer.as_deref();
        let result = match body {
            None => with_headers(self.agent.get(url), &[], auth).call(),
            Some(body) => with_headers(
                self.agent.post(url).content_type("application/json"),
                &[],
                auth,
            )
            .send(body),
        };
        let mut resp = result.map_err(|e| self.dropped(&e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = if is_retryable(status) {
            Ok(String::new())
        } else {
            match resp
                .body_mut()
                .with_config()
                .limit(MAX_BODY)
                .read_to_string()
            {
                Ok(text) => Ok(text),
                // Cut off halfway: worth another try.
                Err(e) if self.retry_dropped && is_transient(&e) => return Err(self.dropped(&e)),
                Err(e) => Err(self.describe(&e)),
            }
        };
        Ok(Answer {
            status,
            retry_after: wait_hint(&headers),
            inner: HubResponse {
                status,
                error_message: header(&headers, "x-error-message"),
                next: next_link(&headers),
                body,
            },
        })
    }

    fn dropped(&self, e: &ureq::Error) -> Dropped {
        Dropped {
            message: self.describe(e),
            transient: is_transient(e),
        }
    }

    /// A reason a person can act on, without the URL's query or the token.
    fn describe(&self, e: &ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => {
                format!("timed out after {} s", self.timeout.as_secs_f64())
            }
            ureq::Error::HostNotFound => {
                format!("cannot resolve the Hub host '{}' (DNS)", self.endpoint.host)
            }
            ureq::Error::Io(io) => format!(
                "cannot connect to {}: {}",
                self.endpoint.base,
                io.kind().to_string().replace('_', " ")
            ),
            ureq::Error::ConnectionFailed => format!("cannot connect to {}", self.endpoint.base),
            ureq::Error::Tls(_) | ureq::Error::Rustls(_) | ureq::Error::Pem(_) => {
                format!("TLS error talking to {}: {e}", self.endpoint.base)
            }
            other => format!("request to {} failed: {other}", self.endpoint.base),
        }
    }
}

/// Redirects a content download follows.
pub const MAX_CONTENT_REDIRECTS: usize = 5;

/// A file's content, or a part of it, as a `resolve` URL gave it.
#[derive(Debug)]
pub struct Content {
    /// 200, 206 (a range), or the refusal's status.
    pub status: u16,
    pub body: Vec<u8>,
    /// The whole file's size, if the answer said (`Content-Range`, or
    /// `Content-Length` of a 200).
    pub total: Option<u64>,
    /// `X-Error-Code` and `X-Error-Message` of a refusal.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    retry_after: Option<Duration>,
}

/// Where a redirect from `current` to `location` leads: an absolute
/// https URL, or http on a loopback host; a path is on `current`'s origin.
pub fn redirect_target(current: &str, location: &str) -> Result<String, String> {
    let location = location.trim();
    let target = if location.starts_with('/') && !location.starts_with("//") {
        let start = current.find("://").map_or(0, |i| i + 3);
        let end = current[start..]
            .find('/')
            .map_or(current.len(), |i| start + i);
        format!("{}{location}", &current[..end])
    } else {
        location.to_string()
    };
    let uri: Uri = target
        .parse()
        .map_err(|_| "a redirect to an invalid URL; not followed".to_string())?;
    let host = uri.host().unwrap_or("");
    match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("https") if !host.is_empty() => Ok(target),
        Some("http") if is_loopback(host) => Ok(target),
        _ => Err(format!(
            "a redirect to {}; only https is followed",
            uri.scheme_str().unwrap_or("a relative URL")
        )),
    }
}

/// `req` with `headers` and, if any, the `Authorization` value `auth`.
fn with_headers<B>(
    mut req: ureq::RequestBuilder<B>,
    headers: &[(String, String)],
    auth: Option<&str>,
) -> ureq::RequestBuilder<B> {
    for (k, v) in headers {
        req = req.header(k, v);
    }
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    req
}

/// A request that got no answer, and whether trying again may help.
struct Dropped {
    message: String,
    transient: bool,
}

/// A connection refused, reset or cut off, or a timeout: the network, not
/// the request, so another try may succeed.
fn is_transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::Timeout(_)
    )
}

/// How long the Hub asks to wait: `Retry-After`, else the reset time of an
/// exhausted `RateLimit` window (`"api";r=0;t=42`), plus a second as
/// huggingface_hub does.
fn wait_hint(headers: &HeaderMap) -> Option<Duration> {
    header(headers, "retry-after")
        .and_then(|v| retry_after(&v))
        .or_else(|| header(headers, "ratelimit").and_then(|v| rate_limit_reset(&v)))
}

/// The reset time of a `RateLimit` header whose remaining count is 0.
pub fn rate_limit_reset(value: &str) -> Option<Duration> {
    let field = |name: &str| {
        value
            .split(';')
            .find_map(|p| p.trim().strip_prefix(name)?.parse::<u64>().ok())
    };
    let reset = field("t=")?;
    (field("r=")? == 0).then(|| Duration::from_secs(reset + 1))
}

/// One attempt's answer, with the retry hint kept aside.
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    inner: HubResponse,
}

/// Request timeout, rate limiting and server errors: worth another try.
pub fn is_retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// `HTTP 429 Too Many Requests`.
pub fn status_text(status: u16) -> String {
    match ureq::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("HTTP {status} {reason}"),
        None => format!("HTTP {status}"),
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
}

/// `Retry-After` as delay-seconds or an HTTP date (a date in the past is 0).
pub fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The target of `rel="next"` among all `Link` headers.
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(parse_next_link)
}

/// `<url>; rel="next", <url>; rel="last"` → the `next` url.
pub fn parse_next_link(value: &str) -> Option<String> {
    value.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            p.trim()
                .strip_prefix("rel=")
                .map(|rel| {
                    rel.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r == "next")
                })
                .unwrap_or(false)
        });
        is_next.then(|| target.to_string())
    })
}

impl HubResponse {
    /// The body as text, or the reason it is missing.
    pub fn text(&self) -> Result<&str, String> {
        self.body.as_deref().map_err(|e| e.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_redirects_go_to_https_or_loopback_only() {
        let from = "https://huggingface.co/acme/m/resolve/abc/x.jsonl";
        assert_eq!(
            redirect_target(from, "https://cas-bridge.xethub.hf.co/x?sig=1"),
            Ok("https://cas-bridge.xethub.hf.co/x?sig=1".to_string())
        );
        assert_eq!(
            redirect_target(from, "/api/resolve-cache/x"),
            Ok("https://huggingface.co/api/resolve-cache/x".to_string())
        );
        assert!(redirect_target(from, "http://cdn.example/x").is_err());
        assert!(redirect_target(from, "ftp://cdn.example/x").is_err());
        assert!(redirect_target(from, "http://127.0.0.1:9/x").is_ok());
    }

    #[test]
    fn https_endpoints_are_accepted_and_trailing_slash_stripped() {
        let e = Endpoint::parse("https://hub.example.internal/").unwrap();
        assert_eq!(e.base(), "https://hub.example.internal");
        assert_eq!(
            e.url("/api/whoami-v2"),
            "https://hub.example.internal/api/whoami-v2"
        );
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:1/",
            "http://[::1]:9000",
        ] {
            assert!(Endpoint::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.invalid",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://localhost.example.com",
        ] {
            let e = Endpoint::parse(bad).unwrap_err();
            assert!(e.contains("plain http"), "{bad}: {e}");
        }
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("huggingface.co").is_err());
        assert!(Endpoint::parse("https://h.example/?x=1").is_err());
    }

    #[test]
    fn links_stay_on_the_endpoint() {
        let e = Endpoint::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            e.same_origin("/api/models?cursor=2").as_deref(),
            Some("http://127.0.0.1:8080/api/models?cursor=2")
        );
        assert!(e.same_origin("http://127.0.0.1:8080/api/x").is_some());
        assert!(e.same_origin("http://127.0.0.1:9090/api/x").is_none());
        assert!(e.same_origin("https://evil.example/api/x").is_none());
        assert!(e.same_origin("//evil.example/api/x").is_none());
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(retry_after("1"), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90));
        let d = retry_after(&later).unwrap();
        assert!(
            d > Duration::from_secs(80) && d <= Duration::from_secs(90),
            "{d:?}"
        );
        assert_eq!(retry_after("soon"), None);
    }

    #[test]
    fn an_exhausted_rate_limit_window_says_when_it_resets() {
        assert_eq!(
            rate_limit_reset(r#""api";r=0;t=42"#),
            Some(Duration::from_secs(43))
        );
        assert_eq!(rate_limit_reset(r#""api";r=12;t=42"#), None);
        assert_eq!(rate_limit_reset("nonsense"), None);
    }

    #[test]
    fn next_link_is_found_among_rels() {
        assert_eq!(
            parse_next_link(r#"<https://h/api/models?cursor=a>; rel="next""#).as_deref(),
            Some("https://h/api/models?cursor=a")
        );
        assert_eq!(
            parse_next_link(r#"<https://h/1>; rel="prev", <https://h/3>; rel=next"#).as_deref(),
            Some("https://h/3")
        );
        assert_eq!(parse_next_link(r#"<https://h/1>; rel="last""#), None);
    }

    #[test]
    fn a_held_gate_stops_every_thread_until_it_opens() {
        let gate = Gate {
            not_before: Mutex::new(Instant::now()),
        };
        let started = Instant::now();
        gate.hold_for(Duration::from_millis(150));
        // A shorter hold never shortens a longer one.
        gate.hold_for(Duration::from_millis(10));
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    gate.wait();
                    assert!(started.elapsed() >= Duration::from_millis(150));
                });
            }
        });
    }

    #[test]
    fn timeouts_rate_limits_and_server_errors_are_retryable() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable(s));
        }
        for s in [200, 302, 401, 403, 404] {
            assert!(!is_retryable(s));
        }
    }
}
