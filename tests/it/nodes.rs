//! Two Khidmat nodes on one PostgreSQL, as behind a load balancer: a write on one is read on the
//! other, a rate limit is one limit across both, scheduled work is booked once, and every job
//! runs exactly once whichever node's worker takes it. (The directory's index following another
//! node's change is in `directory.rs`.)

use khidmat::platform::db::query;
use khidmat::platform::i18n::Lang;
use khidmat::platform::personal::Phone;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_one_postgres() {
    let a = spawn_with(Backend::Postgres, |c| c.rate_limit_per_minute = 3).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), a.database_url.clone());
    config.demo = false;
    config.rate_limit_per_minute = 3;
    let b = khidmat::Application::build(config.clone()).await.unwrap();
    let b_url = format!("http://{}", b.local_addr());
    let b_stop = b.shutdown_token();
    tokio::spawn(b.run_until_stopped(false));

    // A report filed on node A is read on node B.
    let id = a
        .report(&[("service_code", "blocked-drain"), ("district", "kohat")])
        .await;
    let got: Value = a
        .client
        .get(format!("{b_url}/open311/v2/requests/{id}.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got[0]["service_request_id"], id.as_str());

    // Three writes a minute, whichever node takes them: one on A, two on B, the fourth refused.
    let post_b = || {
        a.client
            .post(format!("{b_url}/open311/v2/requests.json"))
            .form(&[
                ("api_key", a.client_key.as_str()),
                ("service_code", "blocked-drain"),
                ("district", "kohat"),
            ])
            .send()
    };
    assert_eq!(post_b().await.unwrap().status(), 200);
    assert_eq!(post_b().await.unwrap().status(), 200);
    let refused = a
        .post_report(&[("service_code", "blocked-drain"), ("district", "kohat")])
        .await;
    assert_eq!(refused.status(), 429, "the limit is one across the nodes");
    assert_eq!(a.count("reports").await, 3);

    // Both nodes started and booked their scheduled work: once each.
    for kind in ["opendata.publish", "cases.deadlines"] {
        assert_eq!(
            a.count(&format!("jobs WHERE kind = '{kind}' AND status = 'queued'"))
                .await,
            1,
            "{kind} booked once"
        );
    }

    // Forty messages, two nodes' workers: each job is run exactly once.
    // Forty numbers: one number gets only so many messages a minute.
    let mut tx = a.db.begin().await.unwrap();
    for n in 0..40 {
        let phone = Phone::parse(&format!("0300 76543{:02}", n)).unwrap();
        khidmat::channels::outbound::queue(
            &mut tx,
            &config,
            &phone,
            &format!("message {n}"),
            Lang::En,
            None,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    eventually(|| async {
        (a.count("jobs WHERE kind = 'sms.send' AND status = 'done'")
            .await
            >= 40)
            .then_some(())
    })
    .await;
    assert_eq!(
        a.count("jobs WHERE kind = 'sms.send' AND attempts <> 1")
            .await,
        0,
        "no job was taken twice"
    );
    let sent: i64 = a
        .db
        .scalar(query("SELECT COUNT(*) FROM sms_outbox WHERE body LIKE 'message %' AND status = 'sent' AND attempts = 1"))
        .await
        .unwrap();
    assert_eq!(sent, 40);
    b_stop.cancel();
}
