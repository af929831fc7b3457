//! A small Chrome DevTools Protocol client, so that integration tests can
//! drive Debian's headless `chromium` as a person would (open a page, type,
//! click, wait, take a screenshot) without a websocket library: Chromium is
//! started with `--remote-debugging-pipe` and reads commands on its file
//! descriptor 3 and writes answers and events on 4, each message one JSON
//! document ended by a NUL byte. Every wait has a deadline, so no test
//! hangs on a browser that stopped answering; the browser and its helper
//! processes (one process group) are killed when the test drops it.
//!
//! No `chromium` binary: [`Browser::start`] answers `None` and the test
//! skips, unless `HFLEAKS_REQUIRE_CHROMIUM` is set (as CI does), which
//! fails it.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// How long one command may take unless a caller says otherwise.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The first answer of a fresh browser (a new profile on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Console lines and exceptions kept per page (the oldest are dropped).
const CONSOLE_CAP: usize = 1000;

/// The browser binaries looked for, in order.
const BINARIES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// A headless Chromium under way.
pub struct Browser {
    child: Child,
    state: Mutex<State>,
    stderr_path: PathBuf,
    _profile: tempfile::TempDir,
}

struct State {
    /// Our end of Chromium's fd 3.
    commands: File,
    /// Messages read from Chromium's fd 4 by the reader thread.
    messages: Receiver<Value>,
    next_id: u64,
    /// Console output and exceptions, by session id.
    console: HashMap<String, VecDeque<String>>,
}

/// One tab, attached in flat mode: its commands carry its `sessionId`.
pub struct Page<'a> {
    browser: &'a Browser,
    session: String,
}

/// The path of the first browser binary that runs `--version`.
fn find_binary() -> Option<&'static str> {
    BINARIES.into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// A pipe whose two ends are closed on exec: (read end, write end).
fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned by no one else.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Where tests keep what a person would want to look at after a run
/// (screenshots): `target/test-artifacts/NAME`, its folder created.
pub fn artifact(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

impl Browser {
    /// Starts `chromium --headless=new` with the DevTools pipe on fds 3
    /// and 4, a fresh profile, and every request to a host other than
    /// loopback sent to a closed port (the pages under test must need
    /// nothing from outside). `None` when no browser is installed and
    /// `HFLEAKS_REQUIRE_CHROMIUM` is unset; then the caller skips.
    pub fn start() -> Option<Browser> {
        let Some(binary) = find_binary() else {
            assert!(
                std::env::var_os("HFLEAKS_REQUIRE_CHROMIUM").is_none(),
                "headless Chromium is required (HFLEAKS_REQUIRE_CHROMIUM) but none of {BINARIES:?} runs"
            );
            eprintln!("SKIPPED: headless Chromium (apt-get install chromium)");
            return None;
        };
        let profile = tempfile::tempdir().unwrap();
        let stderr_path = profile.path().join("chromium-stderr.log");
        let stderr = File::create(&stderr_path).unwrap();
        // Chromium reads commands from fd 3 and writes on fd 4.
        let (their_in, our_out) = pipe();
        let (our_in, their_out) = pipe();
        let (fd_in, fd_out) = (their_in.as_raw_fd(), their_out.as_raw_fd());
        let mut cmd = Command::new(binary);
        cmd.args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--mute-audio",
            "--window-size=1280,900",
            // Loopback is reached directly; anything else goes nowhere.
            "--proxy-server=127.0.0.1:9",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        // Its own process group, so that Drop ends its helpers too.
        .process_group(0);
        // SAFETY: between fork and exec only async-signal-safe calls (fcntl,
        // dup2, close) on descriptors this process owns.
        unsafe {
            cmd.pre_exec(move || {
                // Copies above 4 first: a pipe end may itself be 3 or 4.
                let a = libc::fcntl(fd_in, libc::F_DUPFD, 10);
                let b = libc::fcntl(fd_out, libc::F_DUPFD, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc::close(a);
                libc::close(b);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} does not start: {e}"));
        // Only Chromium holds its ends now: its exit ends our reads.
        drop(their_in);
        drop(their_out);
        let (tx, rx) = mpsc::channel();
        let reader = File::from(our_in);
        thread::spawn(move || {
            let mut r = BufReader::new(reader);
            loop {
                let mut msg = Vec::new();
                match r.read_until(0, &mut msg) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if msg.last() == Some(&0) {
                    msg.pop();
                }
                let Ok(v) = serde_json::from_slice::<Value>(&msg) else {
                    continue;
                };
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let browser = Browser {
            child,
            state: Mutex::new(State {
                commands: File::from(our_out),
                messages: rx,
                next_id: 1,
                console: HashMap::new(),
            }),
            stderr_path,
            _profile: profile,
        };
        let version = browser
            .call(None, "Browser.getVersion", json!({}), START_TIMEOUT)
            .unwrap_or_else(|e| panic!("{binary} does not answer on its DevTools pipe: {e}"));
        eprintln!("headless {}", version["product"].as_str().unwrap_or(binary));
        Some(browser)
    }

    /// Opens a new tab on `about:blank` and attaches to it.
    pub fn page(&self) -> Page<'_> {
        let target = self.must(
            None,
            "Target.createTarget",
            json!({"url": "about:blank"}),
            COMMAND_TIMEOUT,
        );
        let target_id = target["targetId"].as_str().expect("a targetId").to_string();
        let attached = self.must(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
            COMMAND_TIMEOUT,
        );
        let session = attached["sessionId"]
            .as_str()
            .expect("a sessionId")
            .to_string();
        let page = Page {
            browser: self,
            session,
        };
        // Console lines and uncaught exceptions, for failure messages.
        page.command("Runtime.enable", json!({}));
        page
    }

    /// What Chromium printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends `method` (to `session`, or to the browser) and waits up to
    /// `timeout` for its answer: its `result`, or the protocol's error.
    pub fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let id = st.next_id;
        st.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(0);
        st.commands
            .write_all(&bytes)
            .and_then(|()| st.commands.flush())
            .map_err(|e| format!("{method}: the browser's pipe is closed: {e}"))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = match st.messages.recv_timeout(left) {
                Ok(v) => v,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(format!("{method}: no answer within {timeout:?}"));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{method}: the browser exited\n{}", self.stderr()));
                }
            };
            if v["id"].as_u64() == Some(id) {
                return match v.get("error") {
                    Some(e) => Err(format!("{method}: {e}")),
                    None => Ok(v["result"].clone()),
                };
            }
            // An event, or the late answer of a command that timed out.
            st.record(&v);
        }
    }

    /// [`Browser::call`], panicking on an error.
    fn must(&self, session: Option<&str>, method: &str, params: Value, t: Duration) -> Value {
        self.call(session, method, params, t)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl State {
    /// Keeps console output and exceptions of a page; other events are not
    /// needed by the tests and are dropped.
    fn record(&mut self, v: &Value) {
        let Some(session) = v["sessionId"].as_str() else {
            return;
        };
        let line = match v["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let args = v["params"]["args"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| match &x["value"] {
                                Value::String(s) => s.clone(),
                                Value::Null => x["description"].as_str().unwrap_or("").into(),
                                other => other.to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default();
                format!(
                    "console.{}: {args}",
                    v["params"]["type"].as_str().unwrap_or("log")
                )
            }
            Some("Runtime.exceptionThrown") => {
                let d = &v["params"]["exceptionDetails"];
                format!(
                    "uncaught: {}",
                    d["exception"]["description"]
                        .as_str()
                        .or(d["text"].as_str())
                        .unwrap_or("?")
                )
            }
            _ => return,
        };
        let lines = self.console.entry(session.to_string()).or_default();
        if lines.len() == CONSOLE_CAP {
            lines.pop_front();
        }
        lines.push_back(line);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call(None, "Browser.close", json!({}), Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        // The whole group this browser leads: its renderers and helpers.
        // SAFETY: a plain kill(2) of the group led by our own child.
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Page<'_> {
    /// Sends `method` to this page and waits for its answer; panics on an
    /// error.
    pub fn command(&self, method: &str, params: Value) -> Value {
        self.browser
            .must(Some(&self.session), method, params, COMMAND_TIMEOUT)
    }

    /// Navigates to `url` and waits until the new document has loaded
    /// (`document.readyState == "complete"`); panics when it fails.
    pub fn goto(&self, url: &str) {
        self.mark_document();
        let nav = self.command("Page.navigate", json!({"url": url}));
        if let Some(e) = nav["errorText"].as_str() {
            panic!("navigating to {url}: {e}");
        }
        self.wait_navigation(COMMAND_TIMEOUT);
    }

    /// Marks the current document, so that [`Page::wait_navigation`] can
    /// tell the next one from it (call it before what navigates: a form
    /// submitted, a link clicked).
    pub fn mark_document(&self) {
        let _ = self.try_eval("window.__cdpOldDocument = true");
    }

    /// Waits until a document other than the one last marked has loaded
    /// whole; panics after `timeout`.
    pub fn wait_navigation(&self, timeout: Duration) {
        let ok = self.wait_for(
            "!window.__cdpOldDocument && document.readyState === 'complete'",
            timeout,
        );
        assert!(
            ok,
            "no new document loaded within {timeout:?} (at {:?})\nconsole: {:?}",
            self.try_eval("location.href"),
            self.console()
        );
    }

    /// Evaluates `js` in the page (promises awaited) and answers its value
    /// as JSON (`null` for `undefined`); panics when it throws.
    pub fn eval(&self, js: &str) -> Value {
        self.try_eval(js)
            .unwrap_or_else(|e| panic!("{e}\nconsole: {:?}", self.console()))
    }

    /// [`Page::eval`], answering what went wrong instead of panicking.
    pub fn try_eval(&self, js: &str) -> Result<Value, String> {
        self.try_eval_within(js, COMMAND_TIMEOUT)
    }

    fn try_eval_within(&self, js: &str, timeout: Duration) -> Result<Value, String> {
        let r = self.browser.call(
            Some(&self.session),
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
            timeout,
        )?;
        if let Some(d) = r.get("exceptionDetails") {
            let what = d["exception"]["description"]
                .as_str()
                .or(d["text"].as_str())
                .unwrap_or("exception");
            return Err(format!("{js}: {what}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Polls the JavaScript expression `cond` every 50 ms until it is
    /// truthy; whether it became so within `timeout`. An evaluation that
    /// fails (the page between two documents) counts as false.
    pub fn wait_for(&self, cond: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let js = format!("!!({cond})");
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let each = left.clamp(Duration::from_millis(100), Duration::from_secs(5));
            if self.try_eval_within(&js, each) == Ok(Value::Bool(true)) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The page's visible text (`document.body.innerText`).
    pub fn text(&self) -> String {
        self.eval("document.body ? document.body.innerText : ''")
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Saves a PNG screenshot of the viewport to `path` (folders created).
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let shot = self.command("Page.captureScreenshot", json!({"format": "png"}));
        let data = shot["data"].as_str().expect("screenshot data");
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("base64 screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }

    /// Console lines and uncaught exceptions of this page so far.
    pub fn console(&self) -> Vec<String> {
        let mut st = self.browser.state.lock().unwrap_or_else(|e| e.into_inner());
        // Events that came while no command was waiting.
        while let Ok(v) = st.messages.try_recv() {
            st.record(&v);
        }
        st.console
            .get(&self.session)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }
}
