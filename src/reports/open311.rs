//! Open311 GeoReport v2 under `/open311/v2/`, in JSON and XML (by the path's suffix), with the
//! `page` / `page_size` extension, photo upload (`media`), `Idempotency-Key`, and FixMyStreet's
//! `servicerequestupdates`. Errors take the standard's shape: `[{"code": 400, "description": …}]`.
//!
//! Reporter contact details never appear here. Reports of services marked `public = false`
//! (complaints about people, rights violations) are not listed, and looking one up by id shows its
//! status only.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use chrono::{Duration, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::model::Service;
use super::store::{self, Filter, PublicRow, ReportRow};
use super::{Origin, Receipt, Submission};
use crate::platform::config::Config;
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::idempotency::request_hash;
use crate::platform::identity;
use crate::platform::questions::{parse_datetime, wire_time, Answer};
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;
use crate::platform::xml::to_xml;
use crate::t;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Xml,
}

impl Format {
    fn of(name: &str) -> Option<(&str, Format)> {
        let (stem, ext) = name.rsplit_once('.')?;
        match ext {
            "json" => Some((stem, Format::Json)),
            "xml" => Some((stem, Format::Xml)),
            _ => None,
        }
    }
}

pub fn router(config: &Config) -> Router<AppState> {
    let mut r = Router::new();
    for fmt in ["json", "xml"] {
        r = r
            .route(&format!("/open311/v2/discovery.{fmt}"), get(discovery))
            .route(&format!("/open311/v2/services.{fmt}"), get(services))
            .route(
                &format!("/open311/v2/requests.{fmt}"),
                get(list_requests).post(post_request),
            )
            .route(
                &format!("/open311/v2/servicerequestupdates.{fmt}"),
                get(service_request_updates),
            );
    }
    r.route("/open311/v2/services/{file}", get(service_definition))
        .route("/open311/v2/requests/{file}", get(get_request))
        .route("/open311/v2/tokens/{file}", get(get_token))
        // Anything else under the API (`requests.csv`, `nonsense.json`) is answered by the API,
        // in its own error shape, not by the site's page-not-found.
        .route("/open311/v2/{file}", any(unknown))
        .route("/open311/v2/{file}/{*rest}", any(unknown))
        // Room for the photo and the other fields; the photo's own limit is checked as it streams.
        .layer(DefaultBodyLimit::max(config.max_photo_bytes + 256 * 1024))
}

/// An error in Open311's shape: `[{"code": status, "description": message}]`.
#[derive(Debug, ToSchema)]
#[schema(as = Open311Error)]
pub struct Open311Error {
    #[schema(ignore)]
    format: Format,
    #[schema(ignore)]
    error: Error,
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let body =
            serde_json::json!([{"code": status.as_u16(), "description": self.error.message()}]);
        render(self.format, status, "errors", body)
    }
}

type Reply = Result<Response, Open311Error>;

fn fail(format: Format) -> impl Fn(Error) -> Open311Error {
    move |error| Open311Error { format, error }
}

/// An address under `/open311/v2/` that the API does not have: a 404 in Open311's shape (XML when
/// the address asks for XML), naming what there is.
async fn unknown(uri: Uri, lang: Lang) -> Open311Error {
    fail(suffix_format(&uri))(Error::NotFound(t!(lang, "err-open311-unknown")))
}

/// `kunda.xml` -> (`kunda`, Xml); without a known suffix, a 404 that says how to ask.
fn split_format(file: &str, lang: Lang) -> Result<(&str, Format), Open311Error> {
    Format::of(file).ok_or_else(|| fail(Format::Json)(Error::NotFound(t!(lang, "err-format"))))
}

fn suffix_format(uri: &Uri) -> Format {
    if uri.path().ends_with(".xml") {
        Format::Xml
    } else {
        Format::Json
    }
}

/// Element names of XML arrays.
fn xml_item(array: &str) -> String {
    match array {
        "services" => "service",
        "service_requests" => "request",
        "attributes" => "attribute",
        "values" => "value",
        "endpoints" => "endpoint",
        "formats" => "format",
        "errors" => "error",
        "service_request_updates" => "request_update",
        _ => "item",
    }
    .to_string()
}

fn render(format: Format, status: StatusCode, xml_root: &str, body: Value) -> Response {
    match format {
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        Format::Xml => (
            status,
            [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
            to_xml(xml_root, &body, &xml_item),
        )
            .into_response(),
    }
}

fn ok<T: Serialize>(format: Format, xml_root: &str, body: &T) -> Reply {
    let internal = |e: serde_json::Error| fail(format)(Error::Internal(e.into()));
    Ok(match format {
        Format::Json => {
            let text = serde_json::to_string(body).map_err(internal)?;
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                text,
            )
                .into_response()
        }
        Format::Xml => render(
            format,
            StatusCode::OK,
            xml_root,
            serde_json::to_value(body).map_err(internal)?,
        ),
    })
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    uri.query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    given(pairs, name).filter(|v| !v.is_empty())
}

/// A parameter as given, even empty: a number or a date that is empty is a mistake to report,
/// where an empty jurisdiction or code is only absent.
fn given<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim())
}

fn check_jurisdiction(pairs: &[(String, String)], lang: Lang) -> Result<(), Error> {
    match param(pairs, "jurisdiction_id") {
        None => Ok(()),
        Some(j) if j == JURISDICTION => Ok(()),
        Some(j) => Err(Error::NotFound(t!(
            lang,
            "err-unknown-jurisdiction",
            jurisdiction = j,
            ours = JURISDICTION
        ))),
    }
}

/// The one jurisdiction this endpoint serves.
pub const JURISDICTION: &str = "kp.gov.pk";

#[derive(Serialize, ToSchema)]
struct EndpointOut {
    specification: String,
    url: String,
    changeset: String,
    #[serde(rename = "type")]
    kind: String,
    formats: Vec<String>,
}

#[derive(Serialize, ToSchema)]
struct DiscoveryOut {
    changeset: String,
    contact: String,
    key_service: String,
    endpoints: Vec<EndpointOut>,
}

/// Where the Open311 endpoints are and what they speak.
#[utoipa::path(get, path = "/open311/v2/discovery.json", tag = "open311", responses((status = 200, body = DiscoveryOut)))]
pub async fn discovery(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    lang: Lang,
) -> Reply {
    let format = suffix_format(&uri);
    let base = state.config.base_url(&headers);
    let changed = state
        .services_changed_at()
        .await
        .map_err(|e| fail(format)(e.into()))?;
    let changeset = wire_time(changed.unwrap_or_else(Utc::now));
    ok(
        format,
        "discovery",
        &DiscoveryOut {
            changeset: changeset.clone(),
            contact: state.config.contact.clone(),
            key_service: t!(lang, "open311-key-service"),
            endpoints: vec![EndpointOut {
                specification: "http://wiki.open311.org/GeoReport_v2".into(),
                url: format!("{base}/open311/v2"),
                changeset,
                kind: "production".into(),
                formats: vec!["application/json".into(), "text/xml".into()],
            }],
        },
    )
}

#[derive(Serialize, ToSchema)]
pub struct ServiceOut {
    service_code: String,
    service_name: String,
    description: Option<String>,
    metadata: bool,
    #[serde(rename = "type")]
    kind: String,
    keywords: Option<String>,
    group: Option<String>,
}

fn service_out(s: &Service, lang: Lang) -> ServiceOut {
    let opt = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    ServiceOut {
        service_code: s.code.clone(),
        service_name: s.name.get(lang).to_owned(),
        description: opt(s.description.get(lang)),
        metadata: s.has_metadata(),
        kind: "realtime".into(),
        keywords: opt(&s.keywords),
        group: opt(s.group.get(lang)),
    }
}

/// The services citizens can report to, in the language asked for (`locale` or `Accept-Language`).
#[utoipa::path(get, path = "/open311/v2/services.json", operation_id = "open311_services", tag = "open311",
    params(("locale" = Option<String>, Query, description = "en, ur or ps")),
    responses((status = 200, body = [ServiceOut])))]
pub async fn services(State(state): State<AppState>, uri: Uri, lang: Lang) -> Reply {
    let format = suffix_format(&uri);
    check_jurisdiction(&query_pairs(&uri), lang).map_err(fail(format))?;
    let list = state
        .active_services()
        .await
        .map_err(|e| fail(format)(e.into()))?;
    let out: Vec<ServiceOut> = list.iter().map(|s| service_out(s, lang)).collect();
    ok(format, "services", &out)
}

#[derive(Serialize, ToSchema)]
pub struct ValueOut {
    key: String,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct AttributeOut {
    variable: bool,
    code: String,
    datatype: String,
    required: bool,
    datatype_description: Option<String>,
    order: i64,
    description: String,
    values: Vec<ValueOut>,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceDefinitionOut {
    service_code: String,
    attributes: Vec<AttributeOut>,
}

/// The questions a service asks (`attribute[CODE]` on submission).
#[utoipa::path(get, path = "/open311/v2/services/{service_code}.json", tag = "open311",
    params(("service_code" = String, Path)),
    responses((status = 200, body = ServiceDefinitionOut), (status = 404, body = [Open311Error])))]
pub async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    lang: Lang,
) -> Reply {
    let (code, format) = split_format(&file, lang)?;
    let service = store::service(&state.db, code)
        .await
        .map_err(|e| fail(format)(e.into()))?
        .ok_or_else(|| {
            fail(format)(Error::NotFound(t!(
                lang,
                "err-unknown-service",
                code = code
            )))
        })?;
    let attributes = service
        .attributes
        .iter()
        .enumerate()
        .map(|(i, a)| AttributeOut {
            variable: a.variable,
            code: a.code.clone(),
            datatype: a.datatype.as_str().into(),
            required: a.required,
            datatype_description: a
                .datatype_description
                .as_ref()
                .map(|d| d.get(lang).to_owned()),
            order: a.order.unwrap_or(i as i64 + 1),
            description: a.description.get(lang).to_owned(),
            values: a
                .values
                .iter()
                .map(|v| ValueOut {
                    key: v.key.clone(),
                    name: v.name.get(lang).to_owned(),
                })
                .collect(),
        })
        .collect();
    ok(
        format,
        "service_definition",
        &ServiceDefinitionOut {
            service_code: service.code,
            attributes,
        },
    )
}

#[derive(Serialize, ToSchema)]
pub struct RequestOut {
    service_request_id: String,
    status: String,
    status_notes: Option<String>,
    service_name: Option<String>,
    service_code: String,
    description: Option<String>,
    agency_responsible: Option<String>,
    service_notice: Option<String>,
    requested_datetime: String,
    updated_datetime: Option<String>,
    expected_datetime: Option<String>,
    address: Option<String>,
    address_id: Option<String>,
    zipcode: Option<String>,
    lat: Option<f64>,
    long: Option<f64>,
    media_url: Option<String>,
}

/// The public face of a report: no contact details, ever; and for services whose reports are
/// not public, no description, place or photo either.
fn request_out(r: PublicRow, base: &str) -> RequestOut {
    let public = r.shown();
    let media_url = super::media_url(base, r.photo_sha256.as_deref(), r.media_url);
    RequestOut {
        service_request_id: r.id.to_string(),
        status: r.status,
        status_notes: r.status_notes,
        service_name: Some(r.service_name),
        service_code: r.service_code,
        description: r
            .description
            .filter(|_| public)
            .map(|d| crate::platform::personal::redact_text(&d).into_owned()),
        agency_responsible: Some(r.agency_responsible),
        service_notice: None,
        requested_datetime: wire_time(r.requested_at),
        updated_datetime: Some(wire_time(r.updated_at)),
        expected_datetime: r.expected_at.map(wire_time),
        address: r.address.filter(|_| public),
        address_id: None,
        zipcode: None,
        lat: r.lat.filter(|_| public),
        long: r.long.filter(|_| public),
        media_url: media_url.filter(|_| public),
    }
}

fn page_params(
    pairs: &[(String, String)],
    config: &Config,
    lang: Lang,
) -> Result<(i64, i64), Error> {
    let number = |name: &str, default: i64, max: i64| -> Result<i64, Error> {
        match given(pairs, name) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(Error::BadRequest(t!(
                    lang,
                    "err-bad-number",
                    name = name,
                    max = max
                ))),
            },
        }
    };
    let page = number("page", 1, 1_000_000)?;
    let size = number("page_size", config.page_size, config.max_page_size)?;
    Ok((size, (page - 1) * size))
}

fn date_param(
    pairs: &[(String, String)],
    name: &str,
    lang: Lang,
) -> Result<Option<chrono::DateTime<Utc>>, Error> {
    match given(pairs, name) {
        None => Ok(None),
        Some(v) => parse_datetime(v)
            .map(Some)
            .ok_or_else(|| Error::BadRequest(t!(lang, "err-bad-date", name = name))),
    }
}

/// Reports, newest first. Without dates: the last 90 days. `service_request_id` (a comma list)
/// overrides every other filter.
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "open311",
    params(
        ("service_request_id" = Option<String>, Query, pattern = "^( *[0-9]{1,18} *(, *[0-9]{1,18} *){0,999})?$", description = "comma-separated ids (at most 1000); overrides the other filters; empty is absent"),
        ("service_code" = Option<String>, Query, description = "one or more codes, comma-separated"),
        ("start_date" = Option<chrono::DateTime<Utc>>, Query, description = "RFC 3339"),
        ("end_date" = Option<chrono::DateTime<Utc>>, Query, description = "RFC 3339"),
        ("status" = Option<String>, Query, pattern = "^ *((open|closed) *(, *(open|closed) *)*)?$", description = "open, closed, or open,closed; empty is absent"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000),
        ("after" = Option<String>, Query, pattern = "^-?[0-8]?[0-9]{1,18}_[0-9]{1,18}$", description = "keyset paging: the cursor in a full page's `Link: <…>; rel=\"next\"` header (only the reports after that page's last; `page` then counts from there)"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "at most max_page_size (1000 unless the deployment says otherwise)")),
    responses((status = 200, body = [RequestOut]), (status = 400, body = [Open311Error])))]
pub async fn list_requests(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    lang: Lang,
) -> Reply {
    let format = suffix_format(&uri);
    let pairs = query_pairs(&uri);
    let filter = list_filter(&pairs, &state.config, lang).map_err(fail(format))?;
    let rows = store::list_public(&state.db, &filter, lang)
        .await
        .map_err(|e| fail(format)(e.into()))?;
    let base = state.config.base_url(&headers);
    // A full page links to the next by key (RFC 8288 `Link`; the body stays Open311's list).
    let next = (filter.ids.is_none() && rows.len() as i64 == filter.limit)
        .then(|| rows.last().map(|r| (r.requested_at, r.id)))
        .flatten()
        .map(|last| next_link(&base, uri.path(), &pairs, last));
    let out: Vec<RequestOut> = rows.into_iter().map(|r| request_out(r, &base)).collect();
    let mut resp = ok(format, "service_requests", &out)?;
    if let Some(link) = next.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(header::LINK, link);
    }
    Ok(resp)
}

/// The cursor of keyset paging: the last report's time (nanoseconds since 1970: the time as
/// stored, to the last digit, so the reports that share it are told apart by id alone) and id.
fn cursor(last: (chrono::DateTime<Utc>, i64)) -> String {
    let nanos = last
        .0
        .timestamp_nanos_opt()
        .unwrap_or(last.0.timestamp_micros().saturating_mul(1000));
    format!("{nanos}_{}", last.1)
}

fn parse_cursor(v: &str) -> Option<(chrono::DateTime<Utc>, i64)> {
    let (nanos, id) = v.split_once('_')?;
    Some((
        chrono::DateTime::from_timestamp_nanos(nanos.parse().ok()?),
        id.parse().ok()?,
    ))
}

/// `<{base}{path}?{the same parameters, page and after aside}&after=CURSOR>; rel="next"`.
fn next_link(
    base: &str,
    path: &str,
    pairs: &[(String, String)],
    last: (chrono::DateTime<Utc>, i64),
) -> String {
    let mut kept: Vec<(&str, String)> = pairs
        .iter()
        .filter(|(k, _)| k != "page" && k != "after")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    kept.push(("after", cursor(last)));
    let query = serde_urlencoded::to_string(&kept).unwrap_or_default();
    format!("<{base}{path}?{query}>; rel=\"next\"")
}

fn list_filter(pairs: &[(String, String)], config: &Config, lang: Lang) -> Result<Filter, Error> {
    check_jurisdiction(pairs, lang)?;
    let (limit, offset) = page_params(pairs, config, lang)?;
    let after = match given(pairs, "after") {
        None => None,
        Some(v) => {
            Some(parse_cursor(v).ok_or_else(|| Error::BadRequest(t!(lang, "err-bad-after")))?)
        }
    };
    let mut f = Filter {
        public_only: true,
        limit,
        offset,
        after,
        ..Default::default()
    };
    // Every parameter is read (a bad one is an error even beside ids), then ids override.
    let ids = match param(pairs, "service_request_id") {
        None => None,
        Some(ids) => {
            let parsed: Option<Vec<i64>> = ids.split(',').map(|s| s.trim().parse().ok()).collect();
            let ids = parsed.filter(|v: &Vec<i64>| !v.is_empty() && v.len() <= 1000);
            Some(ids.ok_or_else(|| Error::BadRequest(t!(lang, "err-bad-ids")))?)
        }
    };
    if let Some(codes) = param(pairs, "service_code") {
        f.service_codes = Some(
            codes
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .take(100)
                .collect(),
        );
    }
    f.start = date_param(pairs, "start_date", lang)?;
    f.end = date_param(pairs, "end_date", lang)?;
    if f.start.is_none() {
        f.start = Some(f.end.unwrap_or_else(Utc::now) - Duration::days(90));
    }
    if let Some(status) = param(pairs, "status") {
        let mut statuses = Vec::new();
        for s in status.split(',').map(str::trim) {
            match s {
                "open" => statuses.push("open"),
                "closed" => statuses.push("closed"),
                _ => return Err(Error::BadRequest(t!(lang, "err-bad-status"))),
            }
        }
        f.statuses = Some(statuses);
    }
    if let Some(ids) = ids {
        return Ok(Filter {
            public_only: true,
            limit,
            offset,
            ids: Some(ids),
            ..Default::default()
        });
    }
    Ok(f)
}

/// Fields of a submission, from a form or a multipart body (each photo is a part `media`).
pub(crate) struct Fields {
    pub pairs: Vec<(String, String)>,
    pub photos: Vec<Vec<u8>>,
}

impl Fields {
    /// The first non-empty value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        param(&self.pairs, name)
    }

    /// A digest of everything submitted but the fields named in `skip` (credentials, form
    /// tokens): what an `Idempotency-Key` is bound to.
    pub fn digest(&self, skip: &[&str]) -> String {
        let mut parts: Vec<&[u8]> = Vec::new();
        for (k, v) in &self.pairs {
            if !skip.contains(&k.as_str()) {
                parts.push(k.as_bytes());
                parts.push(v.as_bytes());
            }
        }
        for p in &self.photos {
            parts.push(p);
        }
        request_hash(&parts)
    }
}

pub(crate) async fn read_fields(
    state: &AppState,
    req: Request,
    lang: Lang,
) -> Result<Fields, Error> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let max_photo = state.config.max_photo_bytes;
    let too_large = || {
        Error::TooLarge(t!(
            lang,
            "err-photo-too-large",
            max = max_photo / (1024 * 1024)
        ))
    };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, state)
            .await
            .map_err(|e| Error::BadRequest(t!(lang, "err-body", reason = e.body_text())))?;
        let mut fields = Fields {
            pairs: Vec::new(),
            photos: Vec::new(),
        };
        let body_error = |e: axum::extract::multipart::MultipartError| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Error::BadRequest(t!(lang, "err-body", reason = e.body_text()))
            }
        };
        while let Some(mut field) = multipart.next_field().await.map_err(body_error)? {
            let name = field.name().unwrap_or("").to_owned();
            if name == "media" {
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(body_error)? {
                    if bytes.len() + chunk.len() > max_photo {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                if !bytes.is_empty() {
                    fields.photos.push(bytes);
                }
            } else {
                let text = field.text().await.map_err(body_error)?;
                fields.pairs.push((name, text));
            }
        }
        Ok(fields)
    } else if content_type.is_empty()
        || content_type.starts_with("application/x-www-form-urlencoded")
    {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                Error::BadRequest(t!(lang, "err-body", reason = e.body_text()))
            }
        })?;
        let pairs = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| Error::BadRequest(t!(lang, "err-body", reason = e.to_string())))?;
        Ok(Fields {
            pairs,
            photos: Vec::new(),
        })
    } else {
        Err(Error::Unsupported(t!(lang, "err-content-type")))
    }
}

/// Make a submission of form fields: `attribute[CODE]` and `attribute[CODE][]` become answers.
pub(crate) fn submission(fields: Fields) -> Submission {
    let mut s = Submission {
        photos: fields.photos,
        ..Default::default()
    };
    for (k, v) in fields.pairs {
        let slot = match k.as_str() {
            "service_code" => &mut s.service_code,
            "lat" => &mut s.lat,
            "long" => &mut s.long,
            "address_string" => &mut s.address,
            "district" => &mut s.district,
            "description" => &mut s.description,
            "media_url" => &mut s.media_url,
            "first_name" => &mut s.first_name,
            "last_name" => &mut s.last_name,
            "email" => &mut s.email,
            "phone" => &mut s.phone,
            "device_id" => &mut s.device_id,
            "account_id" => &mut s.account_id,
            "private" => {
                // A checkbox (`on`), or an API client's `true`/`1`.
                s.private = matches!(v.trim(), "1" | "true" | "on" | "yes");
                continue;
            }
            _ => {
                if let Some(code) = k
                    .strip_prefix("attribute[")
                    .and_then(|r| r.strip_suffix("[]").or(Some(r)))
                    .and_then(|r| r.strip_suffix(']'))
                {
                    s.attributes.entry(code.to_owned()).or_default().push(v);
                }
                continue;
            }
        };
        *slot = Some(v);
    }
    s
}

/// Submit a report. Form-encoded, or multipart with a photo in `media`. Needs an `api_key`.
/// A retry with the same `Idempotency-Key` returns the first answer and creates nothing.
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "open311",
    params(("Idempotency-Key" = Option<String>, Header, description = "repeat it on retries")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "api_key, service_code, lat+long or address_string (or district), attribute[CODE], description, media_url, first_name, last_name, email, phone, device_id, account_id, private (1: the public sees only the report's service, status and district); multipart/form-data adds the photo `media`"),
    responses((status = 200, body = [Receipt]), (status = 400, body = [Open311Error]), (status = 403, body = [Open311Error]),
        (status = 404, body = [Open311Error]), (status = 413, body = [Open311Error]), (status = 429, body = [Open311Error])))]
pub async fn post_request(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    lang: Lang,
    req: Request,
) -> Reply {
    let format = suffix_format(req.uri());
    let f = fail(format);
    let headers = req.headers().clone();
    if let Err(wait) = state
        .write_token(&headers, peer)
        .await
        .map_err(|e| f(e.into()))?
    {
        let mut resp = f(Error::TooManyRequests(t!(
            lang,
            "err-rate-limited",
            seconds = wait as i64
        )))
        .into_response();
        resp.headers_mut().insert(header::RETRY_AFTER, wait.into());
        return Ok(resp);
    }
    let query = query_pairs(req.uri());
    check_jurisdiction(&query, lang).map_err(&f)?;
    let fields = read_fields(&state, req, lang).await.map_err(&f)?;
    let api_key = param(&fields.pairs, "api_key")
        .or_else(|| param(&query, "api_key"))
        .map(str::to_owned);
    let api_key = api_key.ok_or_else(|| f(Error::Forbidden(t!(lang, "err-api-key-missing"))))?;
    let key = state
        .caches
        .api_keys
        .get_or_load(&identity::digest(&api_key), || {
            identity::api_key(&state.db, &api_key)
        })
        .await
        .map_err(&f)?
        .ok_or_else(|| f(Error::Forbidden(t!(lang, "err-api-key-invalid"))))?;
    let idempotency = match headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::trim))
    {
        None => None,
        Some(Ok(k)) if !k.is_empty() && k.len() <= 200 => Some((
            format!("open311:key:{}", key.id),
            k.to_owned(),
            fields.digest(&["api_key"]),
        )),
        Some(_) => return Err(f(Error::BadRequest(t!(lang, "err-idempotency-key")))),
    };
    let origin = Origin {
        channel: "open311",
        api_key_id: Some(key.id),
        idempotency,
    };
    let receipt = super::submit(&state, submission(fields), origin, lang)
        .await
        .map_err(&f)?;
    ok(format, "service_requests", &[receipt])
}

/// One report, as a one-element array (as the standard has it).
#[utoipa::path(get, path = "/open311/v2/requests/{service_request_id}.json", tag = "open311",
    params(("service_request_id" = String, Path)),
    responses((status = 200, body = [RequestOut]), (status = 404, body = [Open311Error])))]
pub async fn get_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    lang: Lang,
) -> Reply {
    let (id, format) = split_format(&file, lang)?;
    let not_found = || fail(format)(Error::NotFound(t!(lang, "err-unknown-request", id = id)));
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let row = store::get_public(&state.db, id, lang)
        .await
        .map_err(|e| fail(format)(e.into()))?
        .ok_or_else(not_found)?;
    let base = state.config.base_url(&headers);
    ok(format, "service_requests", &[request_out(row, &base)])
}

#[derive(Serialize, ToSchema)]
pub struct TokenOut {
    service_request_id: String,
    token: String,
}

/// The report id behind a submission token.
#[utoipa::path(get, path = "/open311/v2/tokens/{token}.json", tag = "open311",
    params(("token" = String, Path)),
    responses((status = 200, body = [TokenOut]), (status = 404, body = [Open311Error])))]
pub async fn get_token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    lang: Lang,
) -> Reply {
    let (token, format) = split_format(&file, lang)?;
    let id = store::id_by_token(&state.db, token)
        .await
        .map_err(|e| fail(format)(e.into()))?
        .ok_or_else(|| fail(format)(Error::NotFound(t!(lang, "err-unknown-token"))))?;
    ok(
        format,
        "service_requests",
        &[TokenOut {
            service_request_id: id.to_string(),
            token: token.to_owned(),
        }],
    )
}

#[derive(Serialize, ToSchema)]
pub struct UpdateOut {
    update_id: String,
    service_request_id: String,
    status: String,
    description: String,
    updated_datetime: String,
    media_url: Option<String>,
    external_status_code: Option<String>,
}

/// Status updates posted by staff (FixMyStreet's extension), oldest first. Without dates: the
/// last 24 hours.
#[utoipa::path(get, path = "/open311/v2/servicerequestupdates.json", tag = "open311",
    params(("start_date" = Option<chrono::DateTime<Utc>>, Query), ("end_date" = Option<chrono::DateTime<Utc>>, Query), ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000), ("page_size" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "at most max_page_size (1000 unless the deployment says otherwise)")),
    responses((status = 200, body = [UpdateOut]), (status = 400, body = [Open311Error])))]
pub async fn service_request_updates(State(state): State<AppState>, uri: Uri, lang: Lang) -> Reply {
    let format = suffix_format(&uri);
    let f = fail(format);
    let pairs = query_pairs(&uri);
    check_jurisdiction(&pairs, lang).map_err(&f)?;
    let (limit, offset) = page_params(&pairs, &state.config, lang).map_err(&f)?;
    let end = date_param(&pairs, "end_date", lang)
        .map_err(&f)?
        .unwrap_or_else(Utc::now);
    let start = date_param(&pairs, "start_date", lang)
        .map_err(&f)?
        .unwrap_or(end - Duration::hours(24));
    let rows = store::updates_between(&state.db, start, end, limit, offset)
        .await
        .map_err(|e| f(e.into()))?;
    let out: Vec<UpdateOut> = rows
        .into_iter()
        .map(|u| UpdateOut {
            update_id: u.id.to_string(),
            service_request_id: u.report_id.to_string(),
            status: u.status,
            description: u.note,
            updated_datetime: wire_time(u.at),
            media_url: u.media_url,
            external_status_code: None,
        })
        .collect();
    ok(format, "service_request_updates", &out)
}

/// Answers as stored, for staff views.
pub fn answers_of(r: &ReportRow) -> serde_json::Map<String, Value> {
    serde_json::from_str::<std::collections::BTreeMap<String, Answer>>(&r.attributes)
        .map(|m| {
            m.into_iter()
                .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or(Value::Null)))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_fields_become_answers() {
        let pairs = vec![
            ("service_code".to_string(), "kunda".to_string()),
            ("attribute[premises]".to_string(), "shop".to_string()),
            ("attribute[seen][]".to_string(), "day".to_string()),
            ("attribute[seen][]".to_string(), "night".to_string()),
            ("unrelated".to_string(), "x".to_string()),
        ];
        let s = submission(Fields {
            pairs,
            photos: Vec::new(),
        });
        assert_eq!(s.service_code.as_deref(), Some("kunda"));
        assert_eq!(s.attributes["premises"], vec!["shop"]);
        assert_eq!(s.attributes["seen"], vec!["day", "night"]);
        assert_eq!(s.attributes.len(), 2);
    }

    #[test]
    fn formats_by_suffix() {
        assert_eq!(Format::of("kunda.xml"), Some(("kunda", Format::Xml)));
        assert_eq!(Format::of("12.json"), Some(("12", Format::Json)));
        assert_eq!(Format::of("12"), None);
        assert_eq!(Format::of("12.html"), None);
    }
}
