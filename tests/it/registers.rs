//! Registers: lookups on the web, the API, SMS and USSD answered from public fields only (every
//! answer is searched for the fields that must never appear), the per-key limit, a CSV import
//! that replaces the data at once or changes nothing, and a staff update of one row. On both
//! stores.

use std::process::Command;

use khidmat::platform::db::query;
use serde_json::{json, Value};

use crate::helpers::*;
use crate::{both, on_both};

const SECRET: &str = "gateway-secret-for-tests";
const PHONE: &str = "+923001234567";
/// A demo licence (packs/kp-traffic-registers.toml) and what must never be shown of it.
const CNIC: &str = "11052-2352142-5";
const LICENCE: &str = "KHT-345354";
const NEVER: [&str; 5] = ["Imran", "Yousafzai", "11052", "2352142", "ABT-3390"];

fn assert_nothing_private(answer: &str) {
    for word in NEVER {
        assert!(!answer.contains(word), "{word:?} leaked in {answer}");
    }
}

async fn app(backend: Backend, per_key: u32) -> TestApp {
    spawn_with(backend, |c| {
        c.channel_secret = Some(SECRET.into());
        c.register_lookups_per_key_per_minute = per_key;
    })
    .await
}

async fn api(app: &TestApp, register: &str, key: &str, lang: &str) -> (u16, Value) {
    let q = serde_urlencoded::to_string([("key", key), ("locale", lang)]).unwrap();
    let resp = app
        .get(&format!("/api/v1/registers/{register}/lookup?{q}"))
        .await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn sms_reply(app: &TestApp, id: &str, text: &str) -> String {
    let resp = app
        .client
        .post(app.at(&format!("/channels/africastalking/sms?key={SECRET}")))
        .form(&[
            ("from", PHONE),
            ("to", "8311"),
            ("text", text),
            ("date", "2026-11-26 10:00:00"),
            ("id", id),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let rows: Vec<(String,)> = app
        .db
        .fetch_all(
            query("SELECT body FROM sms_outbox WHERE phone = $1 ORDER BY id DESC").bind(PHONE),
        )
        .await
        .unwrap();
    rows.first().map(|r| r.0.clone()).unwrap_or_default()
}

async fn ussd(app: &TestApp, session: &str, inputs: &[&str]) -> String {
    let resp = app
        .client
        .post(app.at(&format!("/channels/africastalking/ussd?key={SECRET}")))
        .form(&[
            ("sessionId", session),
            ("serviceCode", "*384*311#"),
            ("phoneNumber", PHONE),
            ("text", &inputs.join("*")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.text().await.unwrap()
}

on_both!(
    lookups_answer_on_every_channel_from_public_fields_only,
    |backend| async move {
        let app = app(backend, 0).await;
        let mut answers = String::new();

        let list = app.get_json("/api/v1/registers").await;
        let codes: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, vec!["challan", "licence"]);
        assert_eq!(list[1]["keys"][1]["example"], "PSH-123456");

        // The API, by CNIC and by licence number (as people type it).
        let (status, a) = api(&app, "licence", CNIC, "en").await;
        assert_eq!(status, 200, "{a}");
        let text = a["answer"].as_str().unwrap();
        assert!(text.starts_with("Licence KHT-345354 (public service vehicle) of I. Y., Kohat: issued 2025-11-17, expires 2030-11-17: valid."), "{text}");
        answers.push_str(&a.to_string());
        let (status, b) = api(&app, "licence", "kht 345354", "en").await;
        assert_eq!((status, &b["answer"]), (200, &a["answer"]));
        answers.push_str(&b.to_string());
        // Typed on an Urdu keyboard (and pasted with direction marks): the same answer.
        let urdu = |s: &str| -> String {
            s.chars()
                .map(|c| match c.to_digit(10) {
                    Some(d) => char::from_u32(0x06F0 + d).unwrap(),
                    None => c,
                })
                .collect()
        };
        for typed in [urdu(CNIC), format!("\u{200E}{}\u{200F}", urdu(LICENCE))] {
            let (status, u) = api(&app, "licence", &typed, "en").await;
            assert_eq!((status, &u["answer"]), (200, &a["answer"]), "{typed}");
        }
        // Unknown: the declared answer, in the caller's language. Malformed: the formats.
        let (status, n) = api(&app, "licence", "17301-1234567-1", "ur").await;
        assert_eq!(status, 404);
        assert_eq!(n["found"], false);
        assert!(n["answer"]
            .as_str()
            .unwrap()
            .contains("کوئی ڈرائیونگ لائسنس نہیں ملا"));
        // A key in none of the register's formats names nothing: 404, the answer saying them.
        let (status, m) = api(&app, "licence", "12+", "en").await;
        assert_eq!(status, 404);
        assert_eq!(m["found"], false);
        let formats = m["answer"].as_str().unwrap();
        assert!(
            formats.contains("17301-1234567-1") && formats.contains("PSH-123456"),
            "{m}"
        );
        assert_eq!(
            app.get("/api/v1/registers/nothing/lookup?key=1")
                .await
                .status(),
            404
        );
        let (status, c) = api(&app, "challan", "390103103", "en").await;
        assert_eq!(status, 200);
        assert_eq!(
            c["answer"],
            "E-challan 390103103 of 2026-05-08, Abbottabad, Without licence: Rs 1,000, unpaid."
        );
        answers.push_str(&c.to_string());
        // An unpaid challan says how and where to pay, with the fine schedule linked; a paid
        // one does not.
        assert_eq!(c["next_steps"][0]["link"], "/info/fine-schedule", "{c}");
        assert!(c["next_steps"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Bank of Khyber"));
        let (_, paid) = api(&app, "challan", "540284094", "en").await;
        assert_eq!(paid["fields"][5]["value"], "paid", "{paid}");
        assert_eq!(paid["next_steps"], json!([]));
        // In Urdu every value a citizen reads is Urdu: the district's name and the offence from
        // the pack's three-language names, not the stored slug or English.
        let (_, u) = api(&app, "challan", "390103103", "ur").await;
        let urdu_answer = u["answer"].as_str().unwrap();
        assert!(
            urdu_answer.contains("ایبٹ آباد") && urdu_answer.contains("بغیر لائسنس"),
            "{urdu_answer}"
        );
        assert!(
            !urdu_answer.contains("abbottabad") && !urdu_answer.contains("Without"),
            "{urdu_answer}"
        );
        assert!(u["next_steps"][0]["text"]
            .as_str()
            .unwrap()
            .contains("بینک آف خیبر"));
        let (status, html) = page(
            &browser(),
            &app,
            "/registers/challan/check?key=390103103&locale=ur",
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            html.contains(r#"<a href="/info/fine-schedule">ہر خلاف ورزی کا جرمانہ</a>"#),
            "the fine schedule is linked under the answer: {html}"
        );

        // The web form (a POST: the CNIC is not shown back); the link for a licence number, with its QR.
        let b = browser();
        let (status, html) = page(&b, &app, "/registers/licence").await;
        assert_eq!(status, 200);
        let csrf = hidden(&html, "csrf");
        let resp = b
            .post(app.at("/registers/licence"))
            .form(&[("csrf", csrf.as_str()), ("key", CNIC)])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let html = resp.text().await.unwrap();
        assert!(html.contains(r#"data-found="true""#) && html.contains(LICENCE));
        assert!(!html.contains("class=\"qr\""), "no link is made for a CNIC");
        answers.push_str(&html);
        let resp = b
            .post(app.at("/registers/licence"))
            .form(&[("csrf", csrf.as_str()), ("key", LICENCE)])
            .send()
            .await
            .unwrap();
        let html = resp.text().await.unwrap();
        assert!(
            html.contains("class=\"qr\""),
            "a licence number gets a QR code to its check"
        );
        answers.push_str(&html);
        let (status, html) = page(
            &b,
            &app,
            &format!("/registers/licence/check?key={LICENCE}&locale=ps"),
        )
        .await;
        assert_eq!(status, 200);
        assert!(html.contains("معتبر"), "valid, in Pashto");
        answers.push_str(&html);
        let (status, html) = page(&b, &app, &format!("/registers/licence/check?key={CNIC}")).await;
        assert_eq!(status, 400);
        assert!(html.contains("never in a link"));
        let (status, html) = page(&b, &app, "/registers/challan/check?key=12").await;
        assert_eq!(status, 400);
        assert!(html.contains("123456789"), "the expected format: {html}");

        // SMS, in the keyword's language.
        let reply = sms_reply(&app, "m1", &format!("LICENCE {CNIC}")).await;
        assert!(
            reply.contains(LICENCE) && reply.contains("valid"),
            "{reply}"
        );
        answers.push_str(&reply);
        let reply = sms_reply(&app, "m2", "چالان 390103103").await;
        assert!(reply.contains("غیر ادا شدہ"), "{reply}");
        answers.push_str(&reply);
        let reply = sms_reply(&app, "m3", "CHALLAN").await;
        assert!(reply.contains("CHALLAN 17301"), "how to ask: {reply}");

        // USSD: after the departments, "Check: Driving licence".
        assert!(
            ussd(&app, "u1", &[]).await.starts_with("CON"),
            "the session starts"
        );
        let mut inputs: Vec<String> = vec!["1".into()];
        let mut screen = ussd(
            &app,
            "u1",
            &inputs.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        let number = loop {
            if let Some(n) = screen
                .lines()
                .find(|l| l.contains("Check: Driving licence"))
                .and_then(|l| l.split(' ').next())
            {
                break n.to_owned();
            }
            assert!(
                screen.contains("0 "),
                "paged to the end without the register: {screen}"
            );
            inputs.push("0".into());
            screen = ussd(
                &app,
                "u1",
                &inputs.iter().map(String::as_str).collect::<Vec<_>>(),
            )
            .await;
        };
        inputs.push(number);
        let ask = ussd(
            &app,
            "u1",
            &inputs.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        assert!(
            ask.starts_with("CON") && ask.contains("type the number"),
            "{ask}"
        );
        inputs.push(LICENCE.into());
        let end = ussd(
            &app,
            "u1",
            &inputs.iter().map(String::as_str).collect::<Vec<_>>(),
        )
        .await;
        assert!(end.starts_with("END") && end.contains(LICENCE), "{end}");
        answers.push_str(&end);

        assert_nothing_private(&answers);
        // Every lookup was an impact event, with the register's minutes; the SMS and USSD ones
        // count their caller.
        let lookups = app.count("impact_events WHERE service = 'registers'").await;
        assert_eq!(
            lookups, 15,
            "malformed keys and refused links are not lookups (the two typed in Urdu digits are, and the three challan checks of the payment steps)"
        );
        assert_eq!(
            app.count("impact_events WHERE service = 'registers' AND citizen IS NOT NULL")
                .await,
            3
        );
        assert_eq!(
        app.count("impact_events WHERE service = 'registers' AND code = 'licence' AND minutes_saved = 90").await,
        10
    );
    }
);

on_both!(a_key_is_limited_whoever_asks, |backend| async move {
    let app = app(backend, 3).await;
    for _ in 0..3 {
        assert_eq!(api(&app, "licence", CNIC, "en").await.0, 200);
    }
    let resp = app
        .get(&format!("/api/v1/registers/licence/lookup?key={CNIC}"))
        .await;
    assert_eq!(resp.status(), 429);
    assert!(resp.text().await.unwrap().contains("60 seconds"));
    // The same person written another way is the same key; another key is not limited.
    assert_eq!(api(&app, "licence", "1105223521425", "en").await.0, 429);
    assert_eq!(api(&app, "licence", LICENCE, "en").await.0, 200);
});

fn import(app: &TestApp, register: &str, csv: &str) -> (bool, String, String) {
    let file = app.data_dir.join(format!("{register}.csv"));
    std::fs::write(&file, csv).unwrap();
    let mut cmd = Command::new(khidmat_bin());
    cmd.arg("--data-dir").arg(&app.data_dir);
    if let Some(u) = &app.database_url {
        cmd.args(["--database-url", u]);
    }
    let out = cmd
        .args(["register", "import", register])
        .arg(&file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

both!(
    an_import_replaces_the_data_at_once_or_changes_nothing,
    |app| async move {
        // Wrong columns: refused whole, the demo data stays.
        let (ok, _, err) = import(
            &app,
            "challan",
            "challan_no,date,amount\n111111111,2026-11-01,500\n",
        );
        assert!(!ok);
        assert!(
            err.contains("missing challan_date, district, offence, status, vehicle_no")
                && err.contains("unknown date"),
            "{err}"
        );
        assert_eq!(api(&app, "challan", "390103103", "en").await.0, 200);
        // A good file with a bad row and a repeated number: those are listed, the rest replace the old data.
        let csv = "challan_no,challan_date,district,offence,amount,status,vehicle_no\n\
               111111111,2026-11-01,peshawar,Wrong parking,300,unpaid,PSH-1\n\
               222222222,2026-11-02,swat,Without helmet,\"1,500\",paid,SWT-2\n\
               333333333,01/11/2026,swat,Without helmet,500,paid,SWT-3\n\
               111111111,2026-11-03,mardan,Over-speeding,750,unpaid,MRD-4\n";
        let (ok, out, err) = import(&app, "challan", csv);
        assert!(ok, "{err}");
        assert!(
            out.contains("version 2 in force, 2 rows; rejected 2 rows"),
            "{out}"
        );
        assert!(
            out.contains("line 4: challan_date: a date is YYYY-MM-DD")
                && out.contains("line 5: challan_no repeats"),
            "{out}"
        );
        assert_eq!(
            api(&app, "challan", "390103103", "en").await.0,
            404,
            "the old version is gone"
        );
        let (status, a) = api(&app, "challan", "222222222", "en").await;
        assert_eq!(status, 200);
        assert!(a["answer"].as_str().unwrap().contains("Rs 1,500, paid"));
        assert_eq!(
            app.count("register_rows WHERE register = 'challan'").await,
            2
        );
        assert_eq!(
            app.count("audit_log WHERE action = 'register.imported'")
                .await,
            1
        );
    }
);

both!(staff_record_a_payment_on_one_row, |app| async move {
    let traffic = app.department_key("kp-traffic-police").await;
    let pesco = app.department_key("pesco").await;
    let body = json!({"fields": {"challan_no": "390103103", "status": "paid"}});
    let resp = app
        .staff_post("/api/v1/registers/challan/rows", &pesco, &body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405, "rows are PUT");
    let put = |key: &str, body: &Value| {
        app.client
            .put(app.at("/api/v1/registers/challan/rows"))
            .bearer_auth(key)
            .json(body)
            .send()
    };
    assert_eq!(
        put(&pesco, &body).await.unwrap().status(),
        404,
        "another department's register"
    );
    let r = put(
        &traffic,
        &json!({"fields": {"challan_no": "390103103", "status": "maybe"}}),
    )
    .await
    .unwrap();
    assert_eq!(
        r.status(),
        409,
        "well-formed, but not a value the column takes"
    );
    assert!(r.text().await.unwrap().contains("one of paid, unpaid"));
    let r = put(&traffic, &body).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["created"], false);
    let (_, a) = api(&app, "challan", "390103103", "en").await;
    assert!(
        a["answer"].as_str().unwrap().ends_with("Rs 1,000, paid."),
        "{a}"
    );
    // A new challan needs every column.
    let r = put(
        &traffic,
        &json!({"fields": {"challan_no": "444444444", "status": "unpaid"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409);
    let r = put(&traffic, &json!({"fields": {"challan_no": "444444444", "challan_date": "2026-11-20", "district": "peshawar",
        "offence": "Wrong parking", "amount": "300", "status": "unpaid", "vehicle_no": "PSH-9"}})).await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["created"], true);
    assert_eq!(api(&app, "challan", "444444444", "en").await.0, 200);
    assert_eq!(
        app.count("audit_log WHERE action LIKE 'register.row_%'")
            .await,
        2
    );
    assert_eq!(
        app.client
            .put(app.at("/api/v1/registers/challan/rows"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
});

both!(
    information_pages_are_searchable_in_three_languages,
    |app| async move {
        let b = browser();
        let (status, html) = page(&b, &app, "/info").await;
        assert_eq!(status, 200);
        for code in [
            "fine-schedule",
            "licence-procedure",
            "traffic-signs",
            "emergency-numbers",
        ] {
            assert!(html.contains(&format!("/info/{code}")), "{code}");
        }
        let (_, html) = page(&b, &app, "/info?q=HELMET").await;
        assert!(
            html.contains("Riding without a helmet · 500 · — · — · — · — · —"),
            "the matching row: {html}"
        );
        assert!(!html.contains("/info/emergency-numbers"));
        let (_, html) = page(&b, &app, "/info?q=%DB%81%DB%8C%D9%84%D9%85%D9%B9&locale=ur").await;
        assert!(
            html.contains("ہیلمٹ کے بغیر موٹر سائیکل چلانا · 500"),
            "an Urdu search, in Urdu: {html}"
        );
        let (_, html) = page(&b, &app, "/info?q=zzzz").await;
        assert!(html.contains("Nothing matches"));
        let (_, html) = page(&b, &app, "/info/traffic-signs?locale=ps").await;
        assert_eq!(html.matches(r#"<svg class="sign""#).count(), 12);
        assert!(html.contains("ودرېږئ"), "Pashto names");
        let (_, html) = page(&b, &app, "/info/emergency-numbers").await;
        assert!(html.contains("1122") && html.contains("/places?kind=emergency-contact"));
        assert_eq!(page(&b, &app, "/info/nothing").await.0, 404);
        // A pack that names a sign we cannot draw is refused whole.
        let bad = r#"
[pack]
name = "bad-signs"
version = 1
[[content.page]]
code = "signs"
department = "kp-traffic-police"
title = { en = "Signs" }
[[content.page.item]]
title = { en = "Mystery" }
sign = "<script>"
"#;
        let err = khidmat::packs::load(&app.db, bad, "test")
            .await
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("there is no picture \"<script>\""),
            "{err:#}"
        );
    }
);
