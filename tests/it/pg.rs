//! A throwaway PostgreSQL cluster for the test process: `initdb` into a temporary directory,
//! `pg_ctl start` on a free port, stopped when the process exits. Each test gets its own
//! database in it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Cluster {
    pub port: u16,
    pub user: String,
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn find_bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (no initdb found): run the test command from the README, which installs it")
    })
}

/// A PostgreSQL program, run as the `postgres` user when we are root.
fn command(c: &Cluster, program: &str) -> Command {
    let exe = c.bin.join(program);
    if c.as_postgres {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(&exe);
        cmd
    } else {
        Command::new(&exe)
    }
}

fn run(c: &Cluster, program: &str, args: &[&str]) {
    let exe = c.bin.join(program);
    let out = command(c, program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    assert!(
        out.status.success(),
        "{program} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

extern "C" fn stop_cluster() {
    if let Some(c) = CLUSTER.get() {
        let data = c.data.to_string_lossy().to_string();
        let _ = command(c, "pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(c.data.parent().unwrap_or(Path::new("/nonexistent")));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The role the application connects as: not a superuser.
pub const APP_ROLE: &str = "khidmat_app";

pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let bin = find_bindir();
        // PostgreSQL refuses to run as root: run it as the `postgres` user the package creates.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let root = std::env::temp_dir().join(format!("khidmat-pg-{}", std::process::id()));
        let data = root.join("data");
        std::fs::create_dir_all(&root).unwrap();
        if as_postgres {
            let ok = Command::new("chown").args(["-R", "postgres:postgres"]).arg(&root).status().unwrap().success();
            assert!(ok, "cannot give {} to the postgres user", root.display());
        }
        let mut c = Cluster { port: 0, user: "khidmat".into(), bin, data: data.clone(), as_postgres };
        let d = data.to_string_lossy().to_string();
        run(&c, "initdb", &["-D", &d, "-U", "khidmat", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]);
        let log = root.join("postgres.log").to_string_lossy().to_string();
        // A free port may be taken (by a test's own server) between finding it and the cluster
        // binding it: then try another.
        for attempt in 1..=5 {
            c.port = free_port();
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB",
                c.port,
                root.to_string_lossy()
            );
            let args = ["-D", d.as_str(), "-o", opts.as_str(), "-l", log.as_str(), "-w", "-t", "60", "start"];
            if attempt == 5 {
                run(&c, "pg_ctl", &args);
            } else if command(&c, "pg_ctl").args(args).output().unwrap().status.success() {
                break;
            }
        }
        let port = c.port;
        unsafe { libc::atexit(stop_cluster) };
        // The application connects as a role that is not a superuser, as docs/OPERATIONS.md
        // tells operators to set up: it owns its database and may create the DataStore
        // reader role, nothing more.
        let port_arg = port.to_string();
        let create = format!("CREATE ROLE {APP_ROLE} LOGIN CREATEROLE NOSUPERUSER");
        run(&c, "psql", &["-h", "127.0.0.1", "-p", &port_arg, "-U", "khidmat", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c", &create]);
        c
    })
}

/// A new, empty database in the shared cluster; its URL.
pub async fn fresh_database() -> String {
    use sqlx::Connection;
    let c = cluster();
    let admin = format!("postgres://{}@127.0.0.1:{}/postgres", c.user, c.port);
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect to the test cluster");
    sqlx::query(&format!("CREATE DATABASE {name} OWNER {APP_ROLE}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    format!("postgres://{APP_ROLE}@127.0.0.1:{}/{name}", c.port)
}
