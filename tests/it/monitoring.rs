//! What the monitoring files watch is what the server says: every metric the alerting rules
//! (deploy/prometheus/khidmat-alerts.yml) and the Grafana dashboard (deploy/grafana) name is in
//! `/metrics` once the server has done its work, on both stores. promtool checks and tests the
//! rules themselves (scripts/test.sh).

use std::collections::BTreeSet;

use crate::both;

/// The `khidmat_*` metric names a file refers to (a histogram's by its `_bucket` series).
fn names_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("khidmat_") {
        let name: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        // Not a metric: the names of alerts, the dashboard's uid, paths.
        if name.len() > "khidmat_".len() && !name.ends_with('_') {
            out.insert(name);
        }
        rest = &rest[i + "khidmat_".len()..];
    }
    out
}

both!(
    every_metric_the_alerts_and_the_dashboard_watch_is_served,
    |app| async move {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let rules =
            std::fs::read_to_string(root.join("deploy/prometheus/khidmat-alerts.yml")).unwrap();
        let dashboard =
            std::fs::read_to_string(root.join("deploy/grafana/khidmat-dashboard.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&dashboard).expect("the dashboard is JSON");
        let mut wanted = names_in(&rules);
        wanted.extend(names_in(&dashboard));
        assert!(wanted.len() >= 12, "{wanted:?}");

        // The work that makes the event counters appear: a report, a backup, an SMS (each job
        // runs on the queue).
        app.report(&[
            ("service_code", "kunda"),
            ("district", "peshawar"),
            ("attribute[premises]", "shop"),
            ("attribute[method]", "hook"),
            ("phone", "0300 1234567"),
        ])
        .await;
        khidmat::platform::backup::request_now(&app.db)
            .await
            .unwrap();
        let config = khidmat::platform::config::Config::default();
        let phone = khidmat::platform::personal::Phone::parse("0300 7654321").unwrap();
        let mut tx = app.db.begin().await.unwrap();
        khidmat::platform::sms::queue(
            &mut tx,
            &config,
            &phone,
            "Your report is received.",
            khidmat::platform::i18n::Lang::En,
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let served = |text: &str| -> BTreeSet<String> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| l.split(['{', ' ']).next())
                .map(str::to_owned)
                .collect()
        };
        let mut missing = Vec::new();
        for _ in 0..100 {
            let text = app.get("/metrics").await.text().await.unwrap();
            let have = served(&text);
            missing = wanted
                .iter()
                .filter(|n| !have.contains(*n))
                .cloned()
                .collect();
            if missing.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(missing.is_empty(), "not in /metrics: {missing:?}");
    }
);
