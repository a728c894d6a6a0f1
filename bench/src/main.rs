//! Load generator for the Reports service: Open311 POST throughput and `GET requests.json`
//! latency, with many concurrent clients, against a store holding a million reports.
//!
//! It runs the real application in this process (on its own port, over HTTP) and seeds the
//! store through the Reports store functions. The clients share the machine's cores with the
//! server, as a load balancer's health checks and a reverse proxy would.
//!
//! ```text
//! cargo run --release -p khidmat-bench -- --reports 1000000 --clients 64
//! cargo run --release -p khidmat-bench -- --database-url postgres://…
//! ```

use std::time::Duration;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use khidmat::platform::db::{query, Db};
use khidmat::platform::questions::Answer;
use khidmat::reports::store;
use khidmat::{Application, Config};
use khidmat_bench::{print_table, record, rss_mb, run_phase, RssPeak};
use rand::Rng;

#[derive(Parser)]
#[command(about = "Open311 load generator: POST throughput and list latency")]
struct Args {
    /// Reports in the store before measuring (seeded once; a data dir that has them is reused).
    #[arg(long, default_value_t = 1_000_000)]
    reports: i64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds each phase runs.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Where the SQLite database lives (kept between runs to skip seeding).
    #[arg(long, default_value = "target/bench-data")]
    data_dir: std::path::PathBuf,
    /// postgres://… to measure PostgreSQL instead of SQLite.
    #[arg(long)]
    database_url: Option<String>,
    /// Servers sharing the store, as behind a load balancer (more than one needs PostgreSQL);
    /// the clients take them in turn.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Background job workers in each server (0: the alerts each report books wait, so the
    /// requests' own cost shows apart from the jobs').
    #[arg(long, default_value_t = 1)]
    job_workers: usize,
}

const CODES: &[&str] = &[
    "kunda",
    "traffic-jam",
    "illegal-parking",
    "water-leak",
    "public-toilet",
    "blocked-drain",
];

fn main() -> anyhow::Result<()> {
    // As the server's own binary does: the servers here are measured as they run there.
    khidmat::platform::serve::cap_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: args.data_dir.clone(),
        database_url: args.database_url.clone(),
        demo: true,
        rate_limit_per_minute: 0,
        job_workers: args.job_workers,
        ..Config::default()
    };
    anyhow::ensure!(
        args.nodes >= 1 && (args.nodes == 1 || args.database_url.is_some()),
        "several nodes share a PostgreSQL database: give --database-url"
    );
    let app = Application::build(config.clone()).await?;
    let db = app.state().db.clone();
    let mut urls = vec![format!("http://{}", app.local_addr())];
    println!(
        "backend: {}   nodes: {}   clients: {}   phase: {} s",
        db.backend().name(),
        args.nodes,
        args.clients,
        args.seconds
    );

    seed(&db, args.reports).await?;
    let mut others = Vec::new();
    for n in 2..=args.nodes {
        let node = Application::build(Config {
            data_dir: args.data_dir.join(format!("node-{n}")),
            // One deployment, one key file: its nodes sign and pseudonymise alike.
            secret_key_file: Some(
                config
                    .secret_key_file
                    .clone()
                    .unwrap_or_else(|| args.data_dir.join("secret.key")),
            ),
            demo: false,
            ..config.clone()
        })
        .await?;
        urls.push(format!("http://{}", node.local_addr()));
        let stop = node.shutdown_token();
        others.push((stop, tokio::spawn(node.run_until_stopped(false))));
    }
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Each request goes to the next node, as a round-robin load balancer sends it.
    let node = {
        let urls = urls.clone();
        move || urls[next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % urls.len()].clone()
    };
    let key = khidmat::platform::identity::create_api_key(&db, "bench", "load generator", None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .key;
    let shutdown = app.shutdown_token();
    let server = tokio::spawn(app.run_until_stopped(false));

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let total: i64 = db.scalar(query("SELECT COUNT(*) FROM reports")).await?;
    println!("reports stored: {total}");
    // At rest: seeded, serving, no load yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_rest = rss_mb();
    let peak = RssPeak::start();

    // Every report this run files carries a device id of its own, and every acknowledgement
    // (200 with a report id) is kept: after the phase, each acknowledged report must be stored
    // (none lost) and no submission stored twice (none duplicated).
    let run = format!(
        "bench-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
    );
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<i64>::new()));
    let post = run_phase("POST requests.json", args.clients, args.seconds, {
        let client = client.clone();
        let node = node.clone();
        let (run, sent, acked) = (run.clone(), sent.clone(), acked.clone());
        move || {
            let client = client.clone();
            let url = format!("{}/open311/v2/requests.json", node());
            let key = key.clone();
            let device = format!(
                "{run}-{}",
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            );
            let acked = acked.clone();
            async move {
                let (lat, long) = {
                    let mut rng = rand::rng();
                    (
                        33.9 + rng.random::<f64>() * 0.3,
                        71.4 + rng.random::<f64>() * 0.3,
                    )
                };
                let form = [
                    ("api_key", key.as_str()),
                    ("service_code", "kunda"),
                    ("lat", &format!("{lat:.6}")),
                    ("long", &format!("{long:.6}")),
                    ("attribute[premises]", "shop"),
                    ("attribute[method]", "hook"),
                    ("description", "Load test: a hook on the line"),
                    ("device_id", &device),
                ];
                let resp = client.post(&url).form(&form).send().await.ok()?;
                if resp.status() != 200 {
                    return None;
                }
                let body = resp.text().await.ok()?;
                let id = body
                    .split("\"service_request_id\":\"")
                    .nth(1)?
                    .split('"')
                    .next()?
                    .parse()
                    .ok()?;
                acked.lock().expect("acknowledgements").push(id);
                Some(())
            }
        }
    })
    .await;
    // The issue's measure: resident memory at the end of every phase (and the peak above).
    let mut ends = vec![(post.name.clone(), rss_mb())];
    let (lost, duplicated) = {
        let stored: Vec<(i64, String)> = db
            .fetch_all(
                query("SELECT id, device_id FROM reports WHERE device_id LIKE $1")
                    .bind(format!("{run}-%")),
            )
            .await?;
        let ids: std::collections::HashSet<i64> = stored.iter().map(|r| r.0).collect();
        let devices: std::collections::HashSet<&str> =
            stored.iter().map(|r| r.1.as_str()).collect();
        let acked = acked.lock().expect("acknowledgements");
        let lost = acked.iter().filter(|id| !ids.contains(id)).count();
        (lost, stored.len() - devices.len())
    };
    // The work each report leaves for the job workers (its area alerts), not yet done.
    let backlog: i64 = db
        .scalar(query(
            "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running')",
        ))
        .await?;
    println!(
        "POST: {} acknowledged, {lost} of them not stored (lost), {duplicated} stored twice (duplicated); {backlog} jobs waiting at the end",
        acked.lock().expect("acknowledgements").len()
    );

    let get = |name: &'static str, path: &'static str| {
        let client = client.clone();
        let node = node.clone();
        run_phase(name, args.clients, args.seconds, move || {
            let client = client.clone();
            let url = format!("{}{path}", node());
            async move {
                let resp = client.get(&url).send().await.ok()?;
                let ok = resp.status() == 200;
                resp.bytes().await.ok()?;
                ok.then_some(())
            }
        })
    };
    let mut measured = |phase: khidmat_bench::Phase| {
        ends.push((phase.name.clone(), rss_mb()));
        phase
    };
    let list = measured(get("GET requests.json", "/open311/v2/requests.json").await);
    let filtered = measured(
        get(
            "GET requests.json?service_code&status&page=3",
            "/open311/v2/requests.json?service_code=water-leak&status=open&page=3",
        )
        .await,
    );
    // What the machine can serve (the ceiling every request is measured against): the
    // stylesheet, a static file served from memory; then the cheapest answers with the fixed
    // work of every request (settings, language, headers, metrics) and the cached documents.
    let home = client
        .get(format!("{}/", node()))
        .send()
        .await?
        .text()
        .await?;
    let stylesheet: &'static str = Box::leak(
        home.split('"')
            .find(|s| s.starts_with("/static/") && s.contains(".css"))
            .ok_or_else(|| anyhow::anyhow!("the home page names no stylesheet"))?
            .to_owned()
            .into_boxed_str(),
    );
    let ceiling = measured(get("GET static stylesheet (the ceiling)", stylesheet).await);
    let healthz = measured(get("GET /healthz", "/healthz").await);
    let services = measured(get("GET services.json", "/open311/v2/services.json").await);
    let discovery = measured(get("GET discovery.json", "/open311/v2/discovery.json").await);
    let rss_end = ends.iter().map(|e| e.1).fold(0.0, f64::max);
    let rss_load = peak.mb();
    drop(peak);

    print_table(&[
        post.clone(),
        list.clone(),
        filtered.clone(),
        ceiling.clone(),
        healthz.clone(),
        services.clone(),
        discovery.clone(),
    ]);
    println!(
        "against the static ceiling: POST {:.2}, services.json {:.2}, discovery.json {:.2}",
        post.rate / ceiling.rate,
        services.rate / ceiling.rate,
        discovery.rate / ceiling.rate
    );
    println!("resident memory (this process: servers and load generator): {rss_rest} MB at rest, {rss_load} MB at most under load, {rss_end} MB at most at the end of a phase");
    for (name, mb) in &ends {
        println!("  at the end of {name}: {mb} MB");
    }
    record(serde_json::json!({
        "bench": "open311",
        "backend": db.backend().name(),
        "nodes": args.nodes,
        "job_workers": args.job_workers,
        "reports": total,
        "clients": args.clients,
        "seconds": args.seconds,
        "post": post.json(),
        "post_lost": lost,
        "post_duplicated": duplicated,
        "post_jobs_waiting": backlog,
        "list": list.json(),
        "filtered": filtered.json(),
        "ceiling": ceiling.json(),
        "healthz": healthz.json(),
        "services": services.json(),
        "discovery": discovery.json(),
        "rss_rest_mb": rss_rest,
        "rss_load_mb": rss_load,
        "rss_phase_end_mb": rss_end,
        "rss_phase_ends_mb": ends.iter().map(|(n, mb)| serde_json::json!({"phase": n, "mb": mb})).collect::<Vec<_>>(),
    }));
    shutdown.cancel();
    for (stop, task) in others {
        stop.cancel();
        let _ = task.await;
    }
    let _ = server.await;
    Ok(())
}

/// Bring the store up to `target` reports, spread over the last 180 days and over Peshawar,
/// Mardan and Swat, through the Reports store's own insert.
async fn seed(db: &Db, target: i64) -> anyhow::Result<()> {
    let have: i64 = db.scalar(query("SELECT COUNT(*) FROM reports")).await?;
    if have >= target {
        return Ok(());
    }
    let mut services = Vec::new();
    for code in CODES {
        services.push(
            store::service(db, code)
                .await?
                .ok_or_else(|| anyhow::anyhow!("demo service {code} missing"))?,
        );
    }
    let bar = ProgressBar::new((target - have) as u64);
    bar.set_style(ProgressStyle::with_template(
        "seeding {bar:40} {pos}/{len} reports, {per_sec}, eta {eta}",
    )?);
    let places = [
        ("peshawar", 34.0151, 71.5249),
        ("mardan", 34.1986, 72.0404),
        ("swat", 34.7467, 72.3566),
    ];
    let answers = std::collections::BTreeMap::<String, Answer>::new();
    let now = chrono::Utc::now();
    let mut left = target - have;
    while left > 0 {
        let batch = left.min(5_000);
        let mut tx = db.begin().await?;
        for _ in 0..batch {
            let (service, place, lat, long, age, token) = {
                let mut rng = rand::rng();
                let service = &services[rng.random_range(0..services.len())];
                let (place, la, lo) = places[rng.random_range(0..places.len())];
                let lat = la + rng.random_range(-0.05..0.05);
                let long = lo + rng.random_range(-0.05..0.05);
                let age = Duration::from_secs(rng.random_range(0..180 * 24 * 3600));
                (
                    service,
                    place,
                    lat,
                    long,
                    age,
                    format!("{:032x}", rng.random::<u128>()),
                )
            };
            let at = now - chrono::Duration::from_std(age)?;
            store::insert(
                &mut tx,
                &store::NewReport {
                    token: &token,
                    service,
                    district: Some(place),
                    description: Some("Seeded report for the benchmark"),
                    lat: Some(lat),
                    long: Some(long),
                    address: None,
                    answers: &answers,
                    media_url: None,
                    photo_id: None,
                    contact_name: None,
                    contact_email: None,
                    contact_phone: None,
                    device_id: None,
                    account_id: None,
                    channel: "bench",
                    api_key_id: None,
                    requested_at: at,
                    expected_at: at + chrono::Duration::hours(service.response_hours),
                    status_notes: None,
                    possible_duplicate: None,
                    lang: "ur",
                    private: false,
                },
            )
            .await?;
        }
        tx.commit().await?;
        bar.inc(batch as u64);
        left -= batch;
    }
    bar.finish();
    if db.backend() == khidmat::platform::db::Backend::Postgres {
        db.execute(query("ANALYZE reports")).await?;
    } else {
        db.execute(query("ANALYZE")).await?;
    }
    Ok(())
}
