//! What the benchmarks share: a load generator that runs many concurrent clients for a while
//! and reports throughput and latency percentiles.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One measured phase.
#[derive(Clone)]
pub struct Phase {
    pub name: String,
    pub ok: u64,
    pub errors: u64,
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Run `clients` loops of `request` for `seconds`; latencies of successful requests.
pub async fn run_phase<F, Fut>(name: &str, clients: usize, seconds: u64, request: F) -> Phase
where
    F: Fn() -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = Option<()>> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (stop, errors, request) = (stop.clone(), errors.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match request().await {
                    Some(()) => latencies.push(t.elapsed().as_micros() as u32),
                    None => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map(|v| *v as f64 / 1000.0)
            .unwrap_or(f64::NAN)
    };
    let phase = Phase {
        name: name.to_owned(),
        ok: all.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        rate: all.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    };
    println!(
        "{name}: {} ok, {} errors, {:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        phase.ok, phase.errors, phase.rate, phase.p50_ms, phase.p99_ms
    );
    phase
}

/// Many clients reading one URL; a request counts when it answers 200 and its body arrives.
pub async fn get_phase(
    name: &str,
    client: &reqwest::Client,
    url: String,
    clients: usize,
    seconds: u64,
) -> Phase {
    let client = client.clone();
    run_phase(name, clients, seconds, move || {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let resp = client.get(&url).send().await.ok()?;
            let ok = resp.status() == 200;
            resp.bytes().await.ok()?;
            ok.then_some(())
        }
    })
    .await
}

/// The phases as a Markdown table (for docs/PERFORMANCE.md).
pub fn print_table(phases: &[Phase]) {
    println!();
    println!("| measurement | ok | errors | per second | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for p in phases {
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} |",
            p.name, p.ok, p.errors, p.rate, p.p50_ms, p.p99_ms
        );
    }
}

/// Append one result, as a line of JSON, to the figures file named by `BENCH_FIGURES`, which
/// `bench/figures.sh` sets and then turns into docs/PERFORMANCE.md's table. (Not `KHIDMAT_…`: the
/// server refuses environment variables of that prefix that it does not know.) Without it,
/// nothing: each benchmark prints its own figures anyway.
pub fn record(result: serde_json::Value) {
    let Some(path) = std::env::var_os("BENCH_FIGURES") else {
        return;
    };
    use std::io::Write;
    let line = format!("{result}\n");
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!(
            "cannot write the figures to {}: {e}",
            path.to_string_lossy()
        );
    }
}

impl Phase {
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "ok": self.ok,
            "errors": self.errors,
            "per_second": (self.rate * 10.0).round() / 10.0,
            "p50_ms": (self.p50_ms * 10.0).round() / 10.0,
            "p99_ms": (self.p99_ms * 10.0).round() / 10.0,
        })
    }
}

/// This process's resident memory in MB (`VmRSS` in `/proc/self/status`; 0 where there is none).
pub fn rss_mb() -> f64 {
    rss_mb_of("self")
}

/// A process's resident memory in MB (`pid`: a number, or `self`).
pub fn rss_mb_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

/// The largest resident memory seen while it runs: sampled every 100 ms until dropped.
pub struct RssPeak {
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssPeak {
    pub fn start() -> RssPeak {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max((rss_mb() * 10.0) as u64, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssPeak { peak, stop }
    }

    pub fn mb(&self) -> f64 {
        self.peak.load(Ordering::Relaxed) as f64 / 10.0
    }
}

impl Drop for RssPeak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
