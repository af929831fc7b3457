//! Splitting a list of repos across machines: a repo belongs to shard
//! `hash(id) mod N`, with `hash` the first 8 bytes (big-endian) of the
//! SHA-256 of the repo's id (`NS/NAME`, `datasets/NS/NAME`,
//! `spaces/NS/NAME`, or a git URL as listed, without credentials). The
//! hash depends on nothing but the id, so shards are disjoint, cover the
//! list whatever order it comes in, and each is cut without knowing the
//! others. Pure: no I/O.

use sha2::{Digest, Sha256};

use crate::finding::Listing;

/// One of `count` slices; `index` is 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// `K/N` with `K` from 1 to `N` (as people count: `--shard 3/16`).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard '{text}': expected K/N with 1 <= K <= N, e.g. 3/16");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard {
            index: k - 1,
            count: n,
        })
    }

    /// A 0-based index of `count` (Kubernetes' `JOB_COMPLETION_INDEX`).
    pub fn from_index(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "shard index {index} is not below the shard count {count} (the index is 0-based)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether the repo `id` is in this shard.
    pub fn holds(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }

    /// `K/N`, 1-based as given.
    pub fn label(&self) -> String {
        format!("{}/{}", self.index + 1, self.count)
    }
}

/// The 0-based shard of `id` among `count`.
pub fn shard_of(id: &str, count: u32) -> u32 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
}

/// The listing's count and the SHA-256 of its ids, sorted, one per line.
pub fn listing(ids: &[String]) -> Listing {
    let mut sorted: Vec<&str> = ids.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut text = String::new();
    for id in &sorted {
        text.push_str(id);
        text.push('\n');
    }
    Listing {
        count: sorted.len() as u64,
        sha256: crate::finding::sha256_hex(text.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| match i % 3 {
                0 => format!("org-{}/model-{i}", i % 17),
                1 => format!("datasets/org-{}/data-{i}", i % 5),
                _ => format!("https://git.example/team/repo-{i}.git"),
            })
            .collect()
    }

    #[test]
    fn shards_are_disjoint_and_cover_the_list() {
        let all = ids(1000);
        for n in [1u32, 2, 7, 16] {
            let mut owner = vec![None; all.len()];
            for k in 0..n {
                let shard = Shard::from_index(k, n).unwrap();
                for (i, id) in all.iter().enumerate() {
                    if shard.holds(id) {
                        assert!(
                            owner[i].is_none(),
                            "{id} in shards {:?} and {k} of {n}",
                            owner[i]
                        );
                        owner[i] = Some(k);
                    }
                }
            }
            assert!(
                owner.iter().all(Option::is_some),
                "N={n}: a repo in no shard"
            );
            if n > 1 {
                // Not all in one shard: the hash spreads them.
                let mut sizes = vec![0usize; n as usize];
                for o in owner.iter().flatten() {
                    sizes[*o as usize] += 1;
                }
                let expect = 1000 / n as usize;
                assert!(
                    sizes.iter().all(|&s| s > expect / 2 && s < expect * 2),
                    "N={n}: {sizes:?}"
                );
            }
        }
    }

    #[test]
    fn a_repo_s_shard_depends_on_its_id_only() {
        let mut all = ids(200);
        let before: Vec<u32> = all.iter().map(|id| shard_of(id, 7)).collect();
        all.reverse();
        let after: Vec<u32> = all.iter().rev().map(|id| shard_of(id, 7)).collect();
        assert_eq!(before, after);
        // Fixed by the documented hash (the first 8 bytes of SHA-256 of the
        // id, big-endian, mod N), as `python3 -c 'import hashlib;
        // print(int.from_bytes(hashlib.sha256(b"acme/m1").digest()[:8], "big") % 16)'` says.
        assert_eq!(shard_of("acme/m1", 16), 15);
        assert_eq!(shard_of("acme/m1", 1 << 31), 0x5370_abaf);
    }

    #[test]
    fn shard_labels_are_one_based_and_checked() {
        assert_eq!(
            Shard::parse("3/16").unwrap(),
            Shard {
                index: 2,
                count: 16
            }
        );
        assert_eq!(Shard::parse("3/16").unwrap().label(), "3/16");
        for bad in ["0/4", "5/4", "x/4", "4", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert!(Shard::from_index(4, 4).is_err());
    }

    #[test]
    fn the_listing_digest_ignores_order_and_repeats() {
        let a = listing(&["b".into(), "a".into()]);
        let b = listing(&["a".into(), "b".into(), "a".into()]);
        assert_eq!(a, b);
        assert_eq!(a.count, 2);
        assert_ne!(a, listing(&["a".into()]));
    }
}
