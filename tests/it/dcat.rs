//! DCAT-AP 3 on both stores: the catalogue and every dataset's document, in JSON-LD, Turtle and
//! RDF/XML, validated by pyshacl against the official DCAT-AP 3.0.1 SHACL shapes
//! (tests/standards/dcat-ap); the three syntaxes hold the same graph; content negotiation.

use serde_json::Value;

use crate::both;
use crate::helpers::TestApp;

/// A dataset with nothing said of it but its rows (no notes, no tags): the catalogue still
/// describes it fully (description, keywords, publisher, contact, the days it covers).
const SPARE: &str = "district,day,opened,count\n\
peshawar,2026-03-02,2026-03-02T08:00:00Z,4\n\
swat,2026-01-15,2026-05-31T23:30:00Z,9\n";

async fn fetch(app: &TestApp, path: &str, accept: Option<&str>) -> reqwest::Response {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut r = client.get(app.at(path));
    if let Some(a) = accept {
        r = r.header("accept", a);
    }
    r.send().await.unwrap()
}

both!(
    every_dcat_document_passes_the_dcat_ap_shapes_in_three_syntaxes,
    |app| async move {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        // The platform's own datasets, and a department's bare one.
        khidmat::opendata::publish::run(&app.db, "kp-itb")
            .await
            .unwrap();
        let file = app.data_dir.join("spare.csv");
        std::fs::write(&file, SPARE).unwrap();
        khidmat::opendata::import_csv(&app.db, &file, "spare", None, Some("pesco"), |_, _| {})
            .await
            .unwrap();

        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        let names = [
            "reports-weekly",
            "directory-places",
            "benefits-grants",
            "impact-weekly",
            "campaign-pledges",
            "spare",
        ];
        for ext in ["jsonld", "ttl", "rdf"] {
            let mut paths: Vec<(String, String)> = names
                .iter()
                .map(|n| (format!("/dataset/{n}.{ext}"), format!("{n}.{ext}")))
                .collect();
            paths.push((format!("/catalog.{ext}"), format!("catalog.{ext}")));
            for (path, name) in paths {
                let r = fetch(&app, &path, None).await;
                assert_eq!(r.status(), 200, "{path}");
                let body = r.text().await.unwrap();
                // The catalogue's pages name their own syntax; the graphs are otherwise the same.
                let body = body.replace(&format!("catalog.{ext}?page"), "catalog.jsonld?page");
                std::fs::write(dir.path().join(&name), body).unwrap();
                files.push(dir.path().join(&name));
            }
        }
        let shapes = root.join("tests/standards/dcat-ap/dcat-ap-SHACL.ttl");
        let mut args = vec![
            root.join("tests/clients/shacl.py").display().to_string(),
            shapes.display().to_string(),
        ];
        args.extend(files.iter().map(|f| f.display().to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = crate::helpers::run_client("python", &args).await;
        let report: Value = serde_json::from_slice(&out).unwrap();
        let violations: i64 = report["violations"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum();
        assert_eq!(violations, 0, "{}", report["messages"]);
        assert_eq!(report["violations"].as_object().unwrap().len(), 21);
        assert_eq!(
            report["different"],
            serde_json::json!([]),
            "the syntaxes differ"
        );

        // What a harvester reads of the bare dataset.
        let d: Value = fetch(&app, "/dataset/spare.jsonld", None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            d["dct:publisher"]["foaf:name"][0]["@value"],
            "Peshawar Electric Supply Company (PESCO)"
        );
        assert!(d["dct:description"]
            .as_str()
            .unwrap()
            .contains("Peshawar Electric Supply Company (PESCO)"));
        assert!(d["dcat:keyword"].as_array().unwrap().len() >= 2);
        assert_eq!(d["dct:temporal"]["dcat:startDate"]["@value"], "2026-01-15");
        assert_eq!(d["dct:temporal"]["dcat:endDate"]["@value"], "2026-05-31");
        assert_eq!(
            d["dcat:distribution"][0]["dct:license"]["@id"],
            "https://creativecommons.org/licenses/by/4.0/"
        );
        assert_eq!(
            d["dcat:distribution"][0]["dcat:mediaType"]["@id"],
            "http://www.iana.org/assignments/media-types/text/csv"
        );
        // And of the platform's own: its publisher, its keywords.
        let r: Value = fetch(&app, "/dataset/reports-weekly.jsonld", None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(r["dct:publisher"]["@id"], app.at("/organization/kp-itb"));
        assert!(r["dcat:keyword"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "Open311"));

        // Content negotiation, as CKAN's DCAT extension offers it.
        for (accept, mime) in [
            ("text/turtle", "text/turtle"),
            ("application/rdf+xml", "application/rdf+xml"),
            ("application/ld+json", "application/ld+json"),
            (
                "text/html;q=0.5, text/turtle;q=0.9, application/ld+json;q=0.8",
                "text/turtle",
            ),
        ] {
            for path in ["/dataset/spare", "/catalog"] {
                let r = fetch(&app, path, Some(accept)).await;
                assert_eq!(r.status(), 200, "{path} {accept}");
                let got = r.headers()["content-type"].to_str().unwrap().to_owned();
                assert!(got.starts_with(mime), "{path} {accept}: {got}");
                assert_eq!(r.headers()["vary"], "accept");
            }
        }
        // A browser is sent to the pages people read; a department's address to its datasets.
        let html = "text/html,application/xhtml+xml,*/*;q=0.8";
        for (path, to) in [
            ("/dataset/spare", "/data/spare"),
            ("/catalog", "/data"),
            ("/organization/pesco", "/data?organization=pesco"),
        ] {
            let r = fetch(&app, path, Some(html)).await;
            assert_eq!(r.status(), 303, "{path}");
            assert_eq!(r.headers()["location"], to, "{path}");
        }
        for path in [
            "/dataset/nothing.ttl",
            "/dataset/spare.exe",
            "/catalog.exe",
            "/dataset/%2F%2Fevil.example",
            "/dataset/a%0d%0aSet-Cookie:x=1",
            "/organization/nobody",
        ] {
            assert_eq!(fetch(&app, path, Some(html)).await.status(), 404, "{path}");
        }
    }
);
