//! A small time-limited cache for configuration read on every request (districts, services,
//! API keys). Only found values are kept, so unknown keys cannot fill it. A change made on
//! another node (or by the CLI) is seen here within the time limit.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::time::{Duration, Instant};

use tokio::sync::RwLock;

pub struct TtlCache<K, V> {
    ttl: Duration,
    entries: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration) -> Self {
        TtlCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached value for `key`, or what `load` finds (cached if it found something).
    pub async fn get_or_load<F, Fut, E>(&self, key: &K, load: F) -> Result<Option<V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Option<V>, E>>,
    {
        if let Some((at, v)) = self.entries.read().await.get(key) {
            if at.elapsed() < self.ttl {
                return Ok(Some(v.clone()));
            }
        }
        let loaded = load().await?;
        let mut entries = self.entries.write().await;
        match &loaded {
            Some(v) => {
                entries.insert(key.clone(), (Instant::now(), v.clone()));
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
}
