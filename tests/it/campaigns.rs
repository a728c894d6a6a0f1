//! Campaigns: an organisation registers, proves its e-mail, is verified; its projects are
//! reviewed and published; backers pledge under the policy in force; the organisation accepts
//! and both sides get each other's contact. Switching the policy hides and restores the right
//! projects and refuses the right pledges, deleting nothing. On both stores.

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use serde_json::Value;

use crate::both;
use crate::helpers::*;

const OWNER: &str = "0300 5550001";
const BACKER: &str = "0300 5550002";
const OTHER: &str = "0300 5550003";
/// The demo pack's Peshawar Youth Volunteers act through this phone.
const DEMO_ORG: &str = "0300 1112233";

fn project_form<'a>(csrf: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("title_en", ""),
        ("title_ur", "سوات میں پل"),
        ("summary_ur", "دریا پر پیدل پل"),
        ("story_ur", "گاؤں کے بچے روز دریا پار کرتے ہیں۔"),
        ("category", "community"),
        ("deadline", "2099-12-31"),
        ("video_url", ""),
    ];
    // A field given in `extra` replaces the default (a form sends each field once).
    f.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    f.extend_from_slice(extra);
    f
}

async fn api(app: &TestApp) -> Value {
    app.get_json("/api/v1/campaigns/projects").await
}

fn ids(v: &Value) -> Vec<i64> {
    v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

both!(
    from_registration_to_contact_exchange_under_a_policy_that_changes,
    |app| async move {
        app.add_user("itb@kpitb.gov.pk", Role::Officer, Some("kp-itb"), None)
            .await;
        app.add_user("admin@khidmat.pk", Role::Admin, None, None)
            .await;
        app.add_user("officer@pesco.gov.pk", Role::Officer, Some("pesco"), None)
            .await;
        let (itb, itb_csrf) = login(&app, "itb@kpitb.gov.pk").await;
        let (admin, admin_csrf) = login(&app, "admin@khidmat.pk").await;
        let (pesco, pesco_csrf) = login(&app, "officer@pesco.gov.pk").await;

        // The demo starts with pledges of help only: its startup's money project is hidden.
        let start = api(&app).await;
        assert_eq!(start["hidden_by_policy"], 1, "{start}");
        let demo_count = ids(&start).len();

        // Registration: signed in with the organisation's own phone.
        let (o, ocsrf) = citizen(&app, OWNER).await;
        let org = |phone: &'static str, reg: &'static str| {
            vec![
                ("csrf", ocsrf.as_str()),
                ("name", "Bahrain Bridge Committee"),
                ("registration_number", reg),
                ("tax_number", "7788990-1"),
                ("contact_name", "Fazal Rabi"),
                ("email", "Bridge@Example.pk"),
                ("phone", phone),
                ("website", "https://bridge.example.pk"),
                ("district", "swat"),
                ("about", "Villagers of Bahrain."),
            ]
        };
        let (status, body) = submit(
            &o,
            &app,
            "/campaigns/organisations/new",
            &org(OTHER, "KP-SW-SWT-2026-0001"),
        )
        .await;
        assert_eq!(status, 422);
        assert!(
            body.contains("Use the phone number you signed in with"),
            "{body}"
        );
        let (status, body) = submit(
            &o,
            &app,
            "/campaigns/organisations/new",
            &org(OWNER, "KP-SW-PSH-2017-0412"),
        )
        .await;
        assert_eq!(status, 409, "the demo's registration number");
        assert!(body.contains("already registered"));
        let (status, to) = submit(
            &o,
            &app,
            "/campaigns/organisations/new",
            &org(OWNER, "KP-SW-SWT-2026-0001"),
        )
        .await;
        assert_eq!((status, to.as_str()), (303, "/campaigns/mine"));
        let org_id: i64 = app
            .db
            .scalar(query(
                "SELECT id FROM campaign_orgs WHERE registration_number = 'KP-SW-SWT-2026-0001'",
            ))
            .await
            .unwrap();

        // Staff cannot verify before the e-mail is proved; the link proves it, once.
        let (status, body) = submit(
            &itb,
            &app,
            &format!("/staff/campaigns/orgs/{org_id}"),
            &[("csrf", &itb_csrf), ("decision", "verify"), ("notes", "")],
        )
        .await;
        assert_eq!(status, 409, "{body}");
        let mail = app.mail_to("bridge@example.pk").await;
        let link = mail[mail.find("/campaigns/verify-email").unwrap()..]
            .trim()
            .to_owned();
        let (status, body) = page(&o, &app, &link).await;
        assert_eq!(status, 200);
        assert!(body.contains("Bahrain Bridge Committee"));
        assert_eq!(page(&o, &app, &link).await.0, 404, "a link serves once");

        // An unverified organisation's project cannot go to review.
        let (status, to) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/new?org={org_id}"),
            &project_form(
                &ocsrf,
                &[
                    ("goal_kind", "money"),
                    ("goal", "100,000"),
                    ("district", "swat"),
                ],
            ),
        )
        .await;
        assert_eq!(status, 303, "{to}");
        let money: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
        let (status, body) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/p/{money}/submit"),
            &[("csrf", &ocsrf)],
        )
        .await;
        assert_eq!(status, 409);
        assert!(body.contains("not verified yet"), "{body}");

        // Staff outside the campaigns department see nothing; its officer verifies.
        assert_eq!(page(&pesco, &app, "/staff/campaigns").await.0, 404);
        let (status, _) = submit(
            &pesco,
            &app,
            &format!("/staff/campaigns/orgs/{org_id}"),
            &[("csrf", &pesco_csrf), ("decision", "verify"), ("notes", "")],
        )
        .await;
        assert_eq!(status, 403);
        let (status, queue) = page(&itb, &app, "/staff/campaigns").await;
        assert_eq!(status, 200);
        assert!(queue.contains("Bahrain Bridge Committee") && queue.contains("+92 3** *** **01"));
        let (status, _) = submit(
            &itb,
            &app,
            &format!("/staff/campaigns/orgs/{org_id}"),
            &[
                ("csrf", &itb_csrf),
                ("decision", "verify"),
                (
                    "notes",
                    "Registration checked with the Social Welfare register",
                ),
            ],
        )
        .await;
        assert_eq!(status, 303);

        // Projects: a bad goal is refused with the form kept; a photo; review returns one, then
        // publishes both.
        let (status, body) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/new?org={org_id}"),
            &project_form(
                &ocsrf,
                &[
                    ("goal_kind", "volunteers"),
                    ("goal", "ten"),
                    ("district", "swat"),
                ],
            ),
        )
        .await;
        assert_eq!(status, 422);
        assert!(body.contains("The goal must be") && body.contains("سوات میں پل"));
        let (_, to) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/new?org={org_id}"),
            &project_form(
                &ocsrf,
                &[
                    ("goal_kind", "volunteers"),
                    ("goal", "10"),
                    ("district", "peshawar"),
                ],
            ),
        )
        .await;
        let help: i64 = to.rsplit('/').next().unwrap().parse().unwrap();
        let png = png(64, 48);
        let form = reqwest::multipart::Form::new()
            .text("csrf", ocsrf.clone())
            .part(
                "media",
                reqwest::multipart::Part::bytes(png)
                    .file_name("bridge.png")
                    .mime_str("image/png")
                    .unwrap(),
            );
        let r = o
            .post(app.at(&format!("/campaigns/mine/p/{help}/photo")))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        for id in [money, help] {
            let (status, _) = submit(
                &o,
                &app,
                &format!("/campaigns/mine/p/{id}/submit"),
                &[("csrf", &ocsrf)],
            )
            .await;
            assert_eq!(status, 303);
        }
        let (status, _) = submit(
            &itb,
            &app,
            &format!("/staff/campaigns/p/{money}"),
            &[("csrf", &itb_csrf), ("decision", "return"), ("notes", "")],
        )
        .await;
        assert_eq!(status, 400, "returning needs notes");
        submit(
            &itb,
            &app,
            &format!("/staff/campaigns/p/{money}"),
            &[
                ("csrf", &itb_csrf),
                ("decision", "return"),
                ("notes", "Add an English title"),
            ],
        )
        .await;
        let (_, mine) = page(&o, &app, &format!("/campaigns/mine/p/{money}")).await;
        assert!(mine.contains("Add an English title") && mine.contains("Returned for changes"));
        let (status, _) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/p/{money}"),
            &project_form(
                &ocsrf,
                &[
                    ("title_en", "A footbridge in Bahrain"),
                    ("goal_kind", "money"),
                    ("goal", "100000"),
                    ("district", "swat"),
                ],
            ),
        )
        .await;
        assert_eq!(status, 303);
        submit(
            &o,
            &app,
            &format!("/campaigns/mine/p/{money}/submit"),
            &[("csrf", &ocsrf)],
        )
        .await;
        for id in [money, help] {
            let (status, _) = submit(
                &itb,
                &app,
                &format!("/staff/campaigns/p/{id}"),
                &[("csrf", &itb_csrf), ("decision", "publish"), ("notes", "")],
            )
            .await;
            assert_eq!(status, 303);
        }

        // Help only: the volunteers project is listed, the money project hidden with a notice.
        let v = api(&app).await;
        assert!(ids(&v).contains(&help) && !ids(&v).contains(&money), "{v}");
        assert_eq!(v["hidden_by_policy"], 2);
        let (status, hidden) = page(&browser(), &app, &format!("/campaigns/p/{money}")).await;
        assert_eq!(status, 200);
        assert!(
            hidden.contains("This project is hidden")
                && hidden.contains("Pledges of help only")
                && !hidden.contains("name=\"amount\""),
            "{hidden}"
        );
        let (_, list) = page(&browser(), &app, "/campaigns?locale=ur").await;
        assert!(list.contains("سوات میں پل") && list.contains(r#"id="hidden""#));
        let (_, shown) = page(&browser(), &app, &format!("/campaigns/p/{help}")).await;
        assert!(
            shown.contains("Sign in with your phone to continue") && shown.contains("/photos/")
        );

        // Not signed in: sent to sign in, and back to where they were.
        let stranger = browser();
        let r = stranger
            .get(app.at("/campaigns/mine"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/me?next=%2Fcampaigns%2Fmine");
        let r = stranger
            .post(app.at(&format!("/campaigns/p/{help}/pledge")))
            .header("referer", app.at(&format!("/campaigns/p/{help}")))
            .form(&[("amount", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(
            r.headers()["location"].to_str().unwrap(),
            format!("/me?next=%2Fcampaigns%2Fp%2F{help}")
        );

        // Pledges of help: the disclosure, the goal, one's own project.
        let (b, bcsrf) = citizen(&app, BACKER).await;
        let pledge = |amount: &'static str, disclosure: bool| {
            let mut f = vec![
                ("csrf", bcsrf.as_str()),
                ("name", "Zarmina Yousaf"),
                ("email", "zarmina@example.pk"),
                ("phone", BACKER),
                ("amount", amount),
                ("help", "Two weekends of carrying"),
                ("comment", "My brother comes too"),
            ];
            if disclosure {
                f.push(("disclosure", "on"));
            }
            f
        };
        let at = format!("/campaigns/p/{help}/pledge");
        let (status, body) = submit(&b, &app, &at, &pledge("6", false)).await;
        assert_eq!(status, 422);
        assert!(body.contains("risk disclosure"));
        let (status, body) = submit(&b, &app, &at, &pledge("11", true)).await;
        assert_eq!(status, 409);
        assert!(
            body.contains("more than the project still needs (10)"),
            "{body}"
        );
        let (status, body) = submit(&b, &app, &at, &pledge("6", true)).await;
        assert_eq!(status, 200);
        assert!(body.contains(r#"id="pledge-done""#));
        let own = vec![
            ("csrf", ocsrf.as_str()),
            ("name", "Fazal"),
            ("email", "f@example.pk"),
            ("phone", OWNER),
            ("amount", "1"),
            ("help", "me"),
            ("disclosure", "on"),
        ];
        assert_eq!(
            submit(&o, &app, &at, &own).await.0,
            409,
            "not to one's own project"
        );
        let (status, body) = submit(
            &b,
            &app,
            &format!("/campaigns/p/{money}/pledge"),
            &pledge("60000", true),
        )
        .await;
        assert_eq!(status, 403, "the policy forbids: {body}");

        // An administrator allows money in Swat (a manager cannot); the project returns.
        let (status, _) = submit(
            &itb,
            &app,
            "/staff/campaigns/policy",
            &[
                ("csrf", &itb_csrf),
                ("jurisdiction", "swat"),
                ("mode", "money"),
                ("basis", "x"),
            ],
        )
        .await;
        assert_eq!(status, 403);
        let (status, _) = submit(
            &admin,
            &app,
            "/staff/campaigns/policy",
            &[
                ("csrf", &admin_csrf),
                ("jurisdiction", "swat"),
                ("mode", "money"),
                ("basis", ""),
            ],
        )
        .await;
        assert_eq!(status, 400, "the basis is required");
        let (status, _) = submit(
            &admin,
            &app,
            "/staff/campaigns/policy",
            &[
                ("csrf", &admin_csrf),
                ("jurisdiction", "swat"),
                ("mode", "money"),
                ("basis", "Swat pilot, Notification SO(IT)/2026/14"),
            ],
        )
        .await;
        assert_eq!(status, 303);
        let v = api(&app).await;
        assert!(ids(&v).contains(&money));
        assert_eq!(v["hidden_by_policy"], 0, "the demo startup is in Swat too");
        let (status, _) = submit(
            &b,
            &app,
            &format!("/campaigns/p/{money}/pledge"),
            &pledge("60,000", true),
        )
        .await;
        assert_eq!(status, 200);
        let (c, ccsrf) = citizen(&app, OTHER).await;
        let mut second = pledge("50000", true);
        second[0] = ("csrf", ccsrf.as_str());
        second[1] = ("name", "Haroon Shah");
        second[2] = ("email", "haroon@example.pk");
        second[3] = ("phone", OTHER);
        let (status, _) = submit(&c, &app, &format!("/campaigns/p/{money}/pledge"), &second).await;
        assert_eq!(status, 200, "pending pledges do not count toward the goal");

        // Before acceptance the organisation sees contacts masked; another organisation cannot
        // decide them; acceptance exchanges contacts, and the goal holds.
        let (_, mine) = page(&o, &app, "/campaigns/mine").await;
        assert!(
            mine.contains("+92 3** *** **02") && !mine.contains("zarmina@example.pk"),
            "{mine}"
        );
        let pledge_id = |email: &'static str| {
            let db = app.db.clone();
            async move {
                db.scalar::<i64>(
                    query("SELECT id FROM campaign_pledges WHERE email = $1 AND kind = 'money'")
                        .bind(email),
                )
                .await
                .unwrap()
            }
        };
        let zarmina = pledge_id("zarmina@example.pk").await;
        let haroon = pledge_id("haroon@example.pk").await;
        let (d, dcsrf) = citizen(&app, DEMO_ORG).await;
        let (status, _) = submit(
            &d,
            &app,
            &format!("/campaigns/mine/pledges/{zarmina}"),
            &[("csrf", &dcsrf), ("decision", "accept")],
        )
        .await;
        assert_eq!(status, 404, "another organisation's pledge");
        let sms_before = app.count("sms_outbox").await;
        let (status, _) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/pledges/{zarmina}"),
            &[("csrf", &ocsrf), ("decision", "accept")],
        )
        .await;
        assert_eq!(status, 303);
        assert_eq!(app.count("sms_outbox").await, sms_before + 2);
        let to_backer: String = app.db.scalar(query("SELECT body FROM sms_outbox WHERE phone = '+923005550002' ORDER BY id DESC LIMIT 1")).await.unwrap();
        assert!(
            to_backer.contains("Fazal Rabi")
                && to_backer.contains("+923005550001")
                && to_backer.contains("bridge@example.pk"),
            "{to_backer}"
        );
        let to_org: String = app.db.scalar(query("SELECT body FROM sms_outbox WHERE phone = '+923005550001' ORDER BY id DESC LIMIT 1")).await.unwrap();
        assert!(
            to_org.contains("Zarmina Yousaf") && to_org.contains("+923005550002"),
            "{to_org}"
        );
        assert_eq!(app.count("mail_outbox WHERE to_addr IN ('zarmina@example.pk', 'bridge@example.pk') AND subject LIKE 'Pledge accepted%'").await, 2);
        let (status, body) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/pledges/{haroon}"),
            &[("csrf", &ocsrf), ("decision", "accept")],
        )
        .await;
        assert_eq!(status, 409, "60,000 + 50,000 passes the goal: {body}");
        submit(
            &o,
            &app,
            &format!("/campaigns/mine/pledges/{haroon}"),
            &[("csrf", &ocsrf), ("decision", "decline")],
        )
        .await;
        let (status, _) = submit(
            &o,
            &app,
            &format!("/campaigns/mine/pledges/{haroon}"),
            &[("csrf", &ocsrf), ("decision", "accept")],
        )
        .await;
        assert_eq!(status, 409, "decided once");
        let (_, mine) = page(&o, &app, "/campaigns/mine").await;
        assert!(
            mine.contains("zarmina@example.pk"),
            "accepted: the contact in full"
        );

        // Progress counts accepted pledges only; nothing personal is public.
        let (_, public) = page(&browser(), &app, &format!("/campaigns/p/{money}")).await;
        assert!(
            public.contains("Rs 60,000.00") && public.contains("<bdi>1</bdi> backers"),
            "{public}"
        );
        let v = api(&app).await;
        let p = v["projects"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == money)
            .unwrap();
        assert_eq!(
            (p["pledged"].as_i64(), p["pledge_kind"].as_str()),
            (Some(6_000_000), Some("money"))
        );
        let everything = format!("{public}{v}");
        for secret in [
            "Zarmina",
            "Haroon",
            "zarmina@",
            "5550002",
            "5550003",
            "5550001",
            "bridge@example.pk",
        ] {
            assert!(!everything.contains(secret), "{secret} is public");
        }
        let (_, backed) = page(&b, &app, "/campaigns/mine").await;
        assert!(backed.contains("A footbridge in Bahrain") && backed.contains("accepted"));

        // Back to help only in Swat: hidden again, pledges refused, nothing deleted; then
        // expressions of interest: shown again, amounts bind no one.
        submit(
            &admin,
            &app,
            "/staff/campaigns/policy",
            &[
                ("csrf", &admin_csrf),
                ("jurisdiction", "swat"),
                ("mode", "help"),
                ("basis", "Pilot ended"),
            ],
        )
        .await;
        assert!(!ids(&api(&app).await).contains(&money));
        let (status, _) = submit(&c, &app, &format!("/campaigns/p/{money}/pledge"), &second).await;
        assert_eq!(status, 403);
        assert_eq!(app.count("campaign_pledges").await, 3);
        submit(
            &admin,
            &app,
            "/staff/campaigns/policy",
            &[
                ("csrf", &admin_csrf),
                ("jurisdiction", "swat"),
                ("mode", "interest"),
                ("basis", "Interest only, pending the law"),
            ],
        )
        .await;
        let (_, back) = page(&c, &app, &format!("/campaigns/p/{money}")).await;
        assert!(
            back.contains("expressions of interest only") && back.contains("Rs 60,000.00"),
            "{back}"
        );
        let (status, _) = submit(&c, &app, &format!("/campaigns/p/{money}/pledge"), &second).await;
        assert_eq!(status, 409, "50,000 is more than the 40,000 still needed");
        second[4] = ("amount", "30000");
        let (status, _) = submit(&c, &app, &format!("/campaigns/p/{money}/pledge"), &second).await;
        assert_eq!(status, 200);
        assert_eq!(
            app.count("campaign_pledges WHERE kind = 'interest'").await,
            1
        );
        assert_eq!(
            ids(&api(&app).await).len(),
            demo_count + 3,
            "both new projects and the demo startup"
        );

        // The policy's history, in the table and the audit log.
        let (_, staff) = page(&admin, &app, "/staff/campaigns").await;
        assert!(
            staff.contains("Swat pilot, Notification SO(IT)/2026/14")
                && staff.contains("Pilot ended")
        );
        assert_eq!(
            app.count("campaign_policies WHERE jurisdiction = 'swat'")
                .await,
            3
        );
        assert_eq!(
            app.count("audit_log WHERE action = 'campaigns.policy' AND subject_id = 'swat'")
                .await,
            3
        );

        // The open dataset: pledges by category and district, small cells left out.
        khidmat::opendata::publish::run(&app.db, "kp-itb")
            .await
            .unwrap();
        let shown = app
            .get_json("/api/3/action/package_show?id=campaign-pledges")
            .await;
        assert_eq!(shown["success"], true);
        assert!(!shown.to_string().contains("Zarmina"));
    }
);

both!(
    a_deployment_declares_its_campaign_categories_in_its_pack,
    |app| async move {
        let pack = |category: &str| {
            format!(
                r#"
[pack]
name = "livelihoods"
version = 1

[[campaigns.category]]
code = "livelihoods"
name = {{ en = "Livelihoods", ur = "روزگار", ps = "روزي" }}

[[campaigns.organisation]]
name = "Chitral Weavers"
registration_number = "KP-SW-CHT-2020-0007"
contact_name = "Gul Bibi"
email = "weavers@example.pk"
phone = "0300 5550123"
district = "upper-chitral"
about = "Women who weave."

[[campaigns.organisation.project]]
title = {{ en = "Looms for Booni", ur = "بونی کے لیے کھڈیاں", ps = "د بوني لپاره کرګې" }}
summary = {{ en = "Ten looms.", ur = "دس کھڈیاں۔", ps = "لس کرګې." }}
story = {{ en = "Ten looms for ten weavers.", ur = "دس بنکروں کے لیے دس کھڈیاں۔", ps = "لسو اوبدونکو ته لس کرګې." }}
category = "{category}"
goal_kind = "items"
goal = 10
days_open = 30
district = "upper-chitral"
"#
            )
        };
        // A project filed under a category no pack declared is refused, and nothing is kept.
        let mut odd = pack("mining");
        odd = odd.replace("code = \"livelihoods\"", "code = \"weaving\"");
        let e = khidmat::packs::load(&app.db, &odd, "test")
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("no category \"mining\""), "{e:#}");
        assert_eq!(
            app.db
                .scalar::<i64>(query(
                    "SELECT COUNT(*) FROM campaign_categories WHERE code = 'weaving'"
                ))
                .await
                .unwrap(),
            0
        );

        khidmat::packs::load(&app.db, &pack("livelihoods"), "test")
            .await
            .unwrap();
        // The new category is offered and named in the reader's language; the demo's are kept.
        let (status, html) = page(&app.client, &app, "/campaigns?locale=ur").await;
        assert_eq!(status, 200);
        assert!(
            html.contains(r#"<option value="livelihoods">روزگار</option>"#),
            "the filter offers it"
        );
        assert!(html.contains(r#"<option value="environment">ماحول</option>"#));
        let (_, html) = page(
            &app.client,
            &app,
            "/campaigns?locale=ur&category=livelihoods",
        )
        .await;
        assert!(html.contains("بونی کے لیے کھڈیاں") && html.contains("روزگار"));
        assert!(!html.contains("شاہی باغ کی صفائی"), "the filter filters");
    }
);
