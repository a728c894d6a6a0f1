//! Per-client rate limits for public writes: a token bucket per IP address, in memory. Each node
//! limits on its own; behind a load balancer the effective limit is per node.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute` requests a minute, in bursts of up to `per_minute` (0: no limit).
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `ip`. `Err(seconds)` says how long until the next one.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = self.per_minute as f64;
        let rate = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() > 100_000 {
            // Forget clients whose bucket has refilled: they are indistinguishable from new ones.
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < capacity
            });
        }
        let (tokens, at) = buckets.entry(ip).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil() as u64)
        }
    }
}

/// The connection's peer address, when the server was started with connect info (it always
/// is; tests that build the router alone may not).
pub struct PeerAddr(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// The client's address as rate limits key it: [`client_addr`], with IPv6 addresses keyed by
/// their /64, which one subscriber usually holds whole.
pub fn client_ip(headers: &axum::http::HeaderMap, peer: Option<IpAddr>, proxies: u32) -> IpAddr {
    match client_addr(headers, peer, proxies) {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The client's address, as far as the server can know it.
///
/// With no trusted proxies, the connection's peer. Behind `proxies` reverse proxies of one's
/// own, each appends the address it saw to `X-Forwarded-For`; everything left of what they
/// wrote is the client's to say, so the address is the `proxies`-th from the right (the
/// left-most, when the chain is shorter).
pub fn client_addr(headers: &axum::http::HeaderMap, peer: Option<IpAddr>, proxies: u32) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if proxies == 0 {
        peer
    } else {
        let chain: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let at = chain.len().saturating_sub(proxies as usize);
        chain.get(at).and_then(|v| v.parse().ok()).unwrap_or(peer)
    }
}

/// A token bucket in the database, for limits that must survive restarts and hold across nodes
/// (SMS per phone number, per gateway). `per_minute` tokens refill over a minute, up to
/// `per_minute`; each call takes one if there is one. One statement, atomic on both databases.
/// `per_minute = 0` turns the limit off.
pub async fn take_db_token(
    db: &super::db::Db,
    key: &str,
    per_minute: u32,
) -> Result<bool, sqlx::Error> {
    if per_minute == 0 {
        return Ok(true);
    }
    take_db_token_at(
        db,
        key,
        Bucket {
            cap: per_minute,
            per_hour: per_minute * 60,
        },
    )
    .await
}

/// A bucket of [`take_db_token_at`]: up to `cap` tokens, refilled at `per_hour`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub cap: u32,
    pub per_hour: u32,
}

/// Back-off for a secret that can be guessed (a password, a one-time code), kept per account or
/// phone number, not per address, so that many addresses guess no faster than one: ten wrong
/// tries at once, then one every six minutes.
pub const GUESSES: Bucket = Bucket {
    cap: 10,
    per_hour: 10,
};

/// Has the bucket `key` a token left (without taking one)?
pub async fn db_tokens_left(db: &super::db::Db, key: &str, b: Bucket) -> Result<bool, sqlx::Error> {
    let row: Option<(f64, f64)> = db
        .fetch_optional(
            super::db::query("SELECT tokens, at FROM rate_buckets WHERE key = $1").bind(key),
        )
        .await?;
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    Ok(match row {
        None => true,
        Some((tokens, at)) => {
            (tokens + (now - at) * f64::from(b.per_hour) / 3600.0).min(f64::from(b.cap)) >= 1.0
        }
    })
}

/// [`take_db_token`] with a bucket of any size and rate.
pub async fn take_db_token_at(
    db: &super::db::Db,
    key: &str,
    b: Bucket,
) -> Result<bool, sqlx::Error> {
    let cap = f64::from(b.cap);
    let rate = f64::from(b.per_hour) / 3600.0;
    let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
    // refill = min(cap, tokens + elapsed * rate); take one if refill >= 1.
    let refill = "(CASE WHEN rate_buckets.tokens + ($3 - rate_buckets.at) * $4 > $2 THEN $2 \
                  ELSE rate_buckets.tokens + ($3 - rate_buckets.at) * $4 END)";
    let sql = format!(
        "INSERT INTO rate_buckets (key, tokens, at, allowed) VALUES ($1, $2 - 1, $3, 1) \
         ON CONFLICT (key) DO UPDATE SET \
         tokens = {refill} - (CASE WHEN {refill} >= 1 THEN 1 ELSE 0 END), \
         allowed = (CASE WHEN {refill} >= 1 THEN 1 ELSE 0 END), at = $3 \
         RETURNING allowed"
    );
    let mut tx = db.begin().await?;
    let allowed: i64 = tx
        .scalar(
            super::db::query(sql)
                .bind(key)
                .bind(cap)
                .bind(now)
                .bind(rate),
        )
        .await?;
    tx.commit().await?;
    Ok(allowed == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_the_hop_the_trusted_proxies_saw() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let mut h = axum::http::HeaderMap::new();
        h.append("x-forwarded-for", "6.6.6.6, 7.7.7.7".parse().unwrap());
        h.append("x-forwarded-for", "203.0.113.9".parse().unwrap());
        assert_eq!(client_addr(&h, Some(peer), 0), peer, "no proxy: the peer");
        assert_eq!(client_addr(&h, Some(peer), 1).to_string(), "203.0.113.9");
        assert_eq!(client_addr(&h, Some(peer), 2).to_string(), "7.7.7.7");
        assert_eq!(client_addr(&h, Some(peer), 9).to_string(), "6.6.6.6");
        let mut bad = axum::http::HeaderMap::new();
        bad.append("x-forwarded-for", "nonsense".parse().unwrap());
        assert_eq!(client_addr(&bad, Some(peer), 1), peer);
        let mut v6 = axum::http::HeaderMap::new();
        v6.append("x-forwarded-for", "2001:db8:1:2:3:4:5:6".parse().unwrap());
        assert_eq!(client_ip(&v6, Some(peer), 1).to_string(), "2001:db8:1:2::");
    }

    #[test]
    fn allows_a_burst_then_refuses() {
        let rl = RateLimiter::new(3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(rl.check(ip).is_ok());
        assert!(rl.check(ip).is_ok());
        assert!(rl.check(ip).is_ok());
        let wait = rl.check(ip).unwrap_err();
        assert!((1..=20).contains(&wait), "{wait}");
        assert!(rl.check("10.0.0.2".parse().unwrap()).is_ok());
        assert!(RateLimiter::new(0).check(ip).is_ok());
    }
}
