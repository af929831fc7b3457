//! A bound on requests in flight, shared across a run.

/// A run's one bound on requests of a kind in flight (discussions, content
/// downloads), shared by every repo's worker: a repo with hundreds of
/// discussions or files reads them many at a time while the others are
/// busy cloning, and the whole run never asks more of the Hub at once than
/// this. Every request still passes the client's 429 gate.
pub struct Pool {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
    pub(crate) size: usize,
}

impl Pool {
    /// A pool of `size` requests in flight (at least 1).
    pub fn new(size: usize) -> Pool {
        let size = size.max(1);
        Pool {
            free: std::sync::Mutex::new(size),
            freed: std::sync::Condvar::new(),
            size,
        }
    }

    /// `f` of each item, in order, as many at a time as the pool has room
    /// for (each call holds a slot).
    pub fn map<I: Sync, T: Send>(&self, items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<T>>> =
            items.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|s| {
            for _ in 0..self.size.min(items.len()) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        let value = self.with_slot(|| f(item));
                        *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("every item is mapped once its thread ends")
            })
            .collect()
    }

    /// Runs `request` once a slot is free.
    fn with_slot<T>(&self, request: impl FnOnce() -> T) -> T {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        drop(free);
        // Given back however `request` ends (a panic included).
        struct Release<'a>(&'a Pool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                self.0.freed.notify_one();
            }
        }
        let _release = Release(self);
        request()
    }
}
