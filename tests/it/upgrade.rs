//! Surviving time: a backup restored gives back every table as it was; a database made by an
//! older release is upgraded by `khidmat migrate` with its data intact (and a newer one refused);
//! scheduled backups keep the newest few. The upgrade runs on both stores.

use std::path::Path;

use khidmat::platform::db::{query, Db};
use sqlx::migrate::Migrator;

use crate::cli::khidmat;
use crate::helpers::*;
use crate::on_both;

/// Every table of the database, each row as text, in order: what a restore must give back.
async fn snapshot(file: &Path, url: Option<&str>) -> Vec<(String, Vec<String>)> {
    let db = Db::connect(url, file).await.unwrap();
    let postgres = url.is_some();
    let tables: Vec<(String,)> = db
        .fetch_all(query(if postgres {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_type = 'BASE TABLE' ORDER BY 1"
        } else {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }))
        .await
        .unwrap();
    let mut out = Vec::new();
    for (t,) in tables {
        let sql = if postgres {
            format!("SELECT CAST(x AS TEXT) FROM \"{t}\" x ORDER BY 1")
        } else {
            let cols: Vec<(String,)> = db
                .fetch_all(
                    query("SELECT name FROM pragma_table_info($1) ORDER BY cid").bind(t.clone()),
                )
                .await
                .unwrap();
            let row = cols
                .iter()
                .map(|(c,)| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            format!("SELECT {row} FROM \"{t}\" ORDER BY rowid")
        };
        let rows: Vec<(String,)> = db.fetch_all(query(sql)).await.unwrap_or_default();
        out.push((t, rows.into_iter().map(|r| r.0).collect()));
    }
    db.close().await;
    out
}

on_both!(
    a_backup_restored_gives_back_every_table,
    |backend| async move {
        let dir = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(crate::pg::fresh_database().await),
        };
        let run =
            |args: &[&str], stdin: Option<&str>| khidmat(dir.path(), url.as_deref(), args, stdin);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for pack in [
            "pesco-electricity-theft",
            "kp-traffic-police",
            "kp-traffic-registers",
        ] {
            let p = root.join(format!("packs/{pack}.toml"));
            let (ok, out, err) = run(&["pack", "load", p.to_str().unwrap()], None);
            assert!(ok, "{out}{err}");
        }
        let (ok, _, err) = run(
            &[
                "user",
                "add",
                "--email",
                "sp@pesco.gov.pk",
                "--name",
                "SP",
                "--role",
                "manager",
                "--department",
                "pesco",
                "--password-stdin",
            ],
            Some("a long enough password\n"),
        );
        assert!(ok, "{err}");
        let db_file = dir.path().join("khidmat.db");
        let before = snapshot(&db_file, url.as_deref()).await;
        assert!(before
            .iter()
            .any(|(t, rows)| t == "register_rows" && rows.len() > 10));

        let backup = dir.path().join(match backend {
            Backend::Sqlite => "copy.db",
            Backend::Postgres => "copy.dump",
        });
        let (ok, out, err) = run(&["backup", backup.to_str().unwrap()], None);
        assert!(ok && out.contains("backup written"), "{out}{err}");
        assert!(
            !run(&["backup", backup.to_str().unwrap()], None).0,
            "never over an existing file"
        );

        // Life goes on after the backup.
        let (ok, _, err) = run(
            &[
                "user",
                "add",
                "--email",
                "new@pesco.gov.pk",
                "--name",
                "New",
                "--role",
                "officer",
                "--department",
                "pesco",
                "--password-stdin",
            ],
            Some("a long enough password\n"),
        );
        assert!(ok, "{err}");
        let p = root.join("packs/kp-driving-theory.toml");
        assert!(run(&["pack", "load", p.to_str().unwrap()], None).0);

        // Not under a running server; not from a file that is not a Khidmat database.
        {
            let _server = khidmat::platform::backup::lock(dir.path()).unwrap();
            let (ok, _, err) = run(&["restore", backup.to_str().unwrap()], None);
            assert!(!ok && err.contains("stop it first"), "{err}");
        }
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, "not a database").unwrap();
        let (ok, _, err) = run(&["restore", junk.to_str().unwrap()], None);
        assert!(!ok && err.contains("not"), "{err}");

        // The backup verifies; a file that is not one, or only part of one, does not.
        let v = latest_migration();
        let (ok, out, err) = run(&["backup", "verify", backup.to_str().unwrap()], None);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains(&format!("usable backup: schema {v}")) && out.contains("  users"),
            "{out}"
        );
        let (ok, _, err) = run(&["backup", "verify", junk.to_str().unwrap()], None);
        assert!(!ok && err.contains("neither"), "{err}");
        let cut = dir.path().join("cut.backup");
        let whole = std::fs::read(&backup).unwrap();
        std::fs::write(&cut, &whole[..whole.len().min(4096)]).unwrap();
        let (ok, out, err) = run(&["backup", "verify", cut.to_str().unwrap()], None);
        assert!(!ok, "a cut backup is not usable: {out}");
        assert!(err.contains("cut.backup"), "{err}");

        let (ok, out, err) = run(&["restore", backup.to_str().unwrap()], None);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains(&format!("schema {v} (the backup's was {v})")),
            "{out}"
        );
        let after = snapshot(&db_file, url.as_deref()).await;
        assert_eq!(before.len(), after.len(), "the same tables");
        for ((t, a), (_, b)) in before.iter().zip(after.iter()) {
            assert_eq!(a, b, "table {t} differs after the restore");
        }
        assert!(before
            .iter()
            .any(|(t, rows)| t == "users" && rows.len() == 1));
    }
);

/// The first `n` migrations of a backend, in a directory of their own: an older release's schema.
fn older_release(backend: Backend, n: usize) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    });
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let dir = tempfile::tempdir().unwrap();
    for f in files.into_iter().take(n) {
        std::fs::copy(&f, dir.path().join(f.file_name().unwrap())).unwrap();
    }
    dir
}

on_both!(
    a_database_from_an_older_release_is_upgraded_with_its_data,
    |backend| async move {
        let data = tempfile::tempdir().unwrap();
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(crate::pg::fresh_database().await),
        };
        // The schema of the release before the programme service (nine migrations), with data.
        let old = older_release(backend, 9);
        let migrator = Migrator::new(old.path()).await.unwrap();
        let now = chrono::Utc::now() - chrono::Duration::days(3);
        match &url {
            None => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(data.path().join("khidmat.db"))
                    .create_if_missing(true);
                let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
                migrator.run(&pool).await.unwrap();
                sqlx::query("INSERT INTO departments (slug, name_en, name_ur, name_ps, created_at, updated_at) VALUES ('pesco', 'PESCO', 'پیسکو', 'پیسکو', ?, ?)")
                    .bind(now).bind(now).execute(&pool).await.unwrap();
                sqlx::query("INSERT INTO impact_events (at, service, kind, channel, minutes_saved) VALUES (?, 'reports', 'report', 'sms', 30)")
                    .bind(now).execute(&pool).await.unwrap();
                pool.close().await;
            }
            Some(u) => {
                let pool = sqlx::PgPool::connect(u).await.unwrap();
                migrator.run(&pool).await.unwrap();
                sqlx::query("INSERT INTO departments (slug, name_en, name_ur, name_ps, created_at, updated_at) VALUES ('pesco', 'PESCO', 'پیسکو', 'پیسکو', $1, $2)")
                    .bind(now).bind(now).execute(&pool).await.unwrap();
                sqlx::query("INSERT INTO impact_events (at, service, kind, channel, minutes_saved) VALUES ($1, 'reports', 'report', 'sms', 30)")
                    .bind(now).execute(&pool).await.unwrap();
                pool.close().await;
            }
        }

        let run = |args: &[&str]| khidmat(data.path(), url.as_deref(), args, None);
        let (ok, out, err) = run(&["migrate"]);
        assert!(ok, "{out}{err}");
        assert!(
            out.contains(&format!("applied {} migration(s)", latest_migration() - 9))
                && out.contains("0010 programme")
                && out.contains("0016 admin")
                && out.contains("0017 scheduled once"),
            "{out}"
        );
        let (ok, out, _) = run(&["migrate"]);
        assert!(
            ok && out.contains(&format!(
                "the schema is up to date ({})",
                latest_migration()
            )),
            "{out}"
        );

        // The old data is there, and what later releases added to it was filled in.
        let db = Db::connect(url.as_deref(), &data.path().join("khidmat.db"))
            .await
            .unwrap();
        let (slug, maintainer): (String, String) = db
            .fetch_one(query(
                "SELECT slug, maintainer FROM departments WHERE slug = 'pesco'",
            ))
            .await
            .unwrap();
        assert_eq!((slug.as_str(), maintainer.as_str()), ("pesco", ""));
        let week: String = db
            .scalar(query("SELECT week FROM impact_events"))
            .await
            .unwrap();
        assert_eq!(
            week,
            khidmat::platform::impact::week_of(now),
            "0010 filled in the week"
        );

        // A database a newer release has upgraded is refused, not half understood.
        db.execute(
            query("INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
                   SELECT 99, 'future', installed_on, success, checksum, execution_time FROM _sqlx_migrations WHERE version = 1"),
        )
        .await
        .unwrap();
        db.close().await;
        let (ok, _, err) = run(&["migrate"]);
        assert!(
            !ok && err.contains("upgraded by a newer Khidmat") && err.contains("99"),
            "{err}"
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_keep_the_newest() {
    let app = spawn_with(Backend::Sqlite, |c| c.backup_keep = 2).await;
    // The first start books the next backup.
    eventually(|| async {
        (app.count("jobs WHERE kind = 'backup.scheduled' AND status = 'queued'")
            .await
            == 1)
            .then_some(())
    })
    .await;
    let mut config = test_config(&app.data_dir, None);
    config.backup_keep = 2;
    for _ in 0..3 {
        khidmat::platform::backup::scheduled(&app.db, &config)
            .await
            .unwrap();
    }
    let files = std::fs::read_dir(app.data_dir.join("backups"))
        .unwrap()
        .count();
    assert_eq!(files, 2, "the oldest is deleted");
    assert_eq!(app.count("backups").await, 3, "each was recorded");
}

on_both!(
    religion_moves_from_its_own_columns_into_the_funds_answers,
    |backend| async move {
        // A database of the release before religion was a question of the pack (22 migrations):
        // a fund restricted by religion, one that is not, and their applications.
        let data = tempfile::tempdir().unwrap();
        let file = data.path().join("khidmat.db");
        let url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(crate::pg::fresh_database().await),
        };
        let old = older_release(backend, 22);
        let migrator = Migrator::new(old.path()).await.unwrap();
        match &url {
            None => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(&file)
                    .create_if_missing(true);
                let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
                migrator.run(&pool).await.unwrap();
                pool.close().await;
            }
            Some(u) => {
                let pool = sqlx::PgPool::connect(u).await.unwrap();
                migrator.run(&pool).await.unwrap();
                pool.close().await;
            }
        }
        let now = chrono::Utc::now();
        let db = Db::open(url.as_deref(), &file).await.unwrap();
        let department: i64 = db
            .scalar(
                query("INSERT INTO departments (slug, name_en, name_ur, name_ps, created_at, updated_at) \
                       VALUES ('minority-affairs', 'Minority Affairs', 'اقلیتی امور', 'لږکي', $1, $1) RETURNING id")
                .bind(now),
            )
            .await
            .unwrap();
        let mut funds = Vec::new();
        for (code, eligibility) in [
            (
                "old-grant",
                r#"{"religions":["christian","hindu"],"min_age":14}"#,
            ),
            ("old-scholarship", r#"{"min_age":14}"#),
        ] {
            let id: i64 = db
                .scalar(
                    query("INSERT INTO benefit_funds (code, department_id, name_en, name_ur, name_ps, category, \
                           financial_year, opens_on, closes_on, eligibility, entitlement, selection, \
                           questions, created_at, updated_at) \
                           VALUES ($1, $2, $1, $1, $1, 'educational', '2026-27', '2020-01-01', '2099-12-31', $3, \
                           '{\"rule\":\"fixed\",\"amount\":100}', '{\"method\":\"ballot\",\"places\":null}', \
                           '[{\"code\":\"institution\",\"datatype\":\"string\",\"description\":{\"en\":\"School\"}}]', $4, $4) \
                           RETURNING id")
                    .bind(code)
                    .bind(department)
                    .bind(eligibility)
                    .bind(now),
                )
                .await
                .unwrap();
            funds.push(id);
        }
        // (fund, CNIC, religion, status, stored reasons)
        let applications = [
            (funds[0], "1730111111112", "christian", "eligible", "[]"),
            (funds[0], "1730122222222", "christian", "eligible", "[]"),
            (
                funds[0],
                "1730133333332",
                "muslim",
                "ineligible",
                r#"[{"rule":"religion","religion":"muslim"},{"rule":"too_young","age":12,"min":14}]"#,
            ),
            (
                funds[0],
                "1730144444442",
                "",
                "ineligible",
                r#"[{"rule":"religion","religion":""}]"#,
            ),
            (funds[1], "1730155555552", "sikh", "eligible", "[]"),
            (funds[1], "1730166666662", "", "eligible", "[]"),
        ];
        for (i, (fund, cnic, religion, status, reasons)) in applications.iter().enumerate() {
            let applicant: i64 = db
                .scalar(
                    query("INSERT INTO benefit_applicants (cnic, name, gender, birth_date, religion, district, \
                           created_at, updated_at) VALUES ($1, 'Applicant', 'female', '2005-01-01', $2, 'peshawar', $3, $3) \
                           RETURNING id")
                    .bind(*cnic)
                    .bind(*religion)
                    .bind(now),
                )
                .await
                .unwrap();
            db.execute(
                query("INSERT INTO benefit_applications (reference, token, fund_id, applicant_id, channel, district, \
                       gender, religion, age, monthly_income, dependants, answers, status, reasons, submitted_at, updated_at) \
                       VALUES ($1, $1, $2, $3, 'web', 'peshawar', 'female', $4, 20, 100, 0, \
                       '{\"institution\":\"Islamia College\"}', $5, $6, $7, $7)")
                .bind(format!("B-TEST-000{i}"))
                .bind(*fund)
                .bind(applicant)
                .bind(*religion)
                .bind(*status)
                .bind(*reasons)
                .bind(now),
            )
            .await
            .unwrap();
        }
        db.close().await;

        let (ok, out, err) = khidmat(data.path(), url.as_deref(), &["migrate"], None);
        assert!(
            ok && out.contains("0023 religion is a question"),
            "{out}{err}"
        );

        let db = Db::connect(url.as_deref(), &file).await.unwrap();
        // The restricted fund asks the question, with the answers the old form offered, and its
        // rule is a rule on those answers.
        let grant = khidmat::benefits::fund(&db, "old-grant")
            .await
            .unwrap()
            .unwrap();
        let religion = grant
            .questions
            .iter()
            .find(|q| q.code == "religion")
            .expect("the restricted fund asks religion");
        assert_eq!(religion.values.len(), 8);
        assert_eq!(
            religion.values[1]
                .name
                .get(khidmat::platform::i18n::Lang::Ur),
            "مسیحی"
        );
        assert_eq!(
            grant.eligibility.answers["religion"],
            vec!["christian".to_string(), "hindu".to_string()]
        );
        assert_eq!(grant.eligibility.min_age, Some(14));
        assert_eq!(
            grant.questions[0].code, "institution",
            "its own question kept"
        );
        // The other fund asks it too: its applicants had given one.
        let scholarship = khidmat::benefits::fund(&db, "old-scholarship")
            .await
            .unwrap()
            .unwrap();
        assert!(scholarship.questions.iter().any(|q| q.code == "religion"));
        assert!(scholarship.eligibility.answers.is_empty());

        // The report by religion is what it was.
        use khidmat::benefits::report::{self, By};
        let by = By::parse("religion", &report::dimensions(&grant)).unwrap();
        let r = report::report(
            &db,
            &khidmat::platform::identity::Scope::All,
            Some(grant.id),
            &by,
        )
        .await
        .unwrap();
        let counts: Vec<(&str, i64, i64)> = r
            .rows
            .iter()
            .map(|r| (r.key.as_str(), r.applications, r.eligible))
            .collect();
        assert_eq!(
            counts,
            vec![("", 1, 0), ("christian", 2, 2), ("muslim", 1, 0)]
        );

        // Answers and stored reasons, in the reader's language.
        let (answers, reasons): (String, String) = db
            .fetch_one(query(
                "SELECT answers, reasons FROM benefit_applications WHERE reference = 'B-TEST-0002'",
            ))
            .await
            .unwrap();
        let shown = khidmat::platform::questions::labelled(
            &grant.questions,
            &answers,
            khidmat::platform::i18n::Lang::Ur,
        );
        assert!(
            shown.contains(&("مذہب".to_string(), "مسلمان".to_string())),
            "{shown:?}"
        );
        assert!(shown.contains(&("School".to_string(), "Islamia College".to_string())));
        let ur = khidmat::benefits::apply::reasons(&reasons, khidmat::platform::i18n::Lang::Ur);
        assert_eq!(ur.len(), 2, "{ur:?}");
        assert!(ur[0].contains("مذہب") && ur[0].contains("مسلمان"), "{ur:?}");
        let (reasons,): (String,) = db
            .fetch_one(query(
                "SELECT reasons FROM benefit_applications WHERE reference = 'B-TEST-0003'",
            ))
            .await
            .unwrap();
        let en = khidmat::benefits::apply::reasons(&reasons, khidmat::platform::i18n::Lang::En);
        assert_eq!(
            en,
            vec!["The fund needs an answer to “Religion”.".to_string()]
        );

        // The columns are gone.
        let gone = db
            .fetch_all::<(String,)>(query("SELECT religion FROM benefit_applications"))
            .await;
        assert!(gone.is_err());
        db.close().await;
    }
);
