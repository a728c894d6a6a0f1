//! Open Referral HSDS 3.0 under `/hsds/`: the API's description, services (search, filters,
//! pages, fully nested), organizations, service_at_locations (by distance, from the search
//! index), taxonomies and taxonomy terms. Every list comes in HSDS's page envelope.
//!
//! A place is one HSDS location with one service offered there (and the service_at_location
//! joining them); its kind is a taxonomy term of the taxonomy `khidmat-kinds`, and its typed
//! attributes are HSDS attributes whose terms belong to the taxonomy `khidmat-attributes`.
//! Providers (doctors) are the service's contacts. Ratings ride in `reviews`, Khidmat's
//! extension (HSDS has no reviews).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::model::{Hours, Kind};
use super::store::{self, OrgRow, PlaceFilter, PlaceRow, ProviderRow};
use crate::platform::db::Db;
use crate::platform::error::{Error, Result};
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hsds", get(root))
        .route("/hsds/", get(root))
        .route("/hsds/services", get(services))
        .route("/hsds/services/{id}", get(service))
        .route("/hsds/organizations", get(organizations))
        .route("/hsds/organizations/{id}", get(organization))
        .route("/hsds/service_at_locations", get(service_at_locations))
        .route("/hsds/service_at_locations/{id}", get(service_at_location))
        .route("/hsds/taxonomies", get(taxonomies))
        .route("/hsds/taxonomies/{id}", get(taxonomy))
        .route("/hsds/taxonomy_terms", get(taxonomy_terms))
        .route("/hsds/taxonomy_terms/{id}", get(taxonomy_term))
}

fn v5(name: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("https://khidmat.kp.gov.pk/{name}").as_bytes(),
    )
    .to_string()
}

pub fn kinds_taxonomy_id() -> String {
    v5("taxonomy/kinds")
}

fn attributes_taxonomy_id() -> String {
    v5("taxonomy/attributes")
}

/// The taxonomy term of a kind (stable: derived from its code).
pub fn kind_term_id(kind: &str) -> String {
    v5(&format!("kind/{kind}"))
}

fn attr_term_id(kind: &str, attr: &str) -> String {
    v5(&format!("kind/{kind}/attribute/{attr}"))
}

fn kind_term(k: &Kind) -> Value {
    json!({
        "id": kind_term_id(&k.code), "code": k.code, "name": k.name.en,
        "description": format!("{} / {} / {}", k.name.en, k.name.ur, k.name.ps),
        "taxonomy": "khidmat-kinds", "taxonomy_id": kinds_taxonomy_id(), "language": "en",
    })
}

/// HSDS's page envelope. `size` is what the standard says, "the number of entities in the current
/// page" (fewer than `per_page` on the last one), not the page's capacity.
fn page(contents: Vec<Value>, total: i64, page_number: i64, per_page: i64) -> Value {
    let total_pages = if total == 0 {
        0
    } else {
        (total + per_page - 1) / per_page
    };
    json!({
        "total_items": total, "total_pages": total_pages, "page_number": page_number,
        "size": contents.len(),
        "first_page": page_number <= 1, "last_page": page_number >= total_pages,
        "empty": contents.is_empty(), "contents": contents,
    })
}

#[derive(Deserialize, Default)]
pub struct Paging {
    page: Option<String>,
    per_page: Option<String>,
    /// Every list takes `format`; this API answers JSON only.
    format: Option<String>,
}

fn paging(p: &Paging) -> Result<(i64, i64)> {
    if p.format.as_deref().is_some_and(|f| f != "json") {
        return Err(Error::BadRequest(
            "format: this API answers json only".into(),
        ));
    }
    let num = |v: &Option<String>, name: &str, default: i64, max: i64| -> Result<i64> {
        match v.as_deref() {
            None => Ok(default),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    Error::BadRequest(format!("{name} must be a whole number from 1 to {max}"))
                }),
        }
    };
    Ok((
        num(&p.page, "page", 1, 1_000_000)?,
        num(&p.per_page, "per_page", 50, 500)?,
    ))
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn schedules(hours: &[Hours], link: (&str, &str)) -> Vec<Value> {
    hours
        .iter()
        .enumerate()
        .map(|(i, h)| {
            json!({
                "id": v5(&format!("{}/{}/schedule/{i}", link.0, link.1)),
                format!("{}_id", link.0): link.1,
                "freq": "WEEKLY", "byday": h.byday, "timezone": 5,
                "opens_at": format!("{}+05:00", h.opens_at), "closes_at": format!("{}+05:00", h.closes_at),
                "attending_type": "in_person",
                "description": format!("{} {}-{}", h.byday, h.opens_at, h.closes_at),
            })
        })
        .collect()
}

fn attributes(
    kind: Option<&Kind>,
    values: &BTreeMap<String, Value>,
    link_id: &str,
    entity: &str,
    provider: bool,
) -> Vec<Value> {
    values
        .iter()
        .map(|(code, v)| {
            let def = kind.and_then(|k| {
                if provider { k.provider_attributes.iter().find(|a| &a.code == code) } else { k.attribute(code) }
            });
            let kind_code = kind.map(|k| k.code.as_str()).unwrap_or("");
            let term = attr_term_id(kind_code, code);
            json!({
                "id": v5(&format!("{entity}/{link_id}/attribute/{code}")),
                "link_id": link_id, "link_type": "attribute", "link_entity": entity,
                "taxonomy_term_id": term,
                "value": match v { Value::String(s) => s.clone(), other => other.to_string() },
                "taxonomy_term": {
                    "id": term, "code": code,
                    "name": def.map(|d| d.label.en.clone()).unwrap_or_else(|| code.clone()),
                    "description": def.map(|d| format!("{} / {} / {}", d.label.en, d.label.ur, d.label.ps)).unwrap_or_default(),
                    "taxonomy": "khidmat-attributes", "taxonomy_id": attributes_taxonomy_id(),
                },
            })
        })
        .collect()
}

/// HSDS fields are left out when unknown, never `null` (the schemas type them as strings).
fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn organization_json(o: &OrgRow) -> Value {
    strip_nulls(json!({
        "id": o.uuid, "name": o.name, "description": o.description,
        "email": o.email, "website": o.website,
        "phones": [], "contacts": [], "locations": [], "programs": [], "organization_identifiers": [],
        "funding": [], "attributes": [], "metadata": [],
    }))
}

/// A place's location, nested.
fn location_json(p: &PlaceRow, kind: Option<&Kind>, org: Option<&OrgRow>, district: &str) -> Value {
    json!({
        "id": p.uuid, "location_type": "physical", "organization_id": org.map(|o| o.uuid.clone()),
        "name": p.name, "description": p.description, "latitude": p.lat, "longitude": p.long,
        "addresses": [{
            "id": v5(&format!("location/{}/address", p.uuid)), "location_id": p.uuid,
            "address_1": p.address, "city": district, "state_province": "Khyber Pakhtunkhwa",
            "postal_code": "", "country": "PK", "address_type": "physical",
        }],
        "phones": phones(p.phone.as_deref(), ("location", &p.uuid)),
        "schedules": schedules(&p.hours(), ("location", &p.uuid)),
        "attributes": attributes(kind, &p.attributes(), &p.uuid, "location", false),
        "languages": [], "contacts": [], "accessibility": [], "metadata": [],
    })
}

fn phones(number: Option<&str>, link: (&str, &str)) -> Vec<Value> {
    number
        .map(|n| vec![json!({"id": v5(&format!("{}/{}/phone", link.0, link.1)), format!("{}_id", link.0): link.1, "number": n, "type": "voice", "languages": [], "attributes": [], "metadata": []})])
        .unwrap_or_default()
}

fn contact_json(d: &ProviderRow, kind: Option<&Kind>, service_uuid: &str) -> Value {
    json!({
        "id": d.uuid, "service_id": service_uuid, "name": d.name, "title": d.title,
        "phones": [],
        "attributes": attributes(kind, &d.attributes(), &d.uuid, "contact", true),
        "schedules": schedules(&d.hours(), ("contact", &d.uuid)),
        "metadata": [],
    })
}

/// Everything the nested answers need, loaded once per page.
pub struct Context {
    pub kinds: HashMap<String, Kind>,
    pub orgs: HashMap<i64, OrgRow>,
    pub providers: HashMap<i64, Vec<ProviderRow>>,
    pub ratings: HashMap<String, (f64, i64)>,
    pub districts: HashMap<String, String>,
}

pub async fn context(db: &Db, places: &[PlaceRow]) -> Result<Context> {
    let kinds = store::kinds(db)
        .await?
        .into_iter()
        .map(|k| (k.code.clone(), k))
        .collect();
    let mut orgs = HashMap::new();
    for id in places.iter().filter_map(|p| p.organization_id) {
        if let std::collections::hash_map::Entry::Vacant(e) = orgs.entry(id) {
            if let Some(o) = store::org_by_id(db, id).await? {
                e.insert(o);
            }
        }
    }
    let ids: Vec<i64> = places.iter().map(|p| p.id).collect();
    let mut providers: HashMap<i64, Vec<ProviderRow>> = HashMap::new();
    for d in store::providers_of(db, &ids).await? {
        providers.entry(d.place_id).or_default().push(d);
    }
    let subjects: Vec<String> = places.iter().map(|p| format!("place:{}", p.id)).collect();
    let ratings = store::ratings(db, &subjects).await?;
    let districts = crate::platform::org::districts(db)
        .await?
        .into_iter()
        .map(|d| (d.slug, d.name_en))
        .collect();
    Ok(Context {
        kinds,
        orgs,
        providers,
        ratings,
        districts,
    })
}

/// A place as an HSDS service, fully nested.
pub fn service_json(p: &PlaceRow, cx: &Context) -> Value {
    strip_nulls(service_value(p, cx))
}

fn service_value(p: &PlaceRow, cx: &Context) -> Value {
    let kind = cx.kinds.get(&p.kind);
    let org = p.organization_id.and_then(|id| cx.orgs.get(&id));
    let district = p
        .district
        .as_ref()
        .and_then(|d| cx.districts.get(d))
        .cloned()
        .unwrap_or_default();
    let (average, count) = cx
        .ratings
        .get(&format!("place:{}", p.id))
        .copied()
        .unwrap_or((0.0, 0));
    let mut kind_attr = vec![json!({
        "id": v5(&format!("service/{}/kind", p.service_uuid)), "link_id": p.service_uuid,
        "link_type": "kind", "link_entity": "service", "taxonomy_term_id": kind_term_id(&p.kind),
        "value": p.kind, "taxonomy_term": kind.map(kind_term).unwrap_or_else(|| json!({"id": kind_term_id(&p.kind), "name": p.kind, "description": ""})),
    })];
    kind_attr.extend(attributes(
        kind,
        &p.attributes(),
        &p.service_uuid,
        "service",
        false,
    ));
    json!({
        "id": p.service_uuid, "organization_id": org.map(|o| o.uuid.clone()), "name": p.name,
        "description": p.description,
        "status": if p.status == "verified" { "active" } else { "inactive" },
        "last_modified": time(p.updated_at),
        "organization": org.map(organization_json),
        "phones": phones(p.phone.as_deref(), ("service", &p.service_uuid)),
        "schedules": schedules(&p.hours(), ("service", &p.service_uuid)),
        "service_at_locations": [{
            "id": p.sal_uuid, "service_id": p.service_uuid, "location_id": p.uuid,
            "location": location_json(p, kind, org, &district),
            "contacts": [], "phones": [], "schedules": [], "attributes": [], "metadata": [],
        }],
        "contacts": cx.providers.get(&p.id).map(|ds| ds.iter().map(|d| contact_json(d, kind, &p.service_uuid)).collect::<Vec<_>>()).unwrap_or_default(),
        "attributes": kind_attr,
        "languages": [], "service_areas": [], "funding": [], "cost_options": [], "required_documents": [], "metadata": [],
        "reviews": {"average": (average * 10.0).round() / 10.0, "count": count},
    })
}

/// `GET /hsds/`: what this API is.
#[utoipa::path(get, path = "/hsds/", tag = "hsds", responses((status = 200, description = "version, profile, openapi_url, description, publisher")))]
pub async fn root(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Json<Value> {
    let base = state.config.base_url(&headers);
    Json(json!({
        "version": "3.0",
        "profile": "https://docs.openreferral.org/en/v3.0/",
        "openapi_url": format!("{base}/api/openapi.json"),
        "description": "Khidmat directory of Khyber Pakhtunkhwa: public toilets, health facilities and their doctors, emergency contacts, driving schools. Reviews are an extension (`reviews`).",
        "publisher": {"name": state.config.contact, "url": base},
    }))
}

/// The filters HSDS's lists of services share. Each narrows the list and they combine (the
/// standard: "filters are cumulative"); one that cannot be applied is refused, never ignored.
#[derive(Deserialize, Default)]
pub struct Filters {
    search: Option<String>,
    taxonomy_term_id: Option<String>,
    taxonomy_id: Option<String>,
    organization_id: Option<String>,
    modified_after: Option<String>,
}

/// The places `q` asks for, as a store filter (verified places only).
async fn place_filter(db: &Db, q: &Filters) -> Result<PlaceFilter> {
    let mut f = PlaceFilter {
        status: Some("verified"),
        search: q.search.clone().filter(|s| !s.trim().is_empty()),
        ..Default::default()
    };
    if let Some(t) = q.taxonomy_id.as_deref().filter(|s| !s.is_empty()) {
        if t != kinds_taxonomy_id() && t != attributes_taxonomy_id() {
            return Err(Error::NotFound(format!(
                "there is no taxonomy {t}: see /hsds/taxonomies"
            )));
        }
    }
    if let Some(term) = q.taxonomy_term_id.as_deref().filter(|s| !s.is_empty()) {
        let kinds = store::kinds(db).await?;
        let k = kinds
            .iter()
            .find(|k| kind_term_id(&k.code) == term)
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "there is no taxonomy term {term}: see /hsds/taxonomy_terms"
                ))
            })?;
        f.kind = Some(k.code.clone());
    }
    if let Some(o) = q.organization_id.as_deref().filter(|s| !s.is_empty()) {
        let org = store::org_by_uuid(db, o)
            .await?
            .ok_or_else(|| Error::NotFound(format!("there is no organization {o}")))?;
        f.organization_id = Some(org.id);
    }
    if let Some(m) = q.modified_after.as_deref() {
        f.modified_after = Some(crate::platform::questions::parse_datetime(m).ok_or_else(
            || {
                Error::BadRequest(
                    "modified_after must be a date and time such as 2026-11-26T09:30:00Z".into(),
                )
            },
        )?);
    }
    Ok(f)
}

#[derive(Deserialize, Default)]
pub struct ServicesQuery {
    #[serde(flatten)]
    filters: Filters,
    minimal: Option<String>,
    full: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

fn flag(v: Option<&str>, name: &str, default: bool) -> Result<bool> {
    match v.map(str::trim) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(Error::BadRequest(format!("{name} must be true or false"))),
    }
}

/// A service without its nested objects (`full=false`); Khidmat's `reviews` stays.
fn flat(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, v)| k == "reviews" || !(v.is_array() || v.is_object()))
                .collect(),
        ),
        other => other,
    }
}

#[utoipa::path(get, path = "/hsds/services", operation_id = "hsds_services", tag = "hsds", params(("search" = Option<String>, Query), ("taxonomy_term_id" = Option<String>, Query), ("taxonomy_id" = Option<String>, Query), ("organization_id" = Option<String>, Query), ("modified_after" = Option<chrono::DateTime<chrono::Utc>>, Query),
        ("minimal" = Option<bool>, Query, description = "true: only id, name, status and last_modified"), ("full" = Option<bool>, Query, description = "false: without nested objects"), ("format" = Option<String>, Query, pattern = "^json$", description = "json (the only format)"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<i64>, Query, minimum = 1, maximum = 500)), responses((status = 200, description = "a page of services (HSDS page envelope)"), (status = 400, description = "bad parameter"), (status = 404, description = "unknown taxonomy, term or organization")))]
pub async fn services(
    State(state): State<AppState>,
    Query(q): Query<ServicesQuery>,
) -> Result<Json<Value>> {
    let (page_no, size) = paging(&q.paging)?;
    let minimal = flag(q.minimal.as_deref(), "minimal", false)?;
    let full = flag(q.full.as_deref(), "full", true)?;
    let f = place_filter(&state.db, &q.filters).await?;
    let (rows, total) = store::places(&state.db, &f, size, (page_no - 1) * size).await?;
    if minimal {
        let items = rows
            .iter()
            // HSDS says "just id and modified date", and its own service_list schema requires
            // name and status: both are given, so a minimal page still validates.
            .map(|p| {
                json!({"id": p.service_uuid, "name": p.name,
                    "status": if p.status == "verified" { "active" } else { "inactive" },
                    "last_modified": time(p.updated_at)})
            })
            .collect();
        return Ok(Json(page(items, total, page_no, size)));
    }
    let cx = context(&state.db, &rows).await?;
    let items = rows
        .iter()
        .map(|p| service_json(p, &cx))
        .map(|v| if full { v } else { flat(v) })
        .collect();
    Ok(Json(page(items, total, page_no, size)))
}

#[utoipa::path(get, path = "/hsds/services/{id}", tag = "hsds", params(("id" = String, Path)), responses((status = 200, description = "the service, fully nested"), (status = 404, description = "no such service")))]
pub async fn service(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>> {
    let rows: Vec<PlaceRow> = store::place_by_hsds_id(&state.db, store::HsdsId::Service, &id)
        .await?
        .filter(|p| p.status == "verified")
        .into_iter()
        .collect();
    let cx = context(&state.db, &rows).await?;
    rows.first()
        .map(|p| Json(service_json(p, &cx)))
        .ok_or_else(|| Error::NotFound(format!("there is no service {id}")))
}

#[derive(Deserialize, Default)]
pub struct OrgsQuery {
    search: Option<String>,
    full_service: Option<String>,
    full: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// An organization; with `full_service`, its verified services nested, each in full.
async fn organization_out(db: &Db, o: &OrgRow, full_service: bool) -> Result<Value> {
    let mut v = organization_json(o);
    if full_service {
        let f = PlaceFilter {
            status: Some("verified"),
            organization_id: Some(o.id),
            ..Default::default()
        };
        let (rows, _) = store::places(db, &f, NEAR_MAX as i64, 0).await?;
        let cx = context(db, &rows).await?;
        v["services"] = Value::Array(rows.iter().map(|p| service_json(p, &cx)).collect());
    }
    Ok(v)
}

#[utoipa::path(get, path = "/hsds/organizations", tag = "hsds", params(("search" = Option<String>, Query, description = "in the name or description"), ("full_service" = Option<bool>, Query, description = "true: each organization's services nested in full"), ("full" = Option<bool>, Query, description = "false: without nested objects"), ("format" = Option<String>, Query, pattern = "^json$", description = "json (the only format)"), ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<i64>, Query, minimum = 1, maximum = 500)), responses((status = 200, description = "a page of organizations"), (status = 400, description = "bad parameter")))]
pub async fn organizations(
    State(state): State<AppState>,
    Query(q): Query<OrgsQuery>,
) -> Result<Json<Value>> {
    let (page_no, size) = paging(&q.paging)?;
    let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let full_service = flag(q.full_service.as_deref(), "full_service", false)?;
    let full = flag(q.full.as_deref(), "full", true)?;
    let (rows, total) = store::orgs(&state.db, search, size, (page_no - 1) * size).await?;
    let mut items = Vec::new();
    for o in &rows {
        let v = organization_out(&state.db, o, full_service).await?;
        items.push(if full { v } else { flat(v) });
    }
    Ok(Json(page(items, total, page_no, size)))
}

#[derive(Deserialize, Default)]
pub struct OrgQuery {
    full_service: Option<String>,
}

#[utoipa::path(get, path = "/hsds/organizations/{id}", tag = "hsds", params(("id" = String, Path), ("full_service" = Option<bool>, Query, description = "true: its services nested in full")), responses((status = 200, description = "the organization"), (status = 404, description = "no such organization")))]
pub async fn organization(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<OrgQuery>,
) -> Result<Json<Value>> {
    let full_service = flag(q.full_service.as_deref(), "full_service", false)?;
    let org = store::org_by_uuid(&state.db, &id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("there is no organization {id}")))?;
    Ok(Json(organization_out(&state.db, &org, full_service).await?))
}

#[derive(Deserialize, Default)]
pub struct SalQuery {
    lat: Option<String>,
    long: Option<String>,
    proximity: Option<String>,
    postcode: Option<String>,
    full: Option<String>,
    #[serde(flatten)]
    filters: Filters,
    #[serde(flatten)]
    paging: Paging,
}

/// The most places a search near a point considers (within its radius, nearest first).
const NEAR_MAX: usize = 10_000;

/// A service_at_location, with its service and location nested.
fn sal_json(p: &PlaceRow, cx: &Context, distance: Option<f64>) -> Value {
    let service = service_json(p, cx);
    let mut sal = service["service_at_locations"][0].clone();
    sal["service"] = service;
    if let Some(d) = distance {
        sal["distance"] = json!((d * 10.0).round() / 10.0);
    }
    sal
}

/// `GET /hsds/service_at_locations?lat&long&proximity`: nearest first (from the search index),
/// or all by name without a point; narrowed by the same filters as `/services`, combined.
/// `lat` and `long` come together, and `proximity` only with them (otherwise 400).
#[utoipa::path(get, path = "/hsds/service_at_locations", tag = "hsds", params(("lat" = Option<f64>, Query, minimum = -90, maximum = 90), ("long" = Option<f64>, Query, minimum = -180, maximum = 180), ("proximity" = Option<f64>, Query, exclusive_minimum = 0, maximum = 200000, description = "metres, more than 0, at most 200000"), ("search" = Option<String>, Query), ("taxonomy_term_id" = Option<String>, Query), ("taxonomy_id" = Option<String>, Query), ("organization_id" = Option<String>, Query), ("modified_after" = Option<chrono::DateTime<chrono::Utc>>, Query), ("full" = Option<bool>, Query, description = "false: without nested objects"), ("format" = Option<String>, Query, pattern = "^json$", description = "json (the only format)"), ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<i64>, Query, minimum = 1, maximum = 500)), responses((status = 200, description = "nearest first when lat and long are given; every filter combines"), (status = 400, description = "bad parameter, lat without long (or the reverse), or proximity without them"), (status = 404, description = "unknown taxonomy, term or organization")))]
pub async fn service_at_locations(
    State(state): State<AppState>,
    Query(q): Query<SalQuery>,
) -> Result<Json<Value>> {
    let (page_no, size) = paging(&q.paging)?;
    if q.postcode.as_deref().is_some_and(|p| !p.trim().is_empty()) {
        return Err(Error::BadRequest(
            "postcode: this directory holds no postcode areas; give lat and long (and proximity) instead"
                .into(),
        ));
    }
    let full = flag(q.full.as_deref(), "full", true)?;
    let shape = |v: Value| if full { v } else { flat(v) };
    let mut f = place_filter(&state.db, &q.filters).await?;
    let point = super::parse_point(q.lat.as_deref(), q.long.as_deref())?;
    // A radius is around a point: without one it would be dropped, and the answer wrong.
    if point.is_none() && q.proximity.is_some() {
        return Err(Error::BadRequest(
            "proximity is a distance from lat and long: send them too".into(),
        ));
    }
    let Some((lat, long)) = point else {
        let (rows, total) = store::places(&state.db, &f, size, (page_no - 1) * size).await?;
        let cx = context(&state.db, &rows).await?;
        return Ok(Json(page(
            rows.iter().map(|p| shape(sal_json(p, &cx, None))).collect(),
            total,
            page_no,
            size,
        )));
    };
    let radius = super::parse_radius(q.proximity.as_deref())?;
    let kinds: Vec<String> = match &f.kind {
        Some(k) => vec![k.clone()],
        None => store::kinds(&state.db)
            .await?
            .into_iter()
            .map(|k| k.code)
            .collect(),
    };
    // Everything within the radius, nearest first (the search index); then the other filters,
    // by the same store query as without a point; then the page.
    let mut found = Vec::new();
    for k in kinds {
        let query = super::index::Query {
            kind: k,
            lat,
            long,
            radius_m: radius,
            filters: vec![],
            open_at: None,
            limit: NEAR_MAX,
        };
        found.extend(state.directory().nearest(&state.db, &query).await?);
    }
    found.sort_by(|a, b| a.1.total_cmp(&b.1));
    if f.search.is_some() || f.organization_id.is_some() || f.modified_after.is_some() {
        f.ids = Some(found.iter().map(|(p, _)| p.id).collect());
        let kept: std::collections::HashSet<i64> =
            store::place_ids(&state.db, &f).await?.into_iter().collect();
        found.retain(|(p, _)| kept.contains(&p.id));
    }
    let total = found.len() as i64;
    let slice: Vec<_> = found
        .into_iter()
        .skip(((page_no - 1) * size) as usize)
        .take(size as usize)
        .collect();
    let mut rows = Vec::new();
    for (p, d) in &slice {
        if let Some(r) = store::place_by_id(&state.db, p.id).await? {
            rows.push((r, *d));
        }
    }
    let plain: Vec<PlaceRow> = rows.iter().map(|r| r.0.clone()).collect();
    let cx = context(&state.db, &plain).await?;
    Ok(Json(page(
        rows.iter()
            .map(|(p, d)| shape(sal_json(p, &cx, Some(*d))))
            .collect(),
        total,
        page_no,
        size,
    )))
}

#[utoipa::path(get, path = "/hsds/service_at_locations/{id}", tag = "hsds", params(("id" = String, Path)), responses((status = 200, description = "the service at location, nested"), (status = 404, description = "none")))]
pub async fn service_at_location(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let rows: Vec<PlaceRow> =
        store::place_by_hsds_id(&state.db, store::HsdsId::ServiceAtLocation, &id)
            .await?
            .filter(|p| p.status == "verified")
            .into_iter()
            .collect();
    let cx = context(&state.db, &rows).await?;
    rows.first()
        .map(|p| Json(sal_json(p, &cx, None)))
        .ok_or_else(|| Error::NotFound(format!("there is no service_at_location {id}")))
}

fn all_taxonomies() -> Vec<Value> {
    vec![
        json!({"id": kinds_taxonomy_id(), "name": "khidmat-kinds", "description": "The kinds of places in the Khidmat directory", "version": "1", "metadata": []}),
        json!({"id": attributes_taxonomy_id(), "name": "khidmat-attributes", "description": "The typed attributes of places of each kind", "version": "1", "metadata": []}),
    ]
}

/// Whether every word of `search` is in one of the item's `fields` (Urdu and Pashto spellings
/// folded, as in every other search).
fn mentions(item: &Value, fields: &[&str], search: Option<&str>) -> bool {
    let Some(search) = search else {
        return true;
    };
    let hay: String = fields
        .iter()
        .filter_map(|f| item[*f].as_str())
        .map(crate::platform::text::fold)
        .collect::<Vec<_>>()
        .join(" ");
    crate::platform::text::words(search)
        .iter()
        .all(|w| hay.contains(w.as_str()))
}

/// One page of `items`.
fn page_of(items: Vec<Value>, page_no: i64, size: i64) -> Value {
    let total = items.len() as i64;
    let on_page = items
        .into_iter()
        .skip(((page_no - 1) * size) as usize)
        .take(size as usize)
        .collect();
    page(on_page, total, page_no, size)
}

#[derive(Deserialize, Default)]
pub struct SearchQuery {
    search: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[utoipa::path(get, path = "/hsds/taxonomies", tag = "hsds", params(("search" = Option<String>, Query, description = "in the name or description"), ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<i64>, Query, minimum = 1, maximum = 500)), responses((status = 200, description = "the taxonomies")))]
pub async fn taxonomies(Query(q): Query<SearchQuery>) -> Result<Json<Value>> {
    let (page_no, size) = paging(&q.paging)?;
    let search = q.search.as_deref().filter(|s| !s.trim().is_empty());
    let all = all_taxonomies()
        .into_iter()
        .filter(|t| mentions(t, &["name", "description"], search))
        .collect();
    Ok(Json(page_of(all, page_no, size)))
}

#[utoipa::path(get, path = "/hsds/taxonomies/{id}", tag = "hsds", params(("id" = String, Path)), responses((status = 200, description = "the taxonomy"), (status = 404, description = "no such taxonomy")))]
pub async fn taxonomy(Path(id): Path<String>) -> Result<Json<Value>> {
    all_taxonomies()
        .into_iter()
        .find(|t| t["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| Error::NotFound(format!("there is no taxonomy {id}: see /hsds/taxonomies")))
}

#[derive(Deserialize, Default)]
pub struct TermsQuery {
    taxonomy_id: Option<String>,
    search: Option<String>,
    top_only: Option<String>,
    parent_id: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// Every term of the taxonomy `want` (all taxonomies without it).
async fn all_terms(db: &Db, want: Option<&str>) -> Result<Vec<Value>> {
    let kinds = store::kinds(db).await?;
    let mut terms: Vec<Value> = Vec::new();
    if want.is_none_or(|t| t == kinds_taxonomy_id()) {
        terms.extend(kinds.iter().map(kind_term));
    }
    if want.is_none_or(|t| t == attributes_taxonomy_id()) {
        for k in &kinds {
            for a in k.attributes.iter().chain(&k.provider_attributes) {
                terms.push(json!({
                    "id": attr_term_id(&k.code, &a.code), "code": a.code, "name": a.label.en,
                    "description": format!("{} / {} / {}", a.label.en, a.label.ur, a.label.ps),
                    "parent_id": kind_term_id(&k.code), "taxonomy": "khidmat-attributes",
                    "taxonomy_id": attributes_taxonomy_id(), "language": "en",
                }));
            }
        }
    }
    Ok(terms)
}

#[utoipa::path(get, path = "/hsds/taxonomy_terms/{id}", tag = "hsds", params(("id" = String, Path)), responses((status = 200, description = "the term"), (status = 404, description = "no such term")))]
pub async fn taxonomy_term(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    all_terms(&state.db, None)
        .await?
        .into_iter()
        .find(|t| t["id"] == id.as_str())
        .map(Json)
        .ok_or_else(|| {
            Error::NotFound(format!(
                "there is no taxonomy term {id}: see /hsds/taxonomy_terms"
            ))
        })
}

#[utoipa::path(get, path = "/hsds/taxonomy_terms", tag = "hsds", params(("taxonomy_id" = Option<String>, Query), ("search" = Option<String>, Query, description = "in the code, name or description"), ("top_only" = Option<bool>, Query, description = "true: terms without a parent"), ("parent_id" = Option<String>, Query, description = "the terms under this one"), ("format" = Option<String>, Query, pattern = "^json$", description = "json (the only format)"), ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000), ("per_page" = Option<i64>, Query, minimum = 1, maximum = 500)), responses((status = 200, description = "the terms")))]
pub async fn taxonomy_terms(
    State(state): State<AppState>,
    Query(q): Query<TermsQuery>,
) -> Result<Json<Value>> {
    let (page_no, size) = paging(&q.paging)?;
    let want = q.taxonomy_id.as_deref().filter(|s| !s.is_empty());
    let search = q.search.as_deref().filter(|s| !s.trim().is_empty());
    let top_only = flag(q.top_only.as_deref(), "top_only", false)?;
    let parent = q.parent_id.as_deref().filter(|s| !s.is_empty());
    let terms = all_terms(&state.db, want)
        .await?
        .into_iter()
        .filter(|t| mentions(t, &["code", "name", "description"], search))
        .filter(|t| !top_only || t.get("parent_id").is_none_or(Value::is_null))
        .filter(|t| parent.is_none_or(|p| t["parent_id"] == p))
        .collect();
    Ok(Json(page_of(terms, page_no, size)))
}

/// The whole directory as HSDS JSON (every verified service, fully nested), for export.
pub async fn export(db: &Db) -> Result<Value> {
    let f = PlaceFilter {
        status: Some("verified"),
        ..Default::default()
    };
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let (rows, _) = store::places(db, &f, 500, offset).await?;
        if rows.is_empty() {
            break;
        }
        let cx = context(db, &rows).await?;
        out.extend(rows.iter().map(|p| service_json(p, &cx)));
        offset += 500;
    }
    let (orgs, _) = store::orgs(db, None, 100_000, 0).await?;
    Ok(
        json!({"version": "3.0", "organizations": orgs.iter().map(organization_json).collect::<Vec<_>>(), "services": out}),
    )
}

/// This service's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        root,
        services,
        service,
        organizations,
        organization,
        service_at_locations,
        service_at_location,
        taxonomies,
        taxonomy,
        taxonomy_terms,
        taxonomy_term,
    ),
    tags((name = "hsds", description = "The directory, as Open Referral HSDS 3.0"))
)]
pub struct ApiDoc;
