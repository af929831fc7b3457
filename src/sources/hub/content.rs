//! File contents a Hub audit reads outside git: the LFS and Xet objects of
//! git repos (`…/resolve/COMMIT/PATH`) and Storage Bucket files
//! (`/buckets/NS/NAME/resolve/PATH`). Every download goes through the
//! run's one client (the redirect to the content host followed, the token
//! kept to the endpoint: [`Hub::content`]) and the run's one pool of
//! downloads in flight. Model weights and media are never downloaded: told
//! by name before any request, and otherwise by their first bytes, read
//! with a `Range` request before the rest. Contents stay in memory only:
//! nothing downloaded is ever written to disk.

use std::sync::Arc;

use super::pool::Pool;
use super::refusal;
use crate::http::Hub;
use crate::sources::lfs::{MAGIC_BYTES, is_weights_magic};

/// The first bytes read on their own, to tell weights and media by their
/// magic before the rest is downloaded (a file this small is read whole).
pub const PROBE: u64 = 64 * 1024;

/// Downloads in flight per `--jobs` worker, run-wide: 16 with 4 jobs.
pub const DOWNLOADS_PER_JOB: usize = 4;

/// What a download gave.
#[derive(Debug)]
pub enum Fetched {
    /// The whole content.
    Bytes(Vec<u8>),
    /// Its first bytes are a weights or media format: the rest was not
    /// downloaded.
    Weights,
}

/// A download's outcome and the bytes it took.
#[derive(Debug)]
pub struct Fetch {
    pub outcome: Result<Fetched, String>,
    pub downloaded: u64,
}

/// The run's downloader: one client, one token, one bound.
pub struct Downloader {
    pub hub: Arc<Hub>,
    pub token: Option<String>,
    pub pool: Pool,
    /// Why each download that failed did (a caller that retries failed
    /// work, as `serve` does, reads them after an audit).
    pub failures: std::sync::Mutex<Vec<String>>,
}

impl Downloader {
    pub fn new(hub: Arc<Hub>, token: Option<String>, in_flight: usize) -> Downloader {
        Downloader {
            hub,
            token,
            pool: Pool::new(in_flight),
            failures: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The content at `url` (a `resolve` URL on the endpoint), listed as
    /// `size` bytes: read whole when it is at most [`PROBE`] bytes, else
    /// its first [`PROBE`] bytes, then (not weights) the rest.
    pub fn fetch(&self, url: &str, size: u64) -> Fetch {
        let mut downloaded = 0;
        let outcome = self.fetch_counting(url, size, &mut downloaded);
        if let Err(e) = &outcome {
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(e.clone());
        }
        Fetch {
            outcome,
            downloaded,
        }
    }

    fn fetch_counting(
        &self,
        url: &str,
        size: u64,
        downloaded: &mut u64,
    ) -> Result<Fetched, String> {
        let weights = |head: &[u8]| is_weights_magic(&head[..head.len().min(MAGIC_BYTES)]);
        if size <= PROBE {
            let whole = self.get(url, None, size)?;
            *downloaded += whole.body.len() as u64;
            return Ok(match weights(&whole.body) {
                true => Fetched::Weights,
                false => Fetched::Bytes(whole.body),
            });
        }
        let head = self.get(url, Some((0, Some(PROBE - 1))), size)?;
        *downloaded += head.body.len() as u64;
        if weights(&head.body) {
            return Ok(Fetched::Weights);
        }
        // A server that ignores `Range` sent the whole file.
        if head.status == 200 {
            return Ok(Fetched::Bytes(head.body));
        }
        let from = head.body.len() as u64;
        let rest = self.get(url, Some((from, None)), size - from)?;
        *downloaded += rest.body.len() as u64;
        if rest.status == 200 {
            return Ok(Fetched::Bytes(rest.body));
        }
        let mut body = head.body;
        body.extend_from_slice(&rest.body);
        Ok(Fetched::Bytes(body))
    }

    fn get(
        &self,
        url: &str,
        range: Option<(u64, Option<u64>)>,
        limit: u64,
    ) -> Result<crate::http::Content, String> {
        let c = self
            .hub
            .content(url, self.token.as_deref(), range, limit.max(1))?;
        match c.status {
            200 | 206 => Ok(c),
            404 if c.error_code.as_deref() == Some("EntryNotFound") => {
                Err("HTTP 404: the file is not there (EntryNotFound)".to_string())
            }
            s => Err(refusal(
                s,
                c.error_code.as_deref(),
                c.error_message.as_deref(),
            )),
        }
    }
}
