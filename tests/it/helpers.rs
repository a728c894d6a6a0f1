//! The harness: the real application on a free port, over a real SQLite file or a real
//! PostgreSQL database, driven over HTTP.

use std::path::PathBuf;

use khidmat::platform::db::{query, Db};
use khidmat::platform::identity::{self, NewUser, Role};
use khidmat::{Application, Config};
use reqwest::redirect::Policy;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Every test that touches the store runs on both backends:
/// `both!(name, |app| async move { … })` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident, |$app:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $app = $crate::helpers::spawn($crate::helpers::Backend::Sqlite).await;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $app = $crate::helpers::spawn($crate::helpers::Backend::Postgres).await;
                $body.await
            }
        }
    };
}

/// `on_both!(name, |backend| async move { … })`: for tests that start their own app(s).
#[macro_export]
macro_rules! on_both {
    ($name:ident, |$backend:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $backend = $crate::helpers::Backend::Sqlite;
                $body.await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $backend = $crate::helpers::Backend::Postgres;
                $body.await
            }
        }
    };
}

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub db: Db,
    pub backend: Backend,
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    /// A client key (may submit reports), as Open311 apps hold.
    pub client_key: String,
    /// What the development gateways delivered (codes and links are read here, as the phone
    /// or mailbox would; the outbox keeps no secret once a message has left).
    pub delivered: khidmat::platform::config::Delivered,
    _dir: tempfile::TempDir,
    shutdown: khidmat::platform::shutdown::Token,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The secret key file every test app uses: apps of one test process share the keys (one
/// process serves one deployment), and the CLI run on a test app's directory reads the same.
pub const TEST_KEYS: &str = "tokens = 746573742d6b6579732d746573742d6b6579732d746573742d6b6579732d2d2d\npseudonyms = test-pseudonyms\n";

pub fn test_config(dir: &std::path::Path, database_url: Option<String>) -> Config {
    let keys = dir.join("secret.key");
    if !keys.exists() {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(&keys, TEST_KEYS).unwrap();
    }
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url,
        demo: true,
        rate_limit_per_minute: 0,
        ..Config::default()
    }
}

/// Run `work` to its end on a runtime of its own, on a thread of its own: for what a test
/// process builds once (a template database) and shares between tests, each of which has its
/// own runtime.
fn on_own_runtime<T: Send + 'static>(
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}

/// Migrate `db` and load the demo packs, as `serve --demo` does on its first start.
async fn prepare_demo(db: &Db, dir: &std::path::Path) {
    let config = test_config(dir, None);
    khidmat::platform::secrets::open(&config, db).await.unwrap();
    khidmat::packs::load_demo(db).await.unwrap();
}

/// The demo's SQLite database, built once for the test process (removed when it exits).
fn sqlite_template() -> &'static std::path::Path {
    static TEMPLATE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    extern "C" fn remove_template() {
        if let Some(file) = TEMPLATE.get() {
            let _ = std::fs::remove_dir_all(file.parent().unwrap());
        }
    }
    TEMPLATE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("khidmat-template-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("demo.db");
        let work = dir.join("work");
        let (at, out) = (work.clone(), file.clone());
        on_own_runtime(async move {
            let work = at;
            let config = test_config(&work, None);
            let db = Db::connect(None, &config.sqlite_path()).await.unwrap();
            prepare_demo(&db, &work).await;
            // One self-contained file (no write-ahead log beside it).
            db.execute(query(format!("VACUUM INTO '{}'", out.display())))
                .await
                .unwrap();
            db.close().await;
        });
        std::fs::remove_dir_all(&work).unwrap();
        unsafe { libc::atexit(remove_template) };
        file
    })
}

pub async fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

pub async fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    // Server errors (a 500's cause) go to the failing test's output.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path(), None);
    adjust(&mut config);
    // On SQLite a demo app starts from a copy of the demo's database, migrated and loaded once
    // per test run (the state `serve --demo` builds): 14 ms instead of 82. On PostgreSQL a copy
    // of a template database costs more than migrating an empty one (docs/DECISIONS.md).
    match backend {
        Backend::Sqlite => {
            if config.demo {
                std::fs::copy(sqlite_template(), config.sqlite_path()).unwrap();
            }
        }
        Backend::Postgres => {
            config.database_url = Some(crate::pg::fresh_database().await);
        }
    }
    let database_url = config.database_url.clone();
    let app = Application::build(config)
        .await
        .expect("application builds");
    let url = format!("http://{}", app.local_addr());
    let db = app.state().db.clone();
    let delivered = app.state().config.delivered.clone();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped(false));
    let client_key = identity::create_api_key(&db, "test", "test client app", None)
        .await
        .unwrap()
        .key;
    TestApp {
        url,
        client: reqwest::Client::new(),
        db,
        backend,
        database_url,
        data_dir: dir.path().to_path_buf(),
        client_key,
        delivered,
        _dir: dir,
        shutdown,
    }
}

impl TestApp {
    /// The text of the newest SMS to `phone` (E.164), as the phone received it.
    pub async fn sms_to(&self, phone: &str) -> String {
        let id: i64 = self
            .db
            .scalar(
                query("SELECT id FROM sms_outbox WHERE phone = $1 ORDER BY id DESC LIMIT 1")
                    .bind(phone),
            )
            .await
            .unwrap_or_else(|e| panic!("no SMS to {phone}: {e}"));
        self.delivered_text("sms", id).await
    }

    /// The text of the newest e-mail to `to`, as the mailbox received it.
    pub async fn mail_to(&self, to: &str) -> String {
        let id: i64 = self
            .db
            .scalar(
                query("SELECT id FROM mail_outbox WHERE to_addr = $1 ORDER BY id DESC LIMIT 1")
                    .bind(to),
            )
            .await
            .unwrap_or_else(|e| panic!("no e-mail to {to}: {e}"));
        self.delivered_text("mail", id).await
    }

    /// Every e-mail to `to` so far, as delivered, oldest first.
    pub async fn mails_to(&self, to: &str) -> Vec<String> {
        let ids: Vec<(i64,)> = self
            .db
            .fetch_all(query("SELECT id FROM mail_outbox WHERE to_addr = $1 ORDER BY id").bind(to))
            .await
            .unwrap();
        let mut texts = Vec::new();
        for (id,) in ids {
            texts.push(self.delivered_text("mail", id).await);
        }
        texts
    }

    async fn delivered_text(&self, outbox: &str, id: i64) -> String {
        for _ in 0..300 {
            if let Some(t) = self.delivered.text_of(outbox, id) {
                return t;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{outbox} message {id} was not delivered within 15 s")
    }

    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.at(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    /// POST an Open311 form (the client key is added).
    pub async fn post_report(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("api_key", self.client_key.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(self.at("/open311/v2/requests.json"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// POST an Open311 report as multipart, with `photo` as the `media` file.
    pub async fn post_report_with_photo(
        &self,
        fields: &[(&'static str, &'static str)],
        photo: Vec<u8>,
    ) -> reqwest::Response {
        let mut form = reqwest::multipart::Form::new().text("api_key", self.client_key.clone());
        for (k, v) in fields {
            form = form.text(*k, *v);
        }
        let part = reqwest::multipart::Part::bytes(photo).file_name("photo.jpg");
        self.client
            .post(self.at("/open311/v2/requests.json"))
            .multipart(form.part("media", part))
            .send()
            .await
            .unwrap()
    }

    /// Submit a valid report and return its id.
    pub async fn report(&self, fields: &[(&str, &str)]) -> String {
        let resp = self.post_report(fields).await;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body[0]["service_request_id"].as_str().unwrap().to_string()
    }

    pub async fn kunda_at(&self, lat: &str, long: &str) -> String {
        self.report(&[
            ("service_code", "kunda"),
            ("lat", lat),
            ("long", long),
            ("attribute[premises]", "shop"),
            ("attribute[method]", "hook"),
            ("description", "Hooks on the line behind the market"),
        ])
        .await
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.db
            .scalar(query(format!("SELECT COUNT(*) FROM {table}")))
            .await
            .unwrap()
    }

    /// A department API key (staff).
    pub async fn department_key(&self, department: &str) -> String {
        identity::create_api_key(
            &self.db,
            "test",
            &format!("{department} desk"),
            Some(department),
        )
        .await
        .unwrap()
        .key
    }

    pub async fn add_user(
        &self,
        email: &str,
        role: Role,
        department: Option<&str>,
        district: Option<&str>,
    ) -> i64 {
        identity::create_user(
            &self.db,
            "test",
            NewUser {
                email,
                name: "Test Officer",
                role,
                department,
                district,
                password: "a long enough password".into(),
            },
        )
        .await
        .unwrap()
    }

    pub fn staff_get(&self, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.client.get(self.at(path)).bearer_auth(key)
    }

    /// A staff GET's JSON body.
    pub async fn staff_json(&self, path: &str, key: &str) -> Value {
        self.staff_get(path, key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A staff GET's status code.
    pub async fn staff_status(&self, path: &str, key: &str) -> u16 {
        self.staff_get(path, key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub fn staff_post(&self, path: &str, key: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client.post(self.at(path)).bearer_auth(key).json(body)
    }
}

/// Assert an Open311 error: the status, and the body `[{code, description}]` with that code.
pub async fn assert_open311_error(resp: reqwest::Response, status: u16, mentions: &str) {
    assert_eq!(resp.status(), status, "status");
    let body: Value = resp.json().await.expect("error body is JSON");
    let err = &body[0];
    assert_eq!(err["code"], status, "{body}");
    let description = err["description"].as_str().expect("description");
    assert!(
        description
            .to_lowercase()
            .contains(&mentions.to_lowercase()),
        "expected the error to mention {mentions:?}: {description}"
    );
}

/// A JSON Schema from `tests/standards/{standard}/` (copied into the repository: see its README),
/// with `$ref`s to sibling files inlined.
pub fn standard_schema(standard: &str, file: &str) -> jsonschema::Validator {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/standards")
        .join(standard);
    fn inline(v: &mut Value, dir: &std::path::Path) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref").cloned() {
                    let text = std::fs::read_to_string(dir.join(&r)).unwrap();
                    let mut target: Value = serde_json::from_str(&text).unwrap();
                    inline(&mut target, dir);
                    map.remove("$ref");
                    if let Value::Object(t) = target {
                        for (k, val) in t {
                            map.entry(k).or_insert(val);
                        }
                    }
                }
                for val in map.values_mut() {
                    inline(val, dir);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| inline(i, dir)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut schema: Value = serde_json::from_str(&text).unwrap();
    inline(&mut schema, &dir);
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

pub fn assert_valid(schema: &str, instance: &Value) {
    assert_valid_in("open311", schema, instance)
}

pub fn assert_valid_in(standard: &str, schema: &str, instance: &Value) {
    let v = standard_schema(standard, schema);
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{schema}: {errors:?}\n{instance}");
}

/// Poll until `f` returns Some, for work done by background jobs.
/// Send a request and read its answer as JSON (whatever the status: the caller asserts it).
pub async fn fetch_json(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

pub async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("condition not met within 5 seconds");
}

/// The program, for tests that run it as a process. Every such process uses the tests' keys
/// (`KHIDMAT_SECRET_KEY_FILE`), as the apps of this process do, so what one makes (an API key
/// made here for a server run there) the other accepts.
/// Run a real client that scripts/test.sh installs in target/test-venv (ckanapi, python with
/// frictionless and pyshacl), off the async workers. Its standard output, once it succeeded.
pub async fn run_client(program: &str, args: &[&str]) -> Vec<u8> {
    let exe = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/test-venv/bin")
        .join(program);
    assert!(exe.exists(), "run ./scripts/test.sh: it installs {program}");
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let shown = format!("{program} {}", args.join(" "));
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(&args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{shown}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn khidmat_bin() -> PathBuf {
    static KEYS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let file = std::env::temp_dir().join(format!("khidmat-test-{}.key", std::process::id()));
        std::fs::write(&file, TEST_KEYS).unwrap();
        // Set once, before the first child starts; children inherit it.
        std::env::set_var("KHIDMAT_SECRET_KEY_FILE", &file);
        file
    });
    PathBuf::from(env!("CARGO_BIN_EXE_khidmat"))
}

/// A browser without script: keeps cookies, shows redirects instead of following them.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// The value of a hidden form field in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in the page"))
        + marker.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

/// Log in through the login form; returns the browser and its form token.
pub async fn login(app: &TestApp, email: &str) -> (reqwest::Client, String) {
    let b = browser();
    let (_, html) = page(&b, app, "/staff/login").await;
    let csrf = hidden(&html, "csrf");
    let resp = b
        .post(app.at("/staff/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", "a long enough password"),
            ("next", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()[reqwest::header::LOCATION], "/staff");
    // The form token is bound to the session: the page after signing in carries the new one.
    let (_, html) = page(&b, app, "/staff").await;
    let signed_in = hidden(&html, "csrf");
    assert_ne!(signed_in, csrf, "signing in changes the form token");
    (b, signed_in)
}

/// A client logged in through the JSON API (`POST /api/v1/login`) as `email`.
pub async fn api_session(app: &TestApp, email: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = c
        .post(app.at("/api/v1/login"))
        .json(&serde_json::json!({"email": email, "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{email} logs in");
    c
}

/// GET a page in a browser: `(status, body)`.
pub async fn page(b: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let resp = b.get(app.at(path)).send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// A browser signed in at `/me` as the citizen with `phone` (`0300 1234567`), by the code the
/// development SMS gateway would send; returns it and its form token.
pub async fn citizen(app: &TestApp, phone: &str) -> (reqwest::Client, String) {
    let b = browser();
    let (_, html) = page(&b, app, "/me").await;
    let csrf = hidden(&html, "csrf");
    let r = b
        .post(app.at("/me/code"))
        .form(&[("csrf", csrf.as_str()), ("phone", phone), ("next", "/me")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a code is sent to {phone}");
    let e164 = khidmat::platform::personal::Phone::parse(phone).unwrap();
    let sms = app.sms_to(e164.e164()).await;
    let code = sms
        .split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .expect("a six-digit code")
        .to_owned();
    let r = b
        .post(app.at("/me/sign-in"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("phone", phone),
            ("code", code.as_str()),
            ("next", "/me"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{phone} signs in");
    // The form token is bound to the session: the page after signing in carries the new one.
    let (_, html) = page(&b, app, "/me").await;
    (b, hidden(&html, "csrf"))
}

/// POST a form as a browser; `(status, where it redirects or the page)`.
pub async fn submit(
    b: &reqwest::Client,
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let resp = b.post(app.at(path)).form(form).send().await.unwrap();
    let status = resp.status().as_u16();
    let text = match resp.headers().get(reqwest::header::LOCATION) {
        Some(l) => l.to_str().unwrap().to_owned(),
        None => resp.text().await.unwrap(),
    };
    (status, text)
}

/// The newest migration this release has (the schema version a current database is at).
pub fn latest_migration() -> usize {
    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .unwrap()
        .count()
}

/// Every route the code declares, as `(METHOD, path)`: read from the `.route(…)` calls in
/// `src/`, so that a route added tomorrow is in the sweeps below without anyone listing it.
pub fn declared_routes() -> Vec<(String, String)> {
    let sources = rust_files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    let mut routes = Vec::new();
    for file in sources {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut at = 0;
        while let Some(found) = text[at..].find(".route(") {
            let start = at + found + ".route(".len();
            // The call's arguments: up to the parenthesis that closes it.
            let (mut depth, mut end, mut in_str) = (1, start, false);
            for (i, c) in text[start..].char_indices() {
                match c {
                    '"' => in_str = !in_str,
                    '(' if !in_str => depth += 1,
                    ')' if !in_str => {
                        depth -= 1;
                        if depth == 0 {
                            end = start + i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let args = &text[start..end];
            at = end;
            let Some(path) = args.split('"').nth(1) else {
                continue;
            };
            let handlers = &args[args.find(',').unwrap_or(0)..];
            for method in ["get", "post", "put", "patch", "delete"] {
                let call = format!("{method}(");
                let mut rest = handlers;
                while let Some(i) = rest.find(&call) {
                    let before = rest[..i].chars().last().unwrap_or(' ');
                    if !before.is_alphanumeric() && before != '_' {
                        routes.push((method.to_uppercase(), path.to_owned()));
                        break;
                    }
                    rest = &rest[i + call.len()..];
                }
            }
        }
    }
    routes.sort();
    routes.dedup();
    routes
}

/// Every `.rs` file under `dir`.
pub fn rust_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

/// The application's tables (not SQLite's own).
pub async fn table_names(app: &TestApp) -> Vec<String> {
    let rows: Vec<(String,)> = match app.backend {
        Backend::Sqlite => app
            .db
            .fetch_all(query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ))
            .await
            .unwrap(),
        Backend::Postgres => app
            .db
            .fetch_all(query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            ))
            .await
            .unwrap(),
    };
    rows.into_iter().map(|(t,)| t).collect()
}

/// A small PNG photo, `w` × `h`, a gradient.
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x * 5) as u8, (y * 7) as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}
