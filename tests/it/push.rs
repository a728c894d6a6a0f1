//! Web Push, end to end on both stores: a browser follows a report from its tracking page; when
//! staff change the status, a stand-in push service on this machine receives what a real one
//! would, and the test — as the browser — decrypts it (RFC 8291) with its own key and checks
//! the VAPID signature (RFC 8292) against the key the page gave. Endpoints outside `push_hosts`
//! are refused; a push service that says "gone" ends the subscription.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use khidmat::platform::db::query;
use ring::{aead, agreement, rand::SecureRandom, rand::SystemRandom, signature};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both;

pub(crate) type Received = Arc<Mutex<Vec<(String, axum::http::HeaderMap, Vec<u8>)>>>;

/// A push service on a free port: it keeps what it is sent, and answers 410 for `/gone`.
pub(crate) async fn push_service() -> (u16, Received) {
    let got: Received = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let keep = keep.clone();
                async move {
                    let gone = uri.path() == "/gone";
                    keep.lock()
                        .unwrap()
                        .push((uri.path().to_owned(), headers, body.to_vec()));
                    if gone {
                        axum::http::StatusCode::GONE
                    } else {
                        axum::http::StatusCode::CREATED
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, got)
}

/// Decrypt an `aes128gcm` push message as the browser holding `ours` and `auth` would.
pub(crate) fn decrypt(
    ours: agreement::EphemeralPrivateKey,
    ua_public: &[u8],
    auth: &[u8],
    body: &[u8],
) -> Value {
    let salt = &body[..16];
    let rs = u32::from_be_bytes(body[16..20].try_into().unwrap());
    assert_eq!(rs, 4096);
    let idlen = body[20] as usize;
    let as_public = &body[21..21 + idlen];
    let ecdh = agreement::agree_ephemeral(
        ours,
        &agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, as_public),
        |s| s.to_vec(),
    )
    .unwrap();
    let (cek, nonce) =
        khidmat::platform::push::keys(&ecdh, auth, ua_public, as_public, salt).unwrap();
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_128_GCM, &cek).unwrap());
    let mut record = body[21 + idlen..].to_vec();
    let plain = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::empty(),
            &mut record,
        )
        .expect("the message opens with the browser's keys");
    assert_eq!(plain.last(), Some(&2), "one record, the last");
    serde_json::from_slice(&plain[..plain.len() - 1]).unwrap()
}

on_both!(
    a_follower_is_told_by_web_push_encrypted_for_their_browser_alone,
    |backend| async move {
        let (port, got) = push_service().await;
        let app = spawn_with(backend, |c| {
            c.push_hosts = vec![format!("127.0.0.1:{port}")];
            c.push_contact = Some("mailto:khidmat@kpitb.gov.pk".into());
        })
        .await;
        let id = app.kunda_at("34.0151", "71.5249").await;
        let token: String = app
            .db
            .scalar(
                query("SELECT token FROM reports WHERE id = $1").bind(id.parse::<i64>().unwrap()),
            )
            .await
            .unwrap();
        let b = browser();
        let (_, html) = page(&b, &app, &format!("/track/{token}")).await;
        let csrf = hidden(&html, "csrf");
        let key_at = html
            .find("data-key=\"")
            .expect("the page gives its push key")
            + 10;
        let page_key = html[key_at..key_at + html[key_at..].find('"').unwrap()].to_owned();

        // The browser's keys, as its push subscription holds them.
        let rng = SystemRandom::new();
        let ours = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap();
        let ua_public = ours.compute_public_key().unwrap().as_ref().to_vec();
        let mut auth = [0u8; 16];
        rng.fill(&mut auth).unwrap();
        let follow = |endpoint: String, p256dh: String, auth: String| {
            let b = b.clone();
            let csrf = csrf.clone();
            let url = app.at(&format!("/track/{token}/follow"));
            async move {
                b.post(url)
                    .header("Accept-Language", "ur")
                    .form(&[
                        ("csrf", csrf),
                        ("endpoint", endpoint),
                        ("p256dh", p256dh),
                        ("auth", auth),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        let p256dh = URL_SAFE_NO_PAD.encode(&ua_public);
        let auth64 = URL_SAFE_NO_PAD.encode(auth);

        // Addresses a stranger might give, and keys that are not a browser's: refused.
        for bad in [
            "http://169.254.169.254/latest/meta-data".to_string(),
            format!("http://127.0.0.1:{}/push", port + 1),
            format!("https://127.0.0.1:{port}.evil.example/push"),
            "https://fcm.googleapis.com/fcm/send/x".to_string(),
        ] {
            assert_eq!(
                follow(bad.clone(), p256dh.clone(), auth64.clone()).await,
                400,
                "{bad}"
            );
        }
        let endpoint = format!("http://127.0.0.1:{port}/push/abc");
        assert_eq!(
            follow(endpoint.clone(), "AAAA".into(), auth64.clone()).await,
            400
        );
        assert_eq!(
            follow(endpoint.clone(), p256dh.clone(), "AAAA".into()).await,
            400
        );
        // Without the page's form token: refused.
        let no_token = b
            .post(app.at(&format!("/track/{token}/follow")))
            .form(&[
                ("endpoint", endpoint.as_str()),
                ("p256dh", &p256dh),
                ("auth", &auth64),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(no_token.status(), 403);
        assert_eq!(app.count("push_subscriptions").await, 0);

        assert_eq!(
            follow(endpoint.clone(), p256dh.clone(), auth64.clone()).await,
            204
        );
        // Again: still one subscription.
        assert_eq!(
            follow(endpoint.clone(), p256dh.clone(), auth64.clone()).await,
            204
        );
        // A second browser whose push service will say it is gone.
        let other = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng).unwrap();
        let other_public = URL_SAFE_NO_PAD.encode(other.compute_public_key().unwrap().as_ref());
        assert_eq!(
            follow(
                format!("http://127.0.0.1:{port}/gone"),
                other_public,
                auth64.clone()
            )
            .await,
            204
        );
        assert_eq!(app.count("push_subscriptions").await, 2);

        let key = app.department_key("pesco").await;
        let resp = app
            .staff_post(
                &format!("/api/v1/reports/{id}/updates"),
                &key,
                &json!({"status": "in_progress", "note": "Line team sent"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let (path, headers, body) = eventually(|| {
            let got = got.clone();
            async move {
                got.lock()
                    .unwrap()
                    .iter()
                    .find(|(p, _, _)| p == "/push/abc")
                    .cloned()
            }
        })
        .await;
        assert_eq!(path, "/push/abc");
        assert_eq!(headers["content-encoding"], "aes128gcm");
        assert!(headers.contains_key("ttl"));
        let message = decrypt(ours, &ua_public, &auth, &body);
        let title = message["title"].as_str().unwrap();
        assert!(
            title.contains("رپورٹ") && title.contains(&id),
            "in Urdu: {message}"
        );
        assert!(
            message["body"].as_str().unwrap().contains("Line team sent"),
            "{message}"
        );
        assert_eq!(message["url"], format!("/track/{token}"));
        assert!(
            !String::from_utf8_lossy(&body).contains("Line team"),
            "encrypted"
        );

        // Signed with the key the page gave, for this push service's origin.
        let auth_header = headers["authorization"].to_str().unwrap();
        let rest = auth_header.strip_prefix("vapid t=").expect("a VAPID token");
        let (jwt, k) = rest.split_once(", k=").unwrap();
        assert_eq!(k, page_key);
        let (signed, sig) = jwt.rsplit_once('.').unwrap();
        signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            URL_SAFE_NO_PAD.decode(k).unwrap(),
        )
        .verify(signed.as_bytes(), &URL_SAFE_NO_PAD.decode(sig).unwrap())
        .expect("the VAPID signature verifies");
        let claims: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(signed.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["aud"], format!("http://127.0.0.1:{port}"));
        assert_eq!(claims["sub"], "mailto:khidmat@kpitb.gov.pk");
        assert!(claims["exp"].as_i64().unwrap() > chrono::Utc::now().timestamp());

        // The push service said "gone": that subscription has ended; the other stays.
        eventually(|| async { (app.count("push_subscriptions").await == 1).then_some(()) }).await;

        // The browser stops following: no message for the next change.
        let stop = b
            .post(app.at(&format!("/track/{token}/unfollow")))
            .form(&[("csrf", csrf.as_str()), ("endpoint", endpoint.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(stop.status(), 204);
        assert_eq!(app.count("push_subscriptions").await, 0);
    }
);
