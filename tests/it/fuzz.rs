//! No input makes the server answer 500: generated forms, query strings and JSON bodies thrown at
//! every endpoint (proptest strategies; each case is checked for a non-5xx answer).

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::both;

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("service_code".to_string()),
        Just("lat".to_string()),
        Just("long".to_string()),
        Just("address_string".to_string()),
        Just("district".to_string()),
        Just("description".to_string()),
        Just("media_url".to_string()),
        Just("email".to_string()),
        Just("phone".to_string()),
        Just("first_name".to_string()),
        Just("attribute[premises]".to_string()),
        Just("attribute[seen][]".to_string()),
        Just("attribute[method]".to_string()),
        Just("attribute[".to_string()),
        "attribute\\[[a-z\\]\\[]{0,8}\\]",
        ".{0,12}",
    ]
}

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("kunda".to_string()),
        Just("water-leak".to_string()),
        Just("shop".to_string()),
        Just("hook".to_string()),
        Just("night".to_string()),
        Just("peshawar".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("1e308".to_string()),
        Just("-0".to_string()),
        Just("34.0151".to_string()),
        Just("0300 1234567".to_string()),
        "[0-9.+-]{0,24}",
        "\\PC{0,40}",
        ".{3000,4200}",
    ]
}

fn form() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((field_name(), field_value()), 0..10)
}

fn query_string() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("service_request_id"),
        Just("service_code"),
        Just("start_date"),
        Just("end_date"),
        Just("status"),
        Just("page"),
        Just("page_size"),
        Just("locale"),
        Just("jurisdiction_id"),
        Just("rich_status"),
        Just("district"),
        Just("assigned_to"),
    ];
    let value = prop_oneof![
        "[0-9,]{0,12}",
        "-?[0-9]{1,20}",
        "\\PC{0,20}",
        Just("2026-02-30T00:00:00Z".to_string()),
        Just("open,closed,".to_string()),
        Just("9223372036854775807".to_string()),
    ];
    prop::collection::vec((key, value), 0..5)
        .prop_map(|pairs| serde_urlencoded::to_string(pairs).unwrap())
}

fn sample<S: Strategy>(s: S, n: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..n)
        .map(|_| s.new_tree(&mut runner).unwrap().current())
        .collect()
}

both!(no_input_makes_the_server_fail, |app| async move {
    let staff = app.department_key("pesco").await;
    let id = app.kunda_at("34.0", "71.5").await;
    let mut answered = std::collections::BTreeMap::<u16, usize>::new();

    for fields in sample(form(), 150) {
        let mut body: Vec<(String, String)> = vec![("api_key".into(), app.client_key.clone())];
        body.extend(fields);
        let resp = app
            .client
            .post(app.at("/open311/v2/requests.json"))
            .form(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(
            status < 500,
            "{status} for {body:?}: {}",
            resp.text().await.unwrap()
        );
        *answered.entry(status).or_default() += 1;
    }
    for q in sample(query_string(), 100) {
        for path in [
            "/open311/v2/requests.json",
            "/open311/v2/servicerequestupdates.xml",
            "/open311/v2/services.json",
            "/api/v1/reports",
        ] {
            let resp = app
                .client
                .get(app.at(&format!("{path}?{q}")))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            assert!(status < 500, "{status} for {path}?{q}");
        }
    }
    for raw in sample("\\PC{0,30}", 60) {
        let enc = raw
            .replace('/', "%2F")
            .replace('?', "%3F")
            .replace('#', "%23");
        for path in [
            format!("/open311/v2/requests/{enc}.json"),
            format!("/open311/v2/tokens/{enc}"),
            format!("/open311/v2/services/{enc}.xml"),
            format!("/api/v1/reports/{enc}"),
        ] {
            let resp = app
                .client
                .get(app.at(&path))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap();
            assert!(resp.status().as_u16() < 500, "{} for {path}", resp.status());
        }
    }
    let json_bodies = sample(
        prop_oneof![
            "\\PC{0,40}",
            Just("{\"status\":\"fixed\"}".to_string()),
            Just(
                "{\"status\":\"fixed\",\"note\":\"x\",\"duplicate_of\":\"99999999999999999999\"}"
                    .to_string()
            ),
            Just("{\"user_id\": -1}".to_string()),
            Just("{\"user_id\": 1e400}".to_string()),
            Just("[]".to_string()),
        ],
        60,
    );
    for body in json_bodies {
        for path in [
            format!("/api/v1/reports/{id}/updates"),
            format!("/api/v1/reports/{id}/assignment"),
            "/api/v1/login".to_string(),
        ] {
            let resp = app
                .client
                .post(app.at(&path))
                .bearer_auth(&staff)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert!(
                resp.status().as_u16() < 500,
                "{} for {path} {body}",
                resp.status()
            );
        }
    }
    assert!(
        answered.contains_key(&400),
        "the generator reaches validation: {answered:?}"
    );
});
