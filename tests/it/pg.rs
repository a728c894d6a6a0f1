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
    settings: String,
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

/// The shared cluster's settings: fast and unsafe (no fsync, commits acknowledged before their
/// WAL is written), which is fine while PostgreSQL itself never dies under a test.
const FAST: &str = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400 -c shared_buffers=128MB";

impl Cluster {
    /// `initdb` a cluster under `root` and start it on a free port with `settings`.
    pub fn create(root: &Path, settings: &str) -> Cluster {
        Cluster::create_with(root, settings, &[])
    }

    /// [`Cluster::create`], with more `initdb` arguments.
    pub fn create_with(root: &Path, settings: &str, initdb: &[&str]) -> Cluster {
        let bin = find_bindir();
        // PostgreSQL refuses to run as root: run it as the `postgres` user the package creates.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let data = root.join("data");
        std::fs::create_dir_all(root).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(root)
                .status()
                .unwrap()
                .success();
            assert!(ok, "cannot give {} to the postgres user", root.display());
        }
        let mut c = Cluster {
            port: 0,
            user: "khidmat".into(),
            bin,
            data: data.clone(),
            as_postgres,
            settings: settings.into(),
        };
        let d = data.to_string_lossy().to_string();
        let mut args = vec![
            "-D",
            &d,
            "-U",
            "khidmat",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ];
        args.extend_from_slice(initdb);
        run(&c, "initdb", &args);
        // A free port may be taken (by a test's own server) between finding it and the cluster
        // binding it: then try another.
        for attempt in 1..=5 {
            c.port = free_port();
            if attempt == 5 {
                c.start_or_panic();
            } else if c.try_start() {
                break;
            }
        }
        // The application connects as a role that is not a superuser, as docs/OPERATIONS.md
        // tells operators to set up: it owns its database and may create the DataStore
        // reader role, nothing more.
        let port_arg = c.port.to_string();
        let create = format!("CREATE ROLE {APP_ROLE} LOGIN CREATEROLE NOSUPERUSER");
        run(
            &c,
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port_arg,
                "-U",
                "khidmat",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &create,
            ],
        );
        c
    }

    fn start_args(&self) -> Vec<String> {
        let root = self.data.parent().unwrap();
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 {}",
            self.port,
            root.to_string_lossy(),
            self.settings
        );
        let log = root.join("postgres.log").to_string_lossy().to_string();
        let d = self.data.to_string_lossy().to_string();
        ["-D", &d, "-o", &opts, "-l", &log, "-w", "-t", "60", "start"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn try_start(&self) -> bool {
        command(self, "pg_ctl")
            .args(self.start_args())
            .output()
            .unwrap()
            .status
            .success()
    }

    /// Start it again (after [`Cluster::crash`]) on the same port.
    pub fn start_or_panic(&self) {
        let args = self.start_args();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(self, "pg_ctl", &args);
    }

    /// Stop it as a crash does: every server process told to quit at once, no checkpoint.
    pub fn crash(&self) {
        let d = self.data.to_string_lossy().to_string();
        let _ = command(self, "pg_ctl")
            .args(["-D", &d, "-m", "immediate", "stop"])
            .output();
    }

    /// Is the server running? (It stops by itself when it cannot write its log.)
    pub fn running(&self) -> bool {
        let d = self.data.to_string_lossy().to_string();
        command(self, "pg_ctl")
            .args(["-D", &d, "status"])
            .output()
            .unwrap()
            .status
            .success()
    }

    /// A new, empty database owned by the application's role; its URL.
    pub async fn fresh_database(&self) -> String {
        use sqlx::Connection;
        let admin = format!("postgres://{}@127.0.0.1:{}/postgres", self.user, self.port);
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to the test cluster");
        sqlx::query(&format!("CREATE DATABASE {name} OWNER {APP_ROLE}"))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.ok();
        format!("postgres://{APP_ROLE}@127.0.0.1:{}/{name}", self.port)
    }
}

/// A cluster of a test's own, which it may crash and fill; stopped and removed when dropped.
/// Commits are durable against a crash of PostgreSQL (synchronous_commit on); fsync stays off,
/// since the machine itself does not crash under a test.
pub struct Private(pub Cluster);

impl Private {
    pub fn create() -> Private {
        // Under the system's temporary directory, not a test's private one: the `postgres`
        // user must be able to reach it.
        let root = std::env::temp_dir().join(format!(
            "khidmat-pg-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        Private(Cluster::create(
            &root,
            "-c fsync=off -c synchronous_commit=on -c max_connections=100 -c shared_buffers=32MB",
        ))
    }
}

impl Private {
    /// A cluster in `root` (on a small disk a test fills): small WAL segments, little kept.
    pub fn create_in(root: &Path) -> Private {
        Private(Cluster::create_with(
            root,
            "-c fsync=off -c synchronous_commit=on -c max_connections=100 -c shared_buffers=16MB -c min_wal_size=4MB -c max_wal_size=8MB",
            &["--wal-segsize=1"],
        ))
    }
}

impl Drop for Private {
    fn drop(&mut self) {
        self.0.crash();
        let _ = std::fs::remove_dir_all(self.0.data.parent().unwrap());
    }
}

pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("khidmat-pg-{}", std::process::id()));
        let c = Cluster::create(&root, FAST);
        unsafe { libc::atexit(stop_cluster) };
        c
    })
}

/// A new, empty database in the shared cluster; its URL.
pub async fn fresh_database() -> String {
    cluster().fresh_database().await
}
