//! Open data over HTTP on both stores: CSV import into the DataStore (types, BOM, Urdu, bad
//! rows), the CKAN Action API's envelope and actions, and the real `ckanapi` client.

use serde_json::{json, Value};

use crate::helpers::{spawn, Backend, TestApp};
use crate::{both, on_both};

const CSV: &str = "\u{feff}District,Week,Reports,Median hours,Opened,Note\n\
peshawar,2026-11-02,120,36.5,2026-11-02T09:00:00Z,پشاور میں زیادہ\n\
swat,2026-11-02,45,48,2026-11-02T10:30:00Z,\n\
peshawar,2026-11-09,131,30.25,2026-11-09T09:00:00Z,بجلی چوری\n\
mardan,2026-11-09,17,,2026-11-09T11:00:00Z,Few reports\n";

async fn action(app: &TestApp, name: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(app.at(&format!("/api/3/action/{name}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn imported(app: &TestApp) -> String {
    let file = app.data_dir.join("weekly.csv");
    std::fs::write(&file, CSV).unwrap();
    let done = khidmat::opendata::import_csv(
        &app.db,
        &file,
        "weekly-reports",
        Some("Reports per week"),
        Some("pesco"),
        |_, _| {},
    )
    .await
    .unwrap();
    assert_eq!(done.rows, 4);
    done.resource_id
}

on_both!(
    a_csv_becomes_a_typed_datastore_table_ckan_clients_can_read,
    |backend| async move {
        let app = match backend {
            Backend::Sqlite => spawn(Backend::Sqlite).await,
            Backend::Postgres => spawn(Backend::Postgres).await,
        };
        let resource = imported(&app).await;
        let (s, show) = action(&app, "resource_show", json!({"id": resource})).await;
        assert_eq!(s, 200);
        assert_eq!(show["success"], true);
        assert_eq!(show["result"]["datastore_active"], true);
        // The resource's url downloads the file, as a client that fetches a resource expects:
        // the rows as CSV, not the datastore_search JSON.
        let url = show["result"]["url"].as_str().unwrap();
        assert_eq!(
            url,
            app.at(&format!("/dataset/weekly-reports/resource/{resource}.csv"))
        );
        let got = app.client.get(url).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert!(got.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv"));
        let text = got.text().await.unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "District,Week,Reports,Median hours,Opened,Note");
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[3].starts_with("peshawar,2026-11-09,131,") && lines[3].ends_with("بجلی چوری")
        );

        let (_, r) = action(&app, "datastore_search", json!({"resource_id": resource})).await;
        let types: Vec<(String, String)> = r["result"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_owned(),
                    f["type"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            types,
            vec![
                ("_id".into(), "int".into()),
                ("District".into(), "text".into()),
                ("Week".into(), "date".into()),
                ("Reports".into(), "int".into()),
                ("Median hours".into(), "numeric".into()),
                ("Opened".into(), "timestamp".into()),
                ("Note".into(), "text".into()),
            ],
            "the BOM is gone from the first name; types inferred"
        );
        assert_eq!(r["result"]["total"], 4);
        assert_eq!(r["result"]["records"][0]["Note"], "پشاور میں زیادہ");
        assert_eq!(r["result"]["records"][0]["Reports"], 120);
        assert_eq!(r["result"]["records"][3]["Median hours"], Value::Null);
        assert_eq!(r["result"]["records"][1]["Opened"], "2026-11-02T10:30:00Z");

        let (_, f) = action(&app, "datastore_search", json!({"resource_id": resource, "filters": {"District": "peshawar"}, "sort": "Reports desc", "fields": ["Week", "Reports"]})).await;
        let rows: Vec<i64> = f["result"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["Reports"].as_i64().unwrap())
            .collect();
        assert_eq!(rows, vec![131, 120]);
        assert_eq!(f["result"]["total"], 2);
        assert_eq!(
            f["result"]["records"][0].as_object().unwrap().len(),
            2,
            "only the fields asked for: {f}"
        );
        // Distinct rows of the fields asked for, counted as such; `_id` where it is asked.
        let (_, d) = action(&app, "datastore_search", json!({"resource_id": resource, "fields": "District", "distinct": true, "sort": "District"})).await;
        assert_eq!(d["result"]["total"], 3, "{d}");
        assert_eq!(
            d["result"]["records"],
            json!([{"District": "mardan"}, {"District": "peshawar"}, {"District": "swat"}])
        );
        assert_eq!(
            d["result"]["fields"],
            json!([{"id": "District", "type": "text"}])
        );
        let (s, bad) = action(&app, "datastore_search", json!({"resource_id": resource, "fields": "District", "distinct": true, "sort": "Reports"})).await;
        assert_eq!(s, 409, "{bad}");
        let (_, n) = action(&app, "datastore_search", json!({"resource_id": resource, "fields": ["Reports", "_id"], "sort": "_id desc", "limit": 1})).await;
        assert_eq!(n["result"]["records"], json!([{"Reports": 17, "_id": 4}]));
        assert_eq!(
            n["result"]["fields"][1],
            json!({"id": "_id", "type": "int"})
        );
        let (_, q) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "q": "بجلی", "records_format": "lists"}),
        )
        .await;
        assert_eq!(q["result"]["total"], 1);
        assert_eq!(q["result"]["records"][0][1], "peshawar");
        let (_, csv) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "limit": 1, "offset": 1, "records_format": "csv"}),
        )
        .await;
        assert!(csv["result"]["records"]
            .as_str()
            .unwrap()
            .starts_with("2,swat,2026-11-02,45,48"));

        // Errors in CKAN's shape.
        let (s, e) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "filters": {"Reports": "many"}}),
        )
        .await;
        assert_eq!(
            (s, e["success"].clone(), e["error"]["__type"].clone()),
            (409, json!(false), json!("Validation Error"))
        );
        let (s, _) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "sort": "Nope asc"}),
        )
        .await;
        assert_eq!(s, 409);
        let (s, e) = action(&app, "datastore_search", json!({"resource_id": "no-such"})).await;
        assert_eq!(
            (s, e["error"]["__type"].clone()),
            (404, json!("Not Found Error"))
        );
        let (s, _) = action(&app, "no_such_action", json!({})).await;
        assert_eq!(s, 400);
        let r = app
            .client
            .post(app.at("/api/3/action/package_search"))
            .body("not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
);

on_both!(
    the_catalogue_searches_facets_and_shows,
    |backend| async move {
        let app = spawn(backend).await;
        imported(&app).await;
        let (_, list) = action(&app, "package_list", json!({})).await;
        assert_eq!(list["result"], json!(["weekly-reports"]));
        let (_, s) = action(&app, "package_search", json!({"q": "week", "fq": "organization:pesco", "facet.field": ["organization"], "rows": 5})).await;
        assert_eq!(s["result"]["count"], 1);
        assert_eq!(s["result"]["results"][0]["organization"]["name"], "pesco");
        assert_eq!(s["result"]["results"][0]["num_resources"], 1);
        assert_eq!(
            s["result"]["search_facets"]["organization"]["items"][0],
            json!({"name": "pesco", "display_name": "pesco", "count": 1})
        );
        let (_, none) = action(&app, "package_search", json!({"fq": "organization:wssp"})).await;
        assert_eq!(none["result"]["count"], 0);
        let (_, show) = action(&app, "package_show", json!({"id": "weekly-reports"})).await;
        assert_eq!(show["result"]["title"], "Reports per week");
        let (_, orgs) = action(&app, "organization_list", json!({"all_fields": true})).await;
        let pesco = orgs["result"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "pesco")
            .unwrap();
        assert_eq!(pesco["package_count"], 1);
        let (s, _) = action(&app, "package_show", json!({"id": "nothing"})).await;
        assert_eq!(s, 404);
        let (s, e) = action(&app, "package_show", json!({})).await;
        assert_eq!(
            (s, e["error"]["message"].clone()),
            (409, json!("id: Missing value"))
        );
        let (s, _) = action(&app, "package_search", json!({"fq": "colour:red"})).await;
        assert_eq!(s, 409);
        // GET works as well as POST.
        let r = app
            .get("/api/3/action/package_search?q=reports&rows=1")
            .await;
        assert_eq!(r.status(), 200);
    }
);

on_both!(
    a_ragged_or_broken_csv_imports_nothing_and_says_where,
    |backend| async move {
        let app = spawn(backend).await;
        let file = app.data_dir.join("bad.csv");
        let mut bytes = b"a,b\n1,2\n3\n4,5,6\n7,8\n".to_vec();
        bytes.extend_from_slice(b"9,\xff\xfe\n");
        std::fs::write(&file, &bytes).unwrap();
        let err = khidmat::opendata::import_csv(&app.db, &file, "bad", None, None, |_, _| {})
            .await
            .unwrap_err();
        let msg = err.message();
        assert!(
            msg.contains("3 bad rows")
                && msg.contains("line 3")
                && msg.contains("line 4")
                && msg.contains("line 6"),
            "{msg}"
        );
        assert_eq!(app.count("od_datasets").await, 0, "nothing half-imported");
        assert_eq!(app.count("od_resources").await, 0);
        let err = khidmat::opendata::import_csv(&app.db, &file, "Bad Name", None, None, |_, _| {})
            .await
            .unwrap_err();
        assert!(err.message().contains("dataset name"));
    }
);

/// `ckanapi action ARGS -r SERVER [-a KEY]`: what it printed, as JSON.
async fn ckanapi(app: &TestApp, mut args: Vec<String>, key: Option<&str>) -> Value {
    args.insert(0, "action".into());
    args.extend(["-r".into(), app.url.clone()]);
    if let Some(k) = key {
        args.extend(["-a".into(), k.to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_slice(&crate::helpers::run_client("ckanapi", &args).await).unwrap()
}

/// The real `ckanapi` client (installed by scripts/test.sh into target/test-venv).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ckanapi_client_reads_the_catalogue_and_the_datastore() {
    let app = spawn(Backend::Sqlite).await;
    let resource = imported(&app).await;
    let run = |args: Vec<String>| ckanapi(&app, args, None);
    let s = run(vec![
        "package_search".into(),
        "q=reports".into(),
        "fq=organization:pesco".into(),
    ])
    .await;
    assert_eq!(s["count"], 1);
    assert_eq!(s["results"][0]["name"], "weekly-reports");
    let p = run(vec!["package_show".into(), "id=weekly-reports".into()]).await;
    assert_eq!(p["resources"][0]["id"], resource);
    let o = run(vec!["organization_list".into(), "all_fields=true".into()]).await;
    assert!(o
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == "pesco" && x["package_count"] == 1));
    let d = run(vec![
        "datastore_search".into(),
        format!("resource_id={resource}"),
        "filters:{\"District\": \"swat\"}".into(),
    ])
    .await;
    assert_eq!(d["total"], 1);
    assert_eq!(d["records"][0]["Reports"], 45);
    let q = run(vec![
        "datastore_search_sql".into(),
        format!(r#"sql=SELECT COUNT(*) AS n FROM "{resource}" WHERE "District" = 'peshawar'"#),
    ])
    .await;
    assert_eq!(q["records"][0]["n"], 2);

    // Publishing through ckanapi with a department key: the new dataset is found at once.
    let key = app.department_key("wssp").await;
    ckanapi(
        &app,
        vec![
            "package_create".into(),
            "name=public-toilets".into(),
            "title=Public toilets of Peshawar".into(),
        ],
        Some(&key),
    )
    .await;
    let s = run(vec!["package_search".into(), "q=toilets".into()]).await;
    assert_eq!(s["count"], 1);
    assert_eq!(s["results"][0]["organization"]["name"], "wssp");

    // And a CSV uploaded with it becomes a table at once.
    let csv = app.data_dir.join("toilets.csv");
    std::fs::write(&csv, "name,women\nFirdous Chowk,yes\nSaddar,yes\n").unwrap();
    let key = app.department_key("wssp").await;
    let made = ckanapi(
        &app,
        vec![
            "resource_create".into(),
            "package_id=public-toilets".into(),
            "name=toilets.csv".into(),
            format!("upload@{}", csv.display()),
        ],
        Some(&key),
    )
    .await;
    assert_eq!(made["datastore_active"], true);
    let d = run(vec![
        "datastore_search".into(),
        format!("resource_id={}", made["id"].as_str().unwrap()),
    ])
    .await;
    assert_eq!(d["total"], 2);
}

on_both!(
    sql_reads_datastore_tables_and_nothing_else,
    |backend| async move {
        let app = spawn(backend).await;
        let resource = imported(&app).await;
        let (s, r) = action(&app, "datastore_search_sql", json!({"sql": format!(
        r#"SELECT "District", SUM("Reports") AS reports FROM "{resource}" GROUP BY "District" ORDER BY reports DESC"#
    )})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(
            r["result"]["records"][0],
            json!({"District": "peshawar", "reports": 251})
        );
        assert_eq!(r["result"]["records"].as_array().unwrap().len(), 3);

        for (sql, status) in [
            (format!(r#"DELETE FROM "{resource}""#), 403),
            ("SELECT * FROM users".to_string(), 403),
            ("SELECT email, password_hash FROM users".to_string(), 403),
            (
                format!(r#"SELECT * FROM "{resource}"; DELETE FROM users"#),
                409,
            ),
            (
                format!(r#"SELECT pg_sleep(5), randomblob(9) FROM "{resource}""#),
                403,
            ),
            ("SELECT 1 +".to_string(), 409),
        ] {
            let (s, e) = action(&app, "datastore_search_sql", json!({"sql": sql})).await;
            assert_eq!(s, status, "{sql}: {e}");
            assert_eq!(e["success"], false);
        }
        assert_eq!(app.count("users").await, 0, "still there, untouched");
        let ds = khidmat::opendata::datastore::schema(app.db.backend());
        assert!(app.count(&format!("{ds}.\"{resource}\"")).await == 4);

        // The second wall: even SQL that got past the parser cannot write.
        let wrote = app
            .db
            .untrusted_select(
                "DELETE FROM sessions",
                10,
                std::time::Duration::from_secs(2),
            )
            .await;
        assert!(
            matches!(
                wrote,
                Err(khidmat::platform::db::UntrustedError::Refused(_))
            ),
            "{wrote:?}"
        );

        // A query that would run for ever is stopped at the time limit.
        let (s, e) = action(&app, "datastore_search_sql", json!({"sql": format!(
        r#"WITH RECURSIVE n(i) AS (SELECT 1 FROM "{resource}" UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n"#
    )})).await;
        assert_eq!(s, 409, "{e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("was stopped"),
            "{e}"
        );
    }
);

async fn with_key(app: &TestApp, name: &str, key: &str, body: Value) -> (u16, Value) {
    let r = app
        .client
        .post(app.at(&format!("/api/3/action/{name}")))
        .header("Authorization", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

on_both!(
    departments_publish_with_their_keys_only,
    |backend| async move {
        let app = spawn(backend).await;
        let pesco = app.department_key("pesco").await;
        let wssp = app.department_key("wssp").await;
        let new = json!({"name": "kunda-hotspots", "title": "Kunda hotspots", "notes": "Where electricity theft is reported", "tags": [{"name": "electricity"}]});
        assert_eq!(
            action(&app, "package_create", new.clone()).await.0,
            403,
            "no key"
        );
        assert_eq!(
            with_key(&app, "package_create", &app.client_key, new.clone())
                .await
                .0,
            403,
            "a client key"
        );
        assert_eq!(
            with_key(&app, "package_create", "nonsense", new.clone())
                .await
                .0,
            403
        );
        let (s, made) = with_key(&app, "package_create", &pesco, new.clone()).await;
        assert_eq!(s, 200, "{made}");
        assert_eq!(made["result"]["organization"]["name"], "pesco");
        assert_eq!(
            with_key(&app, "package_create", &pesco, new.clone())
                .await
                .0,
            409,
            "the name is taken"
        );
        let (s, _) = with_key(
            &app,
            "package_create",
            &pesco,
            json!({"name": "x-other", "owner_org": "wssp"}),
        )
        .await;
        assert_eq!(s, 403, "another department's organization");
        assert_eq!(
            with_key(&app, "package_create", &pesco, json!({"name": "Bad Name!"}))
                .await
                .0,
            409
        );

        let (_, found) = action(
            &app,
            "package_search",
            json!({"q": "electricity theft", "fq": "tags:electricity"}),
        )
        .await;
        assert_eq!(found["result"]["count"], 1);
        let (s, _) = with_key(
            &app,
            "package_update",
            &wssp,
            json!({"id": "kunda-hotspots", "title": "Mine now"}),
        )
        .await;
        assert_eq!(s, 403);
        let (s, upd) = with_key(
            &app,
            "package_update",
            &pesco,
            json!({"id": "kunda-hotspots", "title": "Kunda hotspots by week"}),
        )
        .await;
        assert_eq!(
            (s, upd["result"]["title"].clone()),
            (200, json!("Kunda hotspots by week"))
        );
        assert_eq!(
            upd["result"]["tags"][0]["name"], "electricity",
            "tags kept when not sent"
        );
        assert_eq!(
            with_key(
                &app,
                "package_delete",
                &pesco,
                json!({"id": "kunda-hotspots"})
            )
            .await
            .0,
            200
        );
        let (_, gone) = action(&app, "package_search", json!({"q": "kunda"})).await;
        assert_eq!(gone["result"]["count"], 0);
        assert_eq!(
            action(&app, "package_show", json!({"id": "kunda-hotspots"}))
                .await
                .0,
            404
        );
        assert_eq!(
            app.count("audit_log WHERE action LIKE 'dataset.%'").await,
            3
        );
    }
);

on_both!(
    published_aggregates_carry_no_personal_data_and_no_small_cells,
    |backend| async move {
        let app = spawn(backend).await;
        // Six reports in one cell (kunda, Peshawar, this week) from people who gave their details,
        // and one lonely report in Swat.
        for i in 0..6 {
            app.report(&[
                ("service_code", "kunda"),
                ("district", "peshawar"),
                ("attribute[premises]", "shop"),
                ("attribute[method]", "hook"),
                ("first_name", "Gul"),
                ("last_name", "Khan"),
                ("phone", "0300 1234567"),
                ("email", "gul.khan@example.pk"),
                (
                    "description",
                    &format!("My CNIC is 17301-1234567-1, house {i}"),
                ),
            ])
            .await;
        }
        app.report(&[
            ("service_code", "kunda"),
            ("district", "swat"),
            ("attribute[premises]", "shop"),
            ("attribute[method]", "hook"),
            ("phone", "0345 7654321"),
        ])
        .await;
        // The server booked its weekly run when it started.
        assert_eq!(
            app.count("jobs WHERE kind = 'opendata.publish' AND status = 'queued'")
                .await,
            1
        );
        let published = khidmat::opendata::publish::run(&app.db, "kp-itb")
            .await
            .unwrap();
        assert_eq!(
            published[0],
            ("reports-weekly".to_string(), 1),
            "the Swat cell of one is left out"
        );
        assert!(published[1].1 >= 16, "the verified directory");
        // Each says what it is, how it is made and what it leaves out; its file is named.
        for (name, resource) in [
            ("reports-weekly", "Reports per week (CSV)"),
            ("directory-places", "Directory of public places (CSV)"),
            (
                "benefits-grants",
                "Grants by fund, district and gender (CSV)",
            ),
            ("impact-weekly", "Impact per week (CSV)"),
            ("campaign-pledges", "Campaign pledges (CSV)"),
        ] {
            let (_, p) = action(&app, "package_show", json!({"id": name})).await;
            let notes = p["result"]["notes"].as_str().unwrap();
            assert!(notes.contains("every Monday"), "{name}: {notes}");
            assert_eq!(
                notes.contains("fewer than 5"),
                name != "directory-places",
                "{name}: the disclosure rule is said where it applies"
            );
            assert_eq!(p["result"]["resources"][0]["name"], resource, "{name}");
            assert_eq!(
                p["result"]["organization"]["name"], "kp-itb",
                "{name}: the publisher (opendata_publisher) is its organization"
            );
            assert!(
                !p["result"]["tags"].as_array().unwrap().is_empty(),
                "{name}"
            );
        }
        // Publishing again replaces, not adds.
        khidmat::opendata::publish::run(&app.db, "kp-itb")
            .await
            .unwrap();
        assert_eq!(
            app.count("od_resources").await,
            5,
            "reports, directory, grants, impact and campaign pledges, once each"
        );

        let (_, weekly) = action(&app, "package_show", json!({"id": "reports-weekly"})).await;
        let resource = weekly["result"]["resources"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (_, rows) = action(&app, "datastore_search", json!({"resource_id": resource})).await;
        assert_eq!(
            rows["result"]["records"][0]["reports"], 5,
            "six reports, published rounded to fives"
        );
        assert_eq!(rows["result"]["records"][0]["district"], "peshawar");

        // Everything anyone can read: every dataset, every row, every catalogue answer.
        let mut everything = String::new();
        let (_, list) = action(&app, "package_list", json!({})).await;
        for name in list["result"].as_array().unwrap() {
            let (_, p) = action(&app, "package_show", json!({"id": name})).await;
            everything.push_str(&p.to_string());
            for r in p["result"]["resources"].as_array().unwrap() {
                let (_, d) = action(
                    &app,
                    "datastore_search",
                    json!({"resource_id": r["id"], "limit": 32000}),
                )
                .await;
                everything.push_str(&d.to_string());
            }
        }
        everything.push_str(
            &action(&app, "package_search", json!({"rows": 1000}))
                .await
                .1
                .to_string(),
        );
        for secret in [
            "3001234567",
            "3457654321",
            "+92300",
            "Gul",
            "Khan",
            "gul.khan",
            "17301",
            "1234567-1",
            "house 0",
        ] {
            assert!(!everything.contains(secret), "{secret:?} was published");
        }
    }
);

on_both!(
    dcat_describes_the_catalogue_and_downloads_stream_whole_tables,
    |backend| async move {
        let app = spawn(backend).await;
        let resource = imported(&app).await;
        let r = app.get("/catalog.jsonld").await;
        assert_eq!(r.headers()["content-type"], "application/ld+json");
        let cat: Value = r.json().await.unwrap();
        assert_eq!(cat["@type"][0], "dcat:Catalog");
        assert_eq!(cat["hydra:totalItems"], 1);
        assert_eq!(cat["hydra:view"]["hydra:totalItems"], 1);
        assert_eq!(
            cat["hydra:view"]["hydra:lastPage"],
            cat["hydra:view"]["hydra:last"]
        );
        let ds = &cat["dcat:dataset"][0];
        assert_eq!(ds["dct:title"], "Reports per week");
        assert_eq!(
            ds["dct:publisher"]["foaf:name"][0]["@value"],
            "Peshawar Electric Supply Company (PESCO)"
        );
        let csv_url = ds["dcat:distribution"][0]["dcat:downloadURL"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(csv_url.ends_with(&format!("/dataset/weekly-reports/resource/{resource}.csv")));
        let one: Value = app
            .get("/dataset/weekly-reports.jsonld")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(one["@type"], "dcat:Dataset");
        assert_eq!(app.get("/dataset/nothing.jsonld").await.status(), 404);
        assert_eq!(app.get("/catalog.jsonld?page=0").await.status(), 400);

        let csv = app
            .get(&format!("/dataset/weekly-reports/resource/{resource}.csv"))
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(&csv[..3], b"\xEF\xBB\xBF");
        let text = std::str::from_utf8(&csv[3..]).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(text.starts_with("District,Week,Reports,Median hours,Opened,Note\n"));
        assert!(text.contains("پشاور میں زیادہ"));
        let json: Value = app
            .get(&format!("/dataset/weekly-reports/resource/{resource}.json"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(json.as_array().unwrap().len(), 4);
        assert_eq!(json[2]["Reports"], 131);
        assert_eq!(
            app.get(&format!("/dataset/other/resource/{resource}.csv"))
                .await
                .status(),
            404
        );
    }
);

on_both!(
    downloads_of_many_rows_come_in_pages_and_all_arrive,
    |backend| async move {
        let app = spawn(backend).await;
        let file = app.data_dir.join("big.csv");
        let mut text = String::from("n,label\n");
        for i in 0..12_345 {
            text.push_str(&format!("{i},row {i}\n"));
        }
        std::fs::write(&file, text).unwrap();
        let done = khidmat::opendata::import_csv(&app.db, &file, "big", None, None, |_, _| {})
            .await
            .unwrap();
        assert_eq!(done.rows, 12_345);
        let json: Value = app
            .get(&format!("/dataset/big/resource/{}.json", done.resource_id))
            .await
            .json()
            .await
            .unwrap();
        let rows = json.as_array().unwrap();
        assert_eq!(rows.len(), 12_345);
        assert_eq!(rows[12_344]["n"], 12_344);
    }
);

on_both!(
    the_data_pages_search_show_and_preview,
    |backend| async move {
        let app = spawn(backend).await;
        let resource = imported(&app).await;
        let b = crate::helpers::browser();
        let (s, list) = crate::helpers::page(&b, &app, "/data?q=week").await;
        assert_eq!(s, 200);
        assert!(list.contains("Reports per week") && list.contains("/data/weekly-reports"));
        let (_, none) = crate::helpers::page(&b, &app, "/data?q=nothing-like-this").await;
        assert!(none.contains("No datasets match"));
        let (s, ds) = crate::helpers::page(&b, &app, "/data/weekly-reports").await;
        assert_eq!(s, 200);
        assert!(ds.contains(&format!("/dataset/weekly-reports/resource/{resource}.csv")));
        assert_eq!(crate::helpers::page(&b, &app, "/data/nothing").await.0, 404);
        let (s, table) = crate::helpers::page(
            &b,
            &app,
            &format!("/data/weekly-reports/{resource}?sort=Reports&dir=desc&f0=peshawar"),
        )
        .await;
        assert_eq!(s, 200);
        let first = table.find(">131<").expect("131 shown");
        let second = table.find(">120<").expect("120 shown");
        assert!(first < second, "sorted descending");
        assert!(!table.contains(">swat<"), "filtered");
        assert!(table.contains("1–2 of 2"));
        // Words, typed on an Arabic keyboard, find the row; sorting keeps them.
        let (s, found) = crate::helpers::page(
            &b,
            &app,
            &format!("/data/weekly-reports/{resource}?q=%D8%A8%D8%AC%D9%84%D9%8A"),
        )
        .await;
        assert_eq!(s, 200);
        assert!(found.contains("1–1 of 1"), "{found}");
        assert!(found.contains(">بجلی چوری<"));
        assert!(
            found.contains("q=%D8%A8%D8%AC%D9%84%D9%8A"),
            "the sort links keep the words"
        );
        let (s, _) = crate::helpers::page(
            &b,
            &app,
            &format!("/data/weekly-reports/{resource}?sort=Nope"),
        )
        .await;
        assert_eq!(s, 400);
    }
);

on_both!(
    departments_add_tables_and_records_through_the_api,
    |backend| async move {
        let app = spawn(backend).await;
        let pesco = app.department_key("pesco").await;
        let wssp = app.department_key("wssp").await;
        with_key(
            &app,
            "package_create",
            &pesco,
            json!({"name": "meters", "title": "Meters checked"}),
        )
        .await;
        let create = json!({
            "resource": {"package_id": "meters", "name": "checks"},
            "fields": [{"id": "district", "type": "text"}, {"id": "checked", "type": "int"}, {"id": "day", "type": "date"}],
            "records": [{"district": "peshawar", "checked": 12, "day": "2026-11-20"}, {"district": "swat", "checked": 3}],
            "indexes": ["district"],
        });
        let mut wrong_index = create.clone();
        wrong_index["indexes"] = json!(["nope"]);
        assert_eq!(
            with_key(&app, "datastore_create", &pesco, wrong_index)
                .await
                .0,
            409
        );
        assert_eq!(app.count("od_resources").await, 0, "nothing half-made");
        assert_eq!(
            with_key(&app, "datastore_create", &wssp, create.clone())
                .await
                .0,
            403,
            "not their dataset"
        );
        let (s, made) = with_key(&app, "datastore_create", &pesco, create).await;
        assert_eq!(s, 200, "{made}");
        let resource = made["result"]["resource_id"].as_str().unwrap().to_string();
        let bad = json!({"resource_id": resource, "method": "insert", "records": [{"district": "x", "checked": "many"}]});
        let (s, e) = with_key(&app, "datastore_upsert", &pesco, bad).await;
        assert_eq!(s, 409, "{e}");
        let (s, _) = with_key(
            &app,
            "datastore_upsert",
            &pesco,
            json!({"resource_id": resource, "records": [{"district": "x"}]}),
        )
        .await;
        assert_eq!(s, 409, "upsert needs a primary key; insert is explicit");
        let (s, _) = with_key(&app, "datastore_upsert", &pesco, json!({"resource_id": resource, "method": "insert", "records": [{"district": "mardan", "checked": 7}]})).await;
        assert_eq!(s, 200);
        let (_, rows) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "sort": "checked desc"}),
        )
        .await;
        assert_eq!(rows["result"]["total"], 3);
        assert_eq!(rows["result"]["records"][1]["district"], "mardan");
        let (_, show) = action(&app, "resource_show", json!({"id": resource})).await;
        assert_eq!(show["result"]["name"], "checks");
        assert_eq!(
            app.count("audit_log WHERE action LIKE 'datastore.%'").await,
            2
        );
    }
);

on_both!(
    full_text_search_folds_urdu_spellings_and_follows_every_write,
    |backend| async move {
        let app = spawn(backend).await;
        let resource = imported(&app).await;
        let total = |q: &'static str| {
            let app = &app;
            let resource = resource.clone();
            async move {
                let (s, r) = action(
                    app,
                    "datastore_search",
                    json!({"resource_id": resource, "q": q}),
                )
                .await;
                assert_eq!(s, 200, "{q}: {r}");
                r["result"]["total"].as_i64().unwrap()
            }
        };
        // Typed on an Arabic keyboard (ي for ی), with a vowel mark, or in other case: one word.
        assert_eq!(total("بجلي").await, 1);
        assert_eq!(total("بِجلی").await, 1);
        assert_eq!(total("PESHAWAR").await, 2);
        // a word's start finds it; every word must be there
        assert_eq!(total("pesh").await, 2);
        assert_eq!(total("few reports").await, 1);
        assert_eq!(total("few peshawar").await, 0);
        // punctuation is not syntax
        assert_eq!(total("\"few\" (* :").await, 1);
        assert_eq!(total("nowhere").await, 0);

        // Records added later are found at once, whichever kaf they were typed with.
        let pesco = app.department_key("pesco").await;
        let (s, e) = with_key(&app, "datastore_upsert", &pesco, json!({"resource_id": resource, "method": "insert", "records": [{"District": "charsadda", "Week": "2026-11-16", "Reports": 9, "Note": "كنڈا"}]})).await;
        assert_eq!(s, 200, "{e}");
        assert_eq!(total("کنڈا").await, 1);
        assert_eq!(total("charsadda").await, 1);

        // A table from before full-text search says so, rather than failing obscurely.
        app.db
            .execute(khidmat::platform::db::query(
                "UPDATE od_resources SET full_text = FALSE",
            ))
            .await
            .unwrap();
        let (s, e) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "q": "swat"}),
        )
        .await;
        assert_eq!(s, 409);
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("import it again"),
            "{e}"
        );

        // The catalogue: words of the title, the name's parts, word starts, any case.
        for q in ["reports per week", "WEEKLY", "weekl", "rep"] {
            let (_, s) = action(&app, "package_search", json!({ "q": q })).await;
            assert_eq!(s["result"]["count"], 1, "{q}");
        }
        let (_, s) = action(&app, "package_search", json!({"q": "weekly toilets"})).await;
        assert_eq!(s["result"]["count"], 0);
        // and it follows an update of the dataset's title
        let (s, e) = with_key(
            &app,
            "package_update",
            &pesco,
            json!({"name": "weekly-reports", "title": "بجلی کی شکایات"}),
        )
        .await;
        assert_eq!(s, 200, "{e}");
        let (_, s) = action(&app, "package_search", json!({"q": "شكايات"})).await;
        assert_eq!(s["result"]["count"], 1);
        let (_, s) = action(&app, "package_search", json!({"q": "per week"})).await;
        assert_eq!(
            s["result"]["count"], 0,
            "the old title is gone from the index"
        );
    }
);

on_both!(
    a_primary_key_lets_departments_update_and_upsert_records,
    |backend| async move {
        let app = spawn(backend).await;
        let wssp = app.department_key("wssp").await;
        let (s, _) = with_key(
            &app,
            "package_create",
            &wssp,
            json!({"name": "toilets", "title": "Public toilets"}),
        )
        .await;
        assert_eq!(s, 200);
        let create = |records: Value| {
            json!({
                "resource": {"package_id": "toilets", "name": "register"},
                "fields": [{"id": "code", "type": "text"}, {"id": "name", "type": "text"}, {"id": "seats", "type": "int"}],
                "primary_key": "code",
                "records": records,
            })
        };
        // Two records with one key: refused, nothing made.
        let (s, e) = with_key(
            &app,
            "datastore_create",
            &wssp,
            create(json!([{"code": "T1", "name": "a"}, {"code": "T1", "name": "b"}])),
        )
        .await;
        assert_eq!(s, 409, "{e}");
        assert_eq!(app.count("od_resources").await, 0);
        let (s, made) = with_key(
            &app,
            "datastore_create",
            &wssp,
            create(json!([
                {"code": "T1", "name": "Firdous Chowk", "seats": 4},
                {"code": "T2", "name": "Saddar", "seats": 2},
            ])),
        )
        .await;
        assert_eq!(s, 200, "{made}");
        assert_eq!(made["result"]["primary_key"], json!(["code"]));
        let resource = made["result"]["resource_id"].as_str().unwrap().to_string();
        let upsert = |body: Value| {
            let mut body = body;
            body["resource_id"] = json!(resource.clone());
            with_key(&app, "datastore_upsert", &wssp, body)
        };

        // upsert (CKAN's default method): T2 changes its seats only, T3 is new.
        let (s, r) = upsert(json!({"records": [{"code": "T2", "seats": 6}, {"code": "T3", "name": "بس اڈہ", "seats": 1}]})).await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["result"]["inserted"], 1);
        // update: fields given change, others stay; an unknown key is refused.
        let (s, r) =
            upsert(json!({"method": "update", "records": [{"code": "T1", "name": "Hashtnagri"}]}))
                .await;
        assert_eq!(s, 200, "{r}");
        let (s, e) =
            upsert(json!({"method": "update", "records": [{"code": "T9", "seats": 1}]})).await;
        assert_eq!(s, 409);
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no record has that key"),
            "{e}"
        );
        // insert: a key that exists is refused; a record without its key too.
        let (s, e) =
            upsert(json!({"method": "insert", "records": [{"code": "T1", "name": "again"}]})).await;
        assert_eq!(s, 409);
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("exists already"),
            "{e}"
        );
        let (s, _) = upsert(json!({"records": [{"name": "no code"}]})).await;
        assert_eq!(s, 409);

        let (_, rows) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "sort": "code"}),
        )
        .await;
        let got: Vec<(String, String, i64)> = rows["result"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["code"].as_str().unwrap().into(),
                    r["name"].as_str().unwrap().into(),
                    r["seats"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("T1".into(), "Hashtnagri".into(), 4),
                ("T2".into(), "Saddar".into(), 6),
                ("T3".into(), "بس اڈہ".into(), 1),
            ]
        );
        assert_eq!(rows["result"]["total"], 3);
        // Full-text search follows updates: the old name is gone, the new one found.
        let (_, q) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "q": "firdous"}),
        )
        .await;
        assert_eq!(q["result"]["total"], 0);
        let (_, q) = action(
            &app,
            "datastore_search",
            json!({"resource_id": resource, "q": "hashtnagri"}),
        )
        .await;
        assert_eq!(q["result"]["total"], 1);
        let (_, show) = action(&app, "resource_show", json!({"id": resource})).await;
        assert_eq!(show["result"]["datastore_active"], true);
    }
);

on_both!(
    datasets_carry_a_licence_from_license_list,
    |backend| async move {
        let app = spawn(backend).await;
        let (s, list) = action(&app, "license_list", json!({})).await;
        assert_eq!(s, 200);
        let ids: Vec<&str> = list["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap())
            .collect();
        assert!(
            ids.contains(&"cc-by-4.0") && ids.contains(&"odc-odbl"),
            "{ids:?}"
        );
        let key = app.department_key("wssp").await;
        let (s, e) = with_key(
            &app,
            "package_create",
            &key,
            json!({"name": "drains", "license_id": "all-rights-reserved"}),
        )
        .await;
        assert_eq!(s, 409);
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("license_list"),
            "{e}"
        );
        assert_eq!(app.count("od_datasets").await, 0);
        let (s, _) = with_key(
            &app,
            "package_create",
            &key,
            json!({"name": "drains", "license_id": "odc-odbl"}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, show) = action(&app, "package_show", json!({"id": "drains"})).await;
        assert_eq!(
            show["result"]["license_title"],
            "Open Data Commons Open Database License (ODbL)"
        );
        assert_eq!(
            show["result"]["license_url"],
            "https://opendatacommons.org/licenses/odbl/1-0/"
        );
        let dcat: Value = app
            .client
            .get(app.at("/dataset/drains.jsonld"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            dcat.to_string()
                .contains("https://opendatacommons.org/licenses/odbl/1-0/"),
            "{dcat}"
        );
        let page = app
            .client
            .get(app.at("/data/drains"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains(r#"rel="license" href="https://opendatacommons.org/licenses/odbl/1-0/""#)
        );
    }
);

on_both!(
    groups_gather_datasets_across_departments,
    |backend| async move {
        let app = spawn(backend).await;
        let wssp = app.department_key("wssp").await;
        let pesco = app.department_key("pesco").await;
        let (s, e) = with_key(
            &app,
            "package_create",
            &wssp,
            json!({"name": "drains", "groups": [{"name": "Sanitation!"}]}),
        )
        .await;
        assert_eq!(s, 409, "{e}");
        let (s, _) = with_key(
            &app,
            "package_create",
            &wssp,
            json!({"name": "drains", "groups": [{"name": "sanitation"}]}),
        )
        .await;
        assert_eq!(s, 200);
        let (s, _) = with_key(
            &app,
            "package_create",
            &pesco,
            json!({"name": "outages", "groups": ["sanitation", "energy"]}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, list) = action(&app, "group_list", json!({})).await;
        assert_eq!(list["result"], json!(["energy", "sanitation"]));
        let (_, all) = action(&app, "group_list", json!({"all_fields": true})).await;
        assert_eq!(all["result"][1]["package_count"], 2);
        let (s, g) = action(&app, "group_show", json!({"id": "energy"})).await;
        assert_eq!(s, 200);
        assert_eq!(g["result"]["package_count"], 1);
        let (s, _) = action(&app, "group_show", json!({"id": "transport"})).await;
        assert_eq!(s, 404);
        let (_, found) = action(
            &app,
            "package_search",
            json!({"fq": "groups:energy", "facet.field": ["groups"]}),
        )
        .await;
        assert_eq!(found["result"]["count"], 1);
        assert_eq!(
            found["result"]["results"][0]["groups"][0]["name"],
            "sanitation"
        );
        let (_, facets) = action(&app, "package_search", json!({"facet.field": ["groups"]})).await;
        assert_eq!(
            facets["result"]["search_facets"]["groups"]["items"][0],
            json!({"name": "sanitation", "display_name": "sanitation", "count": 2})
        );
        // An update without groups keeps them; with an empty list, the dataset leaves them.
        let (s, _) = with_key(
            &app,
            "package_update",
            &pesco,
            json!({"name": "outages", "title": "Outages"}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, g) = action(&app, "group_show", json!({"id": "energy"})).await;
        assert_eq!(g["result"]["package_count"], 1);
        let (s, _) = with_key(
            &app,
            "package_update",
            &pesco,
            json!({"name": "outages", "groups": []}),
        )
        .await;
        assert_eq!(s, 200);
        let (_, list) = action(&app, "group_list", json!({})).await;
        assert_eq!(list["result"], json!(["sanitation"]));
    }
);

// Every CKAN answer links its action's documentation in `help`; the link answers.
both!(the_help_every_answer_links_to_exists, |app| async move {
    let actions = [
        "site_read",
        "status_show",
        "package_list",
        "package_search",
        "organization_list",
        "group_list",
        "license_list",
        "tag_list",
    ];
    for name in actions {
        let r = app.get_json(&format!("/api/3/action/{name}")).await;
        let help = r["help"].as_str().unwrap();
        assert!(
            help.ends_with(&format!("/api/3/action/help_show?name={name}")),
            "{help}"
        );
        let doc = app.get_json(help.strip_prefix(&app.url).unwrap()).await;
        assert_eq!(doc["success"], true, "{name}: {doc}");
        assert!(
            doc["result"].as_str().is_some_and(|d| d.len() > 10),
            "{name}: {doc}"
        );
    }
    // The documentation of each write action exists too, and an unknown one is CKAN's not-found.
    for name in [
        "package_create",
        "resource_create",
        "datastore_create",
        "datastore_upsert",
        "datastore_search",
        "datastore_search_sql",
        "help_show",
    ] {
        let doc = app
            .get_json(&format!("/api/3/action/help_show?name={name}"))
            .await;
        assert_eq!(doc["success"], true, "{name}");
    }
    let r = app
        .client
        .get(app.at("/api/3/action/help_show?name=no_such_action"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["__type"], "Not Found Error");
});

// `_id`, the row's number, is a field like the others for sort, fields and filters (as in CKAN).
both!(the_row_number_sorts_selects_and_filters, |app| async move {
    let resource = imported(&app).await;
    let (s, r) = action(
        &app,
        "datastore_search",
        json!({"resource_id": resource, "sort": "_id desc", "fields": ["_id", "District"]}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let ids: Vec<i64> = r["result"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [4, 3, 2, 1]);
    assert_eq!(r["result"]["records"][0]["District"], "mardan");
    assert!(r["result"]["records"][0].get("Week").is_none());
    let (s, r) = action(
        &app,
        "datastore_search",
        json!({"resource_id": resource, "filters": {"_id": 2}}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["result"]["total"], 1);
    assert_eq!(r["result"]["records"][0]["District"], "swat");
    let (s, _) = action(
        &app,
        "datastore_search",
        json!({"resource_id": resource, "filters": {"_id": "two"}}),
    )
    .await;
    assert_eq!(s, 409, "a row number is a number");
});

// Facets on the resources' format and the datasets' licence, as CKAN portals show them.
both!(
    datasets_are_counted_by_format_and_licence,
    |app| async move {
        imported(&app).await;
        let (s, r) = action(
            &app,
            "package_search",
            json!({"facet.field": ["res_format", "license_id"]}),
        )
        .await;
        assert_eq!(s, 200, "{r}");
        let facets = &r["result"]["search_facets"];
        let formats = facets["res_format"]["items"].as_array().unwrap();
        let csv = formats.iter().find(|i| i["name"] == "CSV").expect("CSV");
        assert!(csv["count"].as_i64().unwrap() >= 1);
        let licences = facets["license_id"]["items"].as_array().unwrap();
        let total: i64 = licences.iter().map(|i| i["count"].as_i64().unwrap()).sum();
        assert_eq!(
            total,
            r["result"]["count"].as_i64().unwrap(),
            "every dataset has one licence"
        );
        // The facets follow the query: a search that finds nothing counts nothing.
        let (_, none) = action(
            &app,
            "package_search",
            json!({"q": "zzzznothing", "facet.field": ["res_format", "license_id"]}),
        )
        .await;
        assert_eq!(
            none["result"]["search_facets"]["res_format"]["items"],
            json!([])
        );
        assert_eq!(
            none["result"]["search_facets"]["license_id"]["items"],
            json!([])
        );
    }
);

/// Values a spreadsheet or a careless importer damages: phone numbers with a leading zero or a
/// `+`, codes with leading zeros, an amount written `1.50`, dates and times not in the one
/// form that reads back the same. Beside them, columns that are plainly numbers and dates.
const FRAGILE: &str = "name,phone,code,amount,when,seen,count,price,day\n\
Ali,03001234567,007,1.50,2024-1-5,2024-01-05 10:00:00,5,36.5,2024-01-05\n\
Sana,+92919211430,12,2,2024-01-05,2024-01-05T10:00:00Z,500,48,2024-02-29\n\
\"Zar, Khan\",0919211430,1234,3.25,,,-7,0.000125,\n\
\x20Gul ,  ,0,0.5,2024-03-01,,0,-0.5,2024-03-01\n";

on_both!(
    inference_never_changes_a_value_and_a_type_can_be_given,
    |backend| async move {
        let app = spawn(backend).await;
        let file = app.data_dir.join("fragile.csv");
        std::fs::write(&file, FRAGILE).unwrap();
        let done = khidmat::opendata::import_csv(&app.db, &file, "fragile", None, None, |_, _| {})
            .await
            .unwrap();
        let kinds: Vec<(&str, &str)> = done
            .fields
            .iter()
            .map(|f| (f.id.as_str(), f.kind.name()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("name", "text"),
                ("phone", "text"),
                ("code", "text"),
                ("amount", "text"),
                ("when", "text"),
                ("seen", "text"),
                ("count", "int"),
                ("price", "numeric"),
                ("day", "date"),
            ]
        );
        // The download is the upload, byte for byte (after the BOM that Excel needs).
        let url = app.at(&format!(
            "/dataset/fragile/resource/{}.csv",
            done.resource_id
        ));
        let got = app
            .client
            .get(&url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(got, format!("\u{feff}{FRAGILE}"));
        // And so are the DataStore's records: text stays text, spaces and all.
        let (_, r) = action(
            &app,
            "datastore_search",
            json!({"resource_id": done.resource_id, "sort": "_id"}),
        )
        .await;
        let rec = &r["result"]["records"];
        assert_eq!(rec[0]["phone"], "03001234567");
        assert_eq!(rec[1]["phone"], "+92919211430");
        assert_eq!(rec[0]["code"], "007");
        assert_eq!(rec[3]["name"], " Gul ");
        assert_eq!(rec[1]["count"], 500);
        assert_eq!(rec[2]["price"], 0.000125);
        let (_, csv) = action(
            &app,
            "datastore_search",
            json!({"resource_id": done.resource_id, "sort": "_id", "records_format": "csv", "fields": ["phone", "price"]}),
        )
        .await;
        assert_eq!(
            csv["result"]["records"],
            "03001234567,36.5\n+92919211430,48\n0919211430,0.000125\n  ,-0.5\n"
        );

        // Asked for, a type is kept even where a value reads differently: `007` is 7.
        let types = [
            (
                "code".to_owned(),
                khidmat::opendata::datastore::FieldType::Integer,
            ),
            (
                "amount".to_owned(),
                khidmat::opendata::datastore::FieldType::Numeric,
            ),
        ];
        let about = khidmat::opendata::About {
            types: &types,
            ..Default::default()
        };
        let typed =
            khidmat::opendata::import_into(&app.db, &file, "typed", &about, false, |_, _| {})
                .await
                .unwrap();
        let (_, r) = action(
            &app,
            "datastore_search",
            json!({"resource_id": typed.resource_id, "sort": "code"}),
        )
        .await;
        let codes: Vec<i64> = r["result"]["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_i64().unwrap())
            .collect();
        assert_eq!(codes, [0, 7, 12, 1234], "sorted as numbers");
        assert_eq!(r["result"]["records"][1]["amount"], 1.5);

        // A value that does not fit the type asked for stops the import, naming line and
        // column; a column that is not there is named too.
        use khidmat::opendata::datastore::FieldType;
        let refused = |dataset: &'static str, column: &'static str, kind: FieldType| {
            let (db, file) = (app.db.clone(), file.clone());
            async move {
                let types = [(column.to_owned(), kind)];
                let about = khidmat::opendata::About {
                    types: &types,
                    ..Default::default()
                };
                khidmat::opendata::import_into(&db, &file, dataset, &about, false, |_, _| {})
                    .await
                    .unwrap_err()
                    .message()
            }
        };
        let err = refused("misfit", "name", FieldType::Integer).await;
        assert!(err.contains("4 bad rows, nothing imported"), "{err}");
        assert!(
            err.contains("line 2: \"Ali\" in the column \"name\" is not int"),
            "{err}"
        );
        let err = refused("missing", "mobile", FieldType::Text).await;
        assert!(err.contains("no column \"mobile\""), "{err}");
        let (_, shown) = action(&app, "package_show", json!({"id": "misfit"})).await;
        assert_eq!(shown["success"], false, "nothing was made");
    }
);

/// frictionless, reading through its CKAN adapter as any client of a CKAN portal does
/// (`package_show`, then each resource's `url`), gets back the rows that were uploaded by
/// `ckanapi` and by `data import` alike, byte for byte: leading zeros and `+` kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frictionless_reads_through_the_ckan_adapter_what_was_uploaded() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/clients/read_through_ckan.py");
    let app = spawn(Backend::Sqlite).await;
    let read = |dataset: &'static str| {
        let (script, url) = (script.display().to_string(), app.url.clone());
        async move {
            let out = crate::helpers::run_client("python", &[&script, &url, dataset]).await;
            String::from_utf8(out).unwrap()
        }
    };

    // Through the command line's import.
    let file = app.data_dir.join("fragile.csv");
    std::fs::write(&file, FRAGILE).unwrap();
    khidmat::opendata::import_csv(&app.db, &file, "imported", None, Some("pesco"), |_, _| {})
        .await
        .unwrap();
    assert_eq!(read("imported").await, FRAGILE);

    // Through ckanapi: a dataset made and a CSV uploaded with a department's key.
    let key = app.department_key("pesco").await;
    ckanapi(
        &app,
        vec!["package_create".into(), "name=uploaded".into()],
        Some(&key),
    )
    .await;
    ckanapi(
        &app,
        vec![
            "resource_create".into(),
            "package_id=uploaded".into(),
            "name=Phones".into(),
            format!("upload@{}", file.display()),
        ],
        Some(&key),
    )
    .await;
    assert_eq!(read("uploaded").await, FRAGILE);
}

on_both!(
    datastore_answers_are_kept_until_the_data_changes_on_any_node,
    |backend| async move {
        let a = spawn(backend).await;
        let pesco = a.department_key("pesco").await;
        with_key(
            &a,
            "package_create",
            &pesco,
            json!({"name": "meters", "title": "Meters checked"}),
        )
        .await;
        let (s, made) = with_key(&a, "datastore_create", &pesco, json!({
            "resource": {"package_id": "meters", "name": "checks"},
            "fields": [{"id": "district", "type": "text"}, {"id": "checked", "type": "int"}],
            "records": [{"district": "peshawar", "checked": 12}, {"district": "swat", "checked": 3}],
        }))
        .await;
        assert_eq!(s, 200, "{made}");
        let resource = made["result"]["resource_id"].as_str().unwrap().to_string();
        let search = json!({"resource_id": resource, "filters": {"district": "swat"}});
        let sql = json!({"sql": format!(
            r#"SELECT district, SUM(checked) AS n FROM "{resource}" GROUP BY district ORDER BY district"#
        )});
        let swat = |v: &Value| {
            (
                v["result"]["total"].clone(),
                v["result"]["records"][0]["checked"].clone(),
            )
        };
        let sums = |v: &Value| -> Vec<(String, i64)> {
            v["result"]["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["district"].as_str().unwrap().to_owned(),
                        r["n"].as_i64().unwrap(),
                    )
                })
                .collect()
        };
        let (_, first) = action(&a, "datastore_search", search.clone()).await;
        assert_eq!(swat(&first), (json!(1), json!(3)));
        let (s, grouped) = action(&a, "datastore_search_sql", sql.clone()).await;
        assert_eq!(s, 200, "{grouped}");
        assert_eq!(
            sums(&grouped),
            [("peshawar".into(), 12), ("swat".into(), 3)]
        );

        // Changed behind the API's back (no writer does this): the kept answers still show
        // what the data was at their version, which proves they are kept.
        let (table,): (String,) =
            a.db.fetch_one(
                khidmat::platform::db::query(
                    "SELECT datastore_table FROM od_resources WHERE uuid = $1",
                )
                .bind(resource.as_str()),
            )
            .await
            .unwrap();
        let ds = if backend == Backend::Sqlite {
            "main"
        } else {
            "datastore"
        };
        a.db.execute(khidmat::platform::db::query(format!(
            "UPDATE {ds}.{table} SET c2 = 300 WHERE c1 = 'swat'"
        )))
        .await
        .unwrap();
        assert_eq!(
            swat(&action(&a, "datastore_search", search.clone()).await.1),
            (json!(1), json!(3))
        );
        assert_eq!(
            sums(&action(&a, "datastore_search_sql", sql.clone()).await.1)[1].1,
            3
        );
        // Another request (another page, another format) is answered afresh.
        let mut lists = search.clone();
        lists["records_format"] = json!("lists");
        let (_, fresh) = action(&a, "datastore_search", lists).await;
        assert_eq!(fresh["result"]["records"][0][2], 300, "{fresh}");

        // A second node on the same database adds a record through the API: the first node's
        // next answers count it (and see the change above with it).
        let mut config = crate::helpers::test_config(&a.data_dir, a.database_url.clone());
        config.demo = false;
        let b_app = khidmat::Application::build(config).await.unwrap();
        let b_url = format!("http://{}", b_app.local_addr());
        let b_stop = b_app.shutdown_token();
        tokio::spawn(b_app.run_until_stopped(false));
        let r = a
            .client
            .post(format!("{b_url}/api/3/action/datastore_upsert"))
            .header("Authorization", &pesco)
            .json(&json!({"resource_id": resource, "method": "insert", "records": [{"district": "swat", "checked": 4}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        b_stop.cancel();
        let (_, after) = action(&a, "datastore_search", search).await;
        assert_eq!(after["result"]["total"], 2, "{after}");
        let (_, grouped) = action(&a, "datastore_search_sql", sql).await;
        assert_eq!(
            sums(&grouped),
            [("peshawar".into(), 12), ("swat".into(), 304)]
        );

        // A query that reads the clock is never kept.
        let clock = json!({"sql": format!(r#"SELECT COUNT(*) AS n FROM "{resource}" WHERE date('now') > '2000-01-01'"#)});
        let (s, counted) = action(&a, "datastore_search_sql", clock.clone()).await;
        assert_eq!(
            (s, counted["result"]["records"][0]["n"].as_i64()),
            (200, Some(3)),
            "{counted}"
        );
        a.db.execute(khidmat::platform::db::query(format!(
            "DELETE FROM {ds}.{table} WHERE c1 = 'peshawar'"
        )))
        .await
        .unwrap();
        let (_, counted) = action(&a, "datastore_search_sql", clock).await;
        assert_eq!(counted["result"]["records"][0]["n"], 2);
    }
);

on_both!(
    an_import_indexes_the_fields_whose_values_repeat,
    |backend| async move {
        let app = spawn(backend).await;
        let mut csv = String::from("id,district,status,hours,note\n");
        for i in 0..300 {
            let district = ["peshawar", "swat", "mardan"][i % 3];
            let status = if i % 4 == 0 { "open" } else { "closed" };
            csv.push_str(&format!(
                "{i},{district},{status},{}.5,note {i}\n",
                i * 7 % 101
            ));
        }
        let file = app.data_dir.join("many.csv");
        std::fs::write(&file, csv).unwrap();
        let done =
            khidmat::opendata::import_csv(&app.db, &file, "many", None, Some("pesco"), |_, _| {})
                .await
                .unwrap();
        assert_eq!(
            done.indexed,
            ["district", "status"],
            "ids, hours and notes do not repeat enough"
        );
        let (table,): (String,) = app
            .db
            .fetch_one(
                khidmat::platform::db::query(
                    "SELECT datastore_table FROM od_resources WHERE uuid = $1",
                )
                .bind(done.resource_id.as_str()),
            )
            .await
            .unwrap();
        let indexes: Vec<(String,)> = app
            .db
            .fetch_all(khidmat::platform::db::query(if backend == Backend::Sqlite {
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 ORDER BY name"
            } else {
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'datastore' AND tablename = $1 ORDER BY indexname"
            }).bind(table.as_str()))
            .await
            .unwrap();
        let names: Vec<String> = indexes.into_iter().map(|(n,)| n).collect();
        assert!(names.contains(&format!("{table}_c2")), "{names:?}");
        assert!(names.contains(&format!("{table}_c3")), "{names:?}");
        assert!(
            !names
                .iter()
                .any(|n| n.ends_with("_c1") || n.ends_with("_c4")),
            "{names:?}"
        );
        // A small file indexes nothing: no value repeats ten times.
        let file = app.data_dir.join("few.csv");
        std::fs::write(&file, "district,n\npeshawar,1\nswat,2\n").unwrap();
        let done =
            khidmat::opendata::import_csv(&app.db, &file, "few", None, Some("pesco"), |_, _| {})
                .await
                .unwrap();
        assert!(done.indexed.is_empty());
    }
);
