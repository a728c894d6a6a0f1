//! Case workflows: `khidmat workflow check` on the demo packs and on broken definitions, and
//! loading a broken pack refused whole, on both stores.

use std::process::Command;

use khidmat::platform::db::query;

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
        let err = khidmat::packs::load(&app.db, &broken(), "test")
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("stakeholder-without-step"),
            "{err:#}"
        );
        assert_eq!(app.count("case_workflows").await, 0);
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
