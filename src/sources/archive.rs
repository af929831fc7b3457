//! Archives and compressed files as sources: the members of a zip (and its
//! family: `.whl`, `.jar`, `.nupkg`), a tar, a file compressed with gzip,
//! zstd, bzip2, xz or lz4 (frame format), or a tar so compressed,
//! recognised by their content (magic bytes), not their names, so that a
//! blob in git history is opened the same way as a file. Pure and bounded:
//! nothing is written anywhere; each member is read into memory only up to
//! the member limit, an archive's members add up to at most
//! [`Limits::total`] bytes, and a member that expands more than
//! [`Limits::ratio`] times is cut off as a likely decompression bomb.

use std::io::{self, Cursor, Read};

/// Bounds on what one archive may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest member read (as `--max-file-size`).
    pub member: u64,
    /// Decompressed bytes of all members of one archive.
    pub total: u64,
    /// Largest expansion of a compressed member (decompressed ÷ compressed),
    /// checked once a member has grown past a megabyte.
    pub ratio: u64,
}

/// What kind of container `content` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Zip,
    Gzip,
    Tar,
    Zstd,
    Bzip2,
    Xz,
    Lz4,
}

/// The container `content` is, from its first bytes.
pub fn kind(content: &[u8]) -> Option<Kind> {
    if content.starts_with(b"PK\x03\x04") || content.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if content.starts_with(&[0x1f, 0x8b]) {
        Some(Kind::Gzip)
    } else if content.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some(Kind::Zstd)
    } else if content.len() >= 4
        && content.starts_with(b"BZh")
        && (b'1'..=b'9').contains(&content[3])
    {
        Some(Kind::Bzip2)
    } else if content.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Kind::Xz)
    } else if content.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        Some(Kind::Lz4)
    } else if content.len() >= 262 && &content[257..262] == b"ustar" {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// One member: its name inside the archive, and its content.
pub struct Member {
    pub name: String,
    pub data: Vec<u8>,
}

/// What opening an archive gave: its members (in archive order) and the
/// problems met (a truncated archive, a bound reached); what was read
/// before a problem is kept.
#[derive(Default)]
pub struct Opened {
    pub members: Vec<Member>,
    pub problems: Vec<String>,
    /// Members left out for being larger than the member limit.
    pub skipped: Vec<(String, u64)>,
}

/// Opens `content` of `kind`; `name` is the archive's own name, used to
/// name the one member of a plain gzip file (`notes.txt.gz` → `notes.txt`).
/// `left` is what may still be decompressed (shared by nested archives);
/// what this one decompresses is taken from it.
pub fn open(kind: Kind, content: &[u8], name: &str, limits: &Limits, left: &mut u64) -> Opened {
    let mut opened = Opened::default();
    let mut budget = Budget {
        left: *left,
        limits: *limits,
        exhausted: *left == 0,
    };
    open_into(kind, content, name, &mut budget, &mut opened);
    *left = budget.left;
    opened
}

fn open_into(kind: Kind, content: &[u8], name: &str, budget: &mut Budget, opened: &mut Opened) {
    let limits = budget.limits;
    if budget.exhausted {
        opened.problems.push(format!(
            "not opened: the archives of this input expand to more than {} bytes",
            limits.total
        ));
        return;
    }
    match kind {
        Kind::Zip => zip_members(content, budget, opened),
        Kind::Tar => tar_members(content, budget, opened),
        Kind::Gzip => {
            let decoder = flate2::read::MultiGzDecoder::new(content);
            let inner_name = decoder
                .header()
                .and_then(|h| h.filename())
                .map(|f| String::from_utf8_lossy(f).into_owned());
            let name = inner_name.unwrap_or_else(|| unpacked_name(name));
            one_stream(decoder, content, name, budget, opened);
        }
        Kind::Zstd => match zstd::stream::read::Decoder::with_buffer(content) {
            Ok(decoder) => one_stream(decoder, content, unpacked_name(name), budget, opened),
            Err(e) => opened
                .problems
                .push(format!("cannot read zstd stream: {e}")),
        },
        Kind::Bzip2 => {
            let decoder = bzip2::read::MultiBzDecoder::new(content);
            one_stream(decoder, content, unpacked_name(name), budget, opened);
        }
        Kind::Xz => {
            let decoder = liblzma::read::XzDecoder::new_multi_decoder(content);
            one_stream(decoder, content, unpacked_name(name), budget, opened);
        }
        Kind::Lz4 => {
            let decoder = lz4_flex::frame::FrameDecoder::new(content);
            one_stream(decoder, content, unpacked_name(name), budget, opened);
        }
    }
}

/// A compressed file read as a stream: each window of whole lines of its
/// one member, in order, with the 0-based number of the window's first line.
/// Memory stays near one window whatever the member's size, so the member
/// limit (which bounds what is read whole) does not apply; the ratio and
/// the shared total do, each stopping the stream with a problem once what
/// came before was handed on.
pub struct Streamed {
    /// The member's name (`train.jsonl` of `train.jsonl.zst`).
    pub name: String,
    pub problems: Vec<String>,
}

/// Bytes decompressed before a window is handed on (cut at its last line
/// end; a line longer than twice this is handed on in pieces).
pub const WINDOW: usize = 4 << 20;

/// Whether `kind` is one compressed stream (not a container of members).
pub fn is_stream(kind: Kind) -> bool {
    !matches!(kind, Kind::Zip | Kind::Tar)
}

/// Streams the member of `content` (a compressed file of `kind`, named
/// `name`) window by window into `each`, unless its first bytes are
/// something [`open`] must unpack whole (`whole` says which: a tar, a
/// nested archive, a table, a notebook by its name): then `None`, and nothing was taken from
/// `left`. `None` too when nothing decompresses (not compressed after all).
pub fn stream(
    kind: Kind,
    content: &[u8],
    name: &str,
    limits: &Limits,
    left: &mut u64,
    whole: &dyn Fn(&str, &[u8]) -> bool,
    each: &mut dyn FnMut(&str, &[u8], usize),
) -> Option<Streamed> {
    let mut inner_name = None;
    let mut decoder: Box<dyn Read + '_> = match kind {
        Kind::Gzip => {
            let d = flate2::read::MultiGzDecoder::new(content);
            inner_name = d
                .header()
                .and_then(|h| h.filename())
                .map(|f| String::from_utf8_lossy(f).into_owned());
            Box::new(d)
        }
        Kind::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(content).ok()?),
        Kind::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(content)),
        Kind::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(content)),
        Kind::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(content)),
        Kind::Zip | Kind::Tar => return None,
    };
    let mut streamed = Streamed {
        name: inner_name.unwrap_or_else(|| unpacked_name(name)),
        problems: Vec::new(),
    };
    const CHECK_AFTER: u64 = 1 << 20;
    let mut buf: Vec<u8> = Vec::with_capacity(WINDOW + 64 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    let mut first_line = 0usize;
    let mut started = false;
    let mut ended = false;
    let mut target = WINDOW;
    while !ended {
        // Fill a window (or reach the end, or a bound).
        while buf.len() < target {
            let n = match decoder.read(&mut chunk) {
                Ok(0) => {
                    ended = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if !started && buf.is_empty() {
                        return None;
                    }
                    streamed.problems.push(format!("truncated or corrupt: {e}"));
                    ended = true;
                    break;
                }
            };
            total += n as u64;
            let stop = if total > CHECK_AFTER
                && total > (content.len() as u64).max(1).saturating_mul(limits.ratio)
            {
                Some(format!(
                    "stopped reading: it expands more than {}× (a decompression bomb?)",
                    limits.ratio
                ))
            } else if (buf.len() + n) as u64 > *left {
                Some(format!(
                    "stopped reading: the archive expands to more than {} bytes",
                    limits.total
                ))
            } else {
                None
            };
            if let Some(problem) = stop {
                streamed.problems.push(problem);
                ended = true;
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        if !started {
            if whole(&streamed.name, &buf) {
                return None;
            }
            started = true;
        }
        // Hand on whole lines; keep a partial last line for the next window
        // unless the stream ended or the line is far too long.
        let cut = if ended {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(nl) => nl + 1,
                None if buf.len() >= 2 * WINDOW => buf.len(),
                None => {
                    target = 2 * WINDOW;
                    continue;
                }
            }
        };
        target = WINDOW;
        if cut > 0 {
            each(&streamed.name, &buf[..cut], first_line);
            first_line += memchr::memchr_iter(b'\n', &buf[..cut]).count();
            *left -= (cut as u64).min(*left);
            buf.drain(..cut);
        }
    }
    Some(streamed)
}

/// The one member of a compressed file (or the members of the tar it
/// holds), read from `decoder` over the `content` bytes.
fn one_stream(
    mut decoder: impl Read,
    content: &[u8],
    name: String,
    budget: &mut Budget,
    opened: &mut Opened,
) {
    let limits = budget.limits;
    let (data, problem) = budget.read(&mut decoder, content.len() as u64);
    let unreadable = problem.is_some() && data.as_ref().is_some_and(Vec::is_empty);
    if let Some(p) = problem {
        opened.problems.push(p);
    }
    match data {
        // Nothing came out: not compressed after all (the caller scans it as bytes).
        _ if unreadable => {}
        Some(data) if self::kind(&data) == Some(Kind::Tar) => {
            tar_members(&data, budget, opened);
        }
        Some(data) => opened.members.push(Member { name, data }),
        None => opened.skipped.push((name, limits.member)),
    }
}

/// `notes.txt.gz` → `notes.txt`, `train.jsonl.zst` → `train.jsonl`;
/// `x.tgz` → `x.tar`; otherwise the last path component.
fn unpacked_name(name: &str) -> String {
    let base = name.rsplit(['/', '!']).next().unwrap_or(name);
    if let Some(stem) = base.strip_suffix(".tgz") {
        return format!("{stem}.tar");
    }
    [".gz", ".zst", ".zstd", ".bz2", ".xz", ".lz4"]
        .iter()
        .find_map(|ext| base.strip_suffix(ext))
        .unwrap_or(base)
        .to_string()
}

/// The bytes an archive may still expand to, and how members are read.
struct Budget {
    left: u64,
    limits: Limits,
    /// The total bound was reached: no further member is read.
    exhausted: bool,
}

impl Budget {
    /// Reads one member from `reader` (`compressed` bytes of input): its
    /// data (`None` when it was not read whole), and the problem if a bound
    /// was reached or the data ended early. A member merely larger than
    /// the member limit is `None` with no problem (it is noted as skipped).
    fn read(
        &mut self,
        reader: &mut dyn Read,
        compressed: u64,
    ) -> (Option<Vec<u8>>, Option<String>) {
        const CHECK_AFTER: u64 = 1 << 20;
        let mut data = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        let outcome = loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break (true, None),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break (true, Some(format!("truncated or corrupt: {e}"))),
            };
            let total = data.len() as u64 + n as u64;
            if total > CHECK_AFTER && total > compressed.max(1).saturating_mul(self.limits.ratio) {
                break (
                    false,
                    Some(format!(
                        "stopped reading: it expands more than {}× (a decompression bomb?)",
                        self.limits.ratio
                    )),
                );
            }
            if total > self.left {
                self.exhausted = true;
                break (
                    false,
                    Some(format!(
                        "stopped reading: the archive expands to more than {} bytes",
                        self.limits.total
                    )),
                );
            }
            if total > self.limits.member {
                break (false, None);
            }
            data.extend_from_slice(&buf[..n]);
        };
        self.left -= (data.len() as u64).min(self.left);
        match outcome {
            (true, problem) => (Some(data), problem),
            (false, problem) => (None, problem),
        }
    }
}

fn zip_members(content: &[u8], budget: &mut Budget, opened: &mut Opened) {
    let mut archive = match zip::ZipArchive::new(Cursor::new(content)) {
        Ok(a) => a,
        Err(e) => {
            opened
                .problems
                .push(format!("cannot read zip archive: {e}"));
            return;
        }
    };
    for i in 0..archive.len() {
        let mut file = match archive.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                opened.problems.push(format!("member {}: {e}", i + 1));
                continue;
            }
        };
        if budget.exhausted {
            return;
        }
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        let compressed = file.compressed_size();
        let (data, problem) = budget.read(&mut file, compressed);
        if let Some(p) = problem {
            opened.problems.push(format!("{name}: {p}"));
        }
        match data {
            Some(data) => opened.members.push(Member { name, data }),
            None => opened.skipped.push((name, file.size())),
        }
    }
}

fn tar_members(content: &[u8], budget: &mut Budget, opened: &mut Opened) {
    let mut archive = tar::Archive::new(content);
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            opened
                .problems
                .push(format!("cannot read tar archive: {e}"));
            return;
        }
    };
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                opened
                    .problems
                    .push(format!("truncated or corrupt tar archive: {e}"));
                return;
            }
        };
        if budget.exhausted {
            return;
        }
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let size = entry.size();
        // A tar member is stored, not compressed: its size is what it costs.
        let (data, problem) = budget.read(&mut entry, size.max(1));
        if let Some(p) = problem {
            opened.problems.push(format!("{name}: {p}"));
        }
        match data {
            Some(data) => opened.members.push(Member { name, data }),
            None => opened.skipped.push((name, size)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    pub(crate) fn limits() -> Limits {
        Limits {
            member: 50 << 20,
            total: 256 << 20,
            ratio: 100,
        }
    }

    pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    pub(crate) fn gzip_of(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub(crate) fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn members_of_each_kind_are_read() {
        let zip = zip_of(&[("a/x.env", b"one"), ("b.py", b"two")]);
        let tar = tar_of(&[("c.txt", b"three")]);
        let tgz = gzip_of(&tar);
        let gz = gzip_of(b"four");
        for (bytes, name, expect) in [
            (&zip, "p.whl", vec!["a/x.env", "b.py"]),
            (&tar, "p.tar", vec!["c.txt"]),
            (&tgz, "p.tar.gz", vec!["c.txt"]),
            (&gz, "notes.txt.gz", vec!["notes.txt"]),
        ] {
            let k = kind(bytes).expect(name);
            let opened = open(k, bytes, name, &limits(), &mut (256 << 20));
            assert!(opened.problems.is_empty(), "{name}: {:?}", opened.problems);
            let names: Vec<&str> = opened.members.iter().map(|m| m.name.as_str()).collect();
            assert_eq!(names, expect, "{name}");
        }
        assert_eq!(kind(b"{\"cells\": []}"), None);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_ratio_with_bounded_memory() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = gzip_of(&zeros);
        assert!(bomb.len() < 200_000);
        let opened = open(Kind::Gzip, &bomb, "bomb.gz", &limits(), &mut (256 << 20));
        assert!(opened.members.is_empty());
        assert!(
            opened.problems[0].contains("decompression bomb"),
            "{:?}",
            opened.problems
        );
    }

    #[test]
    fn the_total_bound_stops_an_archive_of_many_members() {
        let data = vec![b'a'; 1 << 20];
        let files: Vec<(String, &[u8])> = (0..8).map(|i| (format!("m{i}"), &data[..])).collect();
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let tar = tar_of(&refs);
        let small = Limits {
            total: 3 << 20,
            ..limits()
        };
        let opened = open(Kind::Tar, &tar, "t.tar", &small, &mut (3 << 20));
        assert_eq!(opened.members.len(), 3);
        assert!(
            opened.problems.iter().any(|p| p.contains("more than")),
            "{:?}",
            opened.problems
        );
    }

    #[test]
    fn a_truncated_archive_is_a_problem_not_a_panic() {
        let zip = zip_of(&[("a.env", b"x")]);
        for cut in [10, zip.len() / 2, zip.len() - 5] {
            let _ = open(Kind::Zip, &zip[..cut], "t.zip", &limits(), &mut (256 << 20));
        }
        let gz = gzip_of(&vec![b'x'; 100_000]);
        let opened = open(
            Kind::Gzip,
            &gz[..gz.len() / 2],
            "t.gz",
            &limits(),
            &mut (256 << 20),
        );
        assert!(!opened.problems.is_empty());
    }
}
