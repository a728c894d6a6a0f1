//! Settings a platform administrator changes in the browser, without a developer or a restart:
//! the public site's name, contact text and logo, and the SMS gateway (which one, the HTTP
//! gateway's address, the inbound gateways' secret).
//!
//! The configuration file still gives the defaults; a value set here takes their place. Every
//! change is in the audit log with before and after, except secrets: the HTTP address (it
//! carries the aggregator's password) is recorded only as changed, and the gateway secret is
//! generated here, shown once, and kept as its SHA-256.
//!
//! Each node reads the settings through a cache of a few seconds, so a change made on one node
//! is in force on the others within `CACHE_SECONDS`.

use std::sync::Arc;

use base64::Engine;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::audit;
use super::db::{query, Db, Tx};
use super::i18n::{Lang, Text3};
use crate::platform::config::Config;

/// How long a node may go on using settings another node changed.
pub const CACHE_SECONDS: u64 = 10;

pub const GATEWAYS: &[&str] = &["log", "smssync", "http"];

/// The settings in force (those set in the browser; `None` where the configuration decides).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub site_name: Option<Text3>,
    pub contact: Option<Text3>,
    /// The logo as PNG, and the first characters of its SHA-256 (its address changes with it).
    pub logo: Option<(Arc<Vec<u8>>, String)>,
    pub sms_gateway: Option<String>,
    pub sms_http_url: Option<String>,
    /// The SHA-256 (hex) of the inbound gateways' secret.
    pub gateway_secret_sha256: Option<String>,
}

impl Settings {
    /// The site's name in `lang` (the translation's own when none is set).
    pub fn site_name(&self, lang: Lang) -> String {
        match &self.site_name {
            Some(t) if !t.en.is_empty() => t.get(lang).to_owned(),
            _ => lang.t("site-name"),
        }
    }

    pub fn contact(&self, lang: Lang) -> Option<String> {
        self.contact
            .as_ref()
            .filter(|t| !t.en.is_empty())
            .map(|t| t.get(lang).to_owned())
    }

    pub fn logo_version(&self) -> Option<&str> {
        self.logo.as_ref().map(|(_, v)| v.as_str())
    }

    /// The gateway SMS go out by.
    pub fn sms_gateway<'a>(&'a self, config: &'a Config) -> &'a str {
        self.sms_gateway.as_deref().unwrap_or(&config.sms_gateway)
    }

    pub fn sms_http_url<'a>(&'a self, config: &'a Config) -> &'a str {
        self.sms_http_url.as_deref().unwrap_or(&config.sms_http_url)
    }
}

/// Read every setting from the store.
pub async fn load(db: &Db) -> Result<Settings, sqlx::Error> {
    let rows: Vec<(String, String)> = db
        .fetch_all(query("SELECT key, value FROM settings"))
        .await?;
    let mut s = Settings::default();
    for (k, v) in rows {
        match k.as_str() {
            "site.name" => s.site_name = serde_json::from_str(&v).ok(),
            "site.contact" => s.contact = serde_json::from_str(&v).ok(),
            "site.logo" => {
                if let Ok(png) = base64::engine::general_purpose::STANDARD.decode(&v) {
                    let version = hex::encode(Sha256::digest(&png))[..12].to_owned();
                    s.logo = Some((Arc::new(png), version));
                }
            }
            "sms.gateway" => s.sms_gateway = Some(v),
            "sms.http_url" => s.sms_http_url = Some(v),
            "gateway.secret_sha256" => s.gateway_secret_sha256 = Some(v),
            _ => {}
        }
    }
    Ok(s)
}

/// The gateway SMS go out by, read inside a transaction (the outbox records it with each message).
pub async fn sms_gateway(tx: &mut Tx, config: &Config) -> Result<String, sqlx::Error> {
    let set: Option<(String,)> = tx
        .fetch_optional(query(
            "SELECT value FROM settings WHERE key = 'sms.gateway'",
        ))
        .await?;
    Ok(set.map_or_else(|| config.sms_gateway.clone(), |(v,)| v))
}

/// The HTTP gateway's address in force.
pub async fn sms_http_url(db: &Db, config: &Config) -> Result<String, sqlx::Error> {
    let set: Option<(String,)> = db
        .fetch_optional(query(
            "SELECT value FROM settings WHERE key = 'sms.http_url'",
        ))
        .await?;
    Ok(set.map_or_else(|| config.sms_http_url.clone(), |(v,)| v))
}

/// What the audit log keeps of a setting's value.
fn for_audit(key: &str, value: Option<&str>) -> serde_json::Value {
    match (key, value) {
        (_, None) => serde_json::Value::Null,
        ("sms.http_url" | "gateway.secret_sha256", Some(_)) => "(secret)".into(),
        ("site.logo", Some(v)) => format!("(PNG, {} bytes)", v.len() * 3 / 4).into(),
        (_, Some(v)) => v.into(),
    }
}

/// Set (or with `None`, clear) one setting, audited, and forget this node's cached copy.
pub async fn set(
    db: &Db,
    cache: &Cache,
    actor: &str,
    key: &'static str,
    value: Option<&str>,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    let before: Option<(String,)> = tx
        .fetch_optional(query("SELECT value FROM settings WHERE key = $1").bind(key))
        .await?;
    let before = before.map(|(v,)| v);
    if before.as_deref() == value {
        return Ok(());
    }
    match value {
        Some(v) => {
            tx.execute(
                query(
                    "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, \
                     updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                )
                .bind(key)
                .bind(v)
                .bind(Utc::now())
                .bind(actor),
            )
            .await?;
        }
        None => {
            tx.execute(query("DELETE FROM settings WHERE key = $1").bind(key))
                .await?;
        }
    }
    audit::record(
        &mut tx,
        actor,
        "settings.set",
        "setting",
        key,
        serde_json::json!({ "before": for_audit(key, before.as_deref()), "after": for_audit(key, value) }),
    )
    .await?;
    tx.commit().await?;
    cache.clear().await;
    Ok(())
}

/// A new secret for the inbound gateways: kept as its SHA-256, returned to be shown once.
pub async fn new_gateway_secret(
    db: &Db,
    cache: &Cache,
    actor: &str,
) -> Result<String, sqlx::Error> {
    let secret = super::identity::random_token();
    let sha = hex::encode(Sha256::digest(secret.as_bytes()));
    set(db, cache, actor, "gateway.secret_sha256", Some(&sha)).await?;
    Ok(secret)
}

/// Does `given` match the secret set here? Compared as digests, in constant time.
pub fn secret_matches(sha256_hex: &str, given: &str) -> bool {
    super::identity::same_secret(&hex::encode(Sha256::digest(given.as_bytes())), sha256_hex)
}

/// This node's copy of the settings, kept for [`CACHE_SECONDS`].
pub type Cache = super::cache::TtlCache<(), Arc<Settings>>;

/// The settings in force on this node (at most [`CACHE_SECONDS`] old).
pub async fn current(db: &Db, cache: &Cache) -> Arc<Settings> {
    let db = db.clone();
    match cache
        .get_or_load(
            &(),
            || async move { load(&db).await.map(|s| Some(Arc::new(s))) },
        )
        .await
    {
        Ok(Some(s)) => s,
        Ok(None) => Arc::default(),
        Err(e) => {
            // The pages still render, with the configuration's defaults.
            tracing::error!(error = %e, "settings could not be read");
            Arc::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_only_itself() {
        let sha = hex::encode(Sha256::digest(b"s3cret-token"));
        assert!(secret_matches(&sha, "s3cret-token"));
        assert!(!secret_matches(&sha, "s3cret-tokem"));
        assert!(!secret_matches(&sha, ""));
    }

    #[test]
    fn the_configuration_decides_what_is_not_set() {
        let config = Config::default();
        let s = Settings::default();
        assert_eq!(s.sms_gateway(&config), config.sms_gateway);
        assert_eq!(s.site_name(Lang::En), Lang::En.t("site-name"));
        let s = Settings {
            site_name: Some(Text3 {
                en: "Khidmat KP".into(),
                ur: "خدمت خیبر پختونخوا".into(),
                ps: String::new(),
            }),
            sms_gateway: Some("http".into()),
            ..Settings::default()
        };
        assert_eq!(s.sms_gateway(&config), "http");
        assert_eq!(s.site_name(Lang::Ur), "خدمت خیبر پختونخوا");
        assert_eq!(
            s.site_name(Lang::Ps),
            "Khidmat KP",
            "Pashto falls back to English"
        );
    }
}
