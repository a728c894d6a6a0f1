//! Two caches, for two jobs:
//!
//! - [`TtlCache`]: configuration read on every request (districts, services, API keys), kept for
//!   a few seconds. Only found values are kept, so unknown keys cannot fill it. A change made on
//!   another node (or by the CLI) is seen here within the time limit (and the one reload
//!   it takes; one caller reloads an expired value, the others meanwhile are given it).
//! - [`Answers`]: answers computed from data whose version is part of the key (a DataStore
//!   search or SQL query and the versions of the tables it read). Such an answer never goes
//!   stale: a new version is a new key. Kept until a byte budget is full, oldest out first.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::Hash;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, Entry<V>>>,
}

/// One kept value: when it was loaded, and whether a caller is loading it again (since when).
struct Entry<V> {
    at: Instant,
    value: V,
    reloading: Option<Instant>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached value for `key`, or what `load` finds (cached if it found something).
    ///
    /// When a kept value expires, the first caller loads it again and the callers that come
    /// while it does are given the value as it was: one load per key per expiry, not one per
    /// request in flight. (Under load every request at that moment reloaded: sixty-four reads of
    /// the settings, and sixty-four writes to one API key's row queued on its lock.) A load
    /// that fails or is abandoned lets the next caller try; one that takes longer than the
    /// time limit does too. A key never found is loaded by every caller, as before.
    pub async fn get_or_load<F, Fut, E>(&self, key: &K, load: F) -> Result<Option<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        if let Some(kept) = self.entries.read().await.get(key) {
            if kept.at.elapsed() < self.ttl {
                return Ok(Some(kept.value.clone()));
            }
        }
        if let Some(kept) = self.entries.write().await.get_mut(key) {
            if kept.at.elapsed() < self.ttl {
                return Ok(Some(kept.value.clone()));
            }
            match kept.reloading {
                Some(since) if since.elapsed() < self.ttl => return Ok(Some(kept.value.clone())),
                _ => kept.reloading = Some(Instant::now()),
            }
        }
        let loaded = match load().await {
            Ok(loaded) => loaded,
            Err(e) => {
                if let Some(kept) = self.entries.write().await.get_mut(key) {
                    kept.reloading = None;
                }
                return Err(e);
            }
        };
        let mut entries = self.entries.write().await;
        match &loaded {
            Some(v) => {
                entries.insert(
                    key.clone(),
                    Entry {
                        at: Instant::now(),
                        value: v.clone(),
                        reloading: None,
                    },
                );
            }
            None => {
                entries.remove(key);
            }
        }
        Ok(loaded)
    }

    /// Forget everything (after a change made in this process).
    pub async fn clear(&self) {
        self.entries.write().await.clear();
    }
}

/// Answers keyed by what they were computed from, within a budget of bytes (see the module).
pub struct Answers<V> {
    budget: usize,
    inner: std::sync::Mutex<Kept<V>>,
}

struct Kept<V> {
    map: HashMap<String, (V, usize)>,
    /// Keys, oldest first (each at most once: a key is kept only once).
    order: VecDeque<String>,
    bytes: usize,
}

impl<V: Clone> Answers<V> {
    /// Keep at most `budget` bytes of answers (as the caller sizes them, key included).
    pub fn new(budget: usize) -> Self {
        Answers {
            budget,
            inner: std::sync::Mutex::new(Kept {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept<V>> {
        // A panic while holding the lock leaves nothing half-done that matters: keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<V> {
        self.kept().map.get(key).map(|(v, _)| v.clone())
    }

    /// Keep `value` of `size` bytes; one larger than a sixteenth of the budget is not kept (a
    /// few big answers must not push out every small one).
    pub fn put(&self, key: String, value: V, size: usize) {
        let size = size + key.len();
        if size > self.budget / 16 {
            return;
        }
        let mut k = self.kept();
        if k.map.contains_key(&key) {
            return;
        }
        while k.bytes + size > self.budget {
            let Some(old) = k.order.pop_front() else {
                break;
            };
            if let Some((_, n)) = k.map.remove(&old) {
                k.bytes -= n;
            }
        }
        k.bytes += size;
        k.order.push_back(key.clone());
        k.map.insert(key, (value, size));
    }

    /// `(answers, bytes)` kept now.
    pub fn usage(&self) -> (usize, usize) {
        let k = self.kept();
        (k.map.len(), k.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caches_found_values_until_they_expire() {
        let cache: TtlCache<&str, i32> = TtlCache::new(Duration::from_millis(50));
        let load = |v: Option<i32>| move || async move { Ok::<_, ()>(v) };
        assert_eq!(cache.get_or_load(&"a", load(Some(1))).await, Ok(Some(1)));
        assert_eq!(
            cache.get_or_load(&"a", load(Some(2))).await,
            Ok(Some(1)),
            "cached"
        );
        assert_eq!(cache.get_or_load(&"b", load(None)).await, Ok(None));
        assert_eq!(
            cache.get_or_load(&"b", load(Some(3))).await,
            Ok(Some(3)),
            "misses are not cached"
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(
            cache.get_or_load(&"a", load(Some(2))).await,
            Ok(Some(2)),
            "expired"
        );
        cache.clear().await;
        assert_eq!(cache.get_or_load(&"a", load(Some(4))).await, Ok(Some(4)));
    }

    #[tokio::test]
    async fn an_expired_value_is_loaded_again_once_while_the_others_are_given_it() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache: TtlCache<&str, i32> = TtlCache::new(Duration::from_millis(300));
        let loads = AtomicUsize::new(0);
        let slow = |v: i32| {
            let loads = &loads;
            move || async move {
                loads.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<_, ()>(Some(v))
            }
        };
        assert_eq!(cache.get_or_load(&"a", slow(1)).await, Ok(Some(1)));
        tokio::time::sleep(Duration::from_millis(320)).await;
        let answers =
            futures_util::future::join_all((0..16).map(|_| cache.get_or_load(&"a", slow(2)))).await;
        assert_eq!(
            loads.load(Ordering::SeqCst),
            2,
            "one load for sixteen callers"
        );
        assert_eq!(
            answers.iter().filter(|a| **a == Ok(Some(2))).count(),
            1,
            "the loader's"
        );
        assert_eq!(
            answers.iter().filter(|a| **a == Ok(Some(1))).count(),
            15,
            "the kept value"
        );
        assert_eq!(
            cache.get_or_load(&"a", slow(3)).await,
            Ok(Some(2)),
            "kept again"
        );

        // A load that fails lets the next caller load.
        tokio::time::sleep(Duration::from_millis(320)).await;
        let failing = || async { Err::<Option<i32>, ()>(()) };
        assert_eq!(cache.get_or_load(&"a", failing).await, Err(()));
        assert_eq!(cache.get_or_load(&"a", slow(4)).await, Ok(Some(4)));
        assert_eq!(loads.load(Ordering::SeqCst), 3);

        // So does one abandoned midway, once the time limit has passed.
        tokio::time::sleep(Duration::from_millis(320)).await;
        let abandoned =
            tokio::time::timeout(Duration::from_millis(5), cache.get_or_load(&"a", slow(5))).await;
        assert!(abandoned.is_err());
        assert_eq!(
            cache.get_or_load(&"a", slow(6)).await,
            Ok(Some(4)),
            "while it might still be loading"
        );
        tokio::time::sleep(Duration::from_millis(320)).await;
        assert_eq!(cache.get_or_load(&"a", slow(6)).await, Ok(Some(6)));
    }

    #[test]
    fn answers_stay_within_their_budget_oldest_out_first() {
        // Every key is three bytes: each answer weighs 47 + 3 = 50.
        let a: Answers<u32> = Answers::new(1600);
        a.put("k01".into(), 1, 47);
        a.put("k02".into(), 2, 47);
        assert_eq!(a.get("k01"), Some(1));
        assert_eq!(a.usage(), (2, 100));
        a.put("k01".into(), 9, 47);
        assert_eq!(a.get("k01"), Some(1), "a kept answer is not replaced");
        a.put("big".into(), 3, 200);
        assert_eq!(
            a.get("big"),
            None,
            "over a sixteenth of the budget: not kept"
        );
        for i in 3..40 {
            a.put(format!("k{i:02}"), i, 47);
        }
        assert_eq!(a.usage(), (32, 1600));
        assert_eq!(a.get("k01"), None, "the oldest went first");
        assert_eq!(a.get("k08"), Some(8), "the 32 newest stay");
        assert_eq!(a.get("k07"), None);
        assert_eq!(a.get("k39"), Some(39));
    }
}
