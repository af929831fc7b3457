//! LFS and Xet pointers: the small text files git holds in place of a
//! large file's content (`version https://git-lfs.github.com/spec/v1`,
//! `oid sha256:…`, `size N`), found among the blobs as they are read, and
//! which file formats are never downloaded (model weights and media).

use std::sync::Mutex;

use git2::Oid;

use crate::finding::{LfsRef, Origin, ScanError};
use crate::sources::Sink;

/// A pointer file is at most this long (the spec says under 1024 bytes).
const MAX_POINTER: usize = 1024;
const VERSION: &[u8] = b"version https://git-lfs.github.com/spec/";

/// The object a pointer file stands for; `None` if `content` is not one.
pub fn parse_pointer(content: &[u8]) -> Option<LfsRef> {
    if content.len() >= MAX_POINTER || !content.starts_with(VERSION) {
        return None;
    }
    let text = std::str::from_utf8(content).ok()?;
    let (mut oid, mut size) = (None, None);
    for line in text.lines() {
        if let Some(hex) = line.strip_prefix("oid sha256:") {
            let hex = hex.trim();
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                oid = Some(hex.to_ascii_lowercase());
            }
        } else if let Some(n) = line.strip_prefix("size ") {
            size = n.trim().parse::<u64>().ok();
        }
    }
    Some(LfsRef {
        oid: oid?,
        size: size?,
    })
}

/// A sink that passes everything on to `inner` and notes each blob that
/// is an LFS pointer.
pub struct PointerWatch<'a> {
    inner: &'a dyn Sink,
    found: Mutex<Vec<(Oid, LfsRef)>>,
}

impl<'a> PointerWatch<'a> {
    pub fn new(inner: &'a dyn Sink) -> PointerWatch<'a> {
        PointerWatch {
            inner,
            found: Mutex::new(Vec::new()),
        }
    }

    /// The pointer blobs seen, each once, by blob id.
    pub fn pointers(self) -> Vec<(Oid, LfsRef)> {
        let mut v = self.found.into_inner().unwrap_or_else(|e| e.into_inner());
        v.sort_by_key(|(id, _)| *id);
        v.dedup_by_key(|(id, _)| *id);
        v
    }
}

impl Sink for PointerWatch<'_> {
    fn chunk(&self, origin: &Origin, content: &[u8]) {
        if let Origin::Blob { id, .. } = origin {
            if let Some(p) = parse_pointer(content) {
                self.found
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((*id, p));
            }
        }
        self.inner.chunk(origin, content);
    }

    fn error(&self, error: ScanError) {
        self.inner.error(error);
    }

    fn skipped(&self, origin: &Origin, size: u64) {
        self.inner.skipped(origin, size);
    }

    fn progress(&self, bytes: u64) {
        self.inner.progress(bytes);
    }
}

/// File extensions that are never downloaded: model weights and
/// checkpoints, array stores, audio, images and video. README lists them.
pub const NEVER_DOWNLOADED: &[&str] = &[
    // weights and checkpoints
    "safetensors",
    "bin",
    "pt",
    "pth",
    "ckpt",
    "gguf",
    "ggml",
    "onnx",
    "h5",
    "hdf5",
    "keras",
    "tflite",
    "msgpack",
    "npy",
    "npz",
    // audio
    "wav",
    "mp3",
    "flac",
    "ogg",
    "opus",
    "m4a",
    "aac",
    // images
    "png",
    "jpg",
    "jpeg",
    "gif",
    "webp",
    "bmp",
    "tif",
    "tiff",
    "ico",
    "heic",
    "avif",
    // video
    "mp4",
    "mov",
    "avi",
    "mkv",
    "webm",
    "m4v",
];

/// Whether a file of this name is a weights or media file by its
/// extension (case-insensitive).
pub fn is_weights_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && NEVER_DOWNLOADED.iter().any(|e| ext.eq_ignore_ascii_case(e))
    })
}

/// How many leading bytes [`is_weights_magic`] needs.
pub const MAGIC_BYTES: usize = 16;

/// Whether a file's first bytes are those of a weights or media format:
/// safetensors (a little-endian header length, then `{"`), GGUF, GGML,
/// HDF5, TFLite, NumPy, PNG, JPEG, GIF, WebP/WAV/AVI (RIFF),
/// FLAC, Ogg, MP3, MP4/MOV (`ftyp`), Matroska/WebM.
pub fn is_weights_magic(head: &[u8]) -> bool {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let safetensors = head.len() >= 10
        && head[8] == b'{'
        && matches!(head[9], b'"' | b' ' | b'\n')
        && u64::from_le_bytes(head[..8].try_into().unwrap_or([0; 8])) < 100 << 20;
    safetensors
        || [
            &b"GGUF"[..],
            b"ggml",
            b"ggjt",
            b"ggla",
            b"\x89HDF\r\n\x1a\n",
            b"\x93NUMPY",
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8\xff",
            b"GIF87a",
            b"GIF89a",
            b"RIFF",
            b"fLaC",
            b"OggS",
            b"ID3",
            b"\x1a\x45\xdf\xa3",
        ]
        .iter()
        .any(|m| at(0, m))
        || at(4, b"TFL3")
        || at(4, b"ftyp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_are_read_and_other_text_is_not() {
        let oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
        let text =
            format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 12345\n");
        assert_eq!(
            parse_pointer(text.as_bytes()),
            Some(LfsRef {
                oid: oid.into(),
                size: 12345
            })
        );
        assert_eq!(
            parse_pointer(b"version https://git-lfs.github.com/spec/v1\nsize 3\n"),
            None
        );
        assert_eq!(parse_pointer(b"hello"), None);
        let short = text.replace(oid, "abc");
        assert_eq!(parse_pointer(short.as_bytes()), None);
    }

    #[test]
    fn weights_and_media_are_told_by_name_and_by_magic() {
        for name in [
            "model.safetensors",
            "a/b/pytorch_model.BIN",
            "clip.mp4",
            "x.png",
            "w.gguf",
        ] {
            assert!(is_weights_name(name), "{name}");
        }
        for name in [
            "train.jsonl",
            "data.csv",
            "assets.zip",
            ".bin",
            "notes.ipynb",
            "bin",
        ] {
            assert!(!is_weights_name(name), "{name}");
        }
        let mut st = 42u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{\"__metadata__\":{}}");
        assert!(is_weights_magic(&st));
        assert!(is_weights_magic(b"GGUF\x03\x00\x00\x00"));
        assert!(is_weights_magic(b"\x89PNG\r\n\x1a\n...."));
        assert!(is_weights_magic(b"\x00\x00\x00\x18ftypmp42"));
        for text in [
            &b"{\"a\": 1}\n"[..],
            b"HF_TOKEN=x",
            b"PK\x03\x04zip",
            b"",
            b"id,name\n",
        ] {
            assert!(!is_weights_magic(text), "{text:?}");
        }
    }
}
