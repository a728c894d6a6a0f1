//! Open data benchmark: the DataStore against the practical limits.
//!
//! 1. Generates a CSV of 1,000,000 reports (fixed seed: the same file on every run).
//! 2. Import: `khidmat data import` (typed table, district index, full-text index) against the
//!    `sqlite3` shell's `.import` of the same file: alone (untyped, unindexed: the floor), and
//!    followed by the same two indexes.
//! 3. Reads: the Khidmat server and Datasette 0.65.5 serve the same SQLite file (Datasette a
//!    copy, with the same indexes; its full-text search pointed at Khidmat's FTS5 table), and
//!    one load generator measures both in the same run: a district filter (100 rows), a
//!    full-text search (100 rows) and an aggregate SQL query. Both count the total matches.
//!
//! Needs `sqlite3` (Debian package `sqlite3`) and Python 3; Datasette is installed into
//! `target/bench-venv` on first use. Build the server first:
//!
//! ```text
//! cargo build --release && cargo run --release -p khidmat-bench --bin opendata
//! ```

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use khidmat_bench::{get_phase, print_table, Phase};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

#[derive(Parser)]
#[command(about = "DataStore import and read benchmark, against sqlite3 .import and Datasette")]
struct Args {
    /// Rows in the generated CSV.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Concurrent clients of the load generator (full text is also measured at 128).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds each read phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Working directory (the CSV is kept between runs).
    #[arg(long, default_value = "target/bench-opendata")]
    dir: PathBuf,
    /// The Khidmat binary (built with `cargo build --release`).
    #[arg(long, default_value = "target/release/khidmat")]
    khidmat: PathBuf,
    /// The Python environment that holds Datasette (made if missing).
    #[arg(long, default_value = "target/bench-venv")]
    venv: PathBuf,
}

const DATASETTE: &str = "datasette==0.65.5";

const SERVICES: &[(&str, &str)] = &[
    ("kunda", "Hook on the line near {} بجلی چوری"),
    ("water-leak", "Pipe leaking near {} پانی ضائع ہو رہا ہے"),
    ("blocked-drain", "Drain blocked at {} نالی بند ہے"),
    ("traffic-jam", "Traffic stuck at {} ٹریفک جام"),
    (
        "illegal-parking",
        "Cars parked on the road at {} غلط پارکنگ",
    ),
    ("public-toilet", "Toilet locked at {} بیت الخلا بند"),
];

const DISTRICTS: &[&str] = &[
    "Peshawar",
    "Mardan",
    "Swat",
    "Abbottabad",
    "Kohat",
    "Bannu",
    "Dera Ismail Khan",
    "Charsadda",
    "Nowshera",
    "Swabi",
    "Mansehra",
    "Haripur",
    "Malakand",
    "Lower Dir",
    "Upper Dir",
    "Chitral",
    "Buner",
    "Shangla",
    "Karak",
    "Lakki Marwat",
    "Hangu",
    "Tank",
    "Battagram",
    "Kohistan",
    "Torghar",
];

const LANDMARKS: &[&str] = &[
    "Firdous Chowk",
    "Saddar Bazaar",
    "Hashtnagri",
    "Qissa Khwani",
    "Board Bazaar",
    "Tehkal",
    "Gulbahar",
    "Hayatabad Phase 3",
    "University Road",
    "Ring Road",
    "Charsadda Road",
    "Kohat Road",
    "GT Road",
    "Khyber Bazaar",
    "Namak Mandi",
    "Karkhano Market",
    "Deans Trade Centre",
    "Cantonment",
    "Lady Reading Hospital",
    "Islamia College",
    "Mingora Bazaar",
    "Sheikh Maltoon",
    "Jinnahabad",
    "Mall Road",
    "Railway Station",
    "Bus Stand",
    "Fruit Market",
    "Police Lines",
    "Town Hall",
    "Main Mosque",
    "Old City",
    "New City",
    "Canal Road",
    "Hospital Road",
    "College Chowk",
    "Pir Bala",
    "Pajagi Road",
    "Warsak Road",
    "Dalazak Road",
    "Bara Gate",
    "Kabuli Gate",
    "Lahori Gate",
    "Ganj Gate",
    "Yakatoot",
    "Faqirabad",
    "Nauthia",
    "Shami Road",
    "Tajabad",
    "Wazir Bagh",
    "Chowk Yadgar",
];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)?;
    if !args.khidmat.exists() {
        bail!(
            "{} is missing: run `cargo build --release` first",
            args.khidmat.display()
        );
    }
    which("sqlite3").context("the sqlite3 shell is needed (apt install sqlite3)")?;
    let csv = args.dir.join(format!("reports-{}.csv", args.rows));
    if !csv.exists() {
        generate(&csv, args.rows)?;
    }
    let size = std::fs::metadata(&csv)?.len();
    println!(
        "CSV: {} rows, {:.0} MB ({})",
        args.rows,
        size as f64 / 1e6,
        csv.display()
    );
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()?.get()
    );

    // Import.
    let dot = args.dir.join("dot-import.db");
    let _ = std::fs::remove_file(&dot);
    let plain = timed(|| {
        sqlite3(
            &dot,
            &format!(".mode csv\n.import {} reports\n", csv.display()),
        )
    })?;
    let data_dir = args.dir.join("khidmat");
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir)?;
    // Khidmat indexes the columns whose values repeat by itself; it says which.
    let mut indexed: Vec<String> = Vec::new();
    let khidmat_import = timed(|| {
        let out = Command::new(&args.khidmat)
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["data", "import"])
            .arg(&csv)
            .args(["--dataset", "reports"])
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            bail!("khidmat data import failed");
        }
        let said = String::from_utf8_lossy(&out.stdout);
        print!("{said}");
        indexed = said
            .lines()
            .find_map(|l| l.split_once("(their values repeat): "))
            .map(|(_, ids)| ids.split(", ").map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(())
    })?;
    // The anchor gets the same indexes: the same columns, and full text over the text.
    let text_columns = "service, district, status, opened, closed, channel, landmark, description";
    let same_indexes: String = indexed
        .iter()
        .map(|c| format!("CREATE INDEX reports_{c} ON reports(\"{c}\");\n"))
        .collect();
    println!(
        "indexes on both sides: {} and full text",
        indexed.join(", ")
    );
    let indexes = timed(|| {
        sqlite3(
            &dot,
            &format!(
                "{same_indexes}\
                 CREATE VIRTUAL TABLE reports_fts USING fts5({text_columns}, content='reports');\n\
                 INSERT INTO reports_fts(reports_fts) VALUES ('rebuild');\n"
            ),
        )
    })?;
    println!();
    println!(
        "| import of {} rows | seconds | rows per second |",
        args.rows
    );
    println!("|---|---:|---:|");
    let rate = |s: f64| format!("{:.0}", args.rows as f64 / s);
    println!(
        "| sqlite3 `.import` (all text, no index) | {plain:.1} | {} |",
        rate(plain)
    );
    println!(
        "| sqlite3 `.import` + the same indexes + FTS5 | {:.1} | {} |",
        plain + indexes,
        rate(plain + indexes)
    );
    println!(
        "| `khidmat data import` (typed, the repeating columns indexed, FTS5) | {khidmat_import:.1} | {} |",
        rate(khidmat_import)
    );
    println!(
        "khidmat / .import: {:.2}×; khidmat / (.import + indexes): {:.2}×",
        khidmat_import / plain,
        khidmat_import / (plain + indexes)
    );
    khidmat_bench::record(serde_json::json!({
        "bench": "csv_import",
        "rows": args.rows,
        "sqlite3_import_s": (plain * 10.0).round() / 10.0,
        "sqlite3_import_indexed_s": ((plain + indexes) * 10.0).round() / 10.0,
        "khidmat_import_s": (khidmat_import * 10.0).round() / 10.0,
        "indexes": indexed,
    }));

    // Serve the same data from both.
    let db_file = data_dir.join("khidmat.db");
    let copy = args.dir.join("bench.db");
    let _ = std::fs::remove_file(&copy);
    sqlite3(&db_file, &format!(".backup {}\n", copy.display()))?;
    let meta = sqlite3_out(
        &copy,
        "SELECT uuid, datastore_table, fields FROM od_resources;",
    )?;
    let mut parts = meta.trim().splitn(3, '|');
    let (resource, table, fields) = (
        parts.next().context("resource")?.to_owned(),
        parts.next().context("table")?.to_owned(),
        parts.next().context("fields")?.to_owned(),
    );
    let fields: Vec<Value> = serde_json::from_str(&fields)?;
    let column = |id: &str| -> anyhow::Result<String> {
        fields
            .iter()
            .find(|f| f["id"] == id)
            .and_then(|f| f["column"].as_str())
            .map(str::to_owned)
            .with_context(|| format!("no field {id}"))
    };
    let district = column("district")?;
    let datasette = install_datasette(&args.venv)?;
    let metadata = args.dir.join("datasette-metadata.json");
    std::fs::write(
        &metadata,
        serde_json::to_vec(&serde_json::json!({"databases": {"bench": {"tables": {
            table.clone(): {"fts_table": format!("{table}_fts"), "fts_pk": "_id"}
        }}}}))?,
    )?;

    let khidmat_port = free_port()?;
    let datasette_port = free_port()?;
    let mut servers = Servers(vec![
        Command::new(&args.khidmat)
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("serve")
            .env("KHIDMAT_LISTEN", format!("127.0.0.1:{khidmat_port}"))
            .env("KHIDMAT_RATE_LIMIT_PER_MINUTE", "0")
            .env("KHIDMAT_JOB_WORKERS", "0")
            // the same time limit as Datasette's below
            .env("KHIDMAT_SQL_TIME_LIMIT_SECONDS", "10")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?,
        Command::new(&datasette)
            .arg("serve")
            .arg("-i")
            .arg(&copy)
            .args(["--port", &datasette_port.to_string()])
            .arg("--metadata")
            .arg(&metadata)
            .args([
                "--setting",
                "sql_time_limit_ms",
                "10000",
                "--setting",
                "default_page_size",
                "100",
                // Suggested facets cost each table request ~200 ms here; a tuned Datasette
                // turns them off, and so does this comparison.
                "--setting",
                "suggest_facets",
                "off",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?,
    ]);
    let rt = tokio::runtime::Runtime::new()?;
    let result = rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(args.clients.max(128))
            .timeout(Duration::from_secs(60))
            .build()?;
        let k = format!("http://127.0.0.1:{khidmat_port}");
        let d = format!("http://127.0.0.1:{datasette_port}");
        wait_for(&client, &format!("{k}/healthz")).await?;
        wait_for(&client, &format!("{d}/-/versions.json")).await?;
        let versions: Value = client
            .get(format!("{d}/-/versions.json"))
            .send()
            .await?
            .json()
            .await?;
        println!(
            "\nDatasette {} on Python {}, SQLite {}",
            versions["datasette"]["version"],
            versions["python"]["version"],
            versions["sqlite"]["version"]
        );

        let grouped = format!(
            "SELECT \"district\", COUNT(*) AS reports, AVG(\"hours\") AS mean_hours FROM \"{resource}\" GROUP BY \"district\" ORDER BY reports DESC"
        );
        // No index can serve this one, on either side: every row is read.
        let monthly = format!(
            "SELECT substr(\"opened\", 1, 7) AS month, COUNT(*) AS reports FROM \"{resource}\" GROUP BY month ORDER BY month"
        );
        let key_row = args.rows / 2;
        let enc = |s: &str| urlencode(s);
        let c = args.clients;
        let cases = [
            (
                "district filter + total, 100 rows",
                c,
                format!(
                    "{k}/api/3/action/datastore_search?resource_id={resource}&limit=100&filters={}",
                    enc(r#"{"district":"Swat"}"#)
                ),
                format!("{d}/bench/{table}.json?_shape=objects&_size=100&{district}=Swat"),
            ),
            (
                "full text + total, 100 rows",
                c,
                format!(
                    "{k}/api/3/action/datastore_search?resource_id={resource}&limit=100&q=Hashtnagri"
                ),
                format!("{d}/bench/{table}.json?_shape=objects&_size=100&_search=Hashtnagri"),
            ),
            (
                "full text + total, 100 rows",
                128,
                format!(
                    "{k}/api/3/action/datastore_search?resource_id={resource}&limit=100&q=Hashtnagri"
                ),
                format!("{d}/bench/{table}.json?_shape=objects&_size=100&_search=Hashtnagri"),
            ),
            (
                "row by key",
                c,
                format!(
                    "{k}/api/3/action/datastore_search?resource_id={resource}&filters={}",
                    enc(&format!(r#"{{"_id":{key_row}}}"#))
                ),
                format!("{d}/bench/{table}/{key_row}.json?_shape=objects"),
            ),
            (
                "SQL GROUP BY district (indexed), count and mean",
                c,
                format!("{k}/api/3/action/datastore_search_sql?sql={}", enc(&grouped)),
                format!("{d}/bench.json?_shape=objects&sql={}", enc(&grouped)),
            ),
            (
                "SQL GROUP BY month (no index)",
                c,
                format!("{k}/api/3/action/datastore_search_sql?sql={}", enc(&monthly)),
                format!("{d}/bench.json?_shape=objects&sql={}", enc(&monthly)),
            ),
        ];

        // The same answers first, each asked once of a server that has not seen it: what a
        // new question costs (Khidmat keeps an answer per version of the data, so the load
        // that follows is served from what it kept; Datasette computes each).
        let mut cold = Vec::new();
        for (name, _, ku, du) in &cases {
            let t = Instant::now();
            let kj: Value = client.get(ku).send().await?.json().await?;
            let k_ms = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let dj: Value = client.get(du).send().await?.json().await?;
            let d_ms = t.elapsed().as_secs_f64() * 1000.0;
            let k_rows = kj["result"]["records"].as_array().map(Vec::len);
            let d_rows = dj["rows"].as_array().map(Vec::len);
            let k_total = &kj["result"]["total"];
            let d_total = &dj["filtered_table_rows_count"];
            println!("{name}: khidmat {k_rows:?} rows of {k_total} in {k_ms:.0} ms; datasette {d_rows:?} rows of {d_total} in {d_ms:.0} ms");
            if k_rows.is_none() || k_rows != d_rows {
                bail!("{name}: the two servers disagree\nkhidmat: {kj}\ndatasette: {dj}");
            }
            cold.push((k_ms, d_ms));
        }

        let mut phases: Vec<Phase> = Vec::new();
        let mut rss = Vec::new();
        for (name, clients, ku, du) in &cases {
            let label = format!("{name}, {clients} conns");
            phases.push(
                get_phase(&format!("khidmat: {label}"), &client, ku.clone(), *clients, args.seconds)
                    .await,
            );
            rss.push(servers.rss_mb(0));
            phases.push(
                get_phase(&format!("datasette: {label}"), &client, du.clone(), *clients, args.seconds)
                    .await,
            );
        }
        println!("\n{} s per phase", args.seconds);
        print_table(&phases);
        println!();
        for (i, pair) in phases.chunks(2).enumerate() {
            let (name, clients, _, _) = &cases[i];
            println!(
                "{}: khidmat / datasette throughput {:.1}×; khidmat resident {:.0} MB",
                pair[0].name.trim_start_matches("khidmat: "),
                pair[0].rate / pair[1].rate.max(f64::MIN_POSITIVE),
                rss[i]
            );
            khidmat_bench::record(serde_json::json!({
                "bench": "datastore",
                "rows": args.rows,
                "clients": clients,
                "query": name,
                "khidmat": pair[0].json(),
                "datasette": pair[1].json(),
                "khidmat_first_ms": (cold[i].0 * 10.0).round() / 10.0,
                "datasette_first_ms": (cold[i].1 * 10.0).round() / 10.0,
                "khidmat_rss_mb": rss[i],
            }));
        }
        Ok::<_, anyhow::Error>(())
    });
    servers.stop();
    result
}

/// Write `rows` reports as CSV, with a progress bar.
fn generate(path: &Path, rows: u64) -> anyhow::Result<()> {
    let bar = ProgressBar::new(rows).with_style(ProgressStyle::with_template(
        "generating {bar:40} {pos}/{len} rows, eta {eta}",
    )?);
    let tmp = path.with_extension("partial");
    let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
    writeln!(
        w,
        "report_id,service,district,status,opened,closed,hours,channel,landmark,description"
    )?;
    let mut rng = StdRng::seed_from_u64(2014);
    let start = chrono::DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")?.to_utc();
    let channels = ["web", "app", "sms", "ussd", "open311"];
    for id in 1..=rows {
        let (service, template) = SERVICES[rng.random_range(0..SERVICES.len())];
        let district = DISTRICTS[rng.random_range(0..DISTRICTS.len())];
        let landmark = LANDMARKS[rng.random_range(0..LANDMARKS.len())];
        let opened = start + chrono::Duration::seconds(rng.random_range(0..600 * 86_400));
        let closed = rng.random_bool(0.7);
        let hours = rng.random_range(0.5..400.0f64);
        write!(
            w,
            "{id},{service},{district},{},{},",
            if closed { "closed" } else { "open" },
            opened.format("%Y-%m-%dT%H:%M:%SZ")
        )?;
        if closed {
            let at = opened + chrono::Duration::seconds((hours * 3600.0) as i64);
            write!(w, "{},{hours:.2}", at.format("%Y-%m-%dT%H:%M:%SZ"))?;
        } else {
            write!(w, ",")?;
        }
        writeln!(
            w,
            ",{},{landmark},{}",
            channels[rng.random_range(0..channels.len())],
            template.replace("{}", landmark)
        )?;
        if id % 10_000 == 0 {
            bar.set_position(id);
        }
    }
    w.flush()?;
    drop(w);
    std::fs::rename(&tmp, path)?;
    bar.finish_and_clear();
    Ok(())
}

fn timed(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64())
}

fn sqlite3(db: &Path, script: &str) -> anyhow::Result<()> {
    sqlite3_out(db, script).map(|_| ())
}

fn sqlite3_out(db: &Path, script: &str) -> anyhow::Result<String> {
    let mut child = Command::new("sqlite3")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() || !out.stderr.is_empty() {
        bail!(
            "sqlite3 {}: {}",
            db.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn which(program: &str) -> anyhow::Result<()> {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()?
        .success();
    if !ok {
        bail!("{program} not found");
    }
    Ok(())
}

/// Datasette in its own Python environment, installed on first use.
fn install_datasette(venv: &Path) -> anyhow::Result<PathBuf> {
    let bin = venv.join("bin/datasette");
    let have = Command::new(&bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("0.65.5"))
        .unwrap_or(false);
    if !have {
        println!("installing {DATASETTE} into {}", venv.display());
        if !venv.join("bin/pip").exists() {
            let ok = Command::new("python3")
                .args(["-m", "venv"])
                .arg(venv)
                .status()?
                .success();
            if !ok {
                bail!("python3 -m venv failed (apt install python3-venv)");
            }
        }
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", DATASETTE])
            .status()?
            .success();
        if !ok {
            bail!("pip install {DATASETTE} failed");
        }
    }
    Ok(bin)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn wait_for(client: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    for _ in 0..600 {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{url} did not answer within a minute")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The servers, stopped when the benchmark ends, however it ends.
struct Servers(Vec<Child>);

impl Servers {
    /// The resident memory of server `i`, in MB.
    fn rss_mb(&self, i: usize) -> f64 {
        khidmat_bench::rss_mb_of(&self.0[i].id().to_string())
    }

    fn stop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        self.stop();
    }
}
