//! Department administration: a department's manager invites staff (never granting more than
//! they hold), keeps API keys, adds a reporting service with an Urdu list question that shows at
//! once on the home page, in Open311 and in the USSD menu, exports and re-imports the
//! configuration with a preview (refused when it would take away answers in use), and watches
//! the hand-over checks turn green; platform administrators see the health page. On both stores.

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;

use crate::helpers::*;
use crate::on_both;

const SECRET: &str = "gateway-secret-for-tests";

/// The last e-mailed link to set a password, for `email`.
async fn password_link(app: &TestApp, email: &str) -> String {
    let body = app.mail_to(email).await;
    let at = body.find("/staff/password/").expect("a link");
    body[at..].split_whitespace().next().unwrap().to_owned()
}

/// A form of the PESCO administration page: its token, the department, and `extra`.
const WA_SECRET: &str = "whatsapp-app-secret-for-tests";

fn form<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("csrf", csrf), ("department", "pesco")];
    v.extend_from_slice(extra);
    v
}

fn ok(html: &str, check: &str) -> bool {
    html.contains(&format!(r#"data-check="{check}" data-ok="true""#))
}

on_both!(
    a_department_runs_its_own_configuration,
    |backend| async move {
        let app = spawn_with(backend, |c| {
            c.channel_secret = Some(SECRET.into());
            c.sms_gateway = "smssync".into();
            // WhatsApp on (its replies are only read from the outbox here).
            c.whatsapp_phone_number_id = Some("1".into());
            c.whatsapp_access_token = Some("t".into());
            c.whatsapp_app_secret = Some(WA_SECRET.into());
            c.whatsapp_verify_token = Some("v".into());
            c.whatsapp_api_base = "http://127.0.0.1:9/v21.0".into();
        })
        .await;
        app.add_user("sp@pesco.gov.pk", Role::Manager, Some("pesco"), None)
            .await;
        app.add_user("lineman@pesco.gov.pk", Role::Officer, Some("pesco"), None)
            .await;
        app.add_user("root@khidmat.pk", Role::Admin, None, None)
            .await;
        app.add_user("sp@wssp.gov.pk", Role::Manager, Some("wssp"), None)
            .await;
        let (m, mc) = login(&app, "sp@pesco.gov.pk").await;
        let (o, _) = login(&app, "lineman@pesco.gov.pk").await;
        let (root, _) = login(&app, "root@khidmat.pk").await;
        let (w, _) = login(&app, "sp@wssp.gov.pk").await;

        // Officers administer nothing; a manager sees their own department only.
        assert_eq!(page(&o, &app, "/staff/admin").await.0, 404);
        let (status, start) = page(&m, &app, "/staff/admin").await;
        assert_eq!(status, 200);
        assert!(
            start.contains("PESCO") || start.contains("Peshawar Electric"),
            "{start}"
        );
        assert!(
            !ok(&start, "maintainer")
                && !ok(&start, "administrators")
                && !ok(&start, "backup")
                && !ok(&start, "trained")
        );
        assert!(
            ok(&start, "gateway")
                && ok(&start, "staffed")
                && ok(&start, "overdue")
                && ok(&start, "translations"),
            "{start}"
        );
        let (_, theirs) = page(&m, &app, "/staff/admin?department=wssp").await;
        assert!(
            !theirs.contains(r#"value="wssp""#),
            "a manager's own department, whatever is asked"
        );

        // Users: an invitation by e-mailed link; nobody grants more than they hold.
        let (status, _) = submit(
            &m,
            &app,
            "/staff/admin/users",
            &form(
                &mc,
                &[
                    ("name", "Root Two"),
                    ("email", "root2@pesco.gov.pk"),
                    ("role", "admin"),
                    ("district", ""),
                ],
            ),
        )
        .await;
        assert_eq!(
            status, 403,
            "a department manager cannot make a platform administrator"
        );
        let (status, _) = submit(
            &m,
            &app,
            "/staff/admin/users",
            &form(
                &mc,
                &[
                    ("name", "Nasreen Bibi"),
                    ("email", "nasreen@pesco.gov.pk"),
                    ("role", "manager"),
                    ("district", ""),
                ],
            ),
        )
        .await;
        assert_eq!(status, 303);
        let link = password_link(&app, "nasreen@pesco.gov.pk").await;
        let b = browser();
        let (status, set) = page(&b, &app, &link).await;
        assert_eq!(status, 200);
        assert!(set.contains("Nasreen Bibi"));
        let csrf = hidden(&set, "csrf");
        assert_eq!(
            submit(&b, &app, &link, &[("csrf", &csrf), ("password", "short")])
                .await
                .0,
            422
        );
        assert_eq!(
            submit(
                &b,
                &app,
                &link,
                &[("csrf", &csrf), ("password", "a long enough password")]
            )
            .await
            .0,
            303
        );
        assert_eq!(page(&b, &app, &link).await.0, 404, "a link serves once");
        let (n, _) = login(&app, "nasreen@pesco.gov.pk").await;
        assert_eq!(page(&n, &app, "/staff/admin").await.0, 200);
        let officer: i64 = app
            .db
            .scalar(query(
                "SELECT id FROM users WHERE email = 'lineman@pesco.gov.pk'",
            ))
            .await
            .unwrap();
        let wssp: i64 = app
            .db
            .scalar(query("SELECT id FROM users WHERE email = 'sp@wssp.gov.pk'"))
            .await
            .unwrap();
        let me: i64 = app
            .db
            .scalar(query(
                "SELECT id FROM users WHERE email = 'sp@pesco.gov.pk'",
            ))
            .await
            .unwrap();
        let (status, _) = submit(
            &m,
            &app,
            &format!("/staff/admin/users/{officer}"),
            &form(
                &mc,
                &[("role", "admin"), ("district", ""), ("active", "on")],
            ),
        )
        .await;
        assert_eq!(status, 403, "nor promote anyone to one");
        let (status, _) = submit(
            &m,
            &app,
            &format!("/staff/admin/users/{wssp}"),
            &form(
                &mc,
                &[("role", "officer"), ("district", ""), ("active", "on")],
            ),
        )
        .await;
        assert_eq!(status, 404, "another department's user");
        let (status, _) = submit(
            &m,
            &app,
            &format!("/staff/admin/users/{me}"),
            &form(&mc, &[("role", "manager"), ("district", "")]),
        )
        .await;
        assert_eq!(status, 400, "not oneself");
        let (status, _) = submit(
            &m,
            &app,
            &format!("/staff/admin/users/{officer}"),
            &form(
                &mc,
                &[("role", "officer"), ("district", "swat"), ("active", "on")],
            ),
        )
        .await;
        assert_eq!(status, 303);
        let district: Option<String> = app
            .db
            .scalar(query("SELECT district FROM users WHERE id = $1").bind(officer))
            .await
            .unwrap();
        assert_eq!(district.as_deref(), Some("swat"));
        let (status, _) = submit(
            &m,
            &app,
            &format!("/staff/admin/users/{officer}"),
            &form(&mc, &[("role", "officer"), ("district", "swat")]),
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(
            page(&o, &app, "/staff").await.0,
            303,
            "disabled: the session has ended"
        );
        assert_eq!(app.count("audit_log WHERE action = 'user.update'").await, 2);

        // API keys: shown once, last use recorded, revoked at once.
        let (status, body) = submit(
            &m,
            &app,
            "/staff/admin/keys",
            &form(&mc, &[("name", "Billing system")]),
        )
        .await;
        assert_eq!(status, 200);
        let key = body
            .split("<code dir=\"ltr\">")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned();
        assert!(key.starts_with("kh_"));
        assert_eq!(app.staff_status("/api/v1/reports", &key).await, 200);
        let (_, keys) = page(&m, &app, "/staff/admin").await;
        assert!(!keys.contains(&key), "never shown again");
        assert_eq!(
            app.count("api_keys WHERE name = 'Billing system' AND last_used_at IS NOT NULL")
                .await,
            1
        );
        let id: i64 = app
            .db
            .scalar(query(
                "SELECT id FROM api_keys WHERE name = 'Billing system'",
            ))
            .await
            .unwrap();
        submit(
            &m,
            &app,
            &format!("/staff/admin/keys/{id}/revoke"),
            &form(&mc, &[]),
        )
        .await;
        assert_eq!(app.staff_status("/api/v1/reports", &key).await, 401);

        // A new reporting service with an Urdu list question.
        let service = |code: &'static str, values: &'static str| {
            form(
                &mc,
                &[
                    ("creating", "yes"),
                    ("code", code),
                    ("name_en", "Faulty meter"),
                    ("name_ur", "خراب میٹر"),
                    ("name_ps", "خراب میټر"),
                    ("group_en", "Electricity"),
                    ("keywords", "meter, bill"),
                    ("sms_en", "METER"),
                    ("sms_ur", "میٹر"),
                    ("minutes_saved", "45"),
                    ("response_hours", "48"),
                    ("public", "on"),
                    ("a0_code", "fault"),
                    ("a0_type", "singlevaluelist"),
                    ("a0_required", "on"),
                    ("a0_q_en", "What is wrong?"),
                    ("a0_q_ur", "کیا خرابی ہے؟"),
                    ("a0_q_ps", "څه خرابي ده؟"),
                    ("a0_values", values),
                ],
            )
        };
        let good = "burnt = Burnt | جلا ہوا | سوځېدلی\nstopped = Stopped | بند | ودرېدلی\nfast = Runs fast | تیز چلتا ہے | ګړندی چلېږي";
        let (status, body) =
            submit(&m, &app, "/staff/admin/services", &service("kunda", good)).await;
        assert_eq!(status, 409, "the code is taken");
        assert!(
            body.contains("already exists") && body.contains("جلا ہوا"),
            "the form keeps what was typed"
        );
        let (status, body) = submit(
            &m,
            &app,
            "/staff/admin/services",
            &service("meter-fault", "burnt Burnt"),
        )
        .await;
        assert_eq!(status, 422);
        assert!(body.contains("key = English"), "{body}");
        let (status, _) = submit(
            &m,
            &app,
            "/staff/admin/services",
            &service("meter-fault", good),
        )
        .await;
        assert_eq!(status, 303);

        // At once: the home page, Open311 and the USSD menu.
        let (_, home) = page(&browser(), &app, "/?locale=ur").await;
        assert!(home.contains("خراب میٹر"), "the home page");
        let services = app.get_json("/open311/v2/services.json").await;
        assert!(services
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["service_code"] == "meter-fault"));
        let def = app
            .get_json("/open311/v2/services/meter-fault.json?locale=ur")
            .await;
        assert!(def.to_string().contains("جلا ہوا"), "{def}");
        let ussd = |text: String| {
            let client = app.client.clone();
            let url = app.at(&format!("/channels/africastalking/ussd?key={SECRET}"));
            async move {
                client
                    .post(url)
                    .form(&[
                        ("sessionId", "adm1"),
                        ("serviceCode", "*384#"),
                        ("phoneNumber", "+923001112299"),
                        ("text", text.as_str()),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        ussd(String::new()).await;
        let mut path = String::from("2");
        let mut menu = ussd(path.clone()).await;
        let pesco = loop {
            if let Some(l) = menu.lines().find(|l| l.contains("پیسکو")) {
                break l
                    .trim_start_matches("CON ")
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_owned();
            }
            assert!(menu.contains("0 "), "PESCO is on the menu: {menu}");
            path.push_str("*0");
            menu = ussd(path.clone()).await;
        };
        let services_menu = ussd(format!("{path}*{pesco}")).await;
        assert!(
            services_menu.contains("خراب میٹر"),
            "the USSD menu: {services_menu}"
        );
        // …WhatsApp's list of PESCO's services…
        let whatsapp = |id: &'static str, content: serde_json::Value| {
            let mut message =
                serde_json::json!({"from": "923001112299", "id": id, "timestamp": "1765000000"});
            for (k, v) in content.as_object().unwrap() {
                message[k] = v.clone();
            }
            let body = serde_json::to_vec(&serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
                "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp", "messages": [message]}}]}]}))
            .unwrap();
            let req = app
                .client
                .post(app.at("/channels/whatsapp"))
                .header(
                    "x-hub-signature-256",
                    khidmat::platform::whatsapp::sign(WA_SECRET, &body),
                )
                .body(body);
            async move { assert_eq!(req.send().await.unwrap().status(), 200) }
        };
        whatsapp(
            "wa.adm.1",
            serde_json::json!({"type": "text", "text": {"body": "سلام"}}),
        )
        .await;
        whatsapp("wa.adm.2", serde_json::json!({"type": "interactive", "interactive": {"type": "list_reply", "list_reply": {"id": pesco, "title": "…"}}})).await;
        let (listed,): (String,) = app
            .db
            .fetch_one(query(
                "SELECT body FROM sms_outbox WHERE gateway = 'whatsapp' ORDER BY id DESC LIMIT 1",
            ))
            .await
            .unwrap();
        assert!(listed.contains("خراب میٹر"), "WhatsApp: {listed}");
        // …and a call's menu.
        let voice = |digits: Option<String>| {
            let mut form: Vec<(&str, String)> = vec![
                ("isActive", "1".into()),
                ("sessionId", "adm-call".into()),
                ("callerNumber", "+923001112299".into()),
            ];
            if let Some(d) = digits {
                form.push(("dtmfDigits", d));
            }
            let req = app
                .client
                .post(app.at(&format!("/channels/voice/africastalking?key={SECRET}")))
                .form(&form);
            async move { req.send().await.unwrap().text().await.unwrap() }
        };
        voice(None).await;
        voice(Some("2".into())).await;
        let spoken = voice(Some(pesco.clone())).await;
        assert!(spoken.contains("خراب میٹر"), "a call: {spoken}");

        // A report answers the question; taking that choice away is refused, naming the reports.
        app.report(&[
            ("service_code", "meter-fault"),
            ("lat", "34.0"),
            ("long", "71.5"),
            ("attribute[fault]", "burnt"),
        ])
        .await;
        let mut edit = service("meter-fault", "stopped = Stopped | بند | ودرېدلی");
        edit[2] = ("creating", "no");
        let (status, body) = submit(&m, &app, "/staff/admin/services", &edit).await;
        assert_eq!(status, 409);
        assert!(
            body.contains("“burnt”") && body.contains("1 report(s)"),
            "{body}"
        );

        // Export, edit, preview, import.
        let r = m
            .get(app.at("/staff/admin/pack?department=pesco"))
            .send()
            .await
            .unwrap();
        assert!(r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("pesco-config.toml"));
        let exported = r.text().await.unwrap();
        assert!(
            exported.contains("code = \"meter-fault\"") && exported.contains("code = \"kunda\"")
        );
        khidmat::packs::Pack::parse(&exported).expect("the export is a valid pack");
        // Edited as data (a text editor would do the same): a minute more, a new choice.
        let change = |f: &dyn Fn(&mut toml::Table)| {
            let mut v: toml::Table = toml::from_str(&exported).unwrap();
            let services = v["reports"]["service"].as_array_mut().unwrap();
            let svc = services
                .iter_mut()
                .find(|s| s["code"].as_str() == Some("meter-fault"))
                .unwrap()
                .as_table_mut()
                .unwrap();
            f(svc);
            toml::to_string(&v).unwrap()
        };
        let edited = change(&|svc| {
            svc.insert("minutes_saved".into(), toml::Value::Integer(50));
            let values = svc["attribute"].as_array_mut().unwrap()[0]["values"]
                .as_array_mut()
                .unwrap();
            let sparks: toml::Table = toml::from_str(
                "key = \"sparks\"\nname = { en = \"Sparks\", ur = \"چنگاریاں\", ps = \"سپرغۍ\" }",
            )
            .unwrap();
            values.push(toml::Value::Table(sparks));
        });
        let (status, preview) = submit(
            &m,
            &app,
            "/staff/admin/pack/preview",
            &form(&mc, &[("text", &edited)]),
        )
        .await;
        assert_eq!(status, 200, "{preview}");
        assert!(
            preview.contains(r#"data-changed="meter-fault""#)
                && preview.contains("minutes saved: 45 → 50")
                && preview.contains("choices added: sparks"),
            "{preview}"
        );
        assert!(preview.contains(r#"data-unchanged="kunda""#));
        let (status, _) = submit(
            &m,
            &app,
            "/staff/admin/pack/import",
            &form(&mc, &[("text", &edited)]),
        )
        .await;
        assert_eq!(status, 303);
        let def = app.get_json("/open311/v2/services/meter-fault.json").await;
        assert!(def.to_string().contains("sparks"), "imported: {def}");
        let taking = change(&|svc| {
            let values = svc["attribute"].as_array_mut().unwrap()[0]["values"]
                .as_array_mut()
                .unwrap();
            values[0]["key"] = toml::Value::String("scorched".into());
        });
        let (status, preview) = submit(
            &m,
            &app,
            "/staff/admin/pack/preview",
            &form(&mc, &[("text", &taking)]),
        )
        .await;
        assert_eq!(status, 200);
        assert!(preview.contains(r#"id="refused""#) && preview.contains("1 report(s)"));
        assert_eq!(
            submit(
                &m,
                &app,
                "/staff/admin/pack/import",
                &form(&mc, &[("text", &taking)])
            )
            .await
            .0,
            409
        );
        let foreign = exported
            .replace("slug = \"pesco\"", "slug = \"wssp\"")
            .replace("department = \"pesco\"", "department = \"wssp\"");
        let (_, preview) = submit(
            &m,
            &app,
            "/staff/admin/pack/preview",
            &form(&mc, &[("text", &foreign)]),
        )
        .await;
        assert!(preview.contains("another department"), "{preview}");

        // Retiring keeps the reports and takes the service off the menus.
        submit(
            &m,
            &app,
            "/staff/admin/services/active/meter-fault",
            &form(&mc, &[]),
        )
        .await;
        let services = app.get_json("/open311/v2/services.json").await;
        assert!(!services
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["service_code"] == "meter-fault"));
        assert_eq!(
            app.count("reports WHERE service_code = 'meter-fault'")
                .await,
            1
        );

        // Hand-over readiness turns green check by check.
        submit(
            &m,
            &app,
            "/staff/admin/maintainer",
            &form(
                &mc,
                &[("name", "Engr. Tariq Mehmood"), ("contact", "0300 1239876")],
            ),
        )
        .await;
        let (_, now) = page(&m, &app, "/staff/admin").await;
        assert!(
            ok(&now, "maintainer") && ok(&now, "administrators"),
            "Nasreen is the second manager"
        );
        assert!(!ok(&now, "backup") && now.contains(r#"data-ready="false""#));
        app.db
            .execute(
                query(
                    "INSERT INTO backups (file, bytes, made_at) VALUES ('/backups/k.db', 1024, $1)",
                )
                .bind(chrono::Utc::now()),
            )
            .await
            .unwrap();
        let pesco_id: i64 = app
            .db
            .scalar(query("SELECT id FROM departments WHERE slug = 'pesco'"))
            .await
            .unwrap();
        for name in ["Gul Rehman", "Shazia Khan"] {
            app.db
                .execute(
                    query("INSERT INTO prog_training (department_id, name, designation, course, held_on, created_at) VALUES ($1, $2, 'SDO', 'Khidmat for officers', '2026-11-01', $3)")
                        .bind(pesco_id)
                        .bind(name)
                        .bind(chrono::Utc::now()),
                )
                .await
                .unwrap();
        }
        let (_, green) = page(&m, &app, "/staff/admin").await;
        assert!(green.contains(r#"data-ready="true""#), "{green}");

        // Health: for platform administrators only.
        assert_eq!(page(&m, &app, "/staff/admin/health").await.0, 404);
        let (status, health) = page(&root, &app, "/staff/admin/health").await;
        assert_eq!(status, 200);
        let db = if backend == Backend::Postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        assert!(
            health.contains(db) && health.contains(&format!("<bdi>{}</bdi>", latest_migration())),
            "{health}"
        );
        let _ = w;
    }
);

/// The administration page's pack form for `department`: its token and the text.
fn pack_form<'a>(csrf: &'a str, department: &'a str, text: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![("csrf", csrf), ("department", department), ("text", text)]
}

/// The item `code` of `[[section.list]]` in a pack.
fn item<'a>(v: &'a mut toml::Table, section: &str, list: &str, code: &str) -> &'a mut toml::Table {
    v[section][list]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|x| x["code"].as_str() == Some(code))
        .unwrap()
        .as_table_mut()
        .unwrap()
}

/// The items a preview lists as `attr` (`data-added`, `data-changed`, `data-unchanged`).
fn listed(html: &str, attr: &str) -> Vec<String> {
    html.split(&format!("{attr}=\""))
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_owned())
        .collect()
}

on_both!(
    every_kind_of_configuration_round_trips_and_what_data_uses_stays,
    |backend| async move {
        let app = spawn(backend).await;
        app.add_user("root@khidmat.pk", Role::Admin, None, None)
            .await;
        app.add_user(
            "dsp@traffic.kp.gov.pk",
            Role::Manager,
            Some("kp-traffic-police"),
            None,
        )
        .await;
        let (root, rc) = login(&app, "root@khidmat.pk").await;
        let (t, tc) = login(&app, "dsp@traffic.kp.gov.pk").await;

        // Every department's export reads back as exactly what is stored: nothing new,
        // nothing changed, nothing refused.
        let mut exports = std::collections::BTreeMap::new();
        for (dept, sections) in [
            (
                "kp-traffic-police",
                &[
                    "[[reports.service]]",
                    "[[directory.kind]]",
                    "[[registers.register]]",
                    "[[theory.bank]]",
                    "[[content.page]]",
                ][..],
            ),
            ("minority-affairs", &["[[benefits.fund]]"][..]),
            ("excise", &["[[cases.workflow]]"][..]),
            ("social-welfare", &["[[cases.workflow]]"][..]),
            ("wssp", &["[[reports.service]]", "[[directory.kind]]"][..]),
        ] {
            let text = root
                .get(app.at(&format!("/staff/admin/pack?department={dept}")))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for s in sections {
                assert!(text.contains(s), "{dept} exports {s}:\n{text}");
            }
            khidmat::packs::Pack::parse(&text).unwrap_or_else(|e| panic!("{dept}: {e:#}"));
            let (status, preview) = submit(
                &root,
                &app,
                "/staff/admin/pack/preview",
                &pack_form(&rc, dept, &text),
            )
            .await;
            assert_eq!(status, 200, "{preview}");
            assert!(
                listed(&preview, "data-added").is_empty()
                    && listed(&preview, "data-changed").is_empty()
                    && !preview.contains(r#"id="refused""#),
                "{dept}'s own export changes nothing: {preview}"
            );
            assert!(!listed(&preview, "data-unchanged").is_empty());
            exports.insert(dept, text);
        }
        let traffic = exports["kp-traffic-police"].clone();
        assert!(
            !traffic.contains("[[registers.register.row]]"),
            "rows are data, not configuration"
        );

        // The traffic police edit their bank, a kind and an information page as data.
        let edit = |text: &str, f: &dyn Fn(&mut toml::Table)| {
            let mut v: toml::Table = toml::from_str(text).unwrap();
            f(&mut v);
            toml::to_string(&v).unwrap()
        };
        let edited = edit(&traffic, &|v| {
            item(v, "theory", "bank", "driving-theory")
                .insert("pass_percent".into(), toml::Value::Integer(75));
            item(v, "directory", "kind", "driving-school")["name"]
                .as_table_mut()
                .unwrap()
                .insert("en".into(), "Driving school (licensed)".into());
            item(v, "content", "page", "emergency-numbers")["title"]
                .as_table_mut()
                .unwrap()
                .insert("en".into(), "Emergency and helpline numbers".into());
        });
        let (status, preview) = submit(
            &t,
            &app,
            "/staff/admin/pack/preview",
            &pack_form(&tc, "kp-traffic-police", &edited),
        )
        .await;
        assert_eq!(status, 200, "{preview}");
        assert_eq!(
            listed(&preview, "data-changed"),
            ["driving-school", "driving-theory", "emergency-numbers"]
        );
        assert!(preview.contains("pass_percent: 80 → 75"), "{preview}");
        assert!(!preview.contains(r#"id="refused""#), "{preview}");
        let (status, _) = submit(
            &t,
            &app,
            "/staff/admin/pack/import",
            &pack_form(&tc, "kp-traffic-police", &edited),
        )
        .await;
        assert_eq!(status, 303);
        let bank = khidmat::quiz::bank(&app.db, "driving-theory")
            .await
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(bank.pass_percent, 75);
        let (_, info) = page(&browser(), &app, "/info/emergency-numbers").await;
        assert!(info.contains("Emergency and helpline numbers"));
        let kinds = khidmat::directory::store::kinds(&app.db).await.unwrap();
        assert!(kinds
            .iter()
            .any(|k| k.code == "driving-school" && k.name.en == "Driving school (licensed)"));

        // What data uses stays. A citizen answers a theory question; the register holds rows.
        let citizen = browser();
        let (_, html) = page(&citizen, &app, "/theory/driving-theory").await;
        let r = citizen
            .post(app.at("/theory/driving-theory/start"))
            .form(&[
                ("csrf", hidden(&html, "csrf").as_str()),
                ("kind", "practice"),
            ])
            .send()
            .await
            .unwrap();
        let session = r.headers()["location"].to_str().unwrap().to_owned();
        let (_, html) = page(&citizen, &app, &session).await;
        let at = html.find("name=\"a[").expect("a question");
        let asked = html[at + 8..][..html[at + 8..].find(']').unwrap()].to_owned();
        let r = citizen
            .post(app.at(&session))
            .form(&[
                ("csrf", hidden(&html, "csrf")),
                (format!("a[{asked}]").as_str(), "1".into()),
            ])
            .send()
            .await
            .unwrap();
        assert!(r.status().is_redirection() || r.status() == 200);
        let now = t
            .get(app.at("/staff/admin/pack?department=kp-traffic-police"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let taking = edit(&now, &|v| {
            let b = item(v, "theory", "bank", "driving-theory");
            let qs = b["question"].as_array_mut().unwrap();
            qs.retain(|q| q["code"].as_str() != Some(asked.as_str()));
            let r = item(v, "registers", "register", "licence");
            r.insert("keys".into(), toml::Value::Array(vec!["licence_no".into()]));
        });
        let (_, preview) = submit(
            &t,
            &app,
            "/staff/admin/pack/preview",
            &pack_form(&tc, "kp-traffic-police", &taking),
        )
        .await;
        assert!(
            preview.contains(r#"id="refused""#)
                && preview.contains(&format!("question “{asked}” was answered 1 time(s)"))
                && preview.contains("register licence: it holds"),
            "{preview}"
        );
        let (status, _) = submit(
            &t,
            &app,
            "/staff/admin/pack/import",
            &pack_form(&tc, "kp-traffic-police", &taking),
        )
        .await;
        assert_eq!(status, 409);
        let bank = khidmat::quiz::bank(&app.db, "driving-theory")
            .await
            .unwrap()
            .unwrap()
            .0;
        assert!(bank.find(&asked).is_some(), "nothing was half-saved");

        // Another department's fund, a workflow another department leads, and a workflow
        // that fails its check are refused.
        let (_, preview) = submit(
            &t,
            &app,
            "/staff/admin/pack/preview",
            &pack_form(&tc, "kp-traffic-police", &exports["minority-affairs"]),
        )
        .await;
        assert!(preview.contains("for another department"), "{preview}");
        let borrowed = edit(&exports["excise"], &|v| {
            v.insert(
                "department".into(),
                toml::Value::Array(vec![toml::Value::Table(
                    toml::from_str(
                        "slug = \"kp-traffic-police\"\nname = { en = \"KP Traffic Police\" }",
                    )
                    .unwrap(),
                )]),
            );
            let w = v["cases"]["workflow"].as_array_mut().unwrap()[0]
                .as_table_mut()
                .unwrap();
            w.insert("code".into(), "traffic-impound".into());
            let s = w["stakeholders"].as_array_mut().unwrap();
            s.insert(0, "kp-traffic-police".into());
        });
        let (_, preview) = submit(
            &t,
            &app,
            "/staff/admin/pack/preview",
            &pack_form(&tc, "kp-traffic-police", &borrowed),
        )
        .await;
        assert!(
            preview.contains("data-added=\"traffic-impound\"")
                && preview.contains("workflow check: traffic-impound")
                && preview.contains("stakeholder-without-step"),
            "{preview}"
        );
        assert_eq!(
            submit(
                &t,
                &app,
                "/staff/admin/pack/import",
                &pack_form(&tc, "kp-traffic-police", &borrowed)
            )
            .await
            .0,
            409
        );
        assert_eq!(
            app.count("case_workflows WHERE code = 'traffic-impound'")
                .await,
            0
        );

        // A fund's budget and dates change through the same page, through the ledger.
        let raised = edit(&exports["minority-affairs"], &|v| {
            let f = v["benefits"]["fund"].as_array_mut().unwrap()[0]
                .as_table_mut()
                .unwrap();
            let budget = f["budget"].as_integer().unwrap();
            f.insert("budget".into(), toml::Value::Integer(budget + 10_000_000));
        });
        let (_, preview) = submit(
            &root,
            &app,
            "/staff/admin/pack/preview",
            &pack_form(&rc, "minority-affairs", &raised),
        )
        .await;
        assert!(preview.contains("budget: "), "{preview}");
        assert_eq!(
            submit(
                &root,
                &app,
                "/staff/admin/pack/import",
                &pack_form(&rc, "minority-affairs", &raised)
            )
            .await
            .0,
            303
        );
        assert!(
            app.count("benefit_ledger WHERE memo = 'budget raised'")
                .await
                >= 1,
            "the raise is a ledger entry"
        );
    }
);

/// A PNG logo, `w` × `h`, half transparent.
fn logo_png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(w, h, |x, _| {
        image::Rgba([13, 71, 161, if x < w / 2 { 255 } else { 0 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

async fn upload_logo(
    b: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    bytes: Vec<u8>,
) -> (u16, String) {
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.to_owned())
        .part(
            "logo",
            reqwest::multipart::Part::bytes(bytes).file_name("logo.png"),
        );
    let r = b
        .post(app.at("/staff/admin/site/logo"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

on_both!(
    a_platform_administrator_sets_the_site_the_gateway_and_the_districts,
    |backend| async move {
        let (gateway_url, seen) = crate::channels::fake_gateway(0).await;
        let app = spawn_with(backend, |c| {
            c.channel_secret = Some(SECRET.into());
        })
        .await;
        app.add_user("root@khidmat.pk", Role::Admin, None, None)
            .await;
        app.add_user("sp@pesco.gov.pk", Role::Manager, Some("pesco"), None)
            .await;
        let (root, rc) = login(&app, "root@khidmat.pk").await;
        let (m, mc) = login(&app, "sp@pesco.gov.pk").await;
        assert_eq!(page(&m, &app, "/staff/admin/site").await.0, 404);
        let (status, html) = page(&root, &app, "/staff/admin/site").await;
        assert_eq!(status, 200);
        assert!(
            html.contains(r#"data-gateway="log""#),
            "the configuration's gateway"
        );
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = vec![("csrf", rc.as_str())];
            v.extend_from_slice(extra);
            v
        };

        // The site's name and contact text, in three languages, on every page at once.
        let (status, html) = submit(
            &root,
            &app,
            "/staff/admin/site",
            &with(&[("name_ur", "خدمت کے پی")]),
        )
        .await;
        assert_eq!(status, 422, "English is needed: {html}");
        let (status, _) = submit(
            &root,
            &app,
            "/staff/admin/site",
            &with(&[
                ("name_en", "Khidmat KP"),
                ("name_ur", "خدمت کے پی"),
                ("contact_en", "Helpline 1800, 9 to 5"),
                ("contact_ur", "ہیلپ لائن 1800، صبح 9 سے شام 5"),
            ]),
        )
        .await;
        assert_eq!(status, 303);
        let citizen = browser();
        let (_, home) = page(&citizen, &app, "/").await;
        assert!(
            home.contains("<title>") && home.contains("· Khidmat KP</title>"),
            "{home}"
        );
        assert!(home.contains("Helpline 1800, 9 to 5"));
        let (_, ur) = page(&citizen, &app, "/?locale=ur").await;
        assert!(ur.contains("خدمت کے پی") && ur.contains("ہیلپ لائن 1800"));
        let (_, ps) = page(&citizen, &app, "/?locale=ps").await;
        assert!(ps.contains("Khidmat KP"), "Pashto falls back to English");

        // A logo, made small; garbage refused.
        let (status, html) = upload_logo(&root, &app, &rc, b"not an image".to_vec()).await;
        assert_eq!(status, 422);
        assert!(html.contains(r#"id="error""#));
        let (status, _) = upload_logo(&root, &app, &rc, logo_png(800, 400)).await;
        assert_eq!(status, 303);
        let (_, home) = page(&citizen, &app, "/").await;
        let at = home
            .find("/site/logo.png?v=")
            .expect("the logo is on the page");
        let src = &home[at..at + home[at..].find('"').unwrap()];
        let r = citizen.get(app.at(src)).send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "image/png");
        assert!(r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        let png = image::load_from_memory(&r.bytes().await.unwrap()).unwrap();
        assert_eq!((png.width(), png.height()), (128, 64));
        assert!(png.color().has_alpha(), "the transparency stays");

        // The gateway: a bad address refused; then SMS go out by HTTP without a restart.
        let (status, _) = submit(
            &root,
            &app,
            "/staff/admin/site/gateway",
            &with(&[("gateway", "http"), ("http_url", "ftp://gateway/send")]),
        )
        .await;
        assert_eq!(status, 422);
        let (status, _) = submit(
            &root,
            &app,
            "/staff/admin/site/gateway",
            &with(&[("gateway", "http")]),
        )
        .await;
        assert_eq!(status, 422, "http needs an address");
        let (status, _) = submit(
            &root,
            &app,
            "/staff/admin/site/gateway",
            &[
                ("csrf", rc.as_str()),
                ("gateway", "http"),
                ("http_url", gateway_url.as_str()),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let (_, html) = page(&root, &app, "/staff/admin/site").await;
        assert!(html.contains(r#"data-gateway="http""#));
        assert!(
            !html.contains(&gateway_url),
            "the address (it may carry a password) is not shown again"
        );
        let (_, messages) = page(&root, &app, "/staff/messages").await;
        let (status, _) = submit(
            &root,
            &app,
            "/staff/messages/test",
            &[
                ("csrf", hidden(&messages, "csrf").as_str()),
                ("phone", "0300 7654321"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        eventually(|| {
            let seen = seen.clone();
            async move { (!seen.lock().unwrap().is_empty()).then_some(()) }
        })
        .await;
        let audit: Vec<(String,)> = app
            .db
            .fetch_all(query(
                "SELECT detail FROM audit_log WHERE action = 'settings.set' AND subject_id = 'sms.http_url'",
            ))
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        assert!(
            audit[0].0.contains("(secret)") && !audit[0].0.contains("127.0.0.1"),
            "{audit:?}"
        );

        // A new gateway secret, shown once; the configured one stops working at once.
        let ussd = |key: String| {
            let client = app.client.clone();
            let url = app.at(&format!("/channels/africastalking/ussd?key={key}"));
            async move {
                client
                    .post(url)
                    .form(&[
                        ("sessionId", "site1"),
                        ("serviceCode", "*384#"),
                        ("phoneNumber", "+923001112288"),
                        ("text", ""),
                    ])
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };
        assert_eq!(ussd(SECRET.into()).await, 200);
        let (status, html) = submit(&root, &app, "/staff/admin/site/secret", &with(&[])).await;
        assert_eq!(status, 200);
        let at = html
            .find(r#"id="new-secret""#)
            .expect("the secret is shown");
        let code = &html[at..];
        let secret = code[code.find("<code dir=\"ltr\">").unwrap() + 16..][..43].to_owned();
        assert_eq!(ussd(SECRET.into()).await, 403);
        assert_eq!(ussd(secret.clone()).await, 200);
        let (_, again) = page(&root, &app, "/staff/admin/site").await;
        assert!(!again.contains(&secret), "shown once");
        assert!(again.contains(r#"data-secret-from-page="true""#));

        // Districts: one added, one renamed; bad coordinates refused.
        let district = |slug: &'static str,
                        names: [&'static str; 3],
                        division: &'static str,
                        at: [&'static str; 2]| {
            let mut f = with(&[
                ("slug", slug),
                ("name_en", names[0]),
                ("name_ur", names[1]),
                ("name_ps", names[2]),
                ("division", division),
                ("lat", at[0]),
                ("long", at[1]),
            ]);
            let (root, app) = (&root, &app);
            async move {
                submit(
                    root,
                    app,
                    "/staff/admin/site/district",
                    &std::mem::take(&mut f),
                )
                .await
                .0
            }
        };
        let central = ["Central Dir", "سنٹرل دیر", "منځنی دیر"];
        assert_eq!(
            district("central-dir", central, "malakand", ["north", "73.0"]).await,
            422
        );
        assert_eq!(
            district("central-dir", central, "malakand", ["35.17", "71.97"]).await,
            303
        );
        let (_, edit) = page(&root, &app, "/staff/admin/site?district=torghar").await;
        assert!(edit.contains(r#"value="34.6""#) && edit.contains("readonly"));
        let torghar = ["Torghar", "تورغر", "تورغر"];
        assert_eq!(
            district("torghar", torghar, "hazara", ["34.54", "72.96"]).await,
            303
        );
        let (_, form) = page(&citizen, &app, "/report/kunda?locale=ur").await;
        assert!(
            form.contains("value=\"central-dir\"") && form.contains("سنٹرل دیر"),
            "a new district is offered at once: {form}"
        );
        // A backup made now, from the health page (an SQLite copy, or pg_dump), recorded.
        assert_eq!(app.count("backups").await, 0);
        let (status, _) = submit(
            &m,
            &app,
            "/staff/admin/health/backup",
            &[("csrf", mc.as_str())],
        )
        .await;
        assert_eq!(status, 404, "a manager makes no backups");
        let (status, _) = submit(&root, &app, "/staff/admin/health/backup", &with(&[])).await;
        assert_eq!(status, 303);
        eventually(|| async { (app.count("backups").await == 1).then_some(()) }).await;
        let file: String = app
            .db
            .scalar(query("SELECT file FROM backups"))
            .await
            .unwrap();
        assert!(std::fs::metadata(&file).unwrap().len() > 10_000, "{file}");
        for (action, slug) in [
            ("district.create", "central-dir"),
            ("district.update", "torghar"),
        ] {
            assert_eq!(
                app.count(&format!(
                    "audit_log WHERE action = '{action}' AND subject_id = '{slug}'"
                ))
                .await,
                1
            );
        }
    }
);

// The hand-over check of translations names each text a citizen would read in English on an
// Urdu or Pashto page: a service added with its question in English only, a register label
// without Pashto.
on_both!(
    readiness_names_the_texts_without_urdu_or_pashto,
    |backend| async move {
        let app = spawn_with(backend, |_| {}).await;
        app.add_user("sp@pesco.gov.pk", Role::Manager, Some("pesco"), None)
            .await;
        let (m, mc) = login(&app, "sp@pesco.gov.pk").await;
        let (status, _) = submit(
            &m,
            &app,
            "/staff/admin/services",
            &form(
                &mc,
                &[
                    ("creating", "yes"),
                    ("code", "pole-down"),
                    ("name_en", "Pole down"),
                    ("name_ur", "کھمبا گرا ہوا"),
                    ("keywords", "pole"),
                    ("minutes_saved", "30"),
                    ("response_hours", "24"),
                    ("public", "on"),
                    ("a0_code", "wires"),
                    ("a0_type", "string"),
                    ("a0_q_en", "Are wires on the ground?"),
                ],
            ),
        )
        .await;
        assert_eq!(status, 303);
        let (_, html) = page(&m, &app, "/staff/admin").await;
        assert!(!ok(&html, "translations"), "{html}");
        let row = &html[html.find(r#"data-check="translations""#).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(
            row.contains("1 without Urdu: pole-down question wires")
                && row.contains("2 without Pashto: pole-down name, pole-down question wires"),
            "{row}"
        );
    }
);
