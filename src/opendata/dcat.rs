//! DCAT (DCAT-AP style JSON-LD) for catalogue harvesters, and the downloads every
//! distribution points at: `/catalog.jsonld?page=N` (100 datasets a page, a Hydra paged
//! collection), `/dataset/{name}.jsonld`, `/dataset/{name}/resource/{id}.csv` and `.json`
//! (streamed: a million rows never sit in memory).

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::store::{self, DatasetFilter, DatasetRow, ResourceRow};
use crate::platform::error::{Error, Result};
use crate::platform::org;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalog.jsonld", get(catalog))
        .route("/dataset/{file}", get(dataset))
        .route("/dataset/{name}/resource/{file}", get(download))
}

const PAGE: i64 = 100;

fn context() -> Value {
    json!({
        "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/", "hydra": "http://www.w3.org/ns/hydra/core#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    })
}

fn license_url(id: &str) -> String {
    super::license::find(id).map_or_else(|| id.to_owned(), |l| l.url.to_owned())
}

fn node(
    d: &DatasetRow,
    resources: &[&ResourceRow],
    publisher: Option<&org::Department>,
    base: &str,
) -> Value {
    let id = format!("{base}/dataset/{}", d.name);
    json!({
        "@id": id, "@type": "dcat:Dataset", "dct:identifier": d.uuid, "dct:title": d.title,
        "dct:description": d.notes,
        "dct:issued": {"@value": d.created_at.to_rfc3339(), "@type": "xsd:dateTime"},
        "dct:modified": {"@value": d.modified_at.to_rfc3339(), "@type": "xsd:dateTime"},
        "dct:publisher": publisher.map(|p| json!({"@type": "foaf:Organization", "foaf:name": p.name_en})),
        "dcat:keyword": d.tags(), "dct:license": license_url(&d.license_id), "dcat:landingPage": id,
        "dcat:distribution": resources.iter().flat_map(|r| {
            let file = format!("{base}/dataset/{}/resource/{}", d.name, r.uuid);
            [("CSV", "text/csv", "csv"), ("JSON", "application/json", "json")].map(|(fmt, mime, ext)| json!({
                "@id": format!("{file}.{ext}"), "@type": "dcat:Distribution", "dct:title": format!("{} ({fmt})", r.name),
                "dcat:accessURL": format!("{base}/api/3/action/datastore_search?resource_id={}", r.uuid),
                "dcat:downloadURL": format!("{file}.{ext}"), "dct:format": fmt, "dcat:mediaType": mime,
            }))
        }).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<String>,
}

async fn catalog(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response> {
    let base = state.config.base_url(&headers);
    let page: i64 = match q.page.as_deref() {
        None | Some("") => 1,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| (1..=100_000).contains(p))
            .ok_or_else(|| Error::BadRequest("page must be a whole number from 1".into()))?,
    };
    let (rows, total) = store::search(
        &state.db,
        &DatasetFilter::default(),
        store::DatasetOrder::Name,
        PAGE,
        (page - 1) * PAGE,
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|d| d.id).collect();
    let resources = store::resources_of(&state.db, &ids).await?;
    let departments = org::departments(&state.db).await?;
    let datasets: Vec<Value> = rows
        .iter()
        .map(|d| {
            let mine: Vec<&ResourceRow> =
                resources.iter().filter(|r| r.dataset_id == d.id).collect();
            node(
                d,
                &mine,
                d.department_id
                    .and_then(|id| departments.iter().find(|x| x.id == id)),
                &base,
            )
        })
        .collect();
    let last = ((total + PAGE - 1) / PAGE).max(1);
    let at = |p: i64| format!("{base}/catalog.jsonld?page={p}");
    let mut view = json!({"@id": at(page), "@type": "hydra:PagedCollection", "hydra:totalItems": total,
        "hydra:itemsPerPage": PAGE, "hydra:firstPage": at(1), "hydra:lastPage": at(last)});
    if page < last {
        view["hydra:nextPage"] = json!(at(page + 1));
    }
    if page > 1 {
        view["hydra:previousPage"] = json!(at(page - 1));
    }
    Ok(jsonld(json!({
        "@context": context(), "@id": format!("{base}/catalog.jsonld"), "@type": "dcat:Catalog",
        "dct:title": "Khidmat open data", "dct:description": "Open data of Khyber Pakhtunkhwa's civic services",
        "dcat:dataset": datasets, "hydra:view": view,
    })))
}

fn jsonld(v: Value) -> Response {
    ([(header::CONTENT_TYPE, "application/ld+json")], Json(v)).into_response()
}

async fn dataset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response> {
    let name = file
        .strip_suffix(".jsonld")
        .ok_or_else(|| Error::NotFound(format!("no {file}: ask for /dataset/NAME.jsonld")))?;
    let base = state.config.base_url(&headers);
    let d = store::dataset(&state.db, name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no dataset {name}")))?;
    let resources = store::resources_of(&state.db, &[d.id]).await?;
    let departments = org::departments(&state.db).await?;
    let mine: Vec<&ResourceRow> = resources.iter().collect();
    let mut v = node(
        &d,
        &mine,
        d.department_id
            .and_then(|id| departments.iter().find(|x| x.id == id)),
        &base,
    );
    v["@context"] = context();
    Ok(jsonld(v))
}

/// The whole table as CSV (UTF-8 with BOM, for Excel) or a JSON array of objects, streamed in
/// pages of 5,000 rows.
async fn download(
    State(state): State<AppState>,
    Path((name, file)): Path<(String, String)>,
) -> Result<Response> {
    let (id, csv) = match (file.strip_suffix(".csv"), file.strip_suffix(".json")) {
        (Some(id), _) => (id.to_owned(), true),
        (_, Some(id)) => (id.to_owned(), false),
        _ => return Err(Error::NotFound(format!("no {file}: ask for .csv or .json"))),
    };
    let d = store::dataset(&state.db, &name)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no dataset {name}")))?;
    let r = store::resource(&state.db, &id)
        .await?
        .filter(|r| r.dataset_id == d.id)
        .ok_or_else(|| Error::NotFound(format!("no resource {id} in {name}")))?;
    let table = r
        .datastore_table
        .clone()
        .ok_or_else(|| Error::NotFound("this resource has no rows".into()))?;
    let fields = r.fields();
    let names: Vec<String> = fields.iter().map(|f| f.id.clone()).collect();
    let db = state.db.clone();
    // State: (rows after this _id, first chunk?, finished?)
    let stream = futures_util::stream::unfold((0i64, true, false), move |(after, first, done)| {
        let db = db.clone();
        let table = table.clone();
        let fields = fields.clone();
        let names = names.clone();
        async move {
            if done {
                return None;
            }
            let rows = match super::datastore::rows_after(&db, &table, &fields, after, 5000).await {
                Ok(r) => r,
                Err(e) => {
                    return Some((
                        Err(std::io::Error::other(e.message())),
                        (after, false, true),
                    ))
                }
            };
            let last = rows.last().and_then(|r| r[0].as_i64()).unwrap_or(after);
            let finished = rows.len() < 5000;
            let mut out = String::new();
            if csv {
                let mut sheet = crate::platform::sheet::Sheet::new();
                if first {
                    out.push('\u{feff}');
                    sheet.row(&names);
                }
                for row in &rows {
                    let cells: Vec<String> = row
                        .as_array()
                        .map(|a| {
                            a[1..].iter().map(super::datastore::cell_text).collect()
                        })
                        .unwrap_or_default();
                    sheet.row(&cells);
                }
                out.push_str(&sheet.finish());
            } else {
                if first {
                    out.push('[');
                }
                for (i, row) in rows.iter().enumerate() {
                    if !(first && i == 0) {
                        out.push(',');
                    }
                    let obj: serde_json::Map<String, Value> = names
                        .iter()
                        .cloned()
                        .zip(row.as_array().map(|a| a[1..].to_vec()).unwrap_or_default())
                        .collect();
                    out.push_str(&Value::Object(obj).to_string());
                }
                if finished {
                    out.push(']');
                }
            }
            Some((Ok::<_, std::io::Error>(out), (last, false, finished)))
        }
    });
    let (mime, ext) = if csv {
        ("text/csv; charset=utf-8", "csv")
    } else {
        ("application/json", "json")
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.{ext}\""),
            ),
        ],
        // Fused: the compression layer polls once more after the end, which a bare `unfold`
        // answers with a panic (and the client with a cut-off download).
        Body::from_stream(futures_util::StreamExt::fuse(stream)),
    )
        .into_response())
}
