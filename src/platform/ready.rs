//! Is this node ready to serve, and is the deployment set up well? One list of checks, for
//! `GET /readyz` (a load balancer's question: may traffic come here?) and for `khidmat doctor`
//! (an operator's: what is wrong, and what do I do?).
//!
//! Readiness: the database answers, its schema is this release's, the disk has room, and the job
//! runner (when this node runs jobs) is turning. The doctor adds what a careful operator checks
//! once: the public address, the gateways, the backups.

use std::time::Duration;

use chrono::Utc;

use super::config::Config;
use super::db::{query, Backend, Db};
use super::files::Store;

/// What the checks look at: a node's database, configuration and file store.
pub struct Node<'a> {
    pub db: &'a Db,
    pub config: &'a Config,
    pub files: &'a Store,
    /// The server's job workers (none: the command line, which runs none).
    pub workers: Option<&'a super::jobs::Activity>,
}

/// What one check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    /// `ok`, `warning` (works, but look at it) or `problem` (not ready, or wrong).
    pub status: Status,
    /// What was found, and what to do when it is not ok, in plain words.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Problem,
}

/// Ready: no check found a problem.
pub fn all_ready(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != Status::Problem)
}

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

/// The checks a load balancer asks for: a `problem` in any means "send no traffic here".
pub async fn readiness(node: &Node<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    let db = node.db;
    let reachable = tokio::time::timeout(
        Duration::from_secs(3),
        db.scalar::<i64>(query("SELECT CAST(1 AS BIGINT)")),
    )
    .await;
    match reachable {
        Ok(Ok(_)) => out.push(check(
            "database",
            Status::Ok,
            format!("{} answers", db.backend().name()),
        )),
        Ok(Err(e)) => {
            out.push(check(
                "database",
                Status::Problem,
                format!(
                    "{} does not answer ({e}): is it running, and is database_url right?",
                    db.backend().name()
                ),
            ));
            return out;
        }
        Err(_) => {
            out.push(check(
                "database",
                Status::Problem,
                format!(
                    "{} did not answer within 3 s: is it overloaded or unreachable?",
                    db.backend().name()
                ),
            ));
            return out;
        }
    }
    out.push(migrations(db).await);
    out.push(disk(node));
    if let Some(workers) = node.workers {
        out.push(jobs(node.config, workers));
    }
    out
}

async fn migrations(db: &Db) -> Check {
    let newest = db.known_migrations().last().map_or(0, |m| m.0);
    match db.applied_migrations().await {
        Ok(applied) => {
            let at = applied.last().copied().unwrap_or(0);
            if at == newest {
                check(
                    "migrations",
                    Status::Ok,
                    format!("the schema is this release's ({at})"),
                )
            } else if at < newest {
                check(
                    "migrations",
                    Status::Problem,
                    format!("the schema is at {at}, this release needs {newest}: run `khidmat migrate` (a start does it too)"),
                )
            } else {
                check(
                    "migrations",
                    Status::Problem,
                    format!("the schema is at {at}, newer than this release knows ({newest}): run the newer release, or restore a backup made by this one"),
                )
            }
        }
        Err(e) => check(
            "migrations",
            Status::Problem,
            format!("cannot read the schema version: {e}"),
        ),
    }
}

/// Where this node writes: the SQLite database's directory, and the photos' when they are
/// kept on disk.
pub fn written_dirs(db: &Db, config: &Config, files: &Store) -> Vec<std::path::PathBuf> {
    let mut dirs = vec![];
    if db.backend() == Backend::Sqlite {
        dirs.push(config.data_dir.clone());
    }
    if let Some(d) = files.dir() {
        dirs.push(d.to_path_buf());
    }
    dirs
}

/// Under 1 MiB free where this node writes: full (a commit may still fit in the database's log,
/// the next photo or log page will not).
pub fn nearly_full(dirs: &[std::path::PathBuf]) -> bool {
    dirs.iter()
        .any(|d| super::files::disk(d).is_some_and(|(free, _)| free < 1024 * 1024))
}

fn disk(node: &Node<'_>) -> Check {
    let dirs = written_dirs(node.db, node.config, node.files);
    let mut worst: Option<(u64, u64, std::path::PathBuf)> = None;
    for d in &dirs {
        if let Some((free, total)) = super::files::disk(d) {
            if worst.as_ref().is_none_or(|w| free < w.0) {
                worst = Some((free, total, d.clone()));
            }
        }
    }
    let Some((free, total, dir)) = worst else {
        return check(
            "disk",
            Status::Ok,
            "files are kept in a bucket; the database is PostgreSQL's",
        );
    };
    let mib = |b: u64| b / (1024 * 1024);
    let said = format!(
        "{} MiB free of {} MiB at {}",
        mib(free),
        mib(total),
        dir.display()
    );
    if nearly_full(&dirs) {
        check(
            "disk",
            Status::Problem,
            format!("{said}: full, nothing can be written; free space or grow the disk"),
        )
    } else if total > 0 && free * 10 < total {
        check(
            "disk",
            Status::Warning,
            format!("{said}: under 10% left; free space or grow the disk soon"),
        )
    } else {
        check("disk", Status::Ok, said)
    }
}

fn jobs(config: &Config, workers: &super::jobs::Activity) -> Check {
    if config.job_workers == 0 {
        return check(
            "jobs",
            Status::Ok,
            "this node runs no jobs (job_workers = 0)",
        );
    }
    match workers.live_workers() {
        0 => check(
            "jobs",
            Status::Problem,
            "no job worker is running (stopped, or one failed): restart the service, and read its log",
        ),
        n => check("jobs", Status::Ok, format!("{n} job workers running")),
    }
}

/// Readiness, whether the server answers, and what an operator should look at once: for
/// `khidmat doctor`, run beside the server.
pub async fn doctor(node: &Node<'_>) -> Vec<Check> {
    let mut out = readiness(node).await;
    if out
        .iter()
        .any(|c| c.name == "database" && c.status == Status::Problem)
    {
        return out;
    }
    let config = node.config;
    out.push(server(config).await);
    out.push(match config.public_url.as_deref() {
        None => check(
            "public_url",
            Status::Warning,
            "not set: links in SMS and e-mails are made from each request's Host header; set public_url to the site's https address",
        ),
        Some(u) if u.starts_with("https://") => check("public_url", Status::Ok, u.to_owned()),
        Some(u) if u.starts_with("http://localhost") || u.starts_with("http://127.") => {
            check("public_url", Status::Warning, format!("{u}: local only"))
        }
        Some(u) => check(
            "public_url",
            Status::Problem,
            format!("{u} is not https: sign-in cookies and codes would cross the network in clear; put TLS in front and set an https address"),
        ),
    });
    out.push(match config.sms_gateway.as_str() {
        "log" if config.demo => check("sms", Status::Ok, "demo: SMS are written to the log"),
        "log" => check(
            "sms",
            Status::Warning,
            "sms_gateway is `log`: SMS are written to the log, not sent; choose smssync or http",
        ),
        "http" if config.sms_http_url.trim().is_empty() => check(
            "sms",
            Status::Problem,
            "sms_gateway is `http` but sms_http_url is empty: set the aggregator's address with {to} and {text}",
        ),
        g => check("sms", Status::Ok, format!("SMS go out by {g}")),
    });
    out.push(
        if config.channel_secret.is_none()
            && config.smssync_secret.is_none()
            && config.africastalking_secret.is_none()
        {
            check(
                "gateways",
                Status::Warning,
                "no gateway secret is set: SMS, USSD and voice callbacks are switched off; set channel_secret",
            )
        } else {
            check("gateways", Status::Ok, "inbound gateways have a secret")
        },
    );
    out.extend(channels(config));
    out.push(backups(node).await);
    out
}

/// WhatsApp and voice calls: each is off, on, or half set up (which the doctor names).
fn channels(config: &Config) -> Vec<Check> {
    use super::config::given;
    let missing = super::whatsapp::missing(config);
    let mut out = vec![match missing.len() {
        4 => check("whatsapp", Status::Ok, "off (not configured)"),
        0 => check(
            "whatsapp",
            Status::Ok,
            format!("on: {}", config.whatsapp_api_base),
        ),
        _ => check(
            "whatsapp",
            Status::Problem,
            format!(
                "half set up: {} not set, so the channel stays off; set all four (docs/CHANNELS.md)",
                missing.join(", ")
            ),
        ),
    }];
    let twilio = config.voice_gateway == "twilio";
    let need = super::calls::missing_credentials(config);
    out.push(match (given(&config.voice_call_from), need) {
        (true, Some(need)) => check(
            "voice",
            Status::Problem,
            format!("voice_call_from is set but {need} are not: changes go by SMS only, no call is placed"),
        ),
        (true, None) => check(
            "voice",
            Status::Ok,
            format!("calls placed back through {}", config.voice_gateway),
        ),
        (false, _) if twilio && !given(&config.twilio_auth_token) => check(
            "voice",
            Status::Warning,
            "Twilio's requests are not checked: set twilio_auth_token so X-Twilio-Signature is",
        ),
        (false, _) => check(
            "voice",
            Status::Ok,
            "calls answered; changes go by SMS (set voice_call_from to call back)",
        ),
    });
    out
}

/// The running server's own readiness (its job workers are only visible from inside it).
async fn server(config: &Config) -> Check {
    use http_body_util::BodyExt;
    let addr = config
        .listen
        .replace("0.0.0.0", "127.0.0.1")
        .replace("[::]", "[::1]");
    let url = format!("http://{addr}/readyz");
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return check(
            "server",
            Status::Problem,
            format!("listen = {:?} is not an address", config.listen),
        );
    };
    let client = match super::http::client::<http_body_util::Empty<axum::body::Bytes>>(None) {
        Ok(c) => c,
        Err(e) => {
            return check(
                "server",
                Status::Problem,
                format!("cannot make a client: {e}"),
            )
        }
    };
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let resp = client.get(uri).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    })
    .await;
    match answer {
        Ok(Ok((status, _))) if status.is_success() => {
            check("server", Status::Ok, format!("{url} answers: ready"))
        }
        Ok(Ok((status, body))) => {
            let why: Vec<String> = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["checks"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter(|c| c["status"] == "problem")
                .map(|c| {
                    format!(
                        "{}: {}",
                        c["name"].as_str().unwrap_or(""),
                        c["detail"].as_str().unwrap_or("")
                    )
                })
                .collect();
            check(
                "server",
                Status::Problem,
                format!("{url} answers {status}, not ready: {}", why.join("; ")),
            )
        }
        _ => check(
            "server",
            Status::Problem,
            format!("nothing answers at {url}: is the service running (systemctl status khidmat)?"),
        ),
    }
}

async fn backups(node: &Node<'_>) -> Check {
    let last = super::backup::last_made(node.db).await;
    let every = node.config.backup_every_hours;
    match last {
        Err(e) => check("backups", Status::Problem, format!("cannot read the backup record: {e}")),
        Ok(None) if every <= 0 => check(
            "backups",
            Status::Problem,
            "no backup was ever made, and scheduled backups are off (backup_every_hours = 0): run `khidmat backup FILE` from cron, or turn them on",
        ),
        Ok(None) => check(
            "backups",
            Status::Warning,
            format!("no backup yet: the first is due within {every} hours of the first start"),
        ),
        Ok(Some(at)) => {
            let age = Utc::now() - at;
            let said = format!("last backup {} ({} hours ago)", at.format("%Y-%m-%d %H:%M UTC"), age.num_hours());
            if every > 0 && age.num_hours() > 2 * every {
                check(
                    "backups",
                    Status::Problem,
                    format!("{said}, more than twice the schedule ({every} h): read the log for the failed backup job"),
                )
            } else {
                check("backups", Status::Ok, said)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doctor_names_a_half_set_up_channel() {
        let status = |c: &Config, name: &str| {
            channels(c)
                .into_iter()
                .find(|x| x.name == name)
                .map(|x| (x.status, x.detail))
                .unwrap()
        };
        let mut c = Config::default();
        assert_eq!(status(&c, "whatsapp").0, Status::Ok);
        assert_eq!(status(&c, "voice").0, Status::Ok);
        c.whatsapp_phone_number_id = Some("1".into());
        c.whatsapp_access_token = Some("t".into());
        let (s, why) = status(&c, "whatsapp");
        assert_eq!(s, Status::Problem);
        assert!(
            why.contains("whatsapp_app_secret, whatsapp_verify_token"),
            "{why}"
        );
        c.voice_call_from = Some("+923110000000".into());
        let (s, why) = status(&c, "voice");
        assert_eq!(s, Status::Problem);
        assert!(why.contains("africastalking_username"), "{why}");
        c.voice_gateway = "twilio".into();
        c.voice_call_from = None;
        assert_eq!(status(&c, "voice").0, Status::Warning);
    }
}
