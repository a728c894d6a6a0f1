//! Case workflows: `khidmat workflow check` on the demo packs and on broken definitions, and
//! loading a broken pack refused whole, on both stores.

use std::process::Command;

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both;

fn check(
    app: &TestApp,
    pack: &std::path::Path,
    draw: Option<&std::path::Path>,
) -> (bool, String, String) {
    let mut cmd = Command::new(khidmat_bin());
    cmd.arg("--data-dir").arg(&app.data_dir);
    if let Some(u) = &app.database_url {
        cmd.args(["--database-url", u]);
    }
    cmd.args(["workflow", "check"]).arg(pack);
    if let Some(d) = draw {
        cmd.arg("--draw").arg(d);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// The NGO pack, broken in one way of each kind the check knows.
fn broken() -> String {
    let sound = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packs/ngo-registration.toml"
    ))
    .unwrap();
    sound
        // A stakeholder that takes no step.
        .replace(r#"stakeholders = ["social-welfare", "home"]"#, r#"stakeholders = ["social-welfare", "home", "excise-warehouse"]"#)
        // A step for a role that does not exist.
        .replace("roles = [\"special-branch\"]", "roles = [\"police\"]")
        // A required field that does not exist.
        .replace("fields = [\"registration_number\"]", "fields = [\"certificate_no\"]")
        // A role in a department that does not exist.
        .replace("code = \"secretary\"\ndepartment = \"social-welfare\"", "code = \"secretary\"\ndepartment = \"nowhere\"")
        // A state that cannot be reached, and one that never ends.
        + r#"
[[cases.workflow.state]]
code = "archived"
name = { en = "Archived" }
terminal = true
[[cases.workflow.state]]
code = "on-hold"
name = { en = "On hold" }
[[cases.workflow.transition]]
code = "hold"
from = ["with-deputy-director"]
to = "on-hold"
roles = ["deputy-director"]
"#
}

on_both!(
    workflow_check_finds_every_problem_and_load_refuses_it,
    |backend| async move {
        let app = spawn(backend).await;
        // The demo workflows are sound, and drawn for review.
        let out = tempfile::tempdir().unwrap();
        for pack in ["excise-vehicle-seizure", "ngo-registration"] {
            let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join(format!("packs/{pack}.toml"));
            let (ok, stdout, stderr) = check(&app, &path, Some(out.path()));
            assert!(ok, "{pack}: {stdout}{stderr}");
            assert!(stdout.contains("no problems"), "{stdout}");
        }
        let svg = std::fs::read_to_string(out.path().join("vehicle-seizure.svg")).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("Confiscation order ✓ approval"));
        let dot = std::fs::read_to_string(out.path().join("ngo-registration.dot")).unwrap();
        assert!(dot.contains("\"with-director-general\" -> \"registered\""));

        // A second workflow numbering its documents like the NGO certificate is refused.
        let twin = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/packs/ngo-registration.toml"
        ))
        .unwrap()
        .replace("name = \"ngo-registration\"", "name = \"npo-registration\"")
        .replace("code = \"ngo-registration\"", "code = \"npo-registration\"");
        let err = khidmat::packs::load(&app.db, &twin, "test")
            .await
            .unwrap_err();
        assert!(format!("{err:#}").contains("prefix \"REG\""), "{err:#}");

        // Roles are granted from the command line, within the user's department only.
        app.add_user(
            "eto@excise.test",
            Role::Officer,
            Some("excise"),
            Some("peshawar"),
        )
        .await;
        let grant = |role: &str| {
            let mut cmd = Command::new(khidmat_bin());
            cmd.arg("--data-dir").arg(&app.data_dir);
            if let Some(u) = &app.database_url {
                cmd.args(["--database-url", u]);
            }
            cmd.args([
                "user",
                "grant",
                "--email",
                "eto@excise.test",
                "--workflow",
                "vehicle-seizure",
                "--role",
                role,
            ])
            .output()
            .unwrap()
        };
        let ok = grant("eto");
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        let refused = grant("warehouse-keeper");
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr)
            .contains("belongs to department excise-warehouse"));
        assert_eq!(app.count("case_role_holders").await, 1);

        // A broken one: every problem at once, and a failing exit.
        let path = app.data_dir.join("broken.toml");
        std::fs::write(&path, broken()).unwrap();
        let (ok, stdout, stderr) = check(&app, &path, None);
        assert!(!ok);
        for rule in [
            "(stakeholder-without-step)",
            "(unknown-role)",
            "(unknown-field)",
            "(unknown-department)",
            "(unreachable)",
            "(dead-end)",
        ] {
            assert!(stdout.contains(rule), "{rule} in {stdout}");
        }
        assert!(
            stdout.contains("\"police\"")
                && stdout.contains("certificate_no")
                && stdout.contains("archived")
                && stdout.contains("on-hold"),
            "{stdout}"
        );
        assert!(stderr.contains("problems"), "{stderr}");

        // Loading it is refused, and nothing of the pack is kept.
        let departments = app.count("departments").await;
        let before: String = app
            .db
            .scalar(query(
                "SELECT definition FROM case_workflows WHERE code = 'ngo-registration'",
            ))
            .await
            .unwrap();
        let err = khidmat::packs::load(&app.db, &broken(), "test")
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("stakeholder-without-step"),
            "{err:#}"
        );
        let after: String = app
            .db
            .scalar(query(
                "SELECT definition FROM case_workflows WHERE code = 'ngo-registration'",
            ))
            .await
            .unwrap();
        assert_eq!(before, after, "the demo's sound definition stays");
        assert!(!after.contains("on-hold"));
        assert_eq!(app.count("departments").await, departments);
        // The sound one loads.
        let sound = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/packs/ngo-registration.toml"
        ))
        .unwrap();
        khidmat::packs::load(&app.db, &sound, "test").await.unwrap();
        let stored: String = app
            .db
            .scalar(query(
                "SELECT definition FROM case_workflows WHERE code = 'ngo-registration'",
            ))
            .await
            .unwrap();
        assert!(stored.contains("special-branch"));
    }
);

fn pack_text(name: &str) -> String {
    std::fs::read_to_string(format!("{}/packs/{name}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// A staff user of `department` (and `district`) holding `role` in `workflow`, logged in.
async fn holder(
    app: &TestApp,
    email: &str,
    department: &str,
    district: Option<&str>,
    workflow: &str,
    role: &str,
) -> (reqwest::Client, String) {
    let id = app
        .add_user(email, Role::Officer, Some(department), district)
        .await;
    khidmat::cases::run::grant_role(&app.db, "test", id, workflow, role)
        .await
        .unwrap();
    // Logged in through the form: the browser's form token comes with it (a session's
    // multipart steps carry it).
    login(app, email).await
}

/// Take a step: `(status, body)`.
async fn step(
    (c, csrf): &(reqwest::Client, String),
    app: &TestApp,
    path: &str,
    name: &str,
    version: i64,
    fields: &[(&str, &str)],
    attachments: &[&str],
) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .text("step", name.to_owned())
        .text("version", version.to_string())
        .text("note", format!("{name} done"))
        .text("lat", "34.0151")
        .text("long", "71.5249");
    for (k, v) in fields {
        form = form.text(format!("field[{k}]"), v.to_string());
    }
    for a in attachments {
        form = form.part(
            format!("attachment:{a}"),
            reqwest::multipart::Part::bytes(png(40, 30)).file_name("photo.png"),
        );
    }
    let r = c
        .post(app.at(&format!("{path}/steps")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

on_both!(
    a_vehicle_goes_from_seizure_to_hand_over_across_four_departments,
    |backend| async move {
        let app = spawn(backend).await;
        khidmat::packs::load(&app.db, &pack_text("excise-vehicle-seizure"), "test")
            .await
            .unwrap();
        let w = "vehicle-seizure";
        let inspector = holder(
            &app,
            "inspector@excise.test",
            "excise",
            Some("peshawar"),
            w,
            "inspector",
        )
        .await;
        let eto = holder(
            &app,
            "eto@excise.test",
            "excise",
            Some("peshawar"),
            w,
            "eto",
        )
        .await;
        let eto_mardan = holder(
            &app,
            "eto@mardan.excise.test",
            "excise",
            Some("mardan"),
            w,
            "eto",
        )
        .await;
        let keeper = holder(
            &app,
            "keeper@warehouse.test",
            "excise-warehouse",
            None,
            w,
            "warehouse-keeper",
        )
        .await;
        let examiner = holder(
            &app,
            "examiner@fsl.test",
            "forensic-lab",
            None,
            w,
            "forensic-examiner",
        )
        .await;
        let registrar = holder(
            &app,
            "registrar@mra.test",
            "motor-registration",
            None,
            w,
            "registration-officer",
        )
        .await;
        let dg = holder(
            &app,
            "dg@excise.test",
            "excise",
            None,
            w,
            "director-general",
        )
        .await;
        let secretary = holder(
            &app,
            "secretary@excise.test",
            "excise",
            None,
            w,
            "secretary",
        )
        .await;
        // A role of another department cannot be granted.
        let stranger = app
            .add_user("clerk@fsl.test", Role::Officer, Some("forensic-lab"), None)
            .await;
        assert!(
            khidmat::cases::run::grant_role(&app.db, "test", stranger, w, "eto")
                .await
                .is_err()
        );

        // The inspector seizes the vehicle.
        let fields = json!({"registration_number": "LEB-07-1234", "chassis_number": "NZE141-9876543", "make_model": "Toyota Corolla 2007", "seizure_reason": "suspicious-chassis", "owner_name": "Gul Khan", "owner_cnic": "17301-1234567-1", "owner_phone": "0300 1234567"});
        let r = eto
            .0
            .post(app.at(&format!("/api/v1/cases/{w}")))
            .json(&json!({"fields": fields}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "only an inspector opens a seizure");
        let r = inspector
            .0
            .post(app.at(&format!("/api/v1/cases/{w}")))
            .json(&json!({"fields": {"registration_number": "X"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "required fields");
        let r = inspector
            .0
            .post(app.at(&format!("/api/v1/cases/{w}")))
            .json(&json!({"fields": fields}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let case: Value = r.json().await.unwrap();
        let reference = case["reference"].as_str().unwrap().to_owned();
        assert!(reference.starts_with("VS-"), "{reference}");
        assert_eq!(
            (case["state"].as_str(), case["district"].as_str()),
            (Some("seized"), Some("peshawar"))
        );
        assert_eq!(case["fields"]["owner_cnic"], "1730112345671");
        let path = format!("/api/v1/cases/{w}/{reference}");
        let mut v = case["version"].as_i64().unwrap();

        // Refusals, each naming its rule.
        let (st, e) = step(&inspector, &app, &path, "receive", v, &[], &[]).await;
        assert_eq!(st, 403, "wrong role: {e}");
        assert!(message(&e).contains("for eto"), "{e}");
        let (st, e) = step(&eto_mardan, &app, &path, "receive", v, &[], &[]).await;
        assert_eq!(st, 404, "another district's officer does not see it: {e}");
        let (st, e) = step(&eto, &app, &path, "send-to-lab", v, &[], &[]).await;
        assert_eq!(st, 409, "not from this state: {e}");
        assert!(message(&e).contains("not allowed from seized"), "{e}");
        // Two officers at once on the same version: one moves it, the other is told to reload.
        let eto2 = holder(
            &app,
            "eto2@excise.test",
            "excise",
            Some("peshawar"),
            w,
            "eto",
        )
        .await;
        let (a, b) = tokio::join!(
            step(&eto, &app, &path, "receive", v, &[], &[]),
            step(&eto2, &app, &path, "receive", v, &[], &[])
        );
        let mut codes = [a.0, b.0];
        codes.sort();
        assert_eq!(codes, [200, 409], "{a:?} {b:?}");
        let loser = if a.0 == 409 { &a.1 } else { &b.1 };
        assert!(
            message(loser).contains("changed since you saw it")
                || message(loser).contains("not allowed"),
            "{loser}"
        );
        v += 1;

        // The warehouse checks it in, with the inventory photographed.
        let (st, e) = step(&keeper, &app, &path, "check-in", v, &[], &[]).await;
        assert_eq!(st, 400, "the inventory is required: {e}");
        assert!(message(&e).contains("inventory"));
        let (st, c) = step(&keeper, &app, &path, "check-in", v, &[], &["inventory"]).await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        let (st, c) = step(&eto, &app, &path, "send-to-lab", v, &[], &[]).await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        let (st, e) = step(
            &examiner,
            &app,
            &path,
            "lab-report",
            v,
            &[],
            &["fsl-report"],
        )
        .await;
        assert_eq!(st, 400, "the finding is required: {e}");
        assert!(message(&e).contains("chassis_tampered"));
        let (st, c) = step(
            &examiner,
            &app,
            &path,
            "lab-report",
            v,
            &[("chassis_tampered", "yes")],
            &["fsl-report"],
        )
        .await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        let (st, c) = step(&eto, &app, &path, "send-to-registration", v, &[], &[]).await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        let (st, c) = step(
            &registrar,
            &app,
            &path,
            "registration-report",
            v,
            &[("registered_owner", "Not registered")],
            &["registration-report"],
        )
        .await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        let (st, c) = step(&eto, &app, &path, "propose-confiscation", v, &[], &[]).await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        // The Director General's order: an approval gate that fixes the record, and a document.
        let (st, e) = step(
            &secretary,
            &app,
            &path,
            "confiscate",
            v,
            &[],
            &["confiscation-order"],
        )
        .await;
        assert_eq!(st, 403, "the Secretary oversees and does not act: {e}");
        let (st, c) = step(
            &dg,
            &app,
            &path,
            "confiscate",
            v,
            &[],
            &["confiscation-order"],
        )
        .await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        assert!(c["locked_fields"]
            .as_array()
            .unwrap()
            .contains(&json!("chassis_number")));
        let (st, e) = step(
            &dg,
            &app,
            &path,
            "allot",
            v,
            &[
                ("allottee", "Excise headquarters"),
                ("chassis_number", "CHANGED"),
            ],
            &[],
        )
        .await;
        assert_eq!(st, 409, "a locked record: {e}");
        assert!(message(&e).contains("fixed by an approval"), "{e}");
        let (st, c) = step(
            &dg,
            &app,
            &path,
            "allot",
            v,
            &[("allottee", "Excise headquarters")],
            &[],
        )
        .await;
        assert_eq!(st, 200, "{c}");
        v = c["version"].as_i64().unwrap();
        let (st, c) = step(
            &keeper,
            &app,
            &path,
            "hand-over",
            v,
            &[
                ("receiver_name", "Naveed Ahmad"),
                ("receiver_cnic", "17301-7654321-3"),
            ],
            &["handover-receipt"],
        )
        .await;
        assert_eq!(st, 200, "{c}");
        assert_eq!(c["state"], "handed-over");

        // The timeline: who, in which role and department, from where to where.
        let r: Value = secretary
            .0
            .get(app.at(&path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let timeline = r["timeline"].as_array().unwrap();
        let steps: Vec<&str> = timeline
            .iter()
            .map(|e| e["transition"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "open",
                "receive",
                "check-in",
                "send-to-lab",
                "lab-report",
                "send-to-registration",
                "registration-report",
                "propose-confiscation",
                "confiscate",
                "allot",
                "hand-over"
            ]
        );
        let departments: std::collections::BTreeSet<&str> = timeline
            .iter()
            .map(|e| e["department"].as_str().unwrap())
            .collect();
        assert_eq!(departments.len(), 4, "{departments:?}");
        assert_eq!(timeline[4]["role"], "forensic-examiner");
        assert_eq!(timeline[8]["from_state"], "confiscation-proposed");
        assert_eq!(r["documents"][0]["kind"], "confiscation-order");
        assert!(r["documents"][0]["body"]
            .as_str()
            .unwrap()
            .contains("LEB-07-1234"));
        assert_eq!(
            app.count("case_attachments").await,
            5,
            "inventory, two reports, the order, the receipt"
        );
        let located: i64 = app
            .db
            .scalar(query(
                "SELECT COUNT(*) FROM case_attachments WHERE lat IS NOT NULL",
            ))
            .await
            .unwrap();
        assert_eq!(located, 5, "photos keep where they were taken");
        let changed = app
            .db
            .execute(query("UPDATE case_events SET note = 'x'"))
            .await;
        assert!(changed.is_err(), "the timeline is append-only");
        // A user moved to another department keeps no say in the old one's cases.
        app.db
        .execute(query("UPDATE users SET department_id = (SELECT id FROM departments WHERE slug = 'forensic-lab') WHERE email = 'eto2@excise.test'"))
        .await
        .unwrap();
        let gone = eto2
            .0
            .get(app.at(&format!("/api/v1/cases/{w}")))
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), 403, "no role counts outside its department");
        // Who sees what: the Mardan officer sees no Peshawar case; the Secretary sees all.
        let mardan: Value = eto_mardan
            .0
            .get(app.at(&format!("/api/v1/cases/{w}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(mardan.as_array().unwrap().len(), 0);
        let all: Value = secretary
            .0
            .get(app.at(&format!("/api/v1/cases/{w}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(all.as_array().unwrap().len(), 1);
        // The public sees the state and public fields, given the check code the owner was
        // given (Urdu digits and spaces as typed); never the owner. A public value anyone can
        // read off the vehicle (its registration number) is not enough, and a wrong code answers
        // as a reference that does not exist does.
        let code = case["check_code"].as_str().unwrap().to_owned();
        assert!(
            code.len() == 8 && code.bytes().all(|b| b.is_ascii_digit()),
            "{code}"
        );
        let r = app
            .client
            .get(app.at(&format!("{path}/public?check=leb-07-1234")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "a registration number shows nothing");
        let wrong = format!("{:08}", (code.parse::<u32>().unwrap() + 1) % 100_000_000);
        let r = app
            .client
            .get(app.at(&format!("{path}/public?check={wrong}")))
            .send()
            .await
            .unwrap();
        let wrong_answer = (r.status(), r.text().await.unwrap());
        let r = app
            .client
            .get(app.at(&format!(
                "/api/v1/cases/{w}/VS-NOSUCH-1/public?check={code}"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong_answer.0, 404);
        assert_eq!(r.status(), 404);
        let urdu: String = code
            .chars()
            .map(|c| char::from_u32(0x06F0 + c.to_digit(10).unwrap()).unwrap())
            .collect();
        let typed = format!("{} {}", &urdu[..urdu.len() / 2], &urdu[urdu.len() / 2..]);
        let r = app
            .client
            .get(app.at(&format!("{path}/public")))
            .query(&[("check", typed.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let public: Value = r.json().await.unwrap();
        assert_eq!(public["state"], "Handed over");
        assert!(
            public.get("owner_cnic").is_none() && public.get("owner_name").is_none(),
            "{public}"
        );
        // Deadlines: a second seizure left three days in "seized" (a day allowed) is overdue; the
        // daily job tells the office that acts next, once.
        let r = inspector
            .0
            .post(app.at(&format!("/api/v1/cases/{w}")))
            .json(&json!({"fields": {"registration_number": "PR-22-777", "chassis_number": "KUN-1", "seizure_reason": "narcotics"}}))
            .send()
            .await
            .unwrap();
        let second: Value = r.json().await.unwrap();
        app.db
            .execute(
                query("UPDATE cases SET state_since = $1 WHERE reference = $2")
                    .bind(chrono::Utc::now() - chrono::Duration::days(3))
                    .bind(second["reference"].as_str().unwrap()),
            )
            .await
            .unwrap();
        let rows: Value = secretary
            .0
            .get(app.at(&format!("/api/v1/cases/{w}/pendency?by=department")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            rows,
            json!([{"key": "excise", "open": 1, "overdue": 1}]),
            "the handed-over case is no longer pending"
        );
        let csv = secretary
            .0
            .get(app.at(&format!("/api/v1/cases/{w}/pendency?by=state&format=csv")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(csv, "state,open,overdue\nseized,1,1\n");
        let listed: Value = eto
            .0
            .get(app.at(&format!("/api/v1/cases/{w}?state=seized")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed[0]["overdue"], true);
        assert_eq!(
            khidmat::cases::pendency::notify_overdue(&app.db)
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            khidmat::cases::pendency::notify_overdue(&app.db)
                .await
                .unwrap(),
            0,
            "told once"
        );
        let told = khidmat::cases::pendency::notices(&app.db, "excise")
            .await
            .unwrap();
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].0, second["reference"].as_str().unwrap());
        let r = app
            .client
            .get(app.at(&format!("{path}/public?check=LEB-00-0000")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
);

on_both!(
    an_ngo_certificate_is_verified_and_then_shows_cancelled,
    |backend| async move {
        let app = spawn(backend).await;
        khidmat::packs::load(&app.db, &pack_text("ngo-registration"), "test")
            .await
            .unwrap();
        let w = "ngo-registration";
        let officer = holder(
            &app,
            "dso@sw.test",
            "social-welfare",
            Some("peshawar"),
            w,
            "district-officer",
        )
        .await;
        let ad = holder(
            &app,
            "ad@sw.test",
            "social-welfare",
            None,
            w,
            "assistant-director",
        )
        .await;
        let sb = holder(&app, "sb@home.test", "home", None, w, "special-branch").await;
        let dd = holder(
            &app,
            "dd@sw.test",
            "social-welfare",
            None,
            w,
            "deputy-director",
        )
        .await;
        let dg = holder(
            &app,
            "dg@sw.test",
            "social-welfare",
            None,
            w,
            "director-general",
        )
        .await;
        let r = officer.0.post(app.at(&format!("/api/v1/cases/{w}")))
        .json(&json!({"fields": {"organisation_name": "Roshni Welfare Society", "office_address": "Saddar, Peshawar", "chair_name": "Shazia Bibi", "chair_cnic": "17301-2222222-2", "sector": "women"}}))
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 201);
        let case: Value = r.json().await.unwrap();
        let reference = case["reference"].as_str().unwrap().to_owned();
        let path = format!("/api/v1/cases/{w}/{reference}");
        let mut v = case["version"].as_i64().unwrap();
        for (who, name, fields, attachments) in [
            (&officer, "forward-to-ad", vec![], vec![]),
            (&ad, "reverse-to-district", vec![], vec![]),
            (&officer, "forward-to-ad", vec![], vec![]),
            (&ad, "send-for-vetting", vec![], vec![]),
            (
                &sb,
                "vetted",
                vec![("vetting_result", "cleared")],
                vec!["vetting-report"],
            ),
            (&dd, "forward-to-dg", vec![], vec![]),
            (
                &dg,
                "register",
                vec![("registration_number", "SW/PSH/2026/117")],
                vec![],
            ),
        ] {
            let (st, c) = step(who, &app, &path, name, v, &fields, &attachments).await;
            assert_eq!(st, 200, "{name}: {c}");
            v = c["version"].as_i64().unwrap();
        }
        let r: Value =
            dg.0.get(app.at(&path))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
        assert_eq!(r["case"]["state"], "registered");
        let doc = &r["documents"][0];
        let number = doc["number"].as_str().unwrap().to_owned();
        assert!(number.starts_with("REG-"), "{number}");
        let body = doc["body"].as_str().unwrap();
        assert!(
            body.contains("Roshni Welfare Society") && body.contains("SW/PSH/2026/117"),
            "{body}"
        );
        // The printable document carries the QR code of its verification page.
        let printable =
            dg.0.get(app.at(&format!("/staff/cases/documents/{number}")))
                .send()
                .await
                .unwrap();
        assert_eq!(printable.status(), 200);
        let printable = printable.text().await.unwrap();
        assert!(
            printable.contains("<svg class=\"qr\"") && printable.contains("/verify/"),
            "{printable}"
        );
        let verify = format!("/verify/{}", doc["token"].as_str().unwrap());
        let (st, html) = page(&browser(), &app, &verify).await;
        assert_eq!(st, 200);
        assert!(
            html.contains(&number) && html.contains("stands") && !html.contains("cancelled"),
            "{html}"
        );
        // Cancelled by the Director General, with a reason; the page says so.
        let r = officer
            .0
            .post(app.at(&format!("/api/v1/case-documents/{number}/cancel")))
            .json(&json!({"reason": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r =
            dg.0.post(app.at(&format!("/api/v1/case-documents/{number}/cancel")))
                .json(&json!({"reason": "Registration obtained on false documents"}))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 204);
        let (_, html) = page(&browser(), &app, &verify).await;
        assert!(
            html.contains("has been cancelled") && html.contains("false documents"),
            "{html}"
        );
        let r =
            dg.0.post(app.at(&format!("/api/v1/case-documents/{number}/cancel")))
                .json(&json!({"reason": "again"}))
                .send()
                .await
                .unwrap();
        assert_eq!(r.status(), 409);
        let (st, _) = page(&browser(), &app, "/verify/not-a-token").await;
        assert_eq!(st, 404);
    }
);

on_both!(staff_work_a_case_in_the_browser, |backend| async move {
    let app = spawn(backend).await;
    let w = "ngo-registration";
    let (officer, officer_csrf) = holder(
        &app,
        "dso@sw.test",
        "social-welfare",
        Some("peshawar"),
        w,
        "district-officer",
    )
    .await;
    let (ad, ad_csrf) = holder(
        &app,
        "ad@sw.test",
        "social-welfare",
        None,
        w,
        "assistant-director",
    )
    .await;
    let (st, html) = page(&officer, &app, "/staff/cases").await;
    assert_eq!(st, 200);
    assert!(
        html.contains("/staff/cases/ngo-registration"),
        "the demo workflow is listed"
    );
    let (st, html) = page(&officer, &app, &format!("/staff/cases/{w}")).await;
    assert_eq!(st, 200);
    assert!(
        html.contains("field[chair_cnic]"),
        "the open form asks the fields"
    );
    // Open a case from the form; then forward it from its page.
    let r = officer
        .post(app.at(&format!("/staff/cases/{w}")))
        .form(&[
            ("csrf", officer_csrf.as_str()),
            ("field[organisation_name]", "Sahara Trust"),
            ("field[office_address]", "Hayatabad"),
            ("field[chair_name]", "Amina"),
            ("field[chair_cnic]", "17301-3333333-4"),
            ("field[sector]", "health"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let case_page = r.headers()["location"].to_str().unwrap().to_owned();
    let (st, html) = page(&officer, &app, &case_page).await;
    assert_eq!(st, 200);
    assert!(html.contains("17301-3333333-4"), "staff see the CNIC whole");
    assert!(
        html.contains("value=\"forward-to-ad\""),
        "the step the officer may take"
    );
    assert!(
        !html.contains("value=\"send-for-vetting\""),
        "not another role's step"
    );
    let version = hidden(&html, "version");
    let form = reqwest::multipart::Form::new()
        .text("csrf", officer_csrf.clone())
        .text("step", "forward-to-ad")
        .text("version", version.clone())
        .text("note", "papers complete");
    let r = officer
        .post(app.at(&case_page))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // The same form again (a stale version): refused with the reason.
    let form = reqwest::multipart::Form::new()
        .text("csrf", officer_csrf.clone())
        .text("step", "forward-to-ad")
        .text("version", version);
    let r = officer
        .post(app.at(&case_page))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let (_, html) = page(&ad, &app, &case_page).await;
    assert!(
        html.contains("papers complete") && html.contains("value=\"send-for-vetting\""),
        "{html}"
    );
    // Photos sent from the page keep where they were taken (the browser fills lat and long).
    let form = reqwest::multipart::Form::new()
        .text("csrf", ad_csrf.clone())
        .text("step", "send-for-vetting")
        .text("version", hidden(&html, "version"));
    assert_eq!(
        ad.post(app.at(&case_page))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let (sb, sb_csrf) = holder(&app, "sb@home.test", "home", None, w, "special-branch").await;
    let (_, html) = page(&sb, &app, &case_page).await;
    assert!(
        html.contains("name=\"lat\"") && html.contains("data-locate"),
        "the vetting step asks the location"
    );
    let form = reqwest::multipart::Form::new()
        .text("csrf", sb_csrf.clone())
        .text("step", "vetted")
        .text("version", hidden(&html, "version"))
        .text("field[vetting_result]", "cleared")
        .text("lat", "34.0080")
        .text("long", "71.5785")
        .part(
            "attachment:vetting-report",
            reqwest::multipart::Part::bytes(png(40, 30)).file_name("report.png"),
        );
    assert_eq!(
        sb.post(app.at(&case_page))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .status(),
        303
    );
    let lat: Option<f64> = app
        .db
        .scalar(query(
            "SELECT lat FROM case_attachments WHERE kind = 'vetting-report'",
        ))
        .await
        .unwrap();
    assert_eq!(lat, Some(34.008));
    // Without the form token: refused.
    let form = reqwest::multipart::Form::new()
        .text("step", "reverse-to-ad")
        .text("version", "99");
    let r = ad
        .post(app.at(&case_page))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // A citizen applies where the workflow allows it, and follows the case by its reference and
    // the organisation's name; a seizure is opened by inspectors only.
    let citizen = browser();
    let (st, html) = page(&citizen, &app, &format!("/cases/{w}/apply")).await;
    assert_eq!(st, 200);
    assert!(
        !html.contains("field[registration_number]"),
        "staff fill that in"
    );
    let token = hidden(&html, "csrf");
    let r = citizen
        .post(app.at(&format!("/cases/{w}/apply")))
        .form(&[
            ("csrf", token.as_str()),
            ("district", "swat"),
            ("field[organisation_name]", "Swat Girls Education Forum"),
            ("field[office_address]", "Mingora"),
            ("field[chair_name]", "Gul Makai"),
            ("field[chair_cnic]", "15602-1111111-2"),
            ("field[sector]", "education"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let (_, html) = page(&citizen, &app, &location).await;
    let reference = location
        .split("reference=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    assert!(html.contains(&reference));
    // The receipt shows the check code; only with it does the lookup show the case.
    let check = location
        .split("check=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        html.contains(&check) && html.contains("Your check code"),
        "{html}"
    );
    let r = citizen
        .post(app.at(&format!("/cases/{w}/lookup")))
        .form(&[
            ("csrf", token.as_str()),
            ("reference", reference.as_str()),
            ("check", "Swat Girls Education Forum"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "a public value is not a check code");
    let r = citizen
        .post(app.at(&format!("/cases/{w}/lookup")))
        .form(&[
            ("csrf", token.as_str()),
            ("reference", reference.as_str()),
            ("check", check.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Submitted") && !html.contains("15602"),
        "{html}"
    );
    let r = citizen
        .post(app.at(&format!("/cases/{w}/lookup")))
        .form(&[
            ("csrf", token.as_str()),
            ("reference", reference.as_str()),
            ("check", "Gul Makai"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the chair's name is not a check code");
    let (st, _) = page(&citizen, &app, "/cases/vehicle-seizure/apply").await;
    assert_eq!(st, 404);
    let role: String = app
        .db
        .scalar(query("SELECT e.role FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.reference = $1").bind(&reference))
        .await
        .unwrap();
    assert_eq!(role, "citizen");
    // Another district's officer does not see the page.
    let (mardan, _) = holder(
        &app,
        "dso@mardan.sw.test",
        "social-welfare",
        Some("mardan"),
        w,
        "district-officer",
    )
    .await;
    let (st, _) = page(&mardan, &app, &case_page).await;
    assert_eq!(st, 404);
});
