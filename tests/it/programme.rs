//! The programme, walked as its staff and applicants do: a call, applications with a CV, scores,
//! the selection under the women's quota, teams, a partner's MoU, problem statements with their
//! warnings, a project from proposal to hand-over; and the impact figures, recounted from random
//! events, on the page, the API and the CSV. On SQLite and PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use khidmat::platform::identity::Role;
use khidmat::platform::impact::{self, Citizen};
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::both;
use crate::helpers::*;

pub(crate) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";

fn day(offset: i64) -> String {
    (khidmat::platform::clock::today() + Duration::days(offset)).to_string()
}

pub(crate) async fn apply(
    app: &TestApp,
    cycle: &str,
    fields: &[(&str, &str)],
    cv: Option<&[u8]>,
) -> (u16, String) {
    let b = browser();
    let (status, html) = page(&b, app, &format!("/programme/{cycle}/apply")).await;
    assert_eq!(status, 200);
    let mut form = reqwest::multipart::Form::new().text("csrf", hidden(&html, "csrf"));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    if let Some(bytes) = cv {
        form = form.part(
            "cv",
            reqwest::multipart::Part::bytes(bytes.to_vec())
                .file_name("cv.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        );
    }
    let resp = b
        .post(app.at(&format!("/programme/{cycle}/apply")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = match resp.headers().get(reqwest::header::LOCATION) {
        Some(l) => l.to_str().unwrap().to_owned(),
        None => resp.text().await.unwrap(),
    };
    (status, text)
}

pub(crate) fn applicant<'a>(
    name: &'a str,
    gender: &'a str,
    email: &'a str,
    phone: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("gender", gender),
        ("email", email),
        ("phone", phone),
        ("role", "developer"),
        ("skills", "Rust, PostgreSQL, field surveys"),
        (
            "statement",
            "I want Peshawar's services to work for my mother.",
        ),
    ]
}

async fn application_id(app: &TestApp, email: &str) -> String {
    let id: i64 = app
        .db
        .scalar(
            khidmat::platform::db::query(
                "SELECT id FROM prog_applications WHERE email = $1 ORDER BY id DESC",
            )
            .bind(email),
        )
        .await
        .unwrap();
    id.to_string()
}

pub(crate) async fn create_cycle(b: &reqwest::Client, csrf: &str, app: &TestApp, code: &str) {
    let (opens, closes, starts, ends) = (day(-1), day(10), day(20), day(200));
    let (status, to) = submit(
        b,
        app,
        "/staff/programme/cycles",
        &[
            ("csrf", csrf),
            ("code", code),
            ("title", &format!("Fellowship {code}")),
            ("opens_on", &opens),
            ("closes_on", &closes),
            ("starts_on", &starts),
            ("ends_on", &ends),
            ("women_quota", "25"),
            ("rubric", ""),
        ],
    )
    .await;
    assert_eq!(
        (status, to.as_str()),
        (303, format!("/staff/programme/cycles/{code}").as_str())
    );
}

both!(a_whole_cycle_from_call_to_hand_over, |app| async move {
    app.add_user("manager@itb.gov.pk", Role::Manager, Some("kp-itb"), None)
        .await;
    app.add_user("reviewer@itb.gov.pk", Role::Officer, Some("kp-itb"), None)
        .await;
    app.add_user("admin@khidmat.pk", Role::Admin, None, None)
        .await;
    app.add_user("outsider@pesco.gov.pk", Role::Manager, Some("pesco"), None)
        .await;
    let (m, mc) = login(&app, "manager@itb.gov.pk").await;
    let (r, rc) = login(&app, "reviewer@itb.gov.pk").await;
    let (a, ac) = login(&app, "admin@khidmat.pk").await;
    let (o, oc) = login(&app, "outsider@pesco.gov.pk").await;

    // Only the programme's managers open a cycle; bad dates say what is wrong.
    let (status, body) = submit(
        &r,
        &app,
        "/staff/programme/cycles",
        &[
            ("csrf", &rc),
            ("code", "x1"),
            ("title", "X"),
            ("opens_on", &day(0)),
            ("closes_on", &day(1)),
            ("starts_on", &day(2)),
            ("ends_on", &day(3)),
        ],
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = submit(
        &m,
        &app,
        "/staff/programme/cycles",
        &[
            ("csrf", &mc),
            ("code", "x1"),
            ("title", "X"),
            ("opens_on", &day(5)),
            ("closes_on", &day(1)),
            ("starts_on", &day(2)),
            ("ends_on", &day(3)),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("dates must follow each other"), "{body}");
    create_cycle(&m, &mc, &app, "c7").await;

    // The public call.
    let (_, calls) = page(&browser(), &app, "/programme").await;
    assert!(calls.contains("/programme/c7/apply"));
    for (name, gender, email, phone) in [
        ("Ayesha Khan", "female", "ayesha@example.pk", "0300 1111111"),
        ("Bilal Ahmad", "male", "bilal@example.pk", "0300 2222222"),
        ("Imran Shah", "male", "imran@example.pk", "0300 3333333"),
        ("Junaid Ali", "male", "junaid@example.pk", "0300 4444444"),
    ] {
        let (status, to) = apply(
            &app,
            "c7",
            &applicant(name, gender, email, phone),
            Some(PDF),
        )
        .await;
        assert_eq!((status, to.as_str()), (303, "/programme/c7/applied"));
    }
    // Applying twice, a bad phone, no CV: refused with the reason, in the applicant's language.
    let (status, body) = apply(
        &app,
        "c7",
        &applicant("Ayesha K.", "female", "AYESHA@example.pk", "0300 9999999"),
        Some(PDF),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("already applied"), "{body}");
    let (status, body) = apply(
        &app,
        "c7",
        &applicant("Zara", "female", "zara@example.pk", "12345"),
        Some(PDF),
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("0300 1234567"), "{body}");
    let (status, body) = apply(
        &app,
        "c7",
        &applicant("Zara", "female", "zara@example.pk", "0300 5555555"),
        None,
    )
    .await;
    assert_eq!(status, 422);
    assert!(body.contains("CV"), "{body}");
    let (status, body) = apply(
        &app,
        "c7",
        &applicant("Zara", "female", "zara@example.pk", "0300 5555555"),
        Some(b"<html>not a pdf"),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(app.count("prog_applications").await, 4);

    // Staff outside the programme see none of it.
    let (status, body) = page(&o, &app, "/staff/programme").await;
    assert_eq!(status, 403);
    assert!(body.contains("kp-itb"), "says whose it is: {body}");
    assert_eq!(page(&o, &app, "/staff/programme/cycles/c7").await.0, 404);
    let (_, cycle) = page(&m, &app, "/staff/programme/cycles/c7").await;
    assert!(
        cycle.contains("Ayesha Khan") && cycle.contains("+923001111111"),
        "staff see the contact"
    );
    let cv = {
        let start =
            cycle.find("/staff/programme/files/").unwrap() + "/staff/programme/files/".len();
        cycle[start..start + 64].to_string()
    };
    let resp = m
        .get(app.at(&format!("/staff/programme/files/{cv}")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), PDF);
    assert_eq!(
        o.get(app.at(&format!("/staff/programme/files/{cv}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Reviewers score on the rubric; a score outside it is refused.
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for e in [
            "ayesha@example.pk",
            "bilal@example.pk",
            "imran@example.pk",
            "junaid@example.pk",
        ] {
            v.push(application_id(&app, e).await);
        }
        v
    };
    let (status, body) = submit(
        &r,
        &app,
        &format!("/staff/programme/cycles/c7/score/{}", ids[0]),
        &[
            ("csrf", &rc),
            ("score[skills]", "9"),
            ("score[motivation]", "5"),
            ("score[community]", "5"),
            ("score[teamwork]", "5"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("0 to 5"), "{body}");
    for (i, s) in ["5", "4", "3", "2"].iter().enumerate() {
        let (status, _) = submit(
            &r,
            &app,
            &format!("/staff/programme/cycles/c7/score/{}", ids[i]),
            &[
                ("csrf", &rc),
                ("score[skills]", s),
                ("score[motivation]", s),
                ("score[community]", s),
                ("score[teamwork]", s),
            ],
        )
        .await;
        assert_eq!(status, 303);
    }
    let (_, cycle) = page(&m, &app, "/staff/programme/cycles/c7").await;
    assert!(
        cycle.contains(&format!(r#"data-score="{}">20.0<"#, ids[0])),
        "mean of the reviewers' totals"
    );

    // Selection: three men are below the quota. A manager is refused; an administrator needs a reason.
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/cycles/c7/select",
        &[
            ("csrf", &mc),
            ("selected", &ids[1]),
            ("selected", &ids[2]),
            ("selected", &ids[3]),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (status, body) = submit(
        &m,
        &app,
        "/staff/programme/cycles/c7/finalise",
        &[("csrf", &mc), ("reason", "")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        body.contains("women are 0% of the selected, below this cycle&#39;s quota of 25%"),
        "{body}"
    );
    let (status, body) = submit(
        &a,
        &app,
        "/staff/programme/cycles/c7/finalise",
        &[("csrf", &ac), ("reason", "")],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("record why"), "{body}");
    // With Ayesha in, a woman is one in four: the quota is met and a manager may finalise.
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/cycles/c7/select",
        &[
            ("csrf", &mc),
            ("selected", &ids[0]),
            ("selected", &ids[1]),
            ("selected", &ids[2]),
            ("selected", &ids[3]),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, cycle) = page(&m, &app, "/staff/programme/cycles/c7").await;
    assert!(
        cycle.contains(r#"data-women="1" data-selected="4""#),
        "the share is shown"
    );
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/cycles/c7/finalise",
        &[("csrf", &mc), ("reason", "")],
    )
    .await;
    assert_eq!(status, 303);
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/cycles/c7/select",
        &[("csrf", &mc), ("selected", &ids[0])],
    )
    .await;
    assert_eq!(status, 409, "a final selection stays final");

    // A second cycle, below quota, finalised by an administrator with a recorded reason.
    create_cycle(&m, &mc, &app, "c8").await;
    apply(
        &app,
        "c8",
        &applicant("Bilal Ahmad", "male", "bilal@example.pk", "0300 2222222"),
        Some(PDF),
    )
    .await;
    let only = application_id(&app, "bilal@example.pk").await;
    submit(
        &m,
        &app,
        "/staff/programme/cycles/c8/select",
        &[("csrf", &mc), ("selected", &only)],
    )
    .await;
    let reason = "Only one applicant for the pilot in Swat; outreach to women planned";
    let (status, _) = submit(
        &a,
        &app,
        "/staff/programme/cycles/c8/finalise",
        &[("csrf", &ac), ("reason", reason)],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(
        app.count("audit_log WHERE action = 'programme.selection_finalised'")
            .await,
        2
    );
    let (_, c8) = page(&m, &app, "/staff/programme/cycles/c8").await;
    assert!(c8.contains(reason));

    // Teams of selected fellows.
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/cycles/c7/teams",
        &[("csrf", &mc), ("name", "Team NoKunda")],
    )
    .await;
    assert_eq!(status, 303);
    let team: i64 = app
        .db
        .scalar(khidmat::platform::db::query(
            "SELECT id FROM prog_teams WHERE name = 'Team NoKunda'",
        ))
        .await
        .unwrap();
    for id in &ids[..2] {
        let (status, _) = submit(
            &m,
            &app,
            &format!("/staff/programme/cycles/c7/assign/{id}"),
            &[("csrf", &mc), ("team_id", &team.to_string())],
        )
        .await;
        assert_eq!(status, 303);
    }
    let (_, cycle) = page(&m, &app, "/staff/programme/cycles/c7").await;
    assert!(
        cycle.contains("Team NoKunda: <span dir=\"auto\">Ayesha Khan</span>"),
        "members listed"
    );

    // The partner department: people, and an MoU.
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/partners/pesco/people",
        &[
            ("csrf", &mc),
            ("focal_person", "Engr. Tariq Mehmood, Director IT"),
            ("liaison_officer", "Sana Gul"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let mou = |status: &str, signed: &str, doc: bool| {
        let mut f = reqwest::multipart::Form::new()
            .text("csrf", mc.clone())
            .text("title", "PESCO and KPITB: electricity theft reporting")
            .text("status", status.to_owned())
            .text("signed_on", signed.to_owned())
            .text("starts_on", day(-30))
            .text("ends_on", day(700))
            .text(
                "commitments",
                "data: Feeder list\nstaff: One focal person for complaints",
            );
        if doc {
            f = f.part(
                "document",
                reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("mou.pdf"),
            );
        }
        f
    };
    let resp = m
        .post(app.at("/staff/programme/partners/pesco/mous"))
        .multipart(mou("signed", &day(-30), false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400, "signed without the signed document");
    assert!(resp.text().await.unwrap().contains("signed document"));
    let resp = m
        .post(app.at("/staff/programme/partners/pesco/mous"))
        .multipart(mou("draft", "", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);

    // Problem statements and their warnings.
    let (status, to) = submit(
        &m,
        &app,
        "/staff/programme/partners/pesco/problems",
        &[
            ("csrf", &mc),
            ("title", "Kunda connections go unreported"),
            (
                "description",
                "Villagers see hooks on lines but cannot reach PESCO.",
            ),
            ("stakeholders", "4"),
            ("literacy", "low"),
            ("phone_access", "feature"),
            ("channels", "android"),
            ("committed", "Feeder list"),
            ("data_needed", "Consumer billing records"),
            ("policy", "unclear"),
            ("policy_reference", ""),
            ("maintainer", ""),
        ],
    )
    .await;
    assert_eq!(status, 303, "{to}");
    let (_, partner) = page(&m, &app, "/staff/programme/partners/pesco").await;
    let article = &partner[partner.find("Kunda connections go unreported").unwrap()..];
    let article = &article[..article.find("</article>").unwrap()];
    assert_eq!(
        article.matches(r#"data-ok="false""#).count(),
        5,
        "every lesson warns: {article}"
    );
    assert!(
        article.contains("Feeder list; Consumer billing records"),
        "the draft MoU commits nothing yet"
    );
    assert!(article.contains("no SMS, USSD or office desk"));
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/partners/pesco/problems",
        &[
            ("csrf", &mc),
            ("title", "Theft reports by SMS"),
            ("description", "Report a hook by SMS or USSD."),
            ("stakeholders", "1"),
            ("literacy", "basic"),
            ("phone_access", "feature"),
            ("channels", "sms"),
            ("channels", "ussd"),
            ("committed", "Feeder list"),
            ("data_needed", ""),
            ("policy", "allowed"),
            ("policy_reference", "PESCO consumer service manual"),
            ("maintainer", "PESCO IT directorate"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let problem: i64 = app
        .db
        .scalar(khidmat::platform::db::query(
            "SELECT id FROM prog_problems WHERE title = 'Theft reports by SMS'",
        ))
        .await
        .unwrap();

    // A project; its services must exist.
    let pesco: i64 = app
        .db
        .scalar(khidmat::platform::db::query(
            "SELECT id FROM departments WHERE slug = 'pesco'",
        ))
        .await
        .unwrap();
    let project = |services: &'static str| {
        vec![
            ("csrf", mc.clone()),
            ("code", "nokunda".to_owned()),
            ("title", "NoKunda".to_owned()),
            ("department_id", pesco.to_string()),
            ("team_id", team.to_string()),
            ("problem_id", problem.to_string()),
            ("services", services.to_owned()),
        ]
    };
    let resp = m
        .post(app.at("/staff/programme/projects"))
        .form(&project("reports:no-such-service"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = m
        .post(app.at("/staff/programme/projects"))
        .form(&project("reports:kunda"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let step = |to: &'static str, note: &'static str| {
        let (b, c, app) = (&m, &mc, &app);
        async move {
            submit(
                b,
                app,
                "/staff/programme/projects/nokunda/advance",
                &[("csrf", c), ("to", to), ("note", note)],
            )
            .await
        }
    };
    let (status, body) = step("mou_signed", "").await;
    assert_eq!(status, 409);
    assert!(body.contains("no signed MoU"), "{body}");
    let mou_id: i64 = app
        .db
        .scalar(khidmat::platform::db::query("SELECT id FROM prog_mous"))
        .await
        .unwrap();
    let resp = m
        .post(app.at("/staff/programme/partners/pesco/mous"))
        .multipart(mou("signed", &day(-30), true).text("id", mou_id.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        app.count("prog_mous").await,
        1,
        "the draft became the signed MoU"
    );
    let (_, partner) = page(&m, &app, "/staff/programme/partners/pesco").await;
    let article = &partner[partner.find("Kunda connections go unreported").unwrap()..];
    assert!(
        article[..article.find("</article>").unwrap()]
            .contains("in force: Consumer billing records"),
        "now only the data not committed is missing"
    );
    let (status, body) = step("building", "").await;
    assert_eq!(status, 409, "no skipping: {body}");
    for s in ["mou_signed", "user_research", "building", "mvp", "deployed"] {
        let (status, body) = step(s, "").await;
        assert_eq!(status, 303, "{s}: {body}");
    }
    let (status, body) = step("handed_over", "").await;
    assert_eq!(status, 409);
    assert!(
        body.contains("maintainer, officials_trained, backups_configured, admins_transferred"),
        "{body}"
    );
    let (status, body) = submit(
        &m,
        &app,
        "/staff/programme/partners/pesco/training",
        &[
            ("csrf", &mc),
            ("name", "Asad Khan"),
            ("designation", "SDO Hayatabad"),
            ("course", "Working reports on Khidmat"),
            ("held_on", &day(5)),
        ],
    )
    .await;
    assert_eq!(status, 400, "training is recorded once held: {body}");
    submit(
        &m,
        &app,
        "/staff/programme/partners/pesco/training",
        &[
            ("csrf", &mc),
            ("name", "Asad Khan"),
            ("designation", "SDO Hayatabad"),
            ("course", "Working reports on Khidmat"),
            ("held_on", &day(-1)),
        ],
    )
    .await;
    let (status, _) = submit(
        &m,
        &app,
        "/staff/programme/projects/nokunda/checklist",
        &[
            ("csrf", &mc),
            ("maintainer", "PESCO IT directorate"),
            ("backups_configured", "1"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (status, body) = step("handed_over", "").await;
    assert_eq!(status, 409);
    assert!(
        body.contains("admins_transferred") && !body.contains("maintainer,"),
        "{body}"
    );
    submit(
        &m,
        &app,
        "/staff/programme/projects/nokunda/checklist",
        &[
            ("csrf", &mc),
            ("maintainer", "PESCO IT directorate"),
            ("backups_configured", "1"),
            ("admins_transferred", "1"),
        ],
    )
    .await;
    assert_eq!(step("handed_over", "Handed to PESCO IT").await.0, 303);
    assert_eq!(step("sustained", "").await.0, 303);
    let (status, body) = step("abandoned", "").await;
    assert_eq!(status, 400, "abandoning needs the why: {body}");

    // Milestones.
    submit(
        &m,
        &app,
        "/staff/programme/projects/nokunda/milestones",
        &[
            ("csrf", &mc),
            ("title", "Pilot in Hayatabad"),
            ("due_on", &day(30)),
        ],
    )
    .await;
    let ms: i64 = app
        .db
        .scalar(khidmat::platform::db::query(
            "SELECT id FROM prog_milestones",
        ))
        .await
        .unwrap();
    assert_eq!(
        submit(
            &m,
            &app,
            &format!("/staff/programme/projects/nokunda/milestones/{ms}/done"),
            &[("csrf", &mc)]
        )
        .await
        .0,
        303
    );
    let (_, project_page) = page(&m, &app, "/staff/programme/projects/nokunda").await;
    assert!(project_page.contains(r#"data-state="sustained""#));
    assert!(
        project_page.contains("Handed to PESCO IT"),
        "the history keeps notes"
    );

    // The impact figures count the hand-over and the training.
    let f = app
        .get_json(&format!("/api/v1/impact?from={}&to={}", day(-7), day(0)))
        .await;
    assert_eq!(f["services_handed_over"], 1);
    assert_eq!(f["services_sustained"], 1);
    assert_eq!(f["officials_trained"], 1);
    // The reviewer may score but not run the programme; an outsider may not even look.
    assert_eq!(
        submit(
            &r,
            &app,
            "/staff/programme/projects/nokunda/milestones",
            &[("csrf", &rc), ("title", "x"), ("due_on", &day(3))]
        )
        .await
        .0,
        403
    );
    assert_eq!(
        submit(
            &o,
            &app,
            "/staff/programme/projects/nokunda/milestones",
            &[("csrf", &oc), ("title", "x"), ("due_on", &day(3))]
        )
        .await
        .0,
        404
    );
    assert_eq!(
        submit(
            &m,
            &app,
            "/staff/programme/projects/nokunda/milestones",
            &[("csrf", "forged"), ("title", "x"), ("due_on", &day(3))]
        )
        .await
        .0,
        403
    );
    assert_eq!(app.count("prog_milestones").await, 1);
    drop(a);
});

/// One random event, and what the recount needs of it.
struct Made {
    at: DateTime<Utc>,
    service: &'static str,
    channel: &'static str,
    department: Option<String>,
    district: Option<&'static str>,
    minutes: i64,
    citizen: Option<String>,
}

const SERVICES: [&str; 4] = ["reports", "directory", "benefits", "cases"];
const CHANNELS: [&str; 5] = ["open311", "web", "sms", "ussd", "staff"];
const DISTRICTS: [&str; 3] = ["peshawar", "swat", "mardan"];

fn pkt_day(at: DateTime<Utc>) -> chrono::NaiveDate {
    (at + Duration::hours(5)).date_naive()
}

fn iso_week(d: chrono::NaiveDate) -> String {
    let w = d.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

type CellKey = (String, String, String, String, String);

/// The public rule, written out again here: counts to the nearest 5, rows under 5 left out,
/// a sum scaled to its rounded count.
fn r5(n: i64) -> i64 {
    (n + 2) / 5 * 5
}

fn scaled(sum: i64, n: i64) -> i64 {
    if n == 0 {
        0
    } else {
        (sum * r5(n) + n / 2) / n
    }
}

fn as_map(v: &Value) -> BTreeMap<String, (i64, i64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                (
                    g["queries"].as_i64().unwrap(),
                    g["minutes_saved"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

/// `data-NAME="VALUE"` of the element after `after` in `html`.
fn attr<'a>(html: &'a str, after: &str, name: &str) -> &'a str {
    let s = &html[html
        .find(after)
        .unwrap_or_else(|| panic!("{after} not in the page"))..];
    let marker = format!("data-{name}=\"");
    let s = &s[s.find(&marker).unwrap() + marker.len()..];
    &s[..s.find('"').unwrap()]
}

both!(
    impact_figures_equal_a_recount_of_random_events,
    |app| async move {
        let depts: Vec<(i64, String)> = app
            .db
            .fetch_all(khidmat::platform::db::query(
                "SELECT id, slug FROM departments ORDER BY id",
            ))
            .await
            .unwrap();
        let contacts: Vec<String> = (0..12).map(|i| format!("0300 55500{i:02}")).collect();
        for seed in [7u64, 1947, 2014] {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            app.db
                .execute(khidmat::platform::db::query("DELETE FROM impact_events"))
                .await
                .unwrap();
            let now = Utc::now();
            let mut made = Vec::new();
            let mut tx = app.db.begin().await.unwrap();
            for i in 0..rng.random_range(40..120) {
                let at = now - Duration::minutes(rng.random_range(0..60 * 24 * 45));
                let dept =
                    (rng.random_bool(0.8)).then(|| depts[rng.random_range(0..depts.len())].clone());
                let citizen = rng
                    .random_bool(0.7)
                    .then(|| contacts[rng.random_range(0..contacts.len())].clone());
                let mut m = Made {
                    at,
                    service: SERVICES[rng.random_range(0..4)],
                    channel: CHANNELS[rng.random_range(0..5)],
                    department: dept.as_ref().map(|d| d.1.clone()),
                    district: rng
                        .random_bool(0.8)
                        .then(|| DISTRICTS[rng.random_range(0..3)]),
                    minutes: rng.random_range(0..240),
                    citizen,
                };
                // Every sixth falls in one cell (six days ago, inside every range drawn below),
                // so the CSV lists at least one cell of five or more.
                let dept = if i % 6 == 0 {
                    m.at = now - Duration::days(6);
                    m.service = "reports";
                    m.channel = "sms";
                    m.district = Some("peshawar");
                    m.department = Some(depts[0].1.clone());
                    Some(depts[0].clone())
                } else {
                    dept
                };
                let phone = m
                    .citizen
                    .as_deref()
                    .map(|c| khidmat::platform::personal::Phone::parse(c).unwrap());
                impact::record_at(
                    &mut tx,
                    &impact::Event {
                        service: m.service,
                        kind: "test",
                        code: None,
                        channel: m.channel,
                        district: m.district,
                        department_id: dept.map(|d| d.0),
                        minutes_saved: m.minutes,
                        citizen: phone.as_ref().map(Citizen::phone),
                    },
                    m.at,
                )
                .await
                .unwrap();
                made.push(m);
            }
            tx.commit().await.unwrap();

            let today = khidmat::platform::clock::today();
            let (from, to) = (
                today - Duration::days(rng.random_range(10..40)),
                today - Duration::days(rng.random_range(0..5)),
            );
            let inside: Vec<&Made> = made
                .iter()
                .filter(|m| (from..=to).contains(&pkt_day(m.at)))
                .collect();
            let f = app
                .get_json(&format!("/api/v1/impact?from={from}&to={to}"))
                .await;
            let ctx = format!("seed {seed}, {from}..{to}");

            // What the public reads is the recount, rounded (`platform::disclosure`).
            let n = inside.len() as i64;
            let minutes: i64 = scaled(inside.iter().map(|m| m.minutes).sum(), n);
            assert_eq!(f["queries_handled"], r5(n), "{ctx}");
            assert_eq!(f["minutes_saved"], minutes, "{ctx}");
            assert_eq!(
                f["hours_saved"].as_f64().unwrap(),
                minutes as f64 / 60.0,
                "{ctx}"
            );
            let distinct: BTreeSet<&str> =
                inside.iter().filter_map(|m| m.citizen.as_deref()).collect();
            assert_eq!(
                f["citizens_facilitated"],
                r5(distinct.len() as i64),
                "{ctx}"
            );

            let mut weeks: Vec<String> = Vec::new();
            let mut d = from;
            while d <= to {
                if weeks.last() != Some(&iso_week(d)) {
                    weeks.push(iso_week(d));
                }
                d += Duration::days(1);
            }
            let api_weeks: Vec<(String, i64)> = f["citizens_facilitated_per_week"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    (
                        w["week"].as_str().unwrap().to_owned(),
                        w["count"].as_i64().unwrap(),
                    )
                })
                .collect();
            let expected: Vec<(String, i64)> = weeks
                .iter()
                .map(|w| {
                    let c: BTreeSet<&str> = inside
                        .iter()
                        .filter(|m| &iso_week(pkt_day(m.at)) == w)
                        .filter_map(|m| m.citizen.as_deref())
                        .collect();
                    (w.clone(), r5(c.len() as i64))
                })
                .collect();
            assert_eq!(api_weeks, expected, "{ctx}");

            // A breakdown: rows of fewer than 5 left out, the rest rounded.
            let recount = |key: &dyn Fn(&Made) -> String| {
                let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
                for m in &inside {
                    let e = out.entry(key(m)).or_default();
                    e.0 += 1;
                    e.1 += m.minutes;
                }
                out.into_iter()
                    .filter(|(_, (n, _))| *n >= 5)
                    .map(|(k, (n, m))| (k, (r5(n), scaled(m, n))))
                    .collect::<BTreeMap<_, _>>()
            };
            assert_eq!(
                as_map(&f["by_service"]),
                recount(&|m| m.service.to_owned()),
                "{ctx}"
            );
            assert_eq!(
                as_map(&f["by_channel"]),
                recount(&|m| m.channel.to_owned()),
                "{ctx}"
            );
            assert_eq!(
                as_map(&f["by_department"]),
                recount(&|m| m.department.clone().unwrap_or_default()),
                "{ctx}"
            );
            assert_eq!(
                as_map(&f["by_district"]),
                recount(&|m| m.district.unwrap_or("").to_owned()),
                "{ctx}"
            );

            // The page shows the same figures.
            let (status, html) =
                page(&browser(), &app, &format!("/impact?from={from}&to={to}")).await;
            assert_eq!(status, 200);
            let figure = |name: &str| {
                let marker = format!(r#"data-figure="{name}"><bdi>"#);
                let s = &html[html.find(&marker).unwrap() + marker.len()..];
                s[..s.find('<').unwrap()].to_owned()
            };
            assert_eq!(figure("queries_handled"), r5(n).to_string(), "{ctx}");
            assert_eq!(
                figure("hours_saved"),
                format!("{:.1}", minutes as f64 / 60.0),
                "{ctx}"
            );
            assert_eq!(
                figure("citizens_facilitated"),
                r5(distinct.len() as i64).to_string(),
                "{ctx}"
            );
            for (w, n) in &expected {
                assert_eq!(
                    attr(&html, &format!(r#"data-week="{w}""#), "citizens"),
                    n.to_string(),
                    "{ctx} {w}"
                );
            }
            for (by, map) in [
                ("service", recount(&|m| m.service.to_owned())),
                ("channel", recount(&|m| m.channel.to_owned())),
                (
                    "department",
                    recount(&|m| m.department.clone().unwrap_or_default()),
                ),
                (
                    "district",
                    recount(&|m| m.district.unwrap_or("").to_owned()),
                ),
            ] {
                let table = &html[html.find(&format!(r#"data-by="{by}""#)).unwrap()..];
                let table = &table[..table.find("</table>").unwrap()];
                for (k, (n, _)) in &map {
                    assert_eq!(
                        attr(table, &format!(r#"data-key="{k}""#), "queries"),
                        n.to_string(),
                        "{ctx} {by} {k}"
                    );
                }
                assert_eq!(table.matches("data-key=").count(), map.len(), "{ctx} {by}");
            }

            // And the CSV lists the cells of 5 or more, rounded alike.
            let csv = app
                .get(&format!("/impact.csv?from={from}&to={to}"))
                .await
                .text()
                .await
                .unwrap();
            let mut lines = csv.lines();
            assert_eq!(lines.next().unwrap(), "week,service,channel,department,district,queries_handled,minutes_saved,citizens_facilitated,outcomes_answered,outcomes_reopened,mean_rating");
            let listed: BTreeSet<String> = lines.map(str::to_owned).collect();
            // (week, service, channel, department, district) -> (queries, minutes, citizens)
            let mut cells: BTreeMap<CellKey, (i64, i64, BTreeSet<&str>)> = BTreeMap::new();
            for m in &inside {
                let c = cells
                    .entry((
                        iso_week(pkt_day(m.at)),
                        m.service.to_owned(),
                        m.channel.to_owned(),
                        m.department.clone().unwrap_or_default(),
                        m.district.unwrap_or("").to_owned(),
                    ))
                    .or_default();
                c.0 += 1;
                c.1 += m.minutes;
                c.2.extend(m.citizen.as_deref());
            }
            let expected: BTreeSet<String> = cells
                .into_iter()
                .filter(|(_, (n, _, _))| *n >= 5)
                .map(|((w, s, c, d, di), (n, mins, who))| {
                    format!(
                        "{w},{s},{c},{d},{di},{},{},{},0,0,",
                        r5(n),
                        scaled(mins, n),
                        r5(who.len() as i64)
                    )
                })
                .collect();
            assert!(!expected.is_empty(), "{ctx}: a cell of five or more");
            assert_eq!(listed, expected, "{ctx}");
        }
    }
);

both!(
    every_citizen_interaction_counts_once_a_week_by_a_keyed_hash,
    |app| async move {
        for _ in 0..2 {
            app.report(&[
                ("service_code", "kunda"),
                ("lat", "34.0151"),
                ("long", "71.5249"),
                ("attribute[premises]", "shop"),
                ("attribute[method]", "hook"),
                ("phone", "0300 1234567"),
            ])
            .await;
        }
        app.report(&[
            ("service_code", "kunda"),
            ("lat", "34.0151"),
            ("long", "71.5249"),
            ("attribute[premises]", "shop"),
            ("attribute[method]", "hook"),
            ("email", "gul@example.pk"),
        ])
        .await;
        // The exact figures (as staff would have them)…
        let range = khidmat::programme::figures::Range::parse(None, None).unwrap();
        let f = khidmat::programme::figures::figures(&app.db, &range)
            .await
            .unwrap();
        assert_eq!(f.queries_handled, 3);
        assert_eq!(
            f.citizens_facilitated, 2,
            "the same phone twice is one citizen"
        );
        assert_eq!(f.citizens_facilitated_per_week.last().unwrap().count, 2);
        assert_eq!(
            f.hours_saved,
            3.0 * 45.0 / 60.0,
            "PESCO's 45 minutes a report"
        );
        // …and as the public reads them: rounded to fives, minutes scaled alike.
        let f = app.get_json("/api/v1/impact").await;
        assert_eq!(f["queries_handled"], 5);
        assert_eq!(f["citizens_facilitated"], 0);
        assert_eq!(f["hours_saved"].as_f64().unwrap(), 5.0 * 45.0 / 60.0);
        assert_eq!(
            f["by_service"].as_array().unwrap().len(),
            0,
            "a row of 3 is left out"
        );
        let hashes: Vec<(Option<String>,)> = app
            .db
            .fetch_all(khidmat::platform::db::query(
                "SELECT citizen FROM impact_events",
            ))
            .await
            .unwrap();
        for (h,) in hashes {
            let h = h.unwrap();
            assert_eq!(h.len(), 32);
            assert!(
                !h.contains("1234567") && !h.contains("gul"),
                "no contact kept: {h}"
            );
        }
        // Day first as Pakistan writes it is read; a month-first date is not a date here, and
        // is refused with what to write.
        assert_eq!(
            app.get("/api/v1/impact?from=27/11/2026").await.status(),
            200
        );
        let resp = app.get("/api/v1/impact?from=11/27/2026").await;
        assert_eq!(resp.status(), 400);
        assert!(resp.text().await.unwrap().contains("YYYY-MM-DD"));
        assert_eq!(
            app.get("/api/v1/impact?from=2026-12-01&to=2026-11-01")
                .await
                .status(),
            400
        );
        let resp = app
            .get("/api/v1/impact?from=2000-01-01&to=2026-11-01")
            .await;
        assert_eq!(resp.status(), 400);
        assert!(resp.text().await.unwrap().contains("ten years"));
        assert_eq!(
            app.get("/api/v1/impact?format=xml").await.status(),
            400,
            "json or csv, nothing else"
        );
        // The printable annual report and its language.
        let (status, html) = page(&browser(), &app, "/impact/report?locale=ur").await;
        assert_eq!(status, 200);
        assert!(html.contains("dir=\"rtl\"") && html.contains("اثرات رپورٹ"));
        assert_eq!(
            page(&browser(), &app, "/impact/report?year=abc").await.0,
            400
        );
    }
);
