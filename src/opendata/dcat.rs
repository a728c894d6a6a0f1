//! DCAT-AP 3 for catalogue harvesters, and the downloads every distribution points at.
//!
//! - `/catalog.jsonld`, `.ttl`, `.rdf` (`?page=N`: 100 datasets a page, a Hydra paged
//!   collection), and `/catalog` by content negotiation;
//! - `/dataset/{name}.jsonld`, `.ttl`, `.rdf`, and `/dataset/{name}` by content negotiation (a
//!   browser is sent to the dataset's page);
//! - `/dataset/{name}/resource/{id}.csv` and `.json` (streamed: a million rows never sit in
//!   memory).
//!
//! The documents validate against the DCAT-AP 3.0.1 SHACL shapes (tests/it/dcat.rs): links are
//! IRIs, media types and formats are the IANA and EU vocabularies' IRIs, and every node a shape
//! constrains says its class.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use super::store::{self, DatasetFilter, DatasetRow, ResourceRow};
use crate::platform::error::{Error, Result};
use crate::platform::org;
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/catalog", get(catalog))
        .route("/catalog.{ext}", get(catalog_file))
        .route("/dataset/{file}", get(dataset))
        .route("/dataset/{name}/resource/{file}", get(download))
        .route("/organization/{slug}", get(organization))
}

/// A department's address as a publisher (CKAN's organization page): its datasets.
async fn organization(State(state): State<AppState>, Path(slug): Path<String>) -> Result<Response> {
    let d = org::department_by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no organization {slug}")))?;
    Ok(see_other(&format!("/data?organization={}", d.slug)))
}

const PAGE: i64 = 100;

/// The RDF syntaxes offered.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Syntax {
    JsonLd,
    Turtle,
    RdfXml,
}

impl Syntax {
    fn from_ext(ext: &str) -> Option<Syntax> {
        match ext {
            "jsonld" => Some(Syntax::JsonLd),
            "ttl" => Some(Syntax::Turtle),
            "rdf" | "xml" => Some(Syntax::RdfXml),
            _ => None,
        }
    }

    /// The file extension that names it.
    fn ext(self) -> &'static str {
        match self {
            Syntax::JsonLd => "jsonld",
            Syntax::Turtle => "ttl",
            Syntax::RdfXml => "rdf",
        }
    }

    /// The syntax an `Accept` header prefers (by q-value, then order), if it names one.
    fn negotiate(headers: &HeaderMap) -> Option<Syntax> {
        let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
        let mut best: Option<(f32, Syntax)> = None;
        for part in accept.split(',') {
            let mut bits = part.split(';');
            let mime = bits.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = bits
                .filter_map(|b| b.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let syntax = match mime.as_str() {
                "application/ld+json" => Syntax::JsonLd,
                "text/turtle" | "application/x-turtle" => Syntax::Turtle,
                "application/rdf+xml" => Syntax::RdfXml,
                // A browser (text/html) or anything else: not an RDF request.
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, syntax));
            }
        }
        best.map(|(_, s)| s)
    }

    fn respond(self, doc: Value) -> Result<Response> {
        let (mime, body) = match self {
            Syntax::JsonLd => ("application/ld+json", doc.to_string()),
            Syntax::Turtle | Syntax::RdfXml => {
                let graph = super::rdf::read(&doc)
                    .map_err(|e| Error::Internal(anyhow::anyhow!("DCAT document: {e}")))?;
                if self == Syntax::Turtle {
                    ("text/turtle; charset=utf-8", graph.turtle())
                } else {
                    ("application/rdf+xml; charset=utf-8", graph.rdf_xml())
                }
            }
        };
        Ok((
            [(header::CONTENT_TYPE, mime), (header::VARY, "accept")],
            body,
        )
            .into_response())
    }
}

/// Prefixes, and the terms whose values are IRIs (links), not text.
fn context() -> Value {
    let mut c = json!({
        "dcat": "http://www.w3.org/ns/dcat#", "dct": "http://purl.org/dc/terms/",
        "foaf": "http://xmlns.com/foaf/0.1/", "hydra": "http://www.w3.org/ns/hydra/core#",
        "xsd": "http://www.w3.org/2001/XMLSchema#", "vcard": "http://www.w3.org/2006/vcard/ns#",
        "skos": "http://www.w3.org/2004/02/skos/core#",
    });
    for link in [
        "dcat:accessURL",
        "dcat:downloadURL",
        "foaf:homepage",
        "vcard:hasURL",
        "vcard:hasEmail",
        "hydra:first",
        "hydra:last",
        "hydra:next",
        "hydra:previous",
        "hydra:firstPage",
        "hydra:lastPage",
        "hydra:nextPage",
        "hydra:previousPage",
    ] {
        c[link] = json!({"@type": "@id"});
    }
    c
}

/// The EU vocabularies a distribution's format and a dataset's theme are named from.
const FILE_TYPE: &str = "http://publications.europa.eu/resource/authority/file-type/";
const DATA_THEME: &str = "http://publications.europa.eu/resource/authority/data-theme";
const MEDIA_TYPES: &str = "http://www.iana.org/assignments/media-types/";

/// Where the catalogue's data is: Khyber Pakhtunkhwa, as a bounding box (WGS 84, WKT).
fn khyber_pakhtunkhwa() -> Value {
    json!({
        "@type": "dct:Location",
        "skos:prefLabel": {"@value": "Khyber Pakhtunkhwa, Pakistan", "@language": "en"},
        "dcat:bbox": {
            "@value": "POLYGON((69.2 31.0, 74.2 31.0, 74.2 37.1, 69.2 37.1, 69.2 31.0))",
            "@type": "http://www.opengis.net/ont/geosparql#wktLiteral",
        },
    })
}

/// A department (or, without one, the site) as a publisher: a `foaf:Agent`.
fn agent(publisher: Option<&org::Department>, base: &str) -> Value {
    match publisher {
        Some(p) => json!({
            "@id": format!("{base}/organization/{}", p.slug),
            "@type": ["foaf:Agent", "foaf:Organization"],
            "foaf:name": [{"@value": p.name_en, "@language": "en"},
                {"@value": p.name_ur, "@language": "ur"}, {"@value": p.name_ps, "@language": "ps"}],
            "foaf:homepage": format!("{base}/data?organization={}", p.slug),
        }),
        None => json!({
            "@id": format!("{base}/"), "@type": ["foaf:Agent", "foaf:Organization"],
            "foaf:name": "Khidmat", "foaf:homepage": format!("{base}/"),
        }),
    }
}

/// Whom to ask about a dataset: its department's open-data page.
fn contact(publisher: Option<&org::Department>, base: &str) -> Value {
    let (name, page) = match publisher {
        Some(p) => (
            p.name_en.clone(),
            format!("{base}/data?organization={}", p.slug),
        ),
        None => ("Khidmat".to_owned(), format!("{base}/data")),
    };
    json!({"@type": ["vcard:Kind", "vcard:Organization"], "vcard:fn": name, "vcard:hasURL": page})
}

fn node(
    d: &DatasetRow,
    resources: &[&ResourceRow],
    publisher: Option<&org::Department>,
    base: &str,
) -> Value {
    let id = format!("{base}/dataset/{}", d.name);
    let page = format!("{base}/data/{}", d.name);
    let description = if d.notes.trim().is_empty() {
        match publisher {
            Some(p) => format!("{}, published by {} on Khidmat.", d.title, p.name_en),
            None => format!("{}, published on Khidmat.", d.title),
        }
    } else {
        d.notes.clone()
    };
    let mut keywords = d.tags();
    if keywords.is_empty() {
        keywords = publisher.map(|p| p.name_en.clone()).into_iter().collect();
    }
    keywords.push("Khyber Pakhtunkhwa".into());
    let license = super::license::find(&d.license_id)
        .map(|l| json!({"@id": l.url, "@type": "dct:LicenseDocument", "dct:title": l.title}));
    let period = resources
        .iter()
        .filter_map(|r| r.period())
        .reduce(|(a, b), (c, e)| (a.min(c), b.max(e)));
    json!({
        "@id": id, "@type": "dcat:Dataset", "dct:identifier": d.uuid, "dct:title": d.title,
        "dct:description": description,
        "dct:issued": {"@value": d.created_at.to_rfc3339(), "@type": "xsd:dateTime"},
        "dct:modified": {"@value": d.modified_at.to_rfc3339(), "@type": "xsd:dateTime"},
        "dct:publisher": agent(publisher, base),
        "dcat:contactPoint": contact(publisher, base),
        "dcat:keyword": keywords,
        "dcat:theme": {"@id": format!("{DATA_THEME}/GOVE"), "@type": "skos:Concept",
            "skos:prefLabel": {"@value": "Government and public sector", "@language": "en"}},
        "dct:spatial": khyber_pakhtunkhwa(),
        "dct:temporal": period.map(|(from, to)| json!({"@type": "dct:PeriodOfTime",
            "dcat:startDate": {"@value": from, "@type": "xsd:date"},
            "dcat:endDate": {"@value": to, "@type": "xsd:date"}})),
        "dct:license": license,
        "dcat:landingPage": {"@id": page, "@type": "foaf:Document"},
        "dcat:distribution": resources.iter().flat_map(|r| {
            let file = format!("{base}/dataset/{}/resource/{}", d.name, r.uuid);
            [("CSV", "text/csv", "csv"), ("JSON", "application/json", "json")].map(|(fmt, mime, ext)| json!({
                "@id": format!("{file}.{ext}"), "@type": "dcat:Distribution",
                "dct:title": format!("{} ({fmt})", r.name),
                "dcat:accessURL": format!("{file}.{ext}"), "dcat:downloadURL": format!("{file}.{ext}"),
                "dct:format": {"@id": format!("{FILE_TYPE}{fmt}"), "@type": "dct:MediaTypeOrExtent"},
                "dcat:mediaType": {"@id": format!("{MEDIA_TYPES}{mime}"), "@type": "dct:MediaType"},
                "dct:license": license,
            }))
        }).collect::<Vec<_>>(),
    })
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<String>,
}

/// `/catalog`: the catalogue in the syntax asked for; a browser is sent to the portal.
async fn catalog(
    state: State<AppState>,
    headers: HeaderMap,
    q: Query<PageQuery>,
) -> Result<Response> {
    match Syntax::negotiate(&headers) {
        Some(syntax) => catalog_in(state, headers, q, syntax).await,
        None => Ok(see_other("/data")),
    }
}

async fn catalog_file(
    state: State<AppState>,
    headers: HeaderMap,
    Path(ext): Path<String>,
    q: Query<PageQuery>,
) -> Result<Response> {
    let syntax = Syntax::from_ext(&ext).ok_or_else(|| {
        Error::NotFound(format!("no catalog.{ext}: ask for .jsonld, .ttl or .rdf"))
    })?;
    catalog_in(state, headers, q, syntax).await
}

fn see_other(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, to.to_owned()),
            (header::VARY, "accept".to_owned()),
        ],
    )
        .into_response()
}

async fn catalog_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
    syntax: Syntax,
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
    let department = |id: Option<i64>| id.and_then(|id| departments.iter().find(|x| x.id == id));
    let datasets: Vec<Value> = rows
        .iter()
        .map(|d| {
            let mine: Vec<&ResourceRow> =
                resources.iter().filter(|r| r.dataset_id == d.id).collect();
            node(d, &mine, department(d.department_id), &base)
        })
        .collect();
    let publisher = departments
        .iter()
        .find(|x| x.slug == state.config.opendata_publisher);
    let last = ((total + PAGE - 1) / PAGE).max(1);
    let at = |p: i64| format!("{base}/catalog.{}?page={p}", syntax.ext());
    // The page, in Hydra's words and in the older ones CKAN's DCAT harvester reads
    // (`PagedCollection`, `nextPage`, …): a harvester of either kind finds the next page.
    let mut view = json!({"@id": at(page),
        "@type": ["hydra:PartialCollectionView", "hydra:PagedCollection"],
        "hydra:totalItems": total, "hydra:itemsPerPage": PAGE});
    let mut link = |names: [&str; 2], p: i64| {
        for n in names {
            view[n] = json!(at(p));
        }
    };
    link(["hydra:first", "hydra:firstPage"], 1);
    link(["hydra:last", "hydra:lastPage"], last);
    if page < last {
        link(["hydra:next", "hydra:nextPage"], page + 1);
    }
    if page > 1 {
        link(["hydra:previous", "hydra:previousPage"], page - 1);
    }
    syntax.respond(json!({
        "@context": context(), "@id": format!("{base}/catalog"), "@type": ["dcat:Catalog", "hydra:Collection"],
        "dct:title": [{"@value": "Khidmat open data", "@language": "en"}],
        "dct:description": [{"@value": "Open data of Khyber Pakhtunkhwa's public services: what citizens report and how fast it is resolved, the directory of public places, grants and their payments, campaigns, and the programme's impact, published by the departments that hold it.", "@language": "en"}],
        "dct:publisher": agent(publisher, &base),
        "dct:spatial": khyber_pakhtunkhwa(),
        "foaf:homepage": {"@id": format!("{base}/data"), "@type": "foaf:Document"},
        "dcat:themeTaxonomy": {"@id": DATA_THEME, "@type": "skos:ConceptScheme", "dct:title": "Data theme"},
        "hydra:totalItems": total,
        "dcat:dataset": datasets, "hydra:view": view,
    }))
}

/// `/dataset/{name}.jsonld` (`.ttl`, `.rdf`), or `/dataset/{name}` by content negotiation.
async fn dataset(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Result<Response> {
    let (name, syntax) = match file.rsplit_once('.') {
        Some((name, ext)) => match Syntax::from_ext(ext) {
            Some(s) => (name.to_owned(), s),
            None => {
                return Err(Error::NotFound(format!(
                    "no {file}: ask for /dataset/NAME.jsonld, .ttl or .rdf"
                )))
            }
        },
        None => match Syntax::negotiate(&headers) {
            Some(s) => (file.clone(), s),
            // A browser: the dataset's page (which says whether it exists). Only a name a
            // dataset could have is sent on, so the address is always a path of this site.
            None if store::valid_name(&file) => return Ok(see_other(&format!("/data/{file}"))),
            None => return Err(Error::NotFound(format!("no dataset {file}"))),
        },
    };
    let base = state.config.base_url(&headers);
    let d = store::dataset(&state.db, &name)
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
    syntax.respond(v)
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
                        .map(|a| a[1..].iter().map(super::datastore::cell_text).collect())
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
