//! Long runs of the characters encodings are written in (base64 of either
//! alphabet, hex, `%XX` and `\uXXXX` escapes), found at memory speed: the
//! opaque-run decoder looks at every byte of every file, so this pass must
//! cost a small fraction of the keyword search.
//!
//! On x86_64 with AVX2, 64 bytes at a time are classified with two nibble
//! lookups (`pshufb`) into a bit mask, and runs are read off the masks;
//! elsewhere, every `min`-th byte is sampled (a run that long must hold one)
//! and only the runs around in-class samples are walked. Both give the same
//! runs (tested). Pure: bytes in, spans out.

/// The characters of an opaque run. `=` is not one: it ends a run
/// (`key=value`); base64's padding is added by the caller.
pub static OPAQUE_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'_' | b'-' | b'%' | b'\\');
        b += 1;
    }
    table
};

/// Calls `f(start, end)` with every maximal run of [`OPAQUE_CHARS`] in
/// `hay` at least `min` bytes long, in order.
pub fn long_runs(hay: &[u8], min: usize, f: impl FnMut(usize, usize)) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            return masked_runs(hay, min, f);
        }
    }
    sampled_runs(hay, min, f)
}

/// The portable path: samples every `min`-th byte.
fn sampled_runs(hay: &[u8], min: usize, mut f: impl FnMut(usize, usize)) {
    let min = min.max(1);
    let class = |b: u8| OPAQUE_CHARS[usize::from(b)];
    let mut floor = 0;
    let mut p = min - 1;
    while let Some(&b) = hay.get(p) {
        if !class(b) {
            p += min;
            continue;
        }
        let start = floor
            + hay[floor..p]
                .iter()
                .rposition(|&b| !class(b))
                .map_or(0, |i| i + 1);
        let end = p + hay[p..]
            .iter()
            .position(|&b| !class(b))
            .unwrap_or(hay.len() - p);
        if end - start >= min {
            f(start, end);
        }
        floor = end;
        p = end + min;
    }
}

/// Bit `i` set when `chunk[i]` is an opaque character (`chunk` at most 64
/// bytes).
#[cfg(test)]
fn mask_scalar(chunk: &[u8]) -> u64 {
    chunk.iter().enumerate().fold(0, |m, (i, &b)| {
        m | (u64::from(OPAQUE_CHARS[usize::from(b)]) << i)
    })
}

/// The probe bits of a chunk, from its scalar mask.
#[cfg(test)]
fn probe_scalar(chunk: &[u8]) -> u32 {
    let m = mask_scalar(&chunk[..64]);
    (m & 0xFFFF) as u32 | (((m >> 32) & 0xFFFF) as u32) << 16
}

/// The shortest run the mask path can look for: a run of 47 or more bytes
/// holds two whole consecutive 16-byte blocks of any 64-byte chunk grid,
/// one of them the chunk's first or third, so only chunks where one of
/// those two is all opaque bytes need a closer look.
const LANE_MIN: usize = 47;

/// The first 16-bit lane of `w` with every bit set, if any.
fn first_full_lane(w: u64) -> Option<usize> {
    const ONES: u64 = 0x0001_0001_0001_0001;
    const HIGH: u64 = 0x8000_8000_8000_8000;
    let x = !w;
    let zero_lanes = x.wrapping_sub(ONES) & !x & HIGH;
    (zero_lanes != 0).then(|| zero_lanes.trailing_zeros() as usize / 16)
}

/// Whether the probe of a chunk (the class bits of its first and third
/// 16-byte blocks, in the low and high half) shows either block full.
fn probe_hit(probe: u32) -> bool {
    probe & 0xFFFF == 0xFFFF || probe >> 16 == 0xFFFF
}

/// Runs found from class masks: `probe` classifies the first and third
/// 16-byte blocks of a 64-byte chunk, `mask` all 64 bytes. A chunk whose
/// two probed blocks are not all opaque costs the probe and one test;
/// around a full block the run's ends are read off masks.
#[inline(always)]
fn runs_from_masks(
    hay: &[u8],
    min: usize,
    probe: impl Fn(&[u8]) -> u32,
    mask: impl Fn(&[u8]) -> u64,
    mut f: impl FnMut(usize, usize),
) {
    debug_assert!(min >= LANE_MIN);
    let class = |b: u8| OPAQUE_CHARS[usize::from(b)];
    // The first byte of the run holding `at`, at or after `floor`.
    let run_start = |floor: usize, at: usize| {
        let mut end = at;
        while end >= floor + 64 {
            let w = mask(&hay[end - 64..end]);
            if w != u64::MAX {
                return end - w.leading_ones() as usize;
            }
            end -= 64;
        }
        floor
            + hay[floor..end]
                .iter()
                .rposition(|&b| !class(b))
                .map_or(0, |i| i + 1)
    };
    // The end of the run holding `at`.
    let run_end = |mut at: usize| {
        while at + 64 <= hay.len() {
            let w = mask(&hay[at..at + 64]);
            if w != u64::MAX {
                return at + w.trailing_ones() as usize;
            }
            at += 64;
        }
        at + hay[at..]
            .iter()
            .position(|&b| !class(b))
            .unwrap_or(hay.len() - at)
    };
    // Every run ending at or before `floor` has been reported or dismissed.
    let mut floor = 0;
    let mut pos = 0;
    while pos + 64 <= hay.len() {
        if !probe_hit(probe(&hay[pos..pos + 64])) {
            pos += 64;
            continue;
        }
        let w = mask(&hay[pos..pos + 64]);
        let Some(lane) = first_full_lane(w) else {
            pos += 64;
            continue;
        };
        let (low, high) = (lane * 16, lane * 16 + 16);
        let below = !w & ((1u64 << low) - 1);
        let start = if below != 0 {
            pos + 64 - below.leading_zeros() as usize
        } else {
            run_start(floor, pos)
        };
        let above = if high < 64 {
            !w & !((1u64 << high) - 1)
        } else {
            0
        };
        let end = if above != 0 {
            pos + above.trailing_zeros() as usize
        } else {
            run_end(pos + 64)
        };
        if end - start >= min {
            f(start, end);
        }
        floor = end;
        pos = end;
    }
    // The tail: a run reaching into it without a probed full block before
    // it began less than a chunk and a block before `pos`.
    let from = floor.max(pos.saturating_sub(64 + 16));
    sampled_runs(&hay[from..], min, |s, e| f(from + s, from + e));
}

#[cfg(target_arch = "x86_64")]
fn masked_runs(hay: &[u8], min: usize, f: impl FnMut(usize, usize)) {
    if min < LANE_MIN {
        return sampled_runs(hay, min, f);
    }
    // SAFETY: only called once AVX2 was detected (`long_runs`, the tests).
    unsafe { avx2::runs(hay, min, f) }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Nibble tables: a byte is opaque when `LOW[b & 15] & HIGH[b >> 4]`
    /// is not zero. Bit 1: `%` `+` `-` `/` (high nibble 2); bit 2: digits
    /// (3); bit 4: `A`-`O`, `a`-`o` (4, 6); bit 8: `P`-`Z`, `p`-`z` (5, 7);
    /// bit 16: `\` `_` (5). Each repeated for both 128-bit lanes.
    static LOW: [u8; 32] = {
        let mut t = [0u8; 32];
        let mut lo = 0;
        while lo < 16 {
            let mut v = 0;
            if lo == 0x5 || lo == 0xB || lo == 0xD || lo == 0xF {
                v |= 1;
            }
            if lo <= 9 {
                v |= 2;
            }
            if lo >= 1 {
                v |= 4;
            }
            if lo <= 0xA {
                v |= 8;
            }
            if lo == 0xC || lo == 0xF {
                v |= 16;
            }
            t[lo] = v;
            t[lo + 16] = v;
            lo += 1;
        }
        t
    };
    static HIGH: [u8; 32] = {
        let mut t = [0u8; 32];
        let per = [0, 0, 1, 2, 4, 8 | 16, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut i = 0;
        while i < 16 {
            t[i] = per[i];
            t[i + 16] = per[i];
            i += 1;
        }
        t
    };

    /// [`super::runs_from_masks`] with the AVX2 mask, compiled for AVX2 so
    /// that the mask is inlined into the loop.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn runs(hay: &[u8], min: usize, f: impl FnMut(usize, usize)) {
        super::runs_from_masks(
            hay,
            min,
            // SAFETY: AVX2 is this function's precondition; chunks hold 64 bytes.
            |chunk| unsafe { probe64(chunk) },
            |chunk| unsafe { mask64(chunk) },
            f,
        )
    }

    /// The class bits of the first and third 16-byte blocks of 64 bytes.
    ///
    /// # Safety
    /// The CPU must support AVX2; `chunk` must hold at least 64 bytes.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn probe64(chunk: &[u8]) -> u32 {
        debug_assert!(chunk.len() >= 64);
        // SAFETY: two 16-byte loads within `chunk` (64 bytes), the tables
        // (32 bytes each); AVX2 is the caller's promise.
        unsafe {
            let v = _mm256_inserti128_si256::<1>(
                _mm256_castsi128_si256(_mm_loadu_si128(chunk.as_ptr().cast())),
                _mm_loadu_si128(chunk.as_ptr().add(32).cast()),
            );
            classify(v)
        }
    }

    /// The class bits of 32 bytes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn classify(v: __m256i) -> u32 {
        // SAFETY: the table loads read 32 bytes each.
        unsafe {
            let low = _mm256_loadu_si256(LOW.as_ptr().cast());
            let high = _mm256_loadu_si256(HIGH.as_ptr().cast());
            let nibble = _mm256_set1_epi8(0x0F);
            let lo = _mm256_and_si256(v, nibble);
            let hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
            let c = _mm256_and_si256(_mm256_shuffle_epi8(low, lo), _mm256_shuffle_epi8(high, hi));
            !(_mm256_movemask_epi8(_mm256_cmpeq_epi8(c, _mm256_setzero_si256())) as u32)
        }
    }

    /// The class mask of 64 bytes.
    ///
    /// # Safety
    /// The CPU must support AVX2; `chunk` must hold at least 64 bytes.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub unsafe fn mask64(chunk: &[u8]) -> u64 {
        debug_assert!(chunk.len() >= 64);
        // SAFETY: two 32-byte loads within `chunk` (64 bytes); AVX2 is the
        // caller's promise.
        unsafe {
            let a = _mm256_loadu_si256(chunk.as_ptr().cast());
            let b = _mm256_loadu_si256(chunk.as_ptr().add(32).cast());
            u64::from(classify(a)) | (u64::from(classify(b)) << 32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(
        run: impl Fn(&[u8], usize, &mut dyn FnMut(usize, usize)),
        hay: &[u8],
        min: usize,
    ) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        run(hay, min, &mut |s, e| out.push((s, e)));
        out
    }

    /// The plain definition: every maximal run, filtered by length.
    fn reference(hay: &[u8], min: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = None;
        for (i, &b) in hay.iter().enumerate() {
            match (OPAQUE_CHARS[usize::from(b)], start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    if i - s >= min {
                        out.push((s, i));
                    }
                    start = None;
                }
                _ => {}
            }
        }
        if let Some(s) = start {
            if hay.len() - s >= min {
                out.push((s, hay.len()));
            }
        }
        out
    }

    #[test]
    fn every_path_finds_exactly_the_long_runs() {
        let mut rng = fastrand::Rng::with_seed(32);
        for case in 0..400 {
            let len = rng.usize(0..if case % 7 == 0 { 5000 } else { 700 });
            // Mostly opaque characters with delimiters at a varying rate,
            // and every byte value now and then.
            let gap = if case % 7 == 0 { 400 } else { 2 + case % 50 };
            let hay: Vec<u8> = (0..len)
                .map(|_| match rng.usize(..gap) {
                    0 => b' ',
                    1 => rng.u8(..),
                    _ => rng.alphanumeric() as u8,
                })
                .collect();
            for min in [1, 5, 32, 47, 48, 63, 64, 65, 130] {
                let want = reference(&hay, min);
                let sampled = collect(|h, m, f| sampled_runs(h, m, f), &hay, min);
                assert_eq!(sampled, want, "sampled, min {min}, case {case}");
                if min >= LANE_MIN {
                    let scalar = collect(
                        |h, m, f| runs_from_masks(h, m, probe_scalar, mask_scalar, f),
                        &hay,
                        min,
                    );
                    assert_eq!(scalar, want, "masks, min {min}, case {case}");
                }
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let simd = collect(|h, m, f| masked_runs(h, m, f), &hay, min);
                    assert_eq!(simd, want, "avx2, min {min}, case {case}");
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_avx2_mask_classifies_every_byte_value() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        for first in (0..256).step_by(64) {
            let chunk: Vec<u8> = (first..first + 64).map(|b| b as u8).collect();
            // SAFETY: AVX2 detected above; 64 bytes.
            let simd = unsafe { avx2::mask64(&chunk) };
            assert_eq!(simd, mask_scalar(&chunk), "bytes {first}..");
            // SAFETY: as above.
            let probe = unsafe { avx2::probe64(&chunk) };
            assert_eq!(probe, probe_scalar(&chunk), "probe of bytes {first}..");
        }
    }
}
