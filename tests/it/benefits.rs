//! Benefits, end to end over HTTP on both stores: a fund, 50 applications, eligibility, the
//! ballot (checked with the CLI from the published files), batches with maker-checker, the bank
//! advice, partial payments, reconciliation, and reports that equal the ledger. Then random
//! sequences of money operations, some at once, with the ledger's invariants checked after each.

use std::process::Command;

use khidmat::benefits::ledger;
use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::on_both;

/// A fund whose window is open today; budget Rs 500,000, Rs 25,000 each: 20 places.
fn pack(code: &str, method: &str) -> String {
    format!(
        r#"
[pack]
name = "test-{code}"
version = 1

[[benefits.fund]]
code = "{code}"
department = "minority-affairs"
name = {{ en = "Test grant", ur = "آزمائشی گرانٹ", ps = "ازمایښتي مرسته" }}
category = "educational"
financial_year = "2026-27"
budget = 50_000_000
opens_on = "2020-01-01"
closes_on = "2099-12-31"
entitlement = {{ rule = "fixed", amount = 2_500_000 }}
selection = {{ method = "{method}" }}

[benefits.fund.eligibility]
answers = {{ religion = ["christian", "hindu", "sikh"] }}
min_age = 14
max_monthly_income = 5_000_000

[[benefits.fund.document]]
code = "enrolment"
name = {{ en = "Proof of enrolment" }}

[[benefits.fund.question]]
code = "institution"
datatype = "string"
required = true
description = {{ en = "School or college" }}

[[benefits.fund.question]]
code = "religion"
datatype = "singlevaluelist"
description = {{ en = "Religion", ur = "مذہب" }}
values = [
  {{ key = "muslim", name = {{ en = "Muslim", ur = "مسلمان" }} }},
  {{ key = "christian", name = {{ en = "Christian", ur = "مسیحی" }} }},
  {{ key = "hindu", name = {{ en = "Hindu", ur = "ہندو" }} }},
  {{ key = "sikh", name = {{ en = "Sikh", ur = "سکھ" }} }},
]
"#
    )
}

/// A valid Pakistani IBAN for account number `n`.
fn iban(n: u64) -> String {
    let bban = format!("SCBL{n:016}");
    let digits: String = format!("{bban}PK00")
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                c.to_string()
            } else {
                (c as u32 - 'A' as u32 + 10).to_string()
            }
        })
        .collect();
    let rem = digits
        .bytes()
        .fold(0u32, |r, b| (r * 10 + (b - b'0') as u32) % 97);
    format!("PK{:02}{bban}", 98 - rem)
}

/// A CNIC whose last digit fits the gender (odd for men, even for women).
fn cnic(i: usize, gender: &str) -> String {
    let last = if gender == "male" { 1 } else { 2 };
    format!("17301-{:07}-{last}", 1_000_000 + i)
}

fn application(i: usize) -> Value {
    let gender = if i.is_multiple_of(2) {
        "female"
    } else {
        "male"
    };
    // Every fifth is a Muslim applicant and every seventh earns too much: not eligible here.
    let religion = if i % 5 == 4 {
        "muslim"
    } else {
        ["christian", "hindu", "sikh"][i % 3]
    };
    let income = if i % 7 == 6 {
        9_000_000
    } else {
        2_000_000 + i as i64 * 10_000
    };
    let district = ["peshawar", "mardan", "swat"][i % 3];
    let account = if i.is_multiple_of(3) {
        Value::Null
    } else {
        json!(iban(i as u64))
    };
    json!({
        "cnic": cnic(i, gender),
        "name": format!("Applicant {i}"),
        "guardian_name": "Guardian",
        "gender": gender,
        "birth_date": "2005-03-01",
        "district": district,
        "phone": "03001234567",
        "monthly_income": income,
        "dependants": (i % 4) as i64,
        "bank_account": account,
        "answers": {"institution": ["Edwardes College"], "religion": [religion]},
    })
}

async fn post(c: &reqwest::Client, app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = c.post(app.at(path)).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn get(c: &reqwest::Client, app: &TestApp, path: &str) -> (u16, Value) {
    let r = c.get(app.at(path)).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

struct Staff {
    officer: reqwest::Client,
    maker: reqwest::Client,
    checker: reqwest::Client,
    other_checker: reqwest::Client,
}

async fn staff(app: &TestApp) -> Staff {
    app.add_user(
        "officer@minorities.kp.gov.pk",
        Role::Officer,
        Some("minority-affairs"),
        None,
    )
    .await;
    app.add_user(
        "maker@minorities.kp.gov.pk",
        Role::Manager,
        Some("minority-affairs"),
        None,
    )
    .await;
    app.add_user(
        "checker@minorities.kp.gov.pk",
        Role::Manager,
        Some("minority-affairs"),
        None,
    )
    .await;
    app.add_user(
        "second@minorities.kp.gov.pk",
        Role::Manager,
        Some("minority-affairs"),
        None,
    )
    .await;
    Staff {
        officer: api_session(app, "officer@minorities.kp.gov.pk").await,
        maker: api_session(app, "maker@minorities.kp.gov.pk").await,
        checker: api_session(app, "checker@minorities.kp.gov.pk").await,
        other_checker: api_session(app, "second@minorities.kp.gov.pk").await,
    }
}

/// The ledger's invariants for a fund, read straight from the store.
async fn check_invariants(app: &TestApp, fund: &str) {
    let fund_id: i64 = app
        .db
        .scalar(query("SELECT id FROM benefit_funds WHERE code = $1").bind(fund))
        .await
        .unwrap();
    let b = ledger::balances(&app.db, fund_id).await.unwrap();
    b.check().unwrap();
    assert!(
        b.disbursed <= b.committed() && b.committed() <= b.budget,
        "{b:?}"
    );
    // No application is paid more than it is entitled to.
    let ids: Vec<(i64,)> = app
        .db
        .fetch_all(query("SELECT id FROM benefit_applications WHERE fund_id = $1").bind(fund_id))
        .await
        .unwrap();
    for (id,) in ids {
        let o = ledger::owed(&app.db, id).await.unwrap();
        assert!(
            o.paid <= o.entitled && o.paid >= 0,
            "application {id}: {o:?}"
        );
    }
    // No payment disbursed twice; every approved or reconciled payment disbursed exactly once
    // (net); a returned one not at all.
    let rows: Vec<(i64, String, i64, i64)> = app
        .db
        .fetch_all(
            query(
                "SELECT p.id, p.status, \
                 (SELECT COUNT(*) FROM benefit_ledger l WHERE l.payment_id = p.id AND l.kind = 'payment'), \
                 (SELECT COUNT(*) FROM benefit_ledger l WHERE l.payment_id = p.id AND l.kind = 'reversal') \
                 FROM benefit_payments p JOIN benefit_batches b ON b.id = p.batch_id WHERE b.fund_id = $1",
            )
            .bind(fund_id),
        )
        .await
        .unwrap();
    for (id, status, paid, reversed) in rows {
        let expected = match status.as_str() {
            "pending" => (0, 0),
            "approved" | "reconciled" => (1, 0),
            "returned" => (1, 1),
            other => panic!("payment {id}: status {other}"),
        };
        assert_eq!((paid, reversed), expected, "payment {id} ({status})");
    }
    // No batch holds more than its control totals.
    let over: i64 = app
        .db
        .scalar(
            query(
                "SELECT COUNT(*) FROM benefit_batches b WHERE b.fund_id = $1 AND \
                 ((SELECT COUNT(*) FROM benefit_payments p WHERE p.batch_id = b.id) > b.control_count \
                 OR (SELECT COALESCE(SUM(p.amount), 0) FROM benefit_payments p WHERE p.batch_id = b.id) > b.control_total)",
            )
            .bind(fund_id),
        )
        .await
        .unwrap();
    assert_eq!(over, 0, "a batch holds more than its control totals");
}

async fn close_window(c: &reqwest::Client, app: &TestApp, fund: &str) {
    let r = c
        .patch(app.at(&format!("/api/v1/benefits/funds/{fund}")))
        .json(&json!({"closes_on": "2026-01-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

on_both!(grant_end_to_end, |backend| async move {
    let app = spawn_with(backend, |c| c.channel_secret = Some("sms-secret".into())).await;
    khidmat::packs::load(&app.db, &pack("test-grant", "ballot"), "test")
        .await
        .unwrap();
    let s = staff(&app).await;
    let fund = "test-grant";
    let apps_path = format!("/api/v1/benefits/funds/{fund}/applications");

    // 50 applications, entered for walk-in applicants.
    let mut refs = Vec::new();
    for i in 0..50 {
        let (st, body) = post(&s.officer, &app, &apps_path, application(i)).await;
        assert_eq!(st, 201, "{body}");
        refs.push((
            i,
            body["reference"].as_str().unwrap().to_owned(),
            body["status"].as_str().unwrap().to_owned(),
        ));
        if i % 5 == 4 {
            assert_eq!(body["status"], "ineligible");
            assert!(
                body["reasons"][0]
                    .as_str()
                    .unwrap()
                    .contains("answered “Muslim” to “Religion”"),
                "the rule on the pack's question, in its words: {body}"
            );
        }
    }
    // The same CNIC again: refused, and nothing written.
    let before = app.count("benefit_applications").await;
    let (st, body) = post(&s.officer, &app, &apps_path, application(0)).await;
    assert_eq!(st, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("already applied"));
    // Two at once with a new CNIC: the database lets exactly one in.
    let twin = {
        let mut a = application(60);
        a["name"] = json!("Twin");
        a
    };
    let (a, b) = tokio::join!(
        post(&s.officer, &app, &apps_path, twin.clone()),
        post(&s.maker, &app, &apps_path, twin.clone())
    );
    let mut codes = [a.0, b.0];
    codes.sort();
    assert_eq!(codes, [201, 409], "{a:?} {b:?}");
    let twin_ref = if a.0 == 201 { a.1 } else { b.1 }["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    // Bad input: a CNIC whose last digit says another gender, a CNIC of 12 digits, no window.
    let mut bad = application(70);
    bad["gender"] = json!("female");
    bad["cnic"] = json!("17301-1234567-1");
    let (st, body) = post(&s.officer, &app, &apps_path, bad).await;
    assert_eq!(st, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gender"),
        "{body}"
    );
    let mut bad = application(71);
    bad["cnic"] = json!("17301-123456-1");
    assert_eq!(post(&s.officer, &app, &apps_path, bad).await.0, 400);
    let mut bad = application(72);
    bad["bank_account"] = json!("PK00SCBL0000001123456702");
    assert_eq!(post(&s.officer, &app, &apps_path, bad).await.0, 400);
    assert_eq!(app.count("benefit_applications").await, before + 1);

    // The applicant checks their status with the reference and CNIC; a wrong CNIC learns
    // nothing.
    let (r0, c0) = (&refs[0].1, cnic(0, "female"));
    let st = app
        .client
        .get(app.at(&format!("/api/v1/benefits/status?reference={r0}&cnic={c0}")))
        .send()
        .await
        .unwrap();
    assert_eq!(st.status(), 200);
    let st: Value = st.json().await.unwrap();
    assert_eq!(st["status"], "eligible");
    assert_eq!(st["cnic"], "*****-*****00-2");
    let wrong = app
        .client
        .get(app.at(&format!(
            "/api/v1/benefits/status?reference={r0}&cnic=17301-1000001-2"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    // And by SMS, from a feature phone, the reference typed loosely.
    let sms = |id: &'static str, text: String| {
        app.client
            .post(app.at("/channels/africastalking/sms?key=sms-secret"))
            .form(&[
                ("from", "+923331234567"),
                ("to", "8311"),
                ("text", text.as_str()),
                ("id", id),
            ])
            .send()
    };
    assert_eq!(
        sms(
            "m1",
            format!("grant {} {c0}", r0.to_lowercase().replace('-', ""))
        )
        .await
        .unwrap()
        .status(),
        200
    );
    assert_eq!(
        sms("m2", format!("GRANT {r0} 17301-1000001-2"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(sms("m3", "GRANT".into()).await.unwrap().status(), 200);
    let replies: Vec<(String,)> = app
        .db
        .fetch_all(query(
            "SELECT body FROM sms_outbox WHERE phone = '+923331234567' ORDER BY id",
        ))
        .await
        .unwrap();
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert!(
        replies[0].0.starts_with(&format!("{r0}: Received")),
        "{replies:?}"
    );
    assert!(replies[1].0.contains("No application"), "{replies:?}");
    assert!(replies[2].0.contains("GRANT B-"), "{replies:?}");

    // Staff verify the eligible: accept all but two, which are rejected with a reason.
    let eligible: Vec<&String> = refs
        .iter()
        .filter(|(_, _, s)| s == "eligible")
        .map(|(_, r, _)| r)
        .chain(std::iter::once(&twin_ref))
        .collect();
    assert_eq!(
        eligible.len(),
        50 - 10 - 6 + 1,
        "10 Muslim, 6 more over the income limit, and the twin"
    );
    let (st, _) = post(
        &s.officer,
        &app,
        &format!("/api/v1/benefits/applications/{}/verification", eligible[0]),
        json!({"accept": false}),
    )
    .await;
    assert_eq!(st, 400, "a rejection needs a reason");
    for (n, r) in eligible.iter().enumerate() {
        let accept = n >= 2;
        let (st, body) = post(&s.officer, &app, &format!("/api/v1/benefits/applications/{r}/verification"), json!({"accept": accept, "note": if accept { "" } else { "enrolment letter is forged" }})).await;
        assert_eq!(st, 200, "{body}");
    }
    let (st, _) = post(
        &s.officer,
        &app,
        &format!("/api/v1/benefits/applications/{}/verification", eligible[5]),
        json!({"accept": true}),
    )
    .await;
    assert_eq!(st, 409, "decided once");

    // Nothing is drawn while the window is open; an officer cannot publish the draw.
    let publish = format!("/api/v1/benefits/funds/{fund}/draw/publish");
    assert_eq!(
        post(&s.maker, &app, &publish, json!({"seed": "x"})).await.0,
        409
    );
    close_window(&s.maker, &app, fund).await;
    assert_eq!(
        post(&s.officer, &app, &publish, json!({"seed": "x"}))
            .await
            .0,
        403
    );
    let seed = "KP prize bond draw 15 December 2026: 123456";
    let (st, d) = post(&s.maker, &app, &publish, json!({"seed": seed})).await;
    assert_eq!(st, 201, "{d}");
    let verified = eligible.len() - 2;
    assert_eq!(d["list"].as_str().unwrap().lines().count(), verified);
    assert_eq!(
        post(&s.maker, &app, &publish, json!({"seed": "another"}))
            .await
            .0,
        409,
        "published once"
    );
    let (st, d) = post(
        &s.checker,
        &app,
        &format!("/api/v1/benefits/funds/{fund}/draw"),
        json!({}),
    )
    .await;
    assert_eq!(st, 200, "{d}");

    // Anyone recomputes the draw from the published files.
    let dir = tempfile::tempdir().unwrap();
    for name in ["eligible.txt", "seed.txt", "result.txt"] {
        let text = app
            .client
            .get(app.at(&format!("/benefits/{fund}/draw/{name}")))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let verify = |result: &str| {
        Command::new(khidmat_bin())
            .args(["benefits", "verify-draw", "--list"])
            .arg(dir.path().join("eligible.txt"))
            .arg("--seed-file")
            .arg(dir.path().join("seed.txt"))
            .args(["--sha256", d["list_sha256"].as_str().unwrap(), "--result"])
            .arg(dir.path().join(result))
            .output()
            .unwrap()
    };
    let ok = verify("result.txt");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout)
        .contains("OK: the list has the published hash and the published result is this draw"));
    let mut lines: Vec<String> = d["result"]
        .as_str()
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.swap(3, 4);
    std::fs::write(dir.path().join("forged.txt"), lines.join("\n")).unwrap();
    let forged = verify("forged.txt");
    assert!(!forged.status.success());
    assert!(String::from_utf8_lossy(&forged.stderr).contains("line 4"));

    // Selection: by draw order while the budget lasts (20 × Rs 25,000).
    let (st, sel) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/funds/{fund}/selection"),
        json!({}),
    )
    .await;
    assert_eq!(st, 200, "{sel}");
    let selected: Vec<String> = sel["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(selected.len(), 20);
    assert_eq!(sel["waitlisted"].as_array().unwrap().len(), verified - 20);
    let drawn: Vec<&str> = d["result"].as_str().unwrap().lines().take(20).collect();
    assert_eq!(selected, drawn, "the first twenty drawn are selected");
    assert_eq!(sel["balances"]["available"], 0);
    check_invariants(&app, fund).await;

    // Those with a bank account are paid by transfer, the others by cheque.
    let mut payees = Vec::new();
    for r in &selected {
        let (_, a) = get(
            &s.maker,
            &app,
            &format!("/api/v1/benefits/applications/{r}"),
        )
        .await;
        payees.push((r.clone(), a["has_bank_account"].as_bool().unwrap()));
    }
    let pay = |r: &str, transfer: bool, amount: i64, cheque: &str| {
        if transfer {
            json!({"application": r, "amount": amount, "instrument": "transfer"})
        } else {
            json!({"application": r, "amount": amount, "instrument": "cheque", "reference": cheque})
        }
    };

    // Batch 1: Rs 10,000 to each of the first five (a part of their Rs 25,000).
    let (st, b1) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/funds/{fund}/batches"),
        json!({"control_count": 5, "control_total": 5_000_000}),
    )
    .await;
    assert_eq!(st, 201, "{b1}");
    let b1 = b1["id"].as_i64().unwrap();
    let mut refs1 = Vec::new();
    for (n, (r, t)) in payees.iter().take(5).enumerate() {
        let (st, p) = post(
            &s.maker,
            &app,
            &format!("/api/v1/benefits/batches/{b1}/payments"),
            pay(r, *t, 1_000_000, &format!("CHQ-{n:04}")),
        )
        .await;
        assert_eq!(st, 201, "{p}");
        refs1.push((p["reference"].as_str().unwrap().to_owned(), 1_000_000i64));
    }
    // A sixth is over the control count; Rs 30,000 in another batch is over the entitlement.
    let (st, _) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/batches/{b1}/payments"),
        pay(&payees[5].0, payees[5].1, 100, "CHQ-X"),
    )
    .await;
    assert_eq!(st, 409);
    let (_, bx) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/funds/{fund}/batches"),
        json!({"control_count": 1, "control_total": 3_000_000}),
    )
    .await;
    let (st, e) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/batches/{}/payments", bx["id"]),
        pay(&payees[6].0, payees[6].1, 3_000_000, "CHQ-Y"),
    )
    .await;
    assert_eq!(st, 409, "{e}");
    // Batch 1 still holds Rs 10,000 for the first payee: Rs 16,000 more elsewhere is too much.
    let (st, _) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/batches/{}/payments", bx["id"]),
        pay(&payees[0].0, payees[0].1, 1_600_000, "CHQ-Z"),
    )
    .await;
    assert_eq!(st, 409);
    // The same cheque number twice: refused.
    let (_, by) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/funds/{fund}/batches"),
        json!({"control_count": 1, "control_total": 100}),
    )
    .await;
    let first_cheque = payees.iter().take(5).position(|(_, t)| !t);
    if let Some(n) = first_cheque {
        let (st, _) = post(
            &s.maker,
            &app,
            &format!("/api/v1/benefits/batches/{}/payments", by["id"]),
            pay(&payees[7].0, false, 100, &format!("CHQ-{n:04}")),
        )
        .await;
        assert_eq!(st, 409, "a cheque number is used once");
    }

    // Maker-checker: the maker submits; the maker cannot approve; two checkers at once: one wins.
    let (st, _) = post(
        &s.checker,
        &app,
        &format!("/api/v1/benefits/batches/{b1}/submit"),
        json!({}),
    )
    .await;
    assert_eq!(st, 403, "only the maker submits");
    let (st, sub) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/batches/{b1}/submit"),
        json!({}),
    )
    .await;
    assert_eq!(st, 200, "{sub}");
    let (st, _) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/batches/{b1}/approve"),
        json!({}),
    )
    .await;
    assert_eq!(st, 403, "the maker cannot approve");
    let ledger_rows = app.count("benefit_ledger").await;
    let approve = format!("/api/v1/benefits/batches/{b1}/approve");
    let (x, y) = tokio::join!(
        post(&s.checker, &app, &approve, json!({})),
        post(&s.other_checker, &app, &approve, json!({}))
    );
    let mut codes = [x.0, y.0];
    codes.sort();
    assert_eq!(codes, [200, 409], "{x:?} {y:?}");
    assert_eq!(
        app.count("benefit_ledger").await,
        ledger_rows + 5,
        "five payments disbursed once"
    );
    check_invariants(&app, fund).await;

    // The bank advice: five lines and the control total.
    let advice = s
        .checker
        .get(app.at(&format!("/api/v1/benefits/batches/{b1}/advice.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(advice.status(), 200);
    let advice = advice.text().await.unwrap();
    let lines: Vec<&str> = advice.lines().collect();
    assert_eq!(lines.len(), 7, "{advice}");
    assert!(lines[0]
        .starts_with("batch,fund,payment_reference,instrument,beneficiary,cnic,iban,amount"));
    assert!(
        lines[1].contains("17301-"),
        "the bank needs the whole CNIC: {advice}"
    );
    assert!(
        lines[6].contains("TOTAL") && lines[6].ends_with("50000.00"),
        "{advice}"
    );

    // Batch 2: the rest (Rs 15,000) to the same five, and Rs 25,000 in full to three more.
    let (_, b2) = post(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/funds/{fund}/batches"),
        json!({"control_count": 8, "control_total": 5 * 1_500_000 + 3 * 2_500_000}),
    )
    .await;
    let b2 = b2["id"].as_i64().unwrap();
    let mut refs2 = Vec::new();
    for (n, (r, t)) in payees.iter().take(8).enumerate() {
        let amount = if n < 5 { 1_500_000 } else { 2_500_000 };
        let (st, p) = post(
            &s.maker,
            &app,
            &format!("/api/v1/benefits/batches/{b2}/payments"),
            pay(r, *t, amount, &format!("CHQ-2{n:03}")),
        )
        .await;
        assert_eq!(st, 201, "{p}");
        refs2.push((p["reference"].as_str().unwrap().to_owned(), amount));
    }
    assert_eq!(
        post(
            &s.maker,
            &app,
            &format!("/api/v1/benefits/batches/{b2}/submit"),
            json!({})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            &s.other_checker,
            &app,
            &format!("/api/v1/benefits/batches/{b2}/approve"),
            json!({"note": "checked against the list"})
        )
        .await
        .0,
        200
    );
    check_invariants(&app, fund).await;
    let (_, a0) = get(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/applications/{}", payees[0].0),
    )
    .await;
    assert_eq!(
        (a0["entitled"].as_i64(), a0["paid"].as_i64()),
        (Some(2_500_000), Some(2_500_000))
    );

    // Reconciliation: batch 1 confirmed; in batch 2 one is returned, one has the wrong
    // amount, one is missing; one line is unknown.
    let mut statement = String::from("date,reference,amount,status\n");
    for (r, a) in &refs1 {
        statement += &format!("2026-12-20,{r},{}.00,paid\n", a / 100);
    }
    statement += &format!("2026-12-21,{},\"15,000.00\",returned\n", refs2[0].0);
    statement += &format!("2026-12-21,{},14999.00,paid\n", refs2[1].0);
    for (r, a) in refs2.iter().skip(3) {
        statement += &format!("2026-12-21,{r},{}.00,\n", a / 100);
    }
    statement += "2026-12-21,NOT-OURS-1,500.00,paid\n";
    let recon = |body: String| {
        s.maker
            .post(app.at(&format!("/api/v1/benefits/funds/{fund}/reconciliation")))
            .header("content-type", "text/csv")
            .body(body)
            .send()
    };
    // A line that cannot be read refuses the whole file.
    let r = recon(format!("{statement}2026-12-22,X,12.345,paid\n"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Line"));
    assert_eq!(app.count("benefit_reconciliations").await, 0);
    let r = recon(statement.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["matched"].as_array().unwrap().len(), 5 + 5, "{rep}");
    assert_eq!(rep["returned"], json!([refs2[0].0]));
    assert_eq!(rep["wrong_amount"][0]["reference"], json!(refs2[1].0));
    assert_eq!(rep["unknown"][0]["reference"], "NOT-OURS-1");
    assert_eq!(rep["outstanding"], json!([refs2[1].0, refs2[2].0]));
    check_invariants(&app, fund).await;
    // The returned payment is owed again, and the same statement again confirms nothing twice.
    let (_, a0) = get(
        &s.maker,
        &app,
        &format!("/api/v1/benefits/applications/{}", payees[0].0),
    )
    .await;
    assert_eq!(a0["paid"].as_i64(), Some(1_000_000));
    let rep: Value = recon(statement).await.unwrap().json().await.unwrap();
    assert!(rep["matched"].as_array().unwrap().is_empty(), "{rep}");
    assert_eq!(rep["repeated"].as_array().unwrap().len(), 11);

    // Reports: every breakdown's totals are the ledger's.
    let (_, f) = get(&s.maker, &app, &format!("/api/v1/benefits/funds/{fund}")).await;
    let paid_total = 5 * 1_000_000 + 4 * 1_500_000 + 3 * 2_500_000;
    assert_eq!(f["disbursed"].as_i64(), Some(paid_total));
    assert_eq!(f["committed"].as_i64(), Some(20 * 2_500_000));
    for by in ["fund", "district", "religion", "gender", "month"] {
        let (st, r) = get(
            &s.maker,
            &app,
            &format!("/api/v1/benefits/report?by={by}&fund={fund}"),
        )
        .await;
        assert_eq!(st, 200, "{r}");
        assert_eq!(r["total"]["disbursed"], f["disbursed"], "by {by}");
        assert_eq!(r["total"]["committed"], f["committed"], "by {by}");
        assert_eq!(r["total"]["applications"], 51, "by {by}");
        assert_eq!(r["total"]["selected"], 20, "by {by}");
        let sum: i64 = r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["disbursed"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, paid_total, "by {by}");
    }
    let csv = s
        .maker
        .get(app.at(&format!(
            "/api/v1/benefits/report?by=religion&fund={fund}&format=csv"
        )))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("religion,applications,eligible,selected,committed,disbursed"));
    assert!(
        csv.lines().last().unwrap().starts_with("total,51,"),
        "{csv}"
    );
    let muslim: Vec<&str> = csv
        .lines()
        .find(|l| l.starts_with("muslim,"))
        .unwrap_or_default()
        .split(',')
        .collect();
    assert!(
        muslim.len() == 6 && muslim[1].parse::<i64>().unwrap() >= 10 && muslim[2] == "0",
        "answers the rule does not admit are counted, none eligible: {csv}"
    );
    // A report by a question the fund does not ask with one answer from a list is refused,
    // naming those it could be.
    for by in ["institution", "nonsense", "religion' OR 1=1 --"] {
        let (st, r) = get(
            &s.maker,
            &app,
            &format!(
                "/api/v1/benefits/report?{}",
                serde_urlencoded::to_string([("by", by), ("fund", fund)]).unwrap()
            ),
        )
        .await;
        assert_eq!(st, 400, "{by}: {r}");
        assert!(r.to_string().contains("religion"), "{r}");
    }

    // The staff list carries each application's money, read from the ledger in one pass.
    let (_, listed) = get(&s.maker, &app, &format!("{apps_path}?status=selected")).await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 20);
    let paid: i64 = listed.iter().map(|a| a["paid"].as_i64().unwrap()).sum();
    let entitled: i64 = listed.iter().map(|a| a["entitled"].as_i64().unwrap()).sum();
    assert_eq!((paid, entitled), (paid_total, 20 * 2_500_000));
    assert!(
        listed[0]["cnic"].as_str().unwrap().starts_with("*****"),
        "masked in lists"
    );

    // The open data aggregate: no person in it, no cell under five applications.
    khidmat::opendata::publish::run(&app.db, "kp-itb")
        .await
        .unwrap();
    let res: Value = app
        .get_json("/api/3/action/package_show?id=benefits-grants")
        .await;
    let resource = res["result"]["resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rows: Value = app
        .get_json(&format!(
            "/api/3/action/datastore_search?resource_id={resource}&limit=1000"
        ))
        .await;
    let records = rows["result"]["records"].as_array().unwrap();
    assert!(!records.is_empty());
    let mut published = 0;
    for r in records {
        let n = r["applications"].as_i64().unwrap();
        assert!(n >= 5, "{r}");
        published += n;
        assert!(!r.to_string().contains("17301"), "no CNIC: {r}");
        assert!(!r.to_string().contains("Applicant"), "no name: {r}");
    }
    assert!(published <= 51);

    // The ledger never changes; the audit log names who approved.
    let update = app
        .db
        .execute(query("UPDATE benefit_ledger SET amount = amount + 1"))
        .await;
    assert!(update.is_err(), "the ledger is append-only");
    let approvals: i64 = app.db.scalar(query("SELECT COUNT(*) FROM audit_log WHERE action = 'benefit.batch_approved' AND actor LIKE 'user:%'")).await.unwrap();
    assert_eq!(approvals, 2);

    // The selected applicant sees their money; the public sees the fund's.
    let st: Value = app
        .client
        .get(app.at(&format!(
            "/api/v1/benefits/status?reference={}&cnic={}",
            payees[0].0,
            {
                let (_, a) = get(
                    &s.maker,
                    &app,
                    &format!("/api/v1/benefits/applications/{}", payees[0].0),
                )
                .await;
                a["cnic"].as_str().unwrap().to_owned()
            }
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(st["status"], "selected");
    assert_eq!(st["paid"], 1_000_000);
    assert!(
        st["status_text"].as_str().unwrap().contains("25,000.00"),
        "{st}"
    );
});

on_both!(
    money_operations_keep_the_ledger_whole,
    |backend| async move {
        let app = spawn(backend).await;
        khidmat::packs::load(&app.db, &pack("prop-grant", "lowest_income"), "test")
            .await
            .unwrap();
        let s = staff(&app).await;
        let fund = "prop-grant";
        let mut selected = Vec::new();
        for i in 0..30 {
            let mut a = application(i);
            a["answers"]["religion"] = json!(["christian"]);
            a["monthly_income"] = json!(1_000_000 + i as i64);
            a["bank_account"] = json!(iban(i as u64));
            let (st, r) = post(
                &s.officer,
                &app,
                &format!("/api/v1/benefits/funds/{fund}/applications"),
                a,
            )
            .await;
            assert_eq!(st, 201, "{r}");
            let reference = r["reference"].as_str().unwrap().to_owned();
            post(
                &s.officer,
                &app,
                &format!("/api/v1/benefits/applications/{reference}/verification"),
                json!({"accept": true}),
            )
            .await;
            selected.push(reference);
        }
        close_window(&s.maker, &app, fund).await;
        let (_, sel) = post(
            &s.maker,
            &app,
            &format!("/api/v1/benefits/funds/{fund}/selection"),
            json!({}),
        )
        .await;
        let selected: Vec<String> = sel["selected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[0].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(selected.len(), 20);

        // Random operations, the same every run for a seed (print it to replay a failure).
        let seed: u64 = std::env::var("KHIDMAT_PROPTEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(20261127);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut open_batches: Vec<(i64, i64)> = Vec::new();
        let mut submitted: Vec<i64> = Vec::new();
        let mut approved_refs: Vec<(String, i64)> = Vec::new();
        let steps = 150;
        for step in 0..steps {
            let op = rng.random_range(0..6);
            match op {
                // Open a batch of a few payments of one unit each.
                0 => {
                    let count = rng.random_range(1..5);
                    let unit = [500_000, 1_000_000, 2_500_000][rng.random_range(0..3)];
                    let (st, b) = post(
                        &s.maker,
                        &app,
                        &format!("/api/v1/benefits/funds/{fund}/batches"),
                        json!({"control_count": count, "control_total": count * unit}),
                    )
                    .await;
                    assert_eq!(st, 201, "{b}");
                    open_batches.push((b["id"].as_i64().unwrap(), unit));
                }
                // Add payments: mostly one unit, sometimes a random amount (often too much);
                // two at once, to two batches, for the same person.
                1 | 2 if !open_batches.is_empty() => {
                    let r = &selected[rng.random_range(0..selected.len())];
                    let (b, unit) = open_batches[rng.random_range(0..open_batches.len())];
                    let (other, other_unit) = open_batches[rng.random_range(0..open_batches.len())];
                    let mut amount = |unit: i64| {
                        if rng.random_bool(0.8) {
                            unit
                        } else {
                            rng.random_range(1..=30) * 100_000
                        }
                    };
                    let (a1, a2) = (amount(unit), amount(other_unit));
                    let body = |tag: &str, amount: i64| json!({"application": r, "amount": amount, "instrument": "transfer", "reference": format!("T-{seed}-{step}-{tag}")});
                    let (pa, pb) = (
                        format!("/api/v1/benefits/batches/{b}/payments"),
                        format!("/api/v1/benefits/batches/{other}/payments"),
                    );
                    let (x, y) = tokio::join!(
                        post(&s.maker, &app, &pa, body("a", a1)),
                        post(&s.officer, &app, &pb, body("b", a2))
                    );
                    for (st, v) in [x, y] {
                        assert!(st == 201 || st == 409, "step {step}: {st} {v}");
                    }
                }
                // Submit an open batch: a full one if there is one, else any (refused unless
                // its payments equal its control totals).
                3 if !open_batches.is_empty() => {
                    let mut pick = rng.random_range(0..open_batches.len());
                    for (i, (b, _)) in open_batches.iter().enumerate() {
                        let (_, batch) =
                            get(&s.maker, &app, &format!("/api/v1/benefits/batches/{b}")).await;
                        if batch["count"] == batch["control_count"]
                            && batch["total"] == batch["control_total"]
                        {
                            pick = i;
                            break;
                        }
                    }
                    let (b, _) = open_batches[pick];
                    let (_, batch) =
                        get(&s.maker, &app, &format!("/api/v1/benefits/batches/{b}")).await;
                    let exact = batch["count"] == batch["control_count"]
                        && batch["total"] == batch["control_total"];
                    let (st, _) = post(
                        &s.maker,
                        &app,
                        &format!("/api/v1/benefits/batches/{b}/submit"),
                        json!({}),
                    )
                    .await;
                    assert_eq!(st == 200, exact, "step {step}: submit {batch}");
                    if exact {
                        open_batches.remove(pick);
                        submitted.push(b);
                    }
                }
                // Two checkers decide a submitted batch at once: exactly one wins.
                4 if !submitted.is_empty() => {
                    let b = submitted.remove(rng.random_range(0..submitted.len()));
                    let reject = rng.random_bool(0.2);
                    let path = format!(
                        "/api/v1/benefits/batches/{b}/{}",
                        if reject { "reject" } else { "approve" }
                    );
                    let (x, y) = tokio::join!(
                        post(&s.checker, &app, &path, json!({"note": "random"})),
                        post(&s.other_checker, &app, &path, json!({"note": "random"}))
                    );
                    let mut codes = [x.0, y.0];
                    codes.sort();
                    assert_eq!(codes, [200, 409], "step {step}: {x:?} {y:?}");
                    if !reject {
                        let (_, batch) =
                            get(&s.maker, &app, &format!("/api/v1/benefits/batches/{b}")).await;
                        for p in batch["payments"].as_array().unwrap() {
                            approved_refs.push((
                                p["reference"].as_str().unwrap().to_owned(),
                                p["amount"].as_i64().unwrap(),
                            ));
                        }
                    }
                }
                // The bank's statement: some paid, some returned, some wrong.
                5 if !approved_refs.is_empty() => {
                    let mut st = String::from("reference,amount,status\n");
                    for (r, a) in &approved_refs {
                        match rng.random_range(0..4) {
                            0 => st += &format!("{r},{}.00,returned\n", a / 100),
                            1 => st += &format!("{r},{}.00,paid\n", a / 100 + 1),
                            2 => {}
                            _ => st += &format!("{r},{}.00,paid\n", a / 100),
                        }
                    }
                    let resp = s
                        .maker
                        .post(app.at(&format!("/api/v1/benefits/funds/{fund}/reconciliation")))
                        .header("content-type", "text/csv")
                        .body(st)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(resp.status(), 200, "step {step}");
                }
                _ => {}
            }
            check_invariants(&app, fund).await;
        }
        let disbursed: i64 = app
            .db
            .scalar(query(
                "SELECT COUNT(*) FROM benefit_ledger WHERE kind = 'payment'",
            ))
            .await
            .unwrap();
        eprintln!(
            "seed {seed}: {steps} steps, {disbursed} payments disbursed, {} approved",
            approved_refs.len()
        );
    }
);

on_both!(staff_work_a_grant_in_the_browser, |backend| async move {
    let app = spawn(backend).await;
    khidmat::packs::load(&app.db, &pack("web-grant", "lowest_income"), "test")
        .await
        .unwrap();
    app.add_user(
        "desk@minorities.kp.gov.pk",
        Role::Officer,
        Some("minority-affairs"),
        Some("peshawar"),
    )
    .await;
    app.add_user(
        "maker@minorities.kp.gov.pk",
        Role::Manager,
        Some("minority-affairs"),
        None,
    )
    .await;
    app.add_user(
        "checker@minorities.kp.gov.pk",
        Role::Manager,
        Some("minority-affairs"),
        None,
    )
    .await;
    let (desk, desk_csrf) = login(&app, "desk@minorities.kp.gov.pk").await;

    // The desk officer enters a walk-in applicant's form, with a photo of the document.
    let (st, html) = page(&desk, &app, "/benefits/web-grant").await;
    assert_eq!(st, 200);
    assert!(html.contains("data-steps"));
    let form = |district: &str, cnic: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", desk_csrf.clone())
            .text("cnic", cnic.to_owned())
            .text("name", "Walk-in Applicant")
            .text("gender", "female")
            .text("birth_date", "2001-01-01")
            .text("attribute[religion]", "hindu")
            .text("district", district.to_owned())
            .text("monthly_income", "20,000")
            .text("dependants", "2")
            .text("attribute[institution]", "Islamia College")
            .part(
                "document:enrolment",
                reqwest::multipart::Part::bytes(png(64, 48)).file_name("doc.png"),
            )
    };
    let r = desk
        .post(app.at("/benefits/web-grant/apply"))
        .multipart(form("swat", "17301-5555555-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        422,
        "a Peshawar officer enters Peshawar's applicants only"
    );
    let r = desk
        .post(app.at("/benefits/web-grant/apply"))
        .multipart(form("peshawar", "17301-5555555-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let slip = r.headers()["location"].to_str().unwrap().to_owned();
    let (st, html) = page(&desk, &app, &slip).await;
    assert_eq!(st, 200);
    assert!(
        html.contains("*****-*****55-2") && !html.contains("5555555"),
        "masked on the slip"
    );
    // The reference is `B-XXXX-XXXX`; "B-" may also occur inside it.
    let reference = html
        .match_indices("B-")
        .map(|(i, _)| &html[i..(i + 11).min(html.len())])
        .find(|r| {
            r.len() == 11
                && r.as_bytes()[6] == b'-'
                && r[2..6]
                    .bytes()
                    .chain(r[7..].bytes())
                    .all(|b| b.is_ascii_alphanumeric())
        })
        .unwrap()
        .to_owned();
    let (channel, docs): (String, i64) = app
        .db
        .fetch_one(query("SELECT channel, (SELECT COUNT(*) FROM benefit_documents d WHERE d.application_id = a.id) FROM benefit_applications a WHERE reference = $1").bind(&reference))
        .await
        .unwrap();
    assert_eq!((channel.as_str(), docs), ("staff", 1));
    // The document's photo is for the department's staff only, never at the public /photos/.
    let (doc_id, sha): (i64, String) = app
        .db
        .fetch_one(query(
            "SELECT d.id, p.sha256 FROM benefit_documents d JOIN photos p ON p.id = d.photo_id",
        ))
        .await
        .unwrap();
    let r = desk
        .get(app.at(&format!("/staff/benefits/documents/{doc_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert_eq!(r.headers()["cache-control"], "private, no-store");
    let r = browser()
        .get(app.at(&format!("/staff/benefits/documents/{doc_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "to the login page");
    assert_eq!(app.get(&format!("/photos/{sha}.jpg")).await.status(), 404);
    // A document brought later, added on the application's page.
    let later = reqwest::multipart::Form::new()
        .text("csrf", desk_csrf.clone())
        .text("kind", "enrolment")
        .part(
            "file",
            reqwest::multipart::Part::bytes(png(64, 48)).file_name("later.png"),
        );
    let r = desk
        .post(app.at(&format!(
            "/staff/benefits/applications/{reference}/documents"
        )))
        .multipart(later)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(app.count("benefit_documents").await, 2);

    // The same form again: the CNIC has applied.
    let r = desk
        .post(app.at("/benefits/web-grant/apply"))
        .multipart(form("peshawar", "17301-5555555-2"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already applied"));

    // Verification on the application's page; a form without its token changes nothing.
    let (st, html) = page(&desk, &app, "/staff/benefits/web-grant").await;
    assert_eq!(st, 200);
    assert!(html.contains(&reference));
    let path = format!("/staff/benefits/applications/{reference}");
    let r = desk
        .post(app.at(&path))
        .form(&[("decision", "verify")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = desk
        .post(app.at(&path))
        .form(&[("csrf", desk_csrf.as_str()), ("decision", "verify")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&desk, &app, &path).await;
    assert!(html.contains("17301-5555555-2"), "staff see the whole CNIC");
    assert!(
        html.contains("benefit.verified"),
        "the history shows the verification"
    );

    // The manager closes the window, selects, and makes a batch; the checker approves it.
    let (maker, maker_csrf) = login(&app, "maker@minorities.kp.gov.pk").await;
    close_window(&maker, &app, "web-grant").await;
    let action = |b: &reqwest::Client, csrf: &str, path: &str, pairs: &[(&str, &str)]| {
        let mut form: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        form.push(("csrf".into(), csrf.to_owned()));
        b.post(app.at(path)).form(&form).send()
    };
    let r = action(
        &desk,
        &desk_csrf,
        "/staff/benefits/web-grant/action",
        &[("action", "select")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403, "an officer does not select");
    let r = action(
        &maker,
        &maker_csrf,
        "/staff/benefits/web-grant/action",
        &[("action", "select")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let r = action(
        &maker,
        &maker_csrf,
        "/staff/benefits/web-grant/action",
        &[
            ("action", "batch"),
            ("control_count", "1"),
            ("control_total", "25,000"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let batch = r.headers()["location"].to_str().unwrap().to_owned();
    let r = action(
        &maker,
        &maker_csrf,
        &batch,
        &[
            ("action", "add"),
            ("application", &reference),
            ("amount", "25000"),
            ("instrument", "cheque"),
            ("reference", "CHQ-778899"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 303);
    let r = action(&maker, &maker_csrf, &batch, &[("action", "submit")])
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = action(&maker, &maker_csrf, &batch, &[("action", "approve")])
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "not the maker");
    let (checker, checker_csrf) = login(&app, "checker@minorities.kp.gov.pk").await;
    let r = action(&checker, &checker_csrf, &batch, &[("action", "approve")])
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, html) = page(&checker, &app, &batch).await;
    assert!(html.contains("advice.csv"));
    let id = batch.rsplit('/').next().unwrap();
    let advice = checker
        .get(app.at(&format!("/api/v1/benefits/batches/{id}/advice.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(advice.status(), 200);
    assert!(advice.text().await.unwrap().contains("CHQ-778899"));
    let advice = desk
        .get(app.at(&format!("/api/v1/benefits/batches/{id}/advice.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        advice.status(),
        403,
        "one district's officer does not get every payee's CNIC"
    );

    // The bank's statement, uploaded on the fund's page.
    let statement = "reference,amount\nCHQ-778899,25000.00\nCHQ-000001,10.00\n";
    let form = reqwest::multipart::Form::new()
        .text("csrf", maker_csrf.clone())
        .part(
            "statement",
            reqwest::multipart::Part::bytes(statement.as_bytes().to_vec())
                .file_name("statement.csv"),
        );
    let r = maker
        .post(app.at("/staff/benefits/web-grant/reconciliation"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Confirmed: 1") && html.contains("CHQ-000001"),
        "{html}"
    );
    check_invariants(&app, "web-grant").await;
});

on_both!(
    a_refused_application_keeps_its_documents_for_the_next_try,
    |backend| async move {
        let app = spawn(backend).await;
        khidmat::packs::load(&app.db, &pack("web-grant", "lowest_income"), "test")
            .await
            .unwrap();
        let b = browser();
        let (_, html) = page(&b, &app, "/benefits/web-grant").await;
        let csrf = hidden(&html, "csrf");
        assert!(
            html.contains("data-cnic") && html.contains("odd"),
            "the CNIC rules are served to the page: {}",
            &html[html.find("data-cnic").unwrap_or(0)..][..300]
        );
        let form = |cnic: &str| {
            reqwest::multipart::Form::new()
                .text("csrf", csrf.clone())
                .text("cnic", cnic.to_owned())
                .text("name", "Applicant On 2G")
                .text("gender", "female")
                .text("birth_date", "2001-01-01")
                .text("attribute[religion]", "hindu")
                .text("district", "peshawar")
                .text("monthly_income", "20,000")
                .text("dependants", "2")
                .text("attribute[institution]", "Islamia College")
        };
        let document = png(64, 48);
        // A CNIC ending in an odd digit is a man's: refused, with the photo kept.
        let r = b
            .post(app.at("/benefits/web-grant/apply"))
            .multipart(form("17301-5555555-1").part(
                "document:enrolment",
                reqwest::multipart::Part::bytes(document.clone()).file_name("doc.png"),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let refused = r.text().await.unwrap();
        let token = hidden(&refused, "staged:enrolment");
        assert!(token.len() >= 32, "a random token: {token}");
        assert!(refused.contains("kept"), "the citizen is told it is kept");
        assert!(
            !refused.contains(r#"name="document:enrolment" type="file" accept="image/*" data-shrink="1800" required"#),
            "the file is no longer required"
        );
        assert_eq!(app.count("benefit_applications").await, 0);

        // Corrected and sent again without the file: it succeeds with the kept document.
        let r = b
            .post(app.at("/benefits/web-grant/apply"))
            .multipart(form("17301-5555555-2").text("staged:enrolment", token.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(app.count("benefit_applications").await, 1);
        let (n, bytes): (i64, i64) = app
            .db
            .fetch_one(query(
                "SELECT COUNT(*), MAX(p.bytes) FROM benefit_documents d JOIN photos p ON p.id = d.photo_id",
            ))
            .await
            .unwrap();
        assert_eq!(n, 1, "the kept document is the application's");
        assert!(bytes > 0);
        // A token is for the area it was made in (it does not open a photo of a report), and
        // a made-up one stands for nothing.
        let store = khidmat::platform::files::Store::Dir(app.data_dir.clone());
        for (area, t) in [
            (khidmat::platform::files::Area::Photos, token.as_str()),
            (
                khidmat::platform::files::Area::Documents,
                "0123456789abcdef0123456789abcdef",
            ),
            (khidmat::platform::files::Area::Documents, "' OR 1=1 --"),
        ] {
            assert!(khidmat::platform::files::staged(&app.db, &store, area, t)
                .await
                .unwrap()
                .is_none());
        }
        assert!(
            khidmat::platform::files::staged(
                &app.db,
                &store,
                khidmat::platform::files::Area::Documents,
                &token
            )
            .await
            .unwrap()
            .is_some(),
            "the real token, in its area, does"
        );

        // A day later, a document no form used is gone from the store; the one the
        // application holds stays.
        let r = b
            .post(app.at("/benefits/web-grant/apply"))
            .multipart(form("17301-5555555-1").part(
                "document:enrolment",
                reqwest::multipart::Part::bytes(png(65, 49)).file_name("other.png"),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let abandoned = hidden(&r.text().await.unwrap(), "staged:enrolment");
        let (sha, used_sha): (String, String) = app
            .db
            .fetch_one(
                query(
                    "SELECT (SELECT sha256 FROM staged_files WHERE token = $1), \
                     (SELECT sha256 FROM staged_files WHERE token = $2)",
                )
                .bind(&abandoned)
                .bind(&token),
            )
            .await
            .unwrap();
        let docs = khidmat::platform::files::Area::Documents;
        assert!(store.get(docs, &sha, "image/jpeg").await.unwrap().is_some());
        app.db
            .execute(
                query("UPDATE staged_files SET created_at = $1")
                    .bind(chrono::Utc::now() - chrono::Duration::days(2)),
            )
            .await
            .unwrap();
        // (the next document staged sweeps the old ones)
        let r = b
            .post(app.at("/benefits/web-grant/apply"))
            .multipart(form("17301-5555555-1").part(
                "document:enrolment",
                reqwest::multipart::Part::bytes(png(66, 50)).file_name("third.png"),
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(
            store.get(docs, &sha, "image/jpeg").await.unwrap().is_none(),
            "the abandoned document is removed"
        );
        assert!(
            store
                .get(docs, &used_sha, "image/jpeg")
                .await
                .unwrap()
                .is_some(),
            "the application's document stays"
        );
        assert!(
            khidmat::platform::files::staged(&app.db, &store, docs, &abandoned)
                .await
                .unwrap()
                .is_none()
        );
    }
);

// A citizen's application sent again from the phone's outbox, with the idempotency key the form
// carries (the first answer lost on 2G), gets its first slip back rather than "already applied";
// the same key with another application is refused; one application is filed.
on_both!(
    an_application_sent_again_with_its_key_gets_its_first_slip,
    |backend| async move {
        let app = spawn(backend).await;
        khidmat::packs::load(&app.db, &pack("web-grant", "lowest_income"), "test")
            .await
            .unwrap();
        let b = browser();
        let (status, html) = page(&b, &app, "/benefits/web-grant").await;
        assert_eq!(status, 200);
        assert_eq!(
            hidden(&html, "idempotency_key").len(),
            32,
            "the form carries a key"
        );
        let csrf = hidden(&html, "csrf");
        // Sent again with its idempotency key (a phone's outbox whose first answer was lost): the
        // first slip, not "already applied"; the key with another form is refused; one application.
        let keyed = |cnic: &str, key: &str| {
            reqwest::multipart::Form::new()
                .text("csrf", csrf.clone())
                .text("idempotency_key", key.to_owned())
                .text("cnic", cnic.to_owned())
                .text("name", "Walk-in Applicant")
                .text("gender", "female")
                .text("birth_date", "01-01-2001")
                .text("attribute[religion]", "hindu")
                .text("district", "peshawar")
                .text("monthly_income", "20,000")
                // Typed on an Urdu keyboard: read as 2.
                .text("dependants", "۲")
                .text("attribute[institution]", "Islamia College")
                .part(
                    "document:enrolment",
                    reqwest::multipart::Part::bytes(png(64, 48)).file_name("doc.png"),
                )
        };
        let mut slips = Vec::new();
        for _ in 0..2 {
            let r = b
                .post(app.at("/benefits/web-grant/apply"))
                .multipart(keyed("17301-5555556-4", "outbox-key-1"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            slips.push(r.headers()["location"].to_str().unwrap().to_owned());
        }
        assert_eq!(slips[0], slips[1], "the same slip");
        let dependants: i64 = app
            .db
            .scalar(query("SELECT dependants FROM benefit_applications"))
            .await
            .unwrap();
        assert_eq!(dependants, 2);
        let r = b
            .post(app.at("/benefits/web-grant/apply"))
            .multipart(keyed("17301-5555558-6", "outbox-key-1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "one key, another application");
        assert_eq!(
        app.count("benefit_applications a JOIN benefit_applicants p ON p.id = a.applicant_id WHERE p.cnic IN ('1730155555564', '1730155555586')")
            .await,
        1
    );
    }
);
