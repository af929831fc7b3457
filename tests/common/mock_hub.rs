//! A tiny HTTP/1.1 Hub stand-in on 127.0.0.1 for verification tests: each
//! connection gets one answer from the test's handler, and every request's
//! path and headers are recorded so tests can say exactly what was sent.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// One request as the mock saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, e.g. `/api/models?author=alice`.
    pub path: String,
    pub authorization: Option<String>,
    pub user_agent: Option<String>,
    /// The request body (POST), as text.
    pub body: String,
}

impl Request {
    /// The bearer token, if any.
    pub fn token(&self) -> Option<&str> {
        self.authorization.as_deref()?.strip_prefix("Bearer ")
    }
}

/// What the mock answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Wait this long before answering (a slow Hub).
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn json(v: &serde_json::Value) -> Reply {
        Reply::new(200, v.to_string())
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
}

type Handler = dyn Fn(&Request, usize, &str) -> Reply + Send + Sync;

/// A running mock Hub. It lives until the test process ends.
pub struct MockHub {
    base: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl MockHub {
    /// Starts the mock. The handler gets the request, how many earlier
    /// requests had the same path and token (0 for the first), and the
    /// mock's base URL (for `Link` headers).
    pub fn start(
        handler: impl Fn(&Request, usize, &str) -> Reply + Send + Sync + 'static,
    ) -> MockHub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        {
            let requests = requests.clone();
            let base = base.clone();
            thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (requests, handler, base) =
                        (requests.clone(), handler.clone(), base.clone());
                    thread::spawn(move || serve(stream, &requests, &*handler, &base));
                }
            });
        }
        MockHub { base, requests }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// How many requests carried `token`.
    pub fn count(&self, token: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.token() == Some(token))
            .count()
    }
}

fn serve(stream: TcpStream, requests: &Mutex<Vec<Request>>, handler: &Handler, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let (mut authorization, mut user_agent) = (None, None);
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = h.split_once(':') {
            let value = value.trim().to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "authorization" => authorization = Some(value),
                "user-agent" => user_agent = Some(value),
                "content-length" => length = value.parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length.min(64 << 20)];
    let _ = std::io::Read::read_exact(&mut reader, &mut body);
    let req = Request {
        method,
        path,
        authorization,
        user_agent,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let earlier = {
        let mut all = requests.lock().unwrap();
        let n = all
            .iter()
            .filter(|r| r.path == req.path && r.authorization == req.authorization)
            .count();
        all.push(req.clone());
        n
    };
    let reply = handler(&req, earlier, base);
    thread::sleep(reply.delay);
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reason(reply.status),
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&reply.body);
    let mut stream = stream;
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}
