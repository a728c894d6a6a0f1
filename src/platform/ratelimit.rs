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

/// The client's address: the connection's peer, or the first `X-Forwarded-For` hop when the
/// server is configured to trust its reverse proxy.
pub fn client_ip(
    headers: &axum::http::HeaderMap,
    peer: Option<IpAddr>,
    trust_forwarded_for: bool,
) -> IpAddr {
    if trust_forwarded_for {
        if let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer.unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
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
    let cap = f64::from(per_minute);
    let rate = cap / 60.0;
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
