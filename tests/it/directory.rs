//! The directory over HTTP on both stores: HSDS answers checked against the HSDS 3.0 schemas,
//! nearest search with filters and hours, the search index in step across two nodes, reviews
//! behind one-time codes with their limits and moderation, suggestions, CSV import, SMS search.

use khidmat::platform::db::query;
use khidmat::platform::identity::Role;
use serde_json::Value;

use crate::helpers::{
    assert_valid_in, browser, eventually, hidden, login, page as get_page, spawn_with, TestApp,
};
use crate::{both, on_both};

const PHONE: &str = "+923001234567";

async fn json(app: &TestApp, path: &str) -> (u16, Value) {
    let r = app.get(path).await;
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// A toilet's uuid by name (from the HSDS list).
async fn place_uuid(app: &TestApp, name: &str) -> String {
    let (_, v) = json(app, "/hsds/service_at_locations?per_page=500").await;
    v["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["service"]["name"] == name)
        .map(|c| c["location_id"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no place {name}"))
}

on_both!(hsds_answers_follow_the_standard, |backend| async move {
    let app = spawn_with(backend, |_| {}).await;
    let (s, root) = json(&app, "/hsds/").await;
    assert_eq!(s, 200);
    assert_eq!(root["version"], "3.0");
    let (_, list) = json(&app, "/hsds/services?per_page=5").await;
    for k in [
        "total_items",
        "total_pages",
        "page_number",
        "size",
        "first_page",
        "last_page",
        "empty",
    ] {
        assert!(list.get(k).is_some(), "envelope field {k}");
    }
    assert_eq!(list["size"], 5);
    let total = list["total_items"].as_i64().unwrap();
    assert!(total >= 16);
    // The last page: `size` counts what is on it (HSDS: "the number of entities in the current
    // page"), not the page's capacity.
    let last_no = list["total_pages"].as_i64().unwrap();
    assert_eq!(last_no, (total + 4) / 5);
    let (_, last) = json(&app, &format!("/hsds/services?per_page=5&page={last_no}")).await;
    let on_last = last["contents"].as_array().unwrap().len() as i64;
    assert_eq!(on_last, total - (last_no - 1) * 5);
    assert_eq!(last["size"], on_last);
    assert_eq!(last["last_page"], true);
    let (_, beyond) = json(
        &app,
        &format!("/hsds/services?per_page=5&page={}", last_no + 1),
    )
    .await;
    assert_eq!(
        (beyond["size"].as_i64(), beyond["empty"].as_bool()),
        (Some(0), Some(true))
    );
    for c in list["contents"].as_array().unwrap() {
        assert_valid_in("hsds", "compiled/service_list.json", c);
    }
    let id = list["contents"][0]["id"].as_str().unwrap();
    let (_, one) = json(&app, &format!("/hsds/services/{id}")).await;
    assert_valid_in("hsds", "compiled/service.json", &one);

    let (_, orgs) = json(&app, "/hsds/organizations").await;
    for c in orgs["contents"].as_array().unwrap() {
        assert_valid_in("hsds", "compiled/organization.json", c);
    }
    let wssp = orgs["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Water and Sanitation Services Peshawar")
        .unwrap();
    let (_, by_org) = json(
        &app,
        &format!(
            "/hsds/services?organization_id={}&per_page=100",
            wssp["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(by_org["total_items"], 7, "WSSP's seven toilets");

    let (_, terms) = json(&app, "/hsds/taxonomy_terms?per_page=500").await;
    let toilet_term = terms["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["code"] == "public-toilet")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, toilets) = json(
        &app,
        &format!("/hsds/services?taxonomy_term_id={toilet_term}&search=chowk"),
    )
    .await;
    assert_eq!(toilets["total_items"], 1);
    assert_eq!(
        toilets["contents"][0]["name"],
        "Public toilet, Firdous Chowk"
    );

    let (_, near) = json(
        &app,
        "/hsds/service_at_locations?lat=34.0046&long=71.5589&proximity=1500",
    )
    .await;
    let items = near["contents"].as_array().unwrap();
    assert!(!items.is_empty());
    for c in items {
        assert_valid_in("hsds", "compiled/service_at_location.json", c);
    }
    let distances: Vec<f64> = items
        .iter()
        .map(|c| c["distance"].as_f64().unwrap())
        .collect();
    assert!(
        distances.windows(2).all(|w| w[0] <= w[1]) && distances.iter().all(|d| *d <= 1500.0),
        "{distances:?}"
    );
    assert_eq!(items[0]["service"]["name"], "Public toilet, Firdous Chowk");

    for bad in [
        "proximity=0",
        "proximity=-5",
        "proximity=1e12",
        "lat=91&long=71",
        "lat=34",
        "page=0",
        "per_page=100000",
    ] {
        let (s, _) = json(
            &app,
            &format!("/hsds/service_at_locations?lat=34&long=71.5&{bad}"),
        )
        .await;
        assert_eq!(s, 400, "{bad}");
    }
    // A point is lat and long together; a radius needs a point (rules between parameters that
    // OpenAPI cannot state, so schemathesis.toml names this operation).
    for alone in ["lat=34", "long=71.5", "proximity=500"] {
        let (s, e) = json(&app, &format!("/hsds/service_at_locations?{alone}")).await;
        assert_eq!(s, 400, "{alone}: {e}");
    }
    assert_eq!(
        json(
            &app,
            "/hsds/services?taxonomy_term_id=00000000-0000-0000-0000-000000000000"
        )
        .await
        .0,
        404
    );
    assert_eq!(json(&app, "/hsds/services/not-a-service").await.0, 404);
    let (_, minimal) = json(&app, "/hsds/services?minimal=true&per_page=3").await;
    let first = minimal["contents"][0].as_object().unwrap();
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        vec!["id", "name", "status", "last_modified"],
        "HSDS's 'just id and modified date', and what its service_list schema requires"
    );
    assert_valid_in(
        "hsds",
        "compiled/service_list.json",
        &minimal["contents"][0],
    );
    let (_, flat) = json(&app, "/hsds/services?full=false&per_page=3").await;
    for c in flat["contents"].as_array().unwrap() {
        assert_valid_in("hsds", "compiled/service_list.json", c);
        assert!(c.get("service_at_locations").is_none() && c.get("reviews").is_some());
    }
    assert_eq!(json(&app, "/hsds/services?format=csv").await.0, 400);
    assert_eq!(json(&app, "/hsds/services?full=maybe").await.0, 400);
    assert_eq!(
        json(&app, "/hsds/services?modified_after=yesterday")
            .await
            .0,
        400
    );
});

on_both!(
    near_me_filters_by_attributes_and_opening_hours,
    |backend| async move {
        let app = spawn_with(backend, |_| {}).await;
        let b = browser();
        // Women's toilets near Saddar: the women-only and the both-genders ones are not the same.
        let page = get_page(
            &b,
            &app,
            "/places?kind=public-toilet&lat=34.0011&long=71.5444&f_gender=women",
        )
        .await
        .1;
        assert!(page.contains("toilet, Saddar Road"), "{page}");
        assert!(!page.contains("Qissa Khwani"));
        // A place found near a point tells how far it is from there, and how to get there.
        let at = page.find("href=\"/places/").expect("a place") + 6;
        let link = page[at..at + page[at..].find('"').unwrap()].replace("&amp;", "&");
        assert!(link.contains("?from=34.00110,71.54440"), "{link}");
        let place = get_page(&b, &app, &link).await.1;
        assert!(place.contains("From where you searched:"), "{place}");
        assert!(
            place.contains(" m</bdi>") || place.contains(" km</bdi>"),
            "{place}"
        );
        assert!(place.contains("href=\"geo:34."), "{place}");
        assert!(place.contains("openstreetmap.org/directions?route=34.00110%2C71.54440%3B"));
        // A point that is not one is ignored, not an error.
        let bare = link.split('?').next().unwrap().to_owned();
        let (status, place) = get_page(&b, &app, &format!("{bare}?from=999,abc")).await;
        assert_eq!(status, 200);
        assert!(!place.contains("From where you searched"));
        // A district stands in for a location.
        let page = get_page(&b, &app, "/places?kind=health-facility&district=peshawar")
            .await
            .1;
        assert!(page.contains("Lady Reading Hospital"));
        // Open now: the 24-hour places are, whatever the time; a place without hours is not known to be.
        let csv = "name,lat,long,hours,gender\nAlways open,34.0200,71.6000,daily 00:00-24:00,both\nNo hours given,34.0201,71.6001,,both\n";
        let kind = khidmat::directory::store::kinds(&app.db)
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.code == "public-toilet")
            .unwrap();
        khidmat::directory::import::import(&app.db, &kind, None, csv, |_| {})
            .await
            .unwrap();
        // (Written straight to the store, as another node would: the index catches up within a second.)
        let page = eventually(|| async {
            let page = get_page(
                &b,
                &app,
                "/places?kind=public-toilet&lat=34.02&long=71.6&open=yes",
            )
            .await
            .1;
            page.contains("Always open").then_some(page)
        })
        .await;
        assert!(!page.contains("No hours given"), "{page}");
        let page = get_page(&b, &app, "/places?kind=public-toilet&lat=34.02&long=71.6")
            .await
            .1;
        assert!(page.contains("No hours given"));
        // Unknown attributes and values are refused.
        let r = b
            .get(app.at("/places?kind=public-toilet&lat=34&long=71.5&f_gender=aliens"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(
            b.get(app.at("/places?kind=spaceports"))
                .send()
                .await
                .unwrap()
                .status(),
            404
        );
    }
);

on_both!(
    the_search_index_follows_changes_made_by_another_node,
    |backend| async move {
        let a = spawn_with(backend, |_| {}).await;
        // A second node on the same database (for SQLite: the same file).
        let db_url = a.database_url.clone();
        let dir = a.data_dir.clone();
        let mut config = crate::helpers::test_config(&dir, db_url);
        config.demo = false;
        let b_app = khidmat::Application::build(config).await.unwrap();
        let b_state = b_app.state().clone();
        let near = "/hsds/service_at_locations?lat=34.1000&long=71.7000&proximity=200";
        assert_eq!(json(&a, near).await.1["total_items"], 0);
        // Node B imports a place; node A's index picks it up.
        let kind = khidmat::directory::store::kinds(&b_state.db)
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.code == "driving-school")
            .unwrap();
        khidmat::directory::import::import(
            &b_state.db,
            &kind,
            None,
            "name,lat,long\nNew school,34.1001,71.7001\n",
            |_| {},
        )
        .await
        .unwrap();
        eventually(|| async { (json(&a, near).await.1["total_items"] == 1).then_some(()) }).await;
    }
);

/// Ask for a code and read it from the SMS the development gateway would send.
async fn code_for(app: &TestApp, b: &reqwest::Client, uuid: &str, subject: &str) -> String {
    let html = get_page(b, app, &format!("/places/{uuid}/review")).await.1;
    let csrf = hidden(&html, "csrf");
    let r = b
        .post(app.at(&format!("/places/{uuid}/review/code")))
        .form(&[
            ("csrf", csrf.as_str()),
            ("subject", subject),
            ("phone", "0300 1234567"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = app.sms_to(PHONE).await;
    body.split(|c: char| !c.is_ascii_digit())
        .find(|s| s.len() == 6)
        .expect("a six-digit code")
        .to_string()
}

async fn rating(app: &TestApp, uuid: &str) -> (f64, i64) {
    let (_, v) = json(app, "/hsds/service_at_locations?per_page=500").await;
    let c = v["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["location_id"] == uuid)
        .unwrap();
    let r = &c["service"]["reviews"];
    (r["average"].as_f64().unwrap(), r["count"].as_i64().unwrap())
}

on_both!(
    reviews_need_a_code_come_once_a_month_and_moderation_moves_the_average,
    |backend| async move {
        let app = spawn_with(backend, |_| {}).await;
        let uuid = place_uuid(&app, "Public toilet, Firdous Chowk").await;
        let subject = format!("place:{uuid}");
        let b = browser();
        let code = code_for(&app, &b, &uuid, &subject).await;
        let html = get_page(&b, &app, &format!("/places/{uuid}/review"))
            .await
            .1;
        let csrf = hidden(&html, "csrf");
        let post = |stars: &'static str, code: String| {
            let b = b.clone();
            let url = app.at(&format!("/places/{uuid}/review"));
            let form = vec![
                ("csrf", csrf.clone()),
                ("subject", subject.clone()),
                ("phone", PHONE.to_string()),
                ("code", code),
                ("stars", stars.to_string()),
                ("comment", "صاف ستھرا".to_string()),
                ("name", "Ayesha Khan".to_string()),
            ];
            async move {
                b.post(url)
                    .multipart(
                        form.into_iter()
                            .fold(reqwest::multipart::Form::new(), |f, (k, v)| f.text(k, v)),
                    )
                    .send()
                    .await
                    .unwrap()
            }
        };
        assert_eq!(
            post("4", "000000".into()).await.status(),
            403,
            "a wrong code"
        );
        assert_eq!(post("6", code.clone()).await.status(), 400, "six stars");
        assert_eq!(post("0", code.clone()).await.status(), 400, "no stars");
        let ok = post("4", code.clone()).await;
        assert_eq!(ok.status(), 303);
        assert_eq!(
            post("4", code.clone()).await.status(),
            403,
            "a code serves once"
        );
        let again = code_for(&app, &b, &uuid, &subject).await;
        assert_eq!(post("5", again).await.status(), 409, "one review a month");
        assert_eq!(rating(&app, &uuid).await, (4.0, 1));
        let page = get_page(&b, &app, &format!("/places/{uuid}")).await.1;
        // The phone's last digits never stand on their own (a random token or id of the page
        // may hold "4567" inside it: that is not the phone).
        let phone_tail_shown = page.match_indices("4567").any(|(at, _)| {
            !page[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphanumeric() && c != '*')
        });
        assert!(
            page.contains("A. K.")
                && !page.contains("Ayesha")
                && !page.contains("1234567")
                && !phone_tail_shown,
            "the name masked, the phone never shown"
        );

        // Moderation: hiding takes the review out of every average at once; restoring puts it back.
        app.add_user("wssp@test.pk", Role::Manager, Some("wssp"), None)
            .await;
        app.add_user("health@test.pk", Role::Manager, Some("health"), None)
            .await;
        let id: i64 = app
            .db
            .scalar(query("SELECT id FROM dir_reviews"))
            .await
            .unwrap();
        let (health, hcsrf) = login(&app, "health@test.pk").await;
        let r = health
            .post(app.at(&format!("/staff/directory/reviews/{id}")))
            .form(&[
                ("csrf", hcsrf.as_str()),
                ("action", "hide"),
                ("reason", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "another department's review");
        let (wssp, wcsrf) = login(&app, "wssp@test.pk").await;
        let r = wssp
            .post(app.at(&format!("/staff/directory/reviews/{id}")))
            .form(&[
                ("csrf", wcsrf.as_str()),
                ("action", "hide"),
                ("reason", "Advertising"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(rating(&app, &uuid).await, (0.0, 0));
        wssp.post(app.at(&format!("/staff/directory/reviews/{id}")))
            .form(&[
                ("csrf", wcsrf.as_str()),
                ("action", "restore"),
                ("reason", "Checked: genuine"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(rating(&app, &uuid).await, (4.0, 1));
        assert_eq!(app.count("audit_log WHERE action LIKE 'review.%'").await, 2);
    }
);

on_both!(
    averages_always_match_the_visible_reviews,
    |backend| async move {
        use proptest::prelude::*;
        use proptest::strategy::ValueTree;
        let app = spawn_with(backend, |_| {}).await;
        app.add_user("admin@test.pk", Role::Admin, None, None).await;
        let admin = khidmat::platform::identity::login(
            &app.db,
            "admin@test.pk",
            "a long enough password",
            1,
        )
        .await
        .unwrap()
        .1;
        let state = khidmat::AppState::clone(&state_of(&app).await);
        let place: i64 = app
            .db
            .scalar(query("SELECT id FROM dir_places ORDER BY id LIMIT 1"))
            .await
            .unwrap();
        let subject = format!("place:{place}");
        let ops = proptest::collection::vec((1i64..=5, any::<bool>(), any::<bool>()), 1..25);
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for round in 0..4 {
            let script = ops.new_tree(&mut runner).unwrap().current();
            let mut visible: Vec<(i64, i64)> = Vec::new(); // (id, stars)
            let mut hidden: Vec<(i64, i64)> = Vec::new();
            app.db
                .execute(query("DELETE FROM dir_reviews"))
                .await
                .unwrap();
            for (i, (stars, hide_one, restore_one)) in script.into_iter().enumerate() {
                let mut tx = app.db.begin().await.unwrap();
                let id = khidmat::directory::store::insert_review(
                    &mut tx,
                    &subject,
                    place,
                    stars,
                    "",
                    None,
                    &format!("+92300{round}{i:06}"),
                    "",
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                visible.push((id, stars));
                if hide_one && !visible.is_empty() {
                    let (id, s) = visible.remove(0);
                    khidmat::directory::moderate(&state, &admin, id, true, "test")
                        .await
                        .unwrap();
                    hidden.push((id, s));
                }
                if restore_one && !hidden.is_empty() {
                    let (id, s) = hidden.remove(0);
                    khidmat::directory::moderate(&state, &admin, id, false, "test")
                        .await
                        .unwrap();
                    visible.push((id, s));
                }
                let got =
                    khidmat::directory::store::ratings(&app.db, std::slice::from_ref(&subject))
                        .await
                        .unwrap();
                let want_n = visible.len() as i64;
                match got.get(&subject) {
                    None => assert_eq!(want_n, 0),
                    Some((avg, n)) => {
                        assert_eq!(*n, want_n);
                        let want = visible.iter().map(|v| v.1).sum::<i64>() as f64 / want_n as f64;
                        assert!((avg - want).abs() < 1e-9, "{avg} vs {want}");
                    }
                }
            }
        }
    }
);

async fn state_of(app: &TestApp) -> khidmat::AppState {
    // A state over the test's database, as the server's handlers have it.
    let config = crate::helpers::test_config(&app.data_dir, app.database_url.clone());
    khidmat::Application::build_with_db(
        khidmat::Config {
            demo: false,
            ..config
        },
        app.db.clone(),
    )
    .await
    .unwrap()
    .state()
    .clone()
}

on_both!(
    suggestions_wait_for_staff_and_near_duplicates_are_flagged,
    |backend| async move {
        let app = spawn_with(backend, |_| {}).await;
        let b = browser();
        let html = get_page(&b, &app, "/places/suggest?kind=public-toilet")
            .await
            .1;
        let csrf = hidden(&html, "csrf");
        let send = |name: &'static str, lat: &'static str, long: &'static str| {
            let b = b.clone();
            let url = app.at("/places/suggest");
            let csrf = csrf.clone();
            async move {
                b.post(url)
                    .form(&[
                        ("csrf", csrf.as_str()),
                        ("kind", "public-toilet"),
                        ("name", name),
                        ("lat", lat),
                        ("long", long),
                        ("address", "x"),
                        ("a_gender", "women"),
                    ])
                    .send()
                    .await
                    .unwrap()
            }
        };
        // 10 m from the Firdous Chowk toilet: likely the same.
        let r = send("Toilet near the cinema", "34.00469", "71.55890").await;
        assert_eq!(r.status(), 200);
        assert!(r
            .text()
            .await
            .unwrap()
            .contains("already listed very close"));
        let r = send("New toilet, Ring Road", "34.0300", "71.6000").await;
        assert!(r.text().await.unwrap().contains("Staff will check"));
        assert_eq!(send("", "34.03", "71.60").await.status(), 422);
        assert_eq!(send("Bad", "95", "71.60").await.status(), 422);
        let pending: Vec<(i64, String, Option<i64>)> = app.db.fetch_all(query("SELECT id, name, possible_duplicate_of FROM dir_places WHERE status = 'pending' ORDER BY id")).await.unwrap();
        assert_eq!(pending.len(), 2);
        assert!(pending[0].2.is_some() && pending[1].2.is_none());
        let near = "/hsds/service_at_locations?lat=34.0300&long=71.6000&proximity=100";
        assert_eq!(
            json(&app, near).await.1["total_items"],
            0,
            "pending places are not listed"
        );

        app.add_user("wssp@test.pk", Role::Officer, Some("wssp"), None)
            .await;
        let (s, scsrf) = login(&app, "wssp@test.pk").await;
        let queue = get_page(&s, &app, "/staff/directory").await.1;
        assert!(queue.contains("New toilet, Ring Road") && queue.contains("Probably the same as"));
        // Verified with its name in Urdu (staff add the languages the citizen did not write).
        let r = s
            .post(app.at(&format!("/staff/directory/places/{}", pending[1].0)))
            .form(&[
                ("csrf", scsrf.as_str()),
                ("action", "verify"),
                ("name_ur", "نیا بیت الخلا، رنگ روڈ"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        s.post(app.at(&format!("/staff/directory/places/{}", pending[0].0)))
            .form(&[("csrf", scsrf.as_str()), ("action", "reject")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            json(&app, near).await.1["total_items"],
            1,
            "verified: found at once"
        );

        // A citizen reads a place in the page's language: the pack's Urdu and Pashto, the Urdu
        // staff added, the registered name where a translation is missing (and HSDS keeps the
        // registered one).
        let firdous = place_uuid(&app, "Public toilet, Firdous Chowk").await;
        let ur = get_page(&b, &app, &format!("/places/{firdous}?locale=ur"))
            .await
            .1;
        assert!(
            ur.contains("عوامی بیت الخلا، فردوس چوک") && ur.contains("فردوس چوک، سینما کے قریب"),
            "the Urdu name and address"
        );
        assert!(!ur.contains("Public toilet, Firdous Chowk"));
        let ps = get_page(&b, &app, &format!("/places/{firdous}?locale=ps"))
            .await
            .1;
        assert!(ps.contains("عامه تشناب، فردوس چوک"));
        let en = get_page(&b, &app, &format!("/places/{firdous}?locale=en"))
            .await
            .1;
        assert!(en.contains("Public toilet, Firdous Chowk"));
        let near_ur = get_page(
            &b,
            &app,
            "/places?kind=public-toilet&district=peshawar&locale=ur",
        )
        .await
        .1;
        assert!(
            near_ur.contains("عوامی بیت الخلا، قصہ خوانی بازار"),
            "the list too"
        );
        let ring = place_uuid(&app, "New toilet, Ring Road").await;
        let ur = get_page(&b, &app, &format!("/places/{ring}?locale=ur"))
            .await
            .1;
        assert!(ur.contains("نیا بیت الخلا، رنگ روڈ"));
        let ps = get_page(&b, &app, &format!("/places/{ring}?locale=ps"))
            .await
            .1;
        assert!(
            ps.contains("New toilet, Ring Road"),
            "no Pashto: the registered name"
        );

        // The department's hand-over readiness names the place that lacks Pashto (and the
        // pack's places, translated, not at all).
        app.add_user("wssp-manager@test.pk", Role::Manager, Some("wssp"), None)
            .await;
        let (m, _) = login(&app, "wssp-manager@test.pk").await;
        let admin = get_page(&m, &app, "/staff/admin").await.1;
        let row = &admin[admin.find(r#"data-check="translations""#).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(
            row.contains("without Pashto: place New toilet, Ring Road") && !row.contains("Firdous"),
            "{row}"
        );
    }
);

on_both!(
    csv_import_reports_bad_rows_and_sms_finds_the_nearest,
    |backend| async move {
        let app = spawn_with(backend, |c| c.channel_secret = Some("s".into())).await;
        let kind = khidmat::directory::store::kinds(&app.db)
            .await
            .unwrap()
            .into_iter()
            .find(|k| k.code == "public-toilet")
            .unwrap();
        let csv = "name,lat,long,address,gender,wheelchair,hours\n\
               Good one,34.01,71.55,Saddar,both,yes,MO-FR 09:00-17:00\n\
               Broken coordinate,34.x,71.55,,both,yes,\n\
               Bad gender,34.02,71.55,,aliens,yes,\n\
               Bad hours,34.02,71.55,,both,no,someday\n\
               Another good one,34.03,71.56,,women,no,daily 00:00-24:00\n";
        let out = khidmat::directory::import::import(&app.db, &kind, Some("wssp"), csv, |_| {})
            .await
            .unwrap();
        assert_eq!(out.imported, 2);
        let lines: Vec<u64> = out.rejected.iter().map(|r| r.0).collect();
        assert_eq!(lines, vec![3, 4, 5], "{:?}", out.rejected);
        assert!(out.rejected[0].1.contains("lat"));
        let err = khidmat::directory::import::import(
            &app.db,
            &kind,
            None,
            "name,lat,long,colour\nx,1,1,red\n",
            |_| {},
        )
        .await
        .unwrap_err();
        assert!(format!("{err}").contains("unknown column \"colour\""));
        // The name and address in Urdu and Pashto, as columns of their own.
        let out = khidmat::directory::import::import(
            &app.db,
            &kind,
            Some("wssp"),
            "name,name_ur,name_ps,lat,long,address,address_ur\n\
             \"Toilet, Chowk Yadgar\",بیت الخلا، چوک یادگار,تشناب، یادګار چوک,34.008,71.575,Chowk Yadgar,چوک یادگار\n",
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(out.imported, 1, "{:?}", out.rejected);
        let (ur, ps, address_ur): (String, String, String) = app
            .db
            .fetch_one(query("SELECT name_ur, name_ps, address_ur FROM dir_places WHERE name = 'Toilet, Chowk Yadgar'"))
            .await
            .unwrap();
        assert_eq!(
            (ur.as_str(), ps.as_str(), address_ur.as_str()),
            ("بیت الخلا، چوک یادگار", "تشناب، یادګار چوک", "چوک یادگار")
        );

        let r = app
            .client
            .post(app.at("/channels/africastalking/sms?key=s"))
            .form(&[
                ("from", PHONE),
                ("to", "8311"),
                ("text", "WC Peshawar"),
                ("id", "w1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let reply: String = app
            .db
            .scalar(
                query("SELECT body FROM sms_outbox WHERE phone = $1 ORDER BY id DESC LIMIT 1")
                    .bind(PHONE),
            )
            .await
            .unwrap();
        assert!(
            reply.starts_with("1) ") && reply.contains("\n3) ") && reply.contains("km"),
            "{reply}"
        );
        app.client
            .post(app.at("/channels/africastalking/sms?key=s"))
            .form(&[
                ("from", PHONE),
                ("to", "8311"),
                ("text", "WC"),
                ("id", "w2"),
            ])
            .send()
            .await
            .unwrap();
        let reply: String = app
            .db
            .scalar(
                query("SELECT body FROM sms_outbox WHERE phone = $1 ORDER BY id DESC LIMIT 1")
                    .bind(PHONE),
            )
            .await
            .unwrap();
        assert!(reply.contains("your area"), "{reply}");
    }
);

// HSDS says filters are cumulative: each one given must narrow the answer, with a point or
// without, and together they combine. Each assertion below fails if its filter is ignored.
both!(
    hsds_filters_narrow_every_list_and_combine,
    |app| async move {
        let total = |v: &serde_json::Value| v["total_items"].as_i64().unwrap();
        let names = |v: &serde_json::Value| -> Vec<String> {
            v["contents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["service"]["name"].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let sal = "/hsds/service_at_locations?per_page=500";
        let point = "lat=34.0046&long=71.5589&proximity=20000";
        let (_, all) = json(&app, sal).await;
        let (_, near) = json(&app, &format!("{sal}&{point}")).await;
        assert!(
            total(&all) >= 16 && total(&near) >= 8,
            "{} {}",
            total(&all),
            total(&near)
        );

        let (_, orgs) = json(&app, "/hsds/organizations?per_page=100").await;
        let wssp = orgs["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "Water and Sanitation Services Peshawar")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for base in [sal.to_owned(), format!("{sal}&{point}")] {
            let (_, everything) = json(&app, &base).await;
            // search
            let (_, s) = json(&app, &format!("{base}&search=chowk")).await;
            assert!(
                total(&s) >= 1 && total(&s) < total(&everything),
                "search: {base}"
            );
            assert!(names(&s).iter().all(|n| n.to_lowercase().contains("chowk")
                || s.to_string().to_lowercase().contains("chowk")));
            // organization_id
            let (_, o) = json(&app, &format!("{base}&organization_id={wssp}")).await;
            assert!(
                total(&o) >= 1 && total(&o) < total(&everything),
                "organization_id: {base}"
            );
            assert!(o["contents"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["service"]["organization"]["id"] == wssp.as_str()
                    || c["service"]["organization_id"] == wssp.as_str()));
            // modified_after: nothing changed after tomorrow
            let (_, m) = json(&app, &format!("{base}&modified_after=2099-01-01T00:00:00Z")).await;
            assert_eq!(total(&m), 0, "modified_after: {base}");
            let (_, m) = json(&app, &format!("{base}&modified_after=2000-01-01T00:00:00Z")).await;
            assert_eq!(
                total(&m),
                total(&everything),
                "modified_after in the past: {base}"
            );
            // combined: search and organization together, no more than either
            let (_, both) =
                json(&app, &format!("{base}&search=chowk&organization_id={wssp}")).await;
            assert!(total(&both) <= total(&s).min(total(&o)), "combined: {base}");
            // postcode cannot be applied: refused, never ignored
            let (status, _) = json(&app, &format!("{base}&postcode=25000")).await;
            assert_eq!(status, 400, "postcode: {base}");
            for c in s["contents"].as_array().unwrap() {
                assert_valid_in("hsds", "compiled/service_at_location.json", c);
            }
        }

        // Organizations, taxonomies and terms are searched too.
        let (_, o) = json(&app, "/hsds/organizations?search=sanitation").await;
        assert!(total(&o) >= 1 && total(&o) < total(&orgs), "{o}");
        assert!(o["contents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == wssp.as_str()));
        let (_, t) = json(&app, "/hsds/taxonomies?search=attributes").await;
        assert_eq!(total(&t), 1);
        let (_, terms) = json(&app, "/hsds/taxonomy_terms?per_page=500").await;
        let (_, toilet) = json(&app, "/hsds/taxonomy_terms?per_page=500&search=toilet").await;
        assert!(total(&toilet) >= 1 && total(&toilet) < total(&terms));
        // The optional single-item endpoints.
        let term = &toilet["contents"][0];
        let (s, one) = json(
            &app,
            &format!("/hsds/taxonomy_terms/{}", term["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!((s, &one), (200, term));
        let tax = &t["contents"][0];
        let (s, one) = json(
            &app,
            &format!("/hsds/taxonomies/{}", tax["id"].as_str().unwrap()),
        )
        .await;
        assert_eq!((s, &one), (200, tax));
        assert_eq!(json(&app, "/hsds/taxonomies/nope").await.0, 404);
        assert_eq!(json(&app, "/hsds/taxonomy_terms/nope").await.0, 404);

        // top_only and parent_id on terms.
        let (_, top) = json(&app, "/hsds/taxonomy_terms?per_page=500&top_only=true").await;
        assert!(total(&top) >= 3 && total(&top) < total(&terms));
        assert!(top["contents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["parent_id"].is_null()));
        let toilet_kind = top["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == "public-toilet")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, under) = json(
            &app,
            &format!("/hsds/taxonomy_terms?per_page=500&parent_id={toilet_kind}"),
        )
        .await;
        assert!(total(&under) >= 1);
        assert!(under["contents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["parent_id"] == toilet_kind.as_str()));

        // full_service nests an organization's services; full=false leaves nested objects out.
        let (s, org) = json(
            &app,
            &format!("/hsds/organizations/{wssp}?full_service=true"),
        )
        .await;
        assert_eq!(s, 200);
        assert_valid_in("hsds", "compiled/organization.json", &org);
        assert_eq!(
            org["services"].as_array().map(Vec::len),
            Some(7),
            "WSSP's seven toilets"
        );
        let (_, plain) = json(&app, &format!("/hsds/organizations/{wssp}")).await;
        assert!(plain.get("services").is_none());
        let (_, listed) = json(
            &app,
            "/hsds/organizations?full_service=true&search=sanitation",
        )
        .await;
        assert!(listed["contents"][0]["services"]
            .as_array()
            .is_some_and(|s| !s.is_empty()));
        let (_, bare) = json(&app, &format!("{sal}&full=false")).await;
        assert!(bare["contents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("service").is_none() && c.get("id").is_some()));
        // format: JSON only, said rather than ignored, on every list.
        for list in [
            "services",
            "organizations",
            "service_at_locations",
            "taxonomies",
            "taxonomy_terms",
        ] {
            assert_eq!(
                json(&app, &format!("/hsds/{list}?format=xml")).await.0,
                400,
                "{list}"
            );
            assert_eq!(
                json(&app, &format!("/hsds/{list}?format=json")).await.0,
                200,
                "{list}"
            );
        }
    }
);
