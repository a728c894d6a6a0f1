//! Web Push: a message on a citizen's phone when something they follow changes, at no SMS cost.
//!
//! - A browser subscribes to a subject (`report` 42) with the endpoint its push service gave it
//!   and its keys ([`subscribe`]); a service tells the followers of a subject ([`notify`]), which
//!   queues one job per subscription; the job encrypts the message for that browser alone
//!   (RFC 8291, `aes128gcm` of RFC 8188) and posts it to the push service, signed with this
//!   deployment's VAPID key (RFC 8292). A push service that says the subscription is gone (404,
//!   410) ends it.
//! - The server posts only to the push services named in `push_hosts` (the browsers' own, by
//!   default): an endpoint is an address a stranger gives us, and without the list it could point
//!   the server at anything it can reach.
//! - The VAPID key is kept in the database (`platform_secrets`), so every node signs with the
//!   same key; it can do nothing but push to the subscriptions stored beside it.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::Utc;
use ring::rand::SystemRandom;
use ring::{aead, agreement, hkdf, signature};
use serde::{Deserialize, Serialize};

use super::config::Config;
use super::db::{query, Db, Tx};
use super::error::{Error, Result};
use super::i18n::Lang;
use super::jobs;

/// How many browsers may follow one subject: enough for a family and neighbours, not a way to
/// make the server send thousands of messages for one change.
pub const MAX_FOLLOWERS: i64 = 50;

// ---------------------------------------------------------------------------------------------
// The VAPID key

/// The deployment's VAPID signing key (P-256), made on first use.
pub struct Vapid {
    pair: signature::EcdsaKeyPair,
}

impl Vapid {
    pub async fn load(db: &Db) -> Result<Vapid> {
        let stored: Option<(String,)> = db
            .fetch_optional(
                query("SELECT value FROM platform_secrets WHERE name = $1").bind("vapid-pkcs8"),
            )
            .await?;
        let pkcs8 = match stored {
            Some((v,)) => STANDARD
                .decode(v)
                .map_err(|e| Error::Internal(anyhow::anyhow!("the stored VAPID key: {e}")))?,
            None => {
                let made = signature::EcdsaKeyPair::generate_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &SystemRandom::new(),
                )
                .map_err(|_| Error::Internal(anyhow::anyhow!("cannot make a VAPID key")))?;
                // Two nodes making one at once: the first stored wins, and both read it back.
                db.execute(
                    query("INSERT INTO platform_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                        .bind("vapid-pkcs8")
                        .bind(STANDARD.encode(made.as_ref())),
                )
                .await?;
                return Box::pin(Vapid::load(db)).await;
            }
        };
        let pair = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &pkcs8,
            &SystemRandom::new(),
        )
        .map_err(|_| Error::Internal(anyhow::anyhow!("the stored VAPID key does not load")))?;
        Ok(Vapid { pair })
    }

    /// The public key as browsers take it (`applicationServerKey`): the uncompressed point,
    /// base64url without padding.
    pub fn public_key(&self) -> String {
        use signature::KeyPair;
        URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref())
    }

    /// The `Authorization` header for a message to `endpoint`: a JWT for the push service's
    /// origin, valid 12 hours, naming who to contact (`subject`, a mailto: or https: address).
    pub fn authorization(&self, endpoint: &str, subject: &str) -> Result<String> {
        let aud =
            origin(endpoint).ok_or_else(|| Error::BadRequest("not a push endpoint".into()))?;
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"aud": aud, "exp": Utc::now().timestamp() + 12 * 3600, "sub": subject})
                .to_string(),
        );
        let signed = format!("{header}.{claims}");
        let sig = self
            .pair
            .sign(&SystemRandom::new(), signed.as_bytes())
            .map_err(|_| Error::Internal(anyhow::anyhow!("cannot sign the VAPID token")))?;
        Ok(format!(
            "vapid t={signed}.{}, k={}",
            URL_SAFE_NO_PAD.encode(sig.as_ref()),
            self.public_key()
        ))
    }
}

/// `https://host[:port]` of an address.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{scheme}://{host}"))
}

// ---------------------------------------------------------------------------------------------
// Encryption (RFC 8291)

/// The message `plaintext` encrypted for the browser whose keys are `ua_public` (P-256,
/// uncompressed) and `auth` (16 bytes): one `aes128gcm` record with its header.
pub fn encrypt(ua_public: &[u8], auth: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let rng = SystemRandom::new();
    let fail = |what: &str| Error::Internal(anyhow::anyhow!("push encryption: {what}"));
    let ours = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .map_err(|_| fail("key"))?;
    let as_public = ours.compute_public_key().map_err(|_| fail("key"))?;
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&rng, &mut salt).map_err(|_| fail("salt"))?;
    let ecdh = agreement::agree_ephemeral(
        ours,
        &agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, ua_public),
        |secret| secret.to_vec(),
    )
    .map_err(|_| Error::BadRequest("the subscription's key is not a P-256 point".into()))?;
    let (cek, nonce) = keys(&ecdh, auth, ua_public, as_public.as_ref(), &salt)?;
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_128_GCM, &cek).map_err(|_| fail("key"))?,
    );
    // One record, the last: the message and the padding delimiter 2.
    let mut record = plaintext.to_vec();
    record.push(2);
    key.seal_in_place_append_tag(
        aead::Nonce::assume_unique_for_key(nonce),
        aead::Aad::empty(),
        &mut record,
    )
    .map_err(|_| fail("seal"))?;
    let mut out = Vec::with_capacity(86 + record.len());
    out.extend_from_slice(&salt);
    out.extend_from_slice(&4096u32.to_be_bytes());
    out.push(as_public.as_ref().len() as u8);
    out.extend_from_slice(as_public.as_ref());
    out.extend_from_slice(&record);
    Ok(out)
}

/// The content key and nonce of RFC 8291 §3.4 from the shared secret and both public keys.
pub fn keys(
    ecdh: &[u8],
    auth: &[u8],
    ua_public: &[u8],
    as_public: &[u8],
    salt: &[u8],
) -> Result<([u8; 16], [u8; 12])> {
    struct Len(usize);
    impl hkdf::KeyType for Len {
        fn len(&self) -> usize {
            self.0
        }
    }
    let fail = || Error::Internal(anyhow::anyhow!("push key derivation"));
    let mut key_info = b"WebPush: info\0".to_vec();
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(as_public);
    let mut ikm = [0u8; 32];
    hkdf::Salt::new(hkdf::HKDF_SHA256, auth)
        .extract(ecdh)
        .expand(&[&key_info], Len(32))
        .and_then(|okm| okm.fill(&mut ikm))
        .map_err(|_| fail())?;
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(&ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(&[b"Content-Encoding: aes128gcm\0"], Len(16))
        .and_then(|okm| okm.fill(&mut cek))
        .map_err(|_| fail())?;
    prk.expand(&[b"Content-Encoding: nonce\0"], Len(12))
        .and_then(|okm| okm.fill(&mut nonce))
        .map_err(|_| fail())?;
    Ok((cek, nonce))
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

/// What a browser's `PushSubscription` gives: where to post, and its keys (base64url).
#[derive(Debug, Clone, Deserialize)]
pub struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl Subscription {
    /// Refuse an endpoint outside `push_hosts`, or keys that are not what a browser makes.
    pub fn check(&self, config: &Config) -> Result<()> {
        if !allowed(&config.push_hosts, &self.endpoint) {
            return Err(Error::BadRequest(
                "that is not the address of a push service this server sends to".into(),
            ));
        }
        let key = URL_SAFE_NO_PAD.decode(self.p256dh.trim_end_matches('='));
        let auth = URL_SAFE_NO_PAD.decode(self.auth.trim_end_matches('='));
        match (key, auth) {
            (Ok(k), Ok(a)) if k.len() == 65 && k[0] == 4 && a.len() == 16 => Ok(()),
            _ => Err(Error::BadRequest(
                "the subscription's keys are not valid".into(),
            )),
        }
    }
}

/// Is `endpoint` on one of `hosts`? An entry `fcm.googleapis.com` is that host; `.push.apple.com`
/// any host under it; `127.0.0.1:9000` that host and port. Only https, except to a loopback
/// address named with its port (a test's own push service).
pub fn allowed(hosts: &[String], endpoint: &str) -> bool {
    if endpoint.len() > 1000 || endpoint.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return false;
    }
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') || authority.is_empty() {
        return false;
    }
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .to_ascii_lowercase();
    hosts.iter().any(|entry| {
        let entry = entry.to_ascii_lowercase();
        if entry.contains(':') {
            // A host with its port: a loopback test service may be plain http.
            let loopback = host == "127.0.0.1" || host == "localhost";
            authority.eq_ignore_ascii_case(&entry)
                && (scheme == "https" || (scheme == "http" && loopback))
        } else if scheme != "https" || authority.contains(':') {
            false
        } else if let Some(suffix) = entry.strip_prefix('.') {
            host.ends_with(&format!(".{suffix}"))
        } else {
            host == entry
        }
    })
}

/// Follow `subject_type` `subject_id` from the browser `sub`, told in `lang`. Subscribing again
/// changes nothing; past [`MAX_FOLLOWERS`] it is refused.
pub async fn subscribe(
    db: &Db,
    config: &Config,
    subject_type: &str,
    subject_id: i64,
    sub: &Subscription,
    lang: Lang,
) -> Result<()> {
    sub.check(config)?;
    let followers: i64 = db
        .scalar(
            query("SELECT COUNT(*) FROM push_subscriptions WHERE subject_type = $1 AND subject_id = $2")
                .bind(subject_type)
                .bind(subject_id),
        )
        .await?;
    if followers >= MAX_FOLLOWERS {
        return Err(Error::TooManyRequests(
            "this is followed by as many as it may be".into(),
        ));
    }
    db.execute(
        query(
            "INSERT INTO push_subscriptions (subject_type, subject_id, endpoint, p256dh, auth, lang, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (subject_type, subject_id, endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth, lang = excluded.lang",
        )
        .bind(subject_type)
        .bind(subject_id)
        .bind(sub.endpoint.as_str())
        .bind(sub.p256dh.trim_end_matches('='))
        .bind(sub.auth.trim_end_matches('='))
        .bind(lang.code())
        .bind(Utc::now()),
    )
    .await?;
    Ok(())
}

/// Stop following `subject_type` `subject_id` from the browser whose endpoint is `endpoint`.
pub async fn unsubscribe(
    db: &Db,
    subject_type: &str,
    subject_id: i64,
    endpoint: &str,
) -> Result<()> {
    db.execute(
        query("DELETE FROM push_subscriptions WHERE subject_type = $1 AND subject_id = $2 AND endpoint = $3")
            .bind(subject_type)
            .bind(subject_id)
            .bind(endpoint),
    )
    .await?;
    Ok(())
}

/// What a notification shows: a title, a line, and the page a tap opens (a path on this site).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub body: String,
    pub url: String,
}

/// Tell every follower of `subject_type` `subject_id`, each in their language, inside the
/// transaction that made the change (so nobody hears of a change that did not happen).
pub async fn notify(
    tx: &mut Tx,
    subject_type: &str,
    subject_id: i64,
    message: impl Fn(Lang) -> Message,
) -> Result<()> {
    let followers: Vec<(i64, String)> = tx
        .fetch_all(
            query("SELECT id, lang FROM push_subscriptions WHERE subject_type = $1 AND subject_id = $2")
                .bind(subject_type)
                .bind(subject_id),
        )
        .await?;
    for (id, lang) in followers {
        let mut m = message(Lang::parse(&lang).unwrap_or_default());
        // A push message holds about 4 KB; a notification shows a few lines.
        if m.body.chars().count() > 300 {
            m.body = m.body.chars().take(299).collect::<String>() + "…";
        }
        jobs::enqueue_job(
            tx,
            &Send {
                subscription: id,
                message: m,
            },
        )
        .await?;
    }
    Ok(())
}

/// The job: one message to one subscription.
#[derive(Debug, Serialize, Deserialize)]
pub struct Send {
    pub subscription: i64,
    pub message: Message,
}

impl jobs::Job for Send {
    const KIND: &'static str = "push.send";
}

async fn send_job(db: Db, config: std::sync::Arc<Config>, job: Send) -> anyhow::Result<()> {
    use http_body_util::BodyExt;
    let row: Option<(String, String, String)> = db
        .fetch_optional(
            query("SELECT endpoint, p256dh, auth FROM push_subscriptions WHERE id = $1")
                .bind(job.subscription),
        )
        .await?;
    // Unsubscribed since: nothing to do.
    let Some((endpoint, p256dh, auth)) = row else {
        return Ok(());
    };
    // Checked again: the list may have changed since the browser subscribed.
    anyhow::ensure!(
        allowed(&config.push_hosts, &endpoint),
        "{endpoint} is no longer among push_hosts"
    );
    let body = encrypt(
        &URL_SAFE_NO_PAD.decode(&p256dh)?,
        &URL_SAFE_NO_PAD.decode(&auth)?,
        serde_json::to_string(&job.message)?.as_bytes(),
    )?;
    let vapid = Vapid::load(&db).await?;
    let subject = config.push_subject();
    let request = hyper::Request::post(endpoint.as_str())
        .header("Content-Type", "application/octet-stream")
        .header("Content-Encoding", "aes128gcm")
        .header("TTL", "86400")
        .header("Urgency", "normal")
        .header("Authorization", vapid.authorization(&endpoint, &subject)?)
        .body(http_body_util::Full::new(axum::body::Bytes::from(body)))?;
    let client = super::http::client(config.tls_ca_file.as_deref())?;
    let resp = tokio::time::timeout(std::time::Duration::from_secs(15), client.request(request))
        .await
        .map_err(|_| anyhow::anyhow!("the push service did not answer within 15 s"))??;
    let status = resp.status();
    if status == 404 || status == 410 {
        // The browser unsubscribed, or its permission was taken back.
        db.execute(query("DELETE FROM push_subscriptions WHERE id = $1").bind(job.subscription))
            .await?;
        return Ok(());
    }
    let text = resp.into_body().collect().await?.to_bytes();
    anyhow::ensure!(
        status.is_success(),
        "the push service answered {status}: {}",
        String::from_utf8_lossy(&text[..text.len().min(200)])
    );
    metrics::counter!("khidmat_push_sent_total").increment(1);
    Ok(())
}

/// Register the push job.
pub fn register_jobs(registry: &mut jobs::Registry, config: &std::sync::Arc<Config>) {
    let config = config.clone();
    registry.register_job(move |db, job: Send| send_job(db, config.clone(), job));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_push_services_and_https() {
        let hosts: Vec<String> = ["fcm.googleapis.com", ".push.apple.com", "127.0.0.1:9000"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for ok in [
            "https://fcm.googleapis.com/fcm/send/abc",
            "https://web.push.apple.com/QOf",
            "http://127.0.0.1:9000/push/1",
        ] {
            assert!(allowed(&hosts, ok), "{ok}");
        }
        for bad in [
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://fcm.googleapis.com.evil.example/x",
            "https://evil.example/?fcm.googleapis.com",
            "https://fcm.googleapis.com@evil.example/x",
            "https://push.apple.com/x",
            "https://fcm.googleapis.com:8443/x",
            "http://127.0.0.1:9001/push",
            "http://169.254.169.254/latest",
            "https://fcm.googleapis.com/a b",
            "fcm.googleapis.com/x",
        ] {
            assert!(!allowed(&hosts, bad), "{bad}");
        }
    }

    #[test]
    fn the_rfc_8291_example_derives_its_keys() {
        // RFC 8291 appendix A: the shared secret, keys and salt, and the key and nonce it gives.
        let d = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
        let (cek, nonce) = keys(
            &d("kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs"),
            &d("BTBZMqHH6r4Tts7J_aSIgg"),
            &d("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
            &d("BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"),
            &d("DGv6ra1nlYgDCS1FRnbzlw"),
        )
        .unwrap();
        assert_eq!(cek.to_vec(), d("oIhVW04MRdy2XN9CiKLxTg"));
        assert_eq!(nonce.to_vec(), d("4h_95klXJ5E_qnoN"));
    }
}
