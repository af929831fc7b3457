//! An alert receiver on 127.0.0.1 for the `hfleaks serve` tests: it
//! records every HTTP/1.1 request it gets (method, path, headers, body, and
//! the status it answered), answers 500 to its first N requests (an
//! endpoint that is down, then recovers) and 200 to the rest, and stops
//! when the test drops it. Standard library only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names as sent, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// What the sink answered: 500 while failing, else 200.
    pub status: u16,
    /// When the request had been read whole.
    pub at: Instant,
}

impl Delivery {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Answered 2xx: the sender may consider it delivered.
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

struct Shared {
    deliveries: Mutex<Vec<Delivery>>,
    fail_first: usize,
    seen: AtomicUsize,
    stop: AtomicBool,
}

/// A running sink.
pub struct AlertSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl AlertSink {
    /// A sink that answers 200 to everything.
    pub fn start() -> AlertSink {
        AlertSink::failing_first(0)
    }

    /// A sink that answers 500 to its first `n` requests, 200 afterwards.
    pub fn failing_first(n: usize) -> AlertSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            deliveries: Mutex::new(Vec::new()),
            fail_first: n,
            seen: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let acceptor = {
            let shared = shared.clone();
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = shared.clone();
                    thread::spawn(move || serve(stream, &shared));
                }
            })
        };
        AlertSink {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `http://127.0.0.1:PORT/alerts`.
    pub fn url(&self) -> String {
        format!("http://{}/alerts", self.addr)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries.lock().unwrap().clone()
    }

    /// The requests the sink answered 2xx.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.deliveries()
            .into_iter()
            .filter(Delivery::accepted)
            .collect()
    }
}

impl Drop for AlertSink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// Answers the requests of one connection (keep-alive honoured) until the
/// peer closes, a read times out, or the sink stops.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut out = stream;
    while !shared.stop.load(Ordering::SeqCst) {
        let Some((delivery, keep_alive)) = read_request(&mut reader) else {
            return;
        };
        let n = shared.seen.fetch_add(1, Ordering::SeqCst);
        let status = if n < shared.fail_first { 500 } else { 200 };
        let body: &[u8] = if status == 200 {
            b"ok"
        } else {
            b"down for the test"
        };
        shared
            .deliveries
            .lock()
            .unwrap()
            .push(Delivery { status, ..delivery });
        let reason = if status == 200 {
            "OK"
        } else {
            "Internal Server Error"
        };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: {}\r\n\r\n",
            body.len(),
            if keep_alive { "keep-alive" } else { "close" }
        );
        if out.write_all(head.as_bytes()).is_err()
            || out.write_all(body).is_err()
            || out.flush().is_err()
        {
            return;
        }
        if !keep_alive {
            return;
        }
    }
}

/// One request: line, headers, then a body by `Content-Length` or
/// `Transfer-Encoding: chunked`. Also whether the connection stays open.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Delivery, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let version = parts.next().unwrap_or("HTTP/1.1").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end_matches(['\r', '\n']);
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.to_ascii_lowercase())
    };
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?.trim(), 16).ok()?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut t = String::new();
                    if reader.read_line(&mut t).ok()? == 0 || t.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0u8; size];
            reader.read_exact(&mut chunk).ok()?;
            body.extend_from_slice(&chunk);
            let mut crlf = String::new();
            reader.read_line(&mut crlf).ok()?;
        }
    } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body = vec![0u8; n.min(16 << 20)];
        reader.read_exact(&mut body).ok()?;
    }
    let connection = get("connection").unwrap_or_default();
    let keep_alive = if version.eq_ignore_ascii_case("HTTP/1.0") {
        connection.contains("keep-alive")
    } else {
        !connection.contains("close")
    };
    Some((
        Delivery {
            method,
            path,
            headers,
            body,
            status: 0,
            at: Instant::now(),
        },
        keep_alive,
    ))
}
