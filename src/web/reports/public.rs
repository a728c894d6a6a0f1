//! Citizens' pages: the services as large icons, a report form drawn from the service's
//! definition, the receipt and tracking page (reference, QR code, the SMS way to ask), and the
//! public reports as a list and a map of hotspots.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Duration, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;

use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::push;
use crate::platform::questions::Datatype;
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;
use crate::reports::model::{RichStatus, Service};
use crate::reports::open311::submission;
use crate::reports::store::{self, Filter};
use crate::reports::{self, Origin};
use crate::t;
use crate::web::fields::{district_options, form_fields, DistrictOption, Field};
use crate::web::format;
use crate::web::map::{self, Bbox, View};
use crate::web::{render, FormPost, Frame, Here, OrPage, Page, PageError, PublicWrite};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route(
            "/report/{code}",
            get(report_form)
                .post(report_submit)
                .layer(axum::extract::DefaultBodyLimit::max(40 * 1024 * 1024)),
        )
        .route("/report/{code}/nearby", get(nearby))
        .route("/track/{token}", get(track))
        .route("/track/{token}/follow", post(follow))
        .route("/track/{token}/unfollow", post(unfollow))
        .route(
            "/track/{token}/update",
            post(citizen_update).layer(axum::extract::DefaultBodyLimit::max(12 * 1024 * 1024)),
        )
        .route("/track/{token}/fixed", post(fixed_answer))
        .route("/track/{token}/follow-email", post(follow_email_tracked))
        .route("/reports/{id}/follow", post(follow_email_public))
        .route(
            "/follow/{token}",
            get(follow_confirm_page).post(follow_confirm),
        )
        .route("/unfollow/{token}", get(unfollow_link))
        .route("/reports", get(public_list))
        .route("/reports/map", get(public_map))
        .route("/reports/{id}", get(public_report))
}

// ---------------------------------------------------------------------------------------------
// Home

pub struct Tile {
    pub code: String,
    pub name: String,
    pub icon: String,
}

pub struct Group {
    pub name: String,
    pub tiles: Vec<Tile>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    p: Page,
    groups: Vec<Group>,
}

async fn home(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let services = state.active_services().await.or_page(lang)?;
    let mut groups: Vec<(String, Group)> = Vec::new();
    for s in services.iter() {
        let dept = s.department_slug.clone();
        let tile = Tile {
            code: s.code.clone(),
            name: s.name.get(lang).to_owned(),
            icon: if s.icon.is_empty() {
                "dot".into()
            } else {
                s.icon.clone()
            },
        };
        match groups.iter_mut().find(|(d, _)| *d == dept) {
            Some((_, g)) => g.tiles.push(tile),
            None => groups.push((
                dept,
                Group {
                    name: s.department_name.get(lang).to_owned(),
                    tiles: vec![tile],
                },
            )),
        }
    }
    let page = Home {
        p: Page::new(lang, lang.t("home-title"), &uri, &csrf),
        groups: groups.into_iter().map(|(_, g)| g).collect(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

// ---------------------------------------------------------------------------------------------
// The report form

#[derive(Template)]
#[template(path = "report_form.html")]
struct ReportForm {
    p: Page,
    code: String,
    service_name: String,
    service_description: String,
    department: String,
    fields: Vec<Field>,
    districts: Vec<DistrictOption>,
    error: Option<String>,
    /// What the citizen typed, kept when the form comes back with an error.
    v: BTreeMap<String, String>,
    idempotency_key: String,
    /// How many photos the service takes, the photo field's label, and what is said when more
    /// are chosen.
    max_photos: i64,
    photo_label: String,
    too_many: String,
    /// The pin map: the tile template (empty: none), its credit, and every district's
    /// headquarters (`[{slug, name, lat, long}]`), from which the page picks the district the
    /// pin is in, as the server would (the nearest within 80 km).
    tiles: String,
    attribution: String,
    districts_json: String,
}

impl ReportForm {
    /// What the citizen typed in a field, to fill it in again.
    fn val(&self, name: &str) -> &str {
        self.v.get(name).map(String::as_str).unwrap_or("")
    }
}

async fn load_service(
    state: &AppState,
    code: &str,
    lang: Lang,
) -> Result<std::sync::Arc<Service>, PageError> {
    state
        .service(code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))
}

async fn form_page(
    state: &AppState,
    frame: Frame<'_>,
    service: &Service,
    v: BTreeMap<String, String>,
    answers: &BTreeMap<String, Vec<String>>,
    error: Option<String>,
    idempotency_key: String,
) -> Result<ReportForm, PageError> {
    let Frame { lang, csrf, uri } = frame;
    let districts = district_options(state, lang, v.get("district").map(String::as_str))
        .await
        .or_page(lang)?;
    Ok(ReportForm {
        p: Page::new(lang, service.name.get(lang).to_owned(), uri, csrf),
        code: service.code.clone(),
        service_name: service.name.get(lang).to_owned(),
        service_description: service.description.get(lang).to_owned(),
        department: service.department_name.get(lang).to_owned(),
        fields: form_fields(&service.attributes, lang, answers),
        districts,
        error,
        v,
        idempotency_key,
        max_photos: service.max_photos,
        photo_label: if service.max_photos > 1 {
            t!(lang, "form-photos", max = service.max_photos)
        } else {
            lang.t("form-photo")
        },
        too_many: t!(lang, "form-photos-too-many", max = service.max_photos),
        tiles: state.config.map_tile_url.clone(),
        attribution: map::attribution(&state.config),
        districts_json: serde_json::to_string(
            &state
                .districts()
                .await
                .or_page(lang)?
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "slug": d.slug,
                        "name": d.name(lang),
                        "lat": d.hq_lat,
                        "long": d.hq_long,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
    })
}

async fn report_form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let service = load_service(&state, &code, lang).await?;
    let key = uuid::Uuid::new_v4().to_string();
    let page = form_page(
        &state,
        Frame::new(lang, &csrf, &uri),
        &service,
        BTreeMap::new(),
        &BTreeMap::new(),
        None,
        key,
    )
    .await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct NearbyQuery {
    lat: Option<String>,
    long: Option<String>,
}

/// How far around a point the form looks for reports already made: four times the distance at
/// which a new report is linked as a possible duplicate, over the last month.
const NEARBY_FACTOR: f64 = 4.0;
const NEARBY_HOURS: i64 = 24 * 30;

/// `GET /report/{code}/nearby?lat=&long=`: the open reports of the service near a point (at most
/// five, nearest first), which the form shows before a new one is sent, so a citizen can follow
/// or add to the one already made (FixMyStreet's way of preventing duplicates). Public reports
/// only, as the public list shows them.
async fn nearby(
    State(state): State<AppState>,
    Here { lang, .. }: Here,
    Path(code): Path<String>,
    Query(q): Query<NearbyQuery>,
) -> Result<Response, PageError> {
    let service = load_service(&state, &code, lang).await?;
    let coordinate = |v: &Option<String>| v.as_deref().and_then(|v| v.trim().parse::<f64>().ok());
    let point = match (coordinate(&q.lat), coordinate(&q.long)) {
        (Some(la), Some(lo))
            if crate::platform::geo::valid_lat(la) && crate::platform::geo::valid_long(lo) =>
        {
            Some((la, lo))
        }
        _ => None,
    };
    let mut items = Vec::new();
    if let (Some(point), true) = (point, service.public) {
        let near = store::open_reports_near(
            &state.db,
            &service.code,
            point,
            Utc::now(),
            state.config.duplicate_radius_m * NEARBY_FACTOR,
            NEARBY_HOURS,
        )
        .await
        .or_page(lang)?;
        for (id, metres) in near.into_iter().take(5) {
            let Some(r) = store::get_public(&state.db, id, lang)
                .await
                .or_page(lang)?
                .filter(store::PublicRow::shown)
            else {
                continue;
            };
            let description: String =
                crate::platform::personal::redact_text(r.description.as_deref().unwrap_or(""))
                    .chars()
                    .take(120)
                    .collect();
            items.push(serde_json::json!({
                "id": id,
                "url": format!("/reports/{id}"),
                "metres": metres.round() as i64,
                "description": description,
                "submitted": format::date(lang, r.requested_at),
            }));
        }
    }
    Ok(axum::Json(serde_json::json!({ "reports": items })).into_response())
}

/// A `datetime-local` input sends `2026-11-26T09:30`, in the citizen's (Pakistan) time.
fn local_datetime(v: &str) -> Option<String> {
    let naive = NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let at = crate::platform::clock::pkt()
        .from_local_datetime(&naive)
        .single()?;
    Some(at.to_rfc3339())
}

/// `POST /report/{code}`: file the report, then show its receipt. A form with a problem comes
/// back filled in, with the problem named; the same form sent twice files one report.
async fn report_submit(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    req: Request,
) -> Result<Response, PageError> {
    let service = load_service(&state, &code, lang).await?;
    state
        .limit_public_write(req.headers(), peer, lang)
        .await
        .or_page(lang)?;
    let fields = crate::web::read_fields_checked(&state, &csrf, req, lang).await?;
    let key = fields
        .get("idempotency_key")
        .filter(|k| k.len() <= 200)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let digest = fields.digest(&["csrf"]);
    // What the citizen typed, to give back if something is wrong.
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in &fields.pairs {
        if !k.starts_with("attribute[") && k != "csrf" {
            typed.insert(k.clone(), v.clone());
        }
    }
    let mut sub = submission(fields);
    sub.service_code = Some(service.code.clone());
    for a in service
        .attributes
        .iter()
        .filter(|a| a.datatype == Datatype::Datetime)
    {
        if let Some(values) = sub.attributes.get_mut(&a.code) {
            for v in values.iter_mut() {
                if let Some(t) = local_datetime(v) {
                    *v = t;
                }
            }
        }
    }
    let answers = sub.attributes.clone();
    let origin = Origin {
        channel: "web",
        api_key_id: None,
        idempotency: Some(("web".into(), key.clone(), digest)),
    };
    match reports::submit(&state, sub, origin, lang).await {
        Ok(receipt) => Ok(Redirect::to(&format!("/track/{}?new=1", receipt.token)).into_response()),
        Err(
            e @ (Error::BadRequest(_)
            | Error::NotFound(_)
            | Error::TooLarge(_)
            | Error::Unprocessable(_)),
        ) => {
            let status = if matches!(e, Error::TooLarge(_)) {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let page = form_page(
                &state,
                Frame::new(lang, &csrf, &uri),
                &service,
                typed,
                &answers,
                Some(e.message()),
                key,
            )
            .await?;
            Ok(render(status, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

// ---------------------------------------------------------------------------------------------
// Tracking and public reports

pub struct HistoryItem {
    pub status: String,
    pub note: String,
    pub at: String,
    /// Written by the reporter, not by the department.
    pub by_citizen: bool,
    pub photo: Option<String>,
}

/// A report as the public (or, on the tracking page, its reporter) sees it.
pub struct ReportView {
    pub id: i64,
    pub service: String,
    pub department: String,
    pub status: String,
    pub status_class: &'static str,
    pub submitted: String,
    pub expected: String,
    pub place: String,
    pub description: String,
    /// The photos sent with the report (an Open311 client's `media_url` if it sent none).
    pub photos: Vec<String>,
    pub history: Vec<HistoryItem>,
    pub map: Option<String>,
    /// Marked fixed: the reporter is asked whether it is.
    pub fixed: bool,
    /// Photos the reporter may still add.
    pub photos_left: i64,
}

async fn report_view(
    state: &AppState,
    row: store::PublicRow,
    lang: Lang,
    base: &str,
) -> Result<ReportView, sqlx::Error> {
    let rich = store::get(&state.db, row.id)
        .await?
        .map(|r| r.rich_status())
        .unwrap_or(RichStatus::Open);
    let updates = store::updates_of(&state.db, row.id, false).await?;
    let mut history = vec![HistoryItem {
        status: RichStatus::Open.label(lang),
        note: lang.t("track-received"),
        at: format::datetime(lang, row.requested_at),
        by_citizen: false,
        photo: None,
    }];
    let mut later_photos = std::collections::HashSet::new();
    for u in updates {
        if let Some(sha) = &u.photo_sha256 {
            later_photos.insert(sha.clone());
        }
        history.push(HistoryItem {
            status: if u.author == reports::followup::REPORTER {
                lang.t("track-citizen-update")
            } else {
                RichStatus::parse(&u.status)
                    .map(|s| s.label(lang))
                    .unwrap_or(u.status)
            },
            note: if u.by_citizen {
                crate::platform::personal::redact_text(&u.note).into_owned()
            } else {
                u.note
            },
            at: format::datetime(lang, u.at),
            by_citizen: u.by_citizen,
            photo: u
                .photo_sha256
                .map(|sha| crate::platform::files::url(base, &sha)),
        });
    }
    let all_photos = store::photos_of(&state.db, row.id, false).await?;
    let sent_photos: Vec<String> = all_photos
        .iter()
        .filter(|sha| !later_photos.contains(*sha))
        .map(|sha| crate::platform::files::url(base, sha))
        .collect();
    let photos = if sent_photos.is_empty() {
        reports::media_url(base, row.photo_sha256.as_deref(), row.media_url.clone())
            .into_iter()
            .collect()
    } else {
        sent_photos
    };
    let max_photos = state
        .service(&row.service_code)
        .await?
        .map_or(1, |s| s.max_photos);
    let photo_count = store::photos_of(&state.db, row.id, true).await?.len() as i64;
    let districts = state.districts().await?;
    let map = match (row.lat, row.long) {
        (Some(la), Some(lo)) => Some(map::small_map(&state.config, la, lo, &districts, lang)),
        _ => None,
    };
    let mut place = Vec::new();
    if let Some(a) = &row.address {
        place.push(a.clone());
    }
    Ok(ReportView {
        id: row.id,
        service: row.service_name,
        department: row.agency_responsible,
        status: rich.label(lang),
        status_class: if rich.is_open() { "open" } else { "closed" },
        submitted: format::datetime(lang, row.requested_at),
        expected: row
            .expected_at
            .filter(|_| rich.is_open())
            .map(|t| format::datetime(lang, t))
            .unwrap_or_default(),
        place: place.join(", "),
        description: crate::platform::personal::redact_text(
            row.description.as_deref().unwrap_or(""),
        )
        .into_owned(),
        photos,
        history,
        map,
        fixed: rich == RichStatus::Fixed,
        photos_left: (max_photos - photo_count).max(0),
    })
}

#[derive(Template)]
#[template(path = "track.html")]
struct Track {
    p: Page,
    r: ReportView,
    fresh: bool,
    qr: String,
    link: String,
    sms: String,
    /// "Text FOLLOW 123 to 8080".
    sms_follow: String,
    /// Where the "e-mail me" form goes.
    follow_action: String,
    attribution: String,
    /// This deployment's Web Push key, for "tell me on this phone".
    push_key: String,
    token: String,
    /// What the reporter just did, said back to them.
    flash: String,
    /// Why what they sent was refused, and what they wrote, to send again.
    error: Option<String>,
    typed: String,
}

#[derive(Deserialize)]
struct TrackQuery {
    new: Option<String>,
    done: Option<String>,
}

/// What a `?done=` on the tracking or report page says.
fn flash(lang: Lang, done: Option<&str>) -> String {
    match done {
        Some("update") => lang.t("track-update-added"),
        Some("fixed") => lang.t("outcome-thanks-fixed"),
        Some("not-fixed") => lang.t("outcome-thanks-reopened"),
        Some("mailed") => lang.t("follow-mailed"),
        Some("following") => lang.t("follow-confirmed"),
        _ => String::new(),
    }
}

async fn track(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(q): Query<TrackQuery>,
) -> Result<Response, PageError> {
    let frame = Frame::new(lang, &csrf, &uri);
    let mut page = track_page(&state, frame, &headers, token).await?;
    page.fresh = q.new.is_some();
    page.flash = flash(lang, q.done.as_deref());
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn track_page(
    state: &AppState,
    Frame { lang, csrf, uri }: Frame<'_>,
    headers: &HeaderMap,
    token: String,
) -> Result<Track, PageError> {
    let id = tracked(state, &token, lang).await?;
    let row = store::get_public(&state.db, id, lang)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let base = state.config.base_url(headers);
    let r = report_view(state, row, lang, &base).await.or_page(lang)?;
    let link = format!("{base}/track/{token}");
    Ok(Track {
        p: Page::new(lang, t!(lang, "track-title", id = r.id), uri, csrf),
        qr: crate::web::qr::svg(&link, &lang.t("track-qr")).unwrap_or_default(),
        sms: t!(
            lang,
            "track-sms",
            number = state.config.sms_number.clone(),
            id = r.id
        ),
        sms_follow: t!(
            lang,
            "follow-sms",
            number = state.config.sms_number.clone(),
            id = r.id
        ),
        follow_action: format!("/track/{token}/follow-email"),
        r,
        fresh: false,
        link,
        attribution: map::attribution(&state.config),
        push_key: push::Vapid::load(&state.db)
            .await
            .or_page(lang)?
            .public_key(),
        token,
        flash: String::new(),
        error: None,
        typed: String::new(),
    })
}

/// The tracking page again with why what the reporter sent was refused, and what they wrote; or,
/// for a failure that is ours, the error page.
async fn refused(
    state: &AppState,
    frame: Frame<'_>,
    headers: &HeaderMap,
    token: String,
    e: Error,
    typed: String,
) -> Result<Response, PageError> {
    let lang = frame.lang;
    let (status, message) = match e {
        Error::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, m),
        Error::BadRequest(m) | Error::Unprocessable(m) | Error::Conflict(m) => {
            (StatusCode::UNPROCESSABLE_ENTITY, m)
        }
        error => return Err(PageError { error, lang }),
    };
    let csrf = frame.csrf;
    let mut page = track_page(state, frame, headers, token).await?;
    page.error = Some(message);
    page.typed = typed;
    Ok(render(status, csrf, &page))
}

/// `POST /track/{token}/update`: the reporter adds words and perhaps a photo to their report.
async fn citizen_update(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, csrf, uri }: Here,
    headers: HeaderMap,
    Path(token): Path<String>,
    req: Request,
) -> Result<Response, PageError> {
    let id = tracked(&state, &token, lang).await?;
    let fields = crate::web::read_fields_checked(&state, &csrf, req, lang).await?;
    let note = fields.get("note").unwrap_or("").to_owned();
    // One photo an update (a camera shot and a chosen photo both sent, without the script, are
    // refused with the reason rather than one dropped unsaid).
    let mut photos = fields.photos.into_iter();
    let photo = photos.next();
    let added = if photos.next().is_some() {
        Err(Error::BadRequest(t!(
            lang,
            "err-photos-too-many",
            max = 1i64
        )))
    } else {
        reports::followup::add_update(&state, id, &note, photo, lang).await
    };
    match added {
        Ok(_) => Ok(Redirect::to(&format!("/track/{token}?done=update#history")).into_response()),
        Err(e) => {
            refused(
                &state,
                Frame::new(lang, &csrf, &uri),
                &headers,
                token,
                e,
                note,
            )
            .await
        }
    }
}

#[derive(Deserialize)]
struct FixedForm {
    #[serde(default)]
    fixed: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    words: String,
}

/// `POST /track/{token}/fixed`: "is it fixed?" answered on the tracking page.
async fn fixed_answer(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, csrf, uri }: Here,
    headers: HeaderMap,
    Path(token): Path<String>,
    FormPost(_, f): FormPost<FixedForm>,
) -> Result<Response, PageError> {
    let id = tracked(&state, &token, lang).await?;
    let fixed = match f.fixed.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let rating: String = f
        .rating
        .trim()
        .chars()
        .map(crate::platform::text::latin_digit)
        .collect();
    let rating = match rating.as_str() {
        "" => Ok(None),
        r => r.parse::<i64>().map(Some).map_err(|_| ()),
    };
    let result = match (fixed, rating) {
        (None, _) => Err(Error::BadRequest(lang.t("outcome-choose"))),
        (_, Err(())) => Err(Error::BadRequest(lang.t("err-rating"))),
        (Some(fixed), Ok(rating)) => {
            let answer = reports::followup::Answer {
                fixed,
                words: Some(f.words.clone()),
                rating,
                channel: "web",
            };
            let base = state.config.base_url(&headers);
            reports::followup::answer(&state, id, &answer, &base, lang).await
        }
    };
    match result {
        Ok(_) => {
            let done = if fixed == Some(true) {
                "fixed"
            } else {
                "not-fixed"
            };
            Ok(Redirect::to(&format!("/track/{token}?done={done}")).into_response())
        }
        Err(e) => {
            let frame = Frame::new(lang, &csrf, &uri);
            refused(&state, frame, &headers, token, e, f.words).await
        }
    }
}

#[derive(Deserialize)]
struct FollowEmailForm {
    #[serde(default)]
    email: String,
}

/// `POST /track/{token}/follow-email`: e-mail me each change (a link is mailed to confirm).
async fn follow_email_tracked(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, csrf, uri }: Here,
    headers: HeaderMap,
    Path(token): Path<String>,
    FormPost(_, f): FormPost<FollowEmailForm>,
) -> Result<Response, PageError> {
    let id = tracked(&state, &token, lang).await?;
    let base = state.config.base_url(&headers);
    match reports::followup::follow_by_email(&state, id, &f.email, &base, lang).await {
        Ok(()) => Ok(Redirect::to(&format!("/track/{token}?done=mailed")).into_response()),
        Err(e) => {
            let frame = Frame::new(lang, &csrf, &uri);
            refused(&state, frame, &headers, token, e, String::new()).await
        }
    }
}

/// `POST /reports/{id}/follow`: anyone follows a public report by e-mail.
async fn follow_email_public(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, .. }: Here,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormPost(_, f): FormPost<FollowEmailForm>,
) -> Result<Response, PageError> {
    let id = public_id(&state, &id, lang).await?;
    let base = state.config.base_url(&headers);
    match reports::followup::follow_by_email(&state, id, &f.email, &base, lang).await {
        Ok(()) => Ok(Redirect::to(&format!("/reports/{id}?done=mailed")).into_response()),
        Err(error) => Err(PageError { error, lang }),
    }
}

/// A public report's id, or "not found" (a report of a private service is not public).
async fn public_id(state: &AppState, raw: &str, lang: Lang) -> Result<i64, PageError> {
    let id: i64 = raw.parse().map_err(|_| PageError::not_found(lang))?;
    store::get_public(&state.db, id, lang)
        .await
        .or_page(lang)?
        .filter(store::PublicRow::shown)
        .map(|r| r.id)
        .ok_or_else(|| PageError::not_found(lang))
}

/// A page that says one thing, perhaps with a button that confirms it and a link on.
#[derive(Template)]
#[template(path = "notice.html")]
pub(super) struct Notice {
    pub(super) p: Page,
    pub(super) text: String,
    /// A button that posts to this address (a confirmation).
    pub(super) action: Option<String>,
    pub(super) button: String,
    pub(super) link: String,
    pub(super) link_text: String,
}

/// `GET /follow/{token}`: the link mailed to confirm. A button confirms (a mail scanner that
/// opens every link does not sign anyone up).
async fn follow_confirm_page(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let f = store::follower_by_token(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let page = Notice {
        p: Page::new(
            lang,
            t!(lang, "follow-confirm-title", id = f.report_id),
            &uri,
            &csrf,
        ),
        text: t!(lang, "follow-confirm-text", id = f.report_id),
        action: Some(format!("/follow/{token}")),
        button: lang.t("follow-confirm-button"),
        link: String::new(),
        link_text: String::new(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn follow_confirm(
    State(state): State<AppState>,
    Here { lang, .. }: Here,
    Path(token): Path<String>,
    FormPost(_, _): FormPost<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    let id = reports::followup::confirm(&state.db, &token)
        .await
        .map_err(|error| PageError { error, lang })?
        .ok_or_else(|| PageError::not_found(lang))?;
    let public = store::get_public(&state.db, id, lang)
        .await
        .or_page(lang)?
        .is_some_and(|r| r.shown());
    let to = if public {
        format!("/reports/{id}?done=following")
    } else {
        "/?done=following".to_owned()
    };
    Ok(Redirect::to(&to).into_response())
}

/// `GET /unfollow/{token}`: the one-click way out, from every message a follower gets.
async fn unfollow_link(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let id = reports::followup::unfollow(&state.db, &token)
        .await
        .map_err(|error| PageError { error, lang })?;
    let page = Notice {
        p: Page::new(lang, lang.t("unfollow-title"), &uri, &csrf),
        text: match id {
            Some(id) => t!(lang, "unfollow-done", id = id),
            None => lang.t("unfollow-gone"),
        },
        action: None,
        button: String::new(),
        link: "/".into(),
        link_text: lang.t("home-title"),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// The report a tracking link names, or "not found".
async fn tracked(state: &AppState, token: &str, lang: Lang) -> Result<i64, PageError> {
    store::id_by_token(&state.db, token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))
}

#[derive(Deserialize)]
struct FollowForm {
    endpoint: String,
    #[serde(default)]
    p256dh: String,
    #[serde(default)]
    auth: String,
}

/// `POST /track/{token}/follow`: this browser is told by Web Push when the report changes (the
/// page's script sends the subscription its push service gave it). 204, or the problem.
async fn follow(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, .. }: Here,
    Path(token): Path<String>,
    FormPost(_, f): FormPost<FollowForm>,
) -> Result<Response, PageError> {
    let id = tracked(&state, &token, lang).await?;
    let sub = push::Subscription {
        endpoint: f.endpoint,
        p256dh: f.p256dh,
        auth: f.auth,
    };
    push::subscribe(&state.db, &state.config, "report", id, &sub, lang)
        .await
        .map_err(|error| PageError { error, lang })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /track/{token}/unfollow`: this browser (its endpoint) is told no more.
async fn unfollow(
    State(state): State<AppState>,
    Here { lang, .. }: Here,
    Path(token): Path<String>,
    FormPost(_, f): FormPost<FollowForm>,
) -> Result<Response, PageError> {
    let id = tracked(&state, &token, lang).await?;
    push::unsubscribe(&state.db, "report", id, &f.endpoint)
        .await
        .map_err(|error| PageError { error, lang })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Template)]
#[template(path = "public_report.html")]
struct PublicReport {
    p: Page,
    r: ReportView,
    attribution: String,
    sms_follow: String,
    follow_action: String,
    flash: String,
}

async fn public_report(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<TrackQuery>,
) -> Result<Response, PageError> {
    let not_found = || PageError::not_found(lang);
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let row = store::get_public(&state.db, id, lang)
        .await
        .or_page(lang)?
        .filter(store::PublicRow::shown)
        .ok_or_else(not_found)?;
    let base = state.config.base_url(&headers);
    let r = report_view(&state, row, lang, &base).await.or_page(lang)?;
    let page = PublicReport {
        p: Page::new(lang, t!(lang, "track-title", id = r.id), &uri, &csrf),
        sms_follow: t!(
            lang,
            "follow-sms",
            number = state.config.sms_number.clone(),
            id = r.id
        ),
        follow_action: format!("/reports/{}/follow", r.id),
        r,
        attribution: map::attribution(&state.config),
        flash: flash(lang, q.done.as_deref()),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct ListItem {
    pub id: i64,
    pub service: String,
    pub status: String,
    pub status_class: &'static str,
    pub submitted: String,
    pub place: String,
    pub description: String,
    /// Whether the report has a public page (a private one is listed, not linked).
    pub shown: bool,
}

pub struct ServiceOption {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

#[derive(Deserialize, Default)]
struct PublicQuery {
    service: Option<String>,
    district: Option<String>,
    status: Option<String>,
    page: Option<String>,
    bbox: Option<String>,
}

/// The filters of the public list and map, checked: unknown values are ignored, not errors, so
/// an old bookmark still opens.
struct PublicFilter {
    filter: Filter,
    service: String,
    district: String,
    status: String,
    page: i64,
}

fn public_filter(q: &PublicQuery, limit: i64) -> PublicFilter {
    let service = q.service.clone().unwrap_or_default();
    let district = q.district.clone().unwrap_or_default();
    let status = match q.status.as_deref() {
        Some("closed") => "closed",
        Some("all") => "all",
        _ => "open",
    };
    let page = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=10_000).contains(p))
        .unwrap_or(1);
    let filter = Filter {
        service_codes: (!service.is_empty()).then(|| vec![service.clone()]),
        district: (!district.is_empty()).then(|| district.clone()),
        statuses: match status {
            "all" => None,
            s => Some(vec![if s == "closed" { "closed" } else { "open" }]),
        },
        start: Some(Utc::now() - Duration::days(90)),
        limit,
        offset: (page - 1) * limit,
        ..Default::default()
    };
    PublicFilter {
        filter,
        service,
        district,
        status: status.to_owned(),
        page,
    }
}

pub(super) async fn service_options(
    state: &AppState,
    lang: Lang,
    selected: &str,
) -> Result<Vec<ServiceOption>, sqlx::Error> {
    Ok(state
        .active_services()
        .await?
        .iter()
        .filter(|s| s.public)
        .map(|s| ServiceOption {
            selected: s.code == selected,
            name: s.name.get(lang).to_owned(),
            code: s.code.clone(),
        })
        .collect())
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .copied()
        .collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "public_list.html")]
struct PublicList {
    p: Page,
    items: Vec<ListItem>,
    services: Vec<ServiceOption>,
    districts: Vec<DistrictOption>,
    status: String,
    prev: Option<String>,
    next: Option<String>,
    map_link: String,
}

const PUBLIC_PAGE: i64 = 20;

async fn public_list(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<PublicQuery>,
) -> Result<Response, PageError> {
    let pf = public_filter(&q, PUBLIC_PAGE + 1);
    let mut rows = store::list_public(&state.db, &pf.filter, lang)
        .await
        .or_page(lang)?;
    let more = rows.len() as i64 > PUBLIC_PAGE;
    rows.truncate(PUBLIC_PAGE as usize);
    let districts = state.districts().await.or_page(lang)?;
    let items = rows
        .into_iter()
        .map(|r| {
            let open = r.status == "open";
            let shown = r.shown();
            let district = || {
                let slug = r.district.as_deref()?;
                let d = districts.iter().find(|d| d.slug == slug)?;
                Some(d.name(lang).to_owned())
            };
            let place = r
                .address
                .clone()
                .or_else(|| {
                    r.lat.zip(r.long).and_then(|(la, lo)| {
                        crate::platform::org::nearest_district(&districts, la, lo, 80_000.0)
                            .map(|d| d.name(lang).to_owned())
                    })
                })
                .or_else(district)
                .unwrap_or_default();
            let mut description =
                crate::platform::personal::redact_text(r.description.as_deref().unwrap_or(""))
                    .into_owned();
            if description.chars().count() > 160 {
                description = description.chars().take(157).collect::<String>() + "…";
            }
            ListItem {
                id: r.id,
                service: r.service_name,
                status: lang.t(if open { "status-open" } else { "status-closed" }),
                status_class: if open { "open" } else { "closed" },
                submitted: format::datetime(lang, r.requested_at),
                place,
                description,
                shown,
            }
        })
        .collect();
    let link = |page: i64| {
        format!(
            "/reports?{}",
            query_string(&[
                ("service", &pf.service),
                ("district", &pf.district),
                ("status", &pf.status),
                ("page", &page.to_string()),
            ])
        )
    };
    let page = PublicList {
        p: Page::new(lang, lang.t("reports-title"), &uri, &csrf),
        items,
        services: service_options(&state, lang, &pf.service)
            .await
            .or_page(lang)?,
        districts: district_options(&state, lang, Some(&pf.district))
            .await
            .or_page(lang)?,
        status: pf.status.clone(),
        prev: (pf.page > 1).then(|| link(pf.page - 1)),
        next: more.then(|| link(pf.page + 1)),
        map_link: format!(
            "/reports/map?{}",
            query_string(&[
                ("service", &pf.service),
                ("district", &pf.district),
                ("status", &pf.status)
            ])
        ),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

pub struct Hotspot {
    pub count: usize,
    pub near: String,
    pub href: String,
}

#[derive(Template)]
#[template(path = "public_map.html")]
struct PublicMap {
    p: Page,
    svg: String,
    hotspots: Vec<Hotspot>,
    count_text: String,
    services: Vec<ServiceOption>,
    districts: Vec<DistrictOption>,
    status: String,
    list_link: String,
    whole_link: String,
    attribution: String,
}

/// The most points one map draws (the newest): enough for any hotspot to show.
const MAP_POINTS: i64 = 20_000;

async fn public_map(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<PublicQuery>,
) -> Result<Response, PageError> {
    let mut pf = public_filter(&q, MAP_POINTS);
    pf.filter.offset = 0;
    let mut points = store::public_points(&state.db, &pf.filter)
        .await
        .or_page(lang)?;
    let bbox = q.bbox.as_deref().and_then(Bbox::parse);
    if let Some(b) = bbox {
        points.retain(|&(la, lo)| b.contains(la, lo));
    }
    let frame = bbox.or_else(|| Bbox::around(&points)).unwrap_or(Bbox::KP);
    let view = View::fit(frame, 640.0, 480.0);
    let clusters = map::cluster(&view, &points, 44.0);
    let districts = state.districts().await.or_page(lang)?;
    let base_query = query_string(&[
        ("service", &pf.service),
        ("district", &pf.district),
        ("status", &pf.status),
    ]);
    let zoom_link = |b: &Bbox| format!("/reports/map?{base_query}&bbox={}", b.param());
    let near = |la: f64, lo: f64| {
        crate::platform::org::nearest_district(&districts, la, lo, 150_000.0)
            .map(|d| d.name(lang).to_owned())
            .unwrap_or_default()
    };
    let markers: Vec<map::Marker> = clusters
        .iter()
        .map(|c| map::Marker {
            lat: c.lat,
            long: c.long,
            count: c.count,
            href: Some(zoom_link(&c.bbox)),
            title: t!(
                lang,
                "map-hotspot",
                count = c.count,
                place = near(c.lat, c.long)
            ),
        })
        .collect();
    let svg = map::html(
        &view,
        &markers,
        &map::district_labels(&districts, lang),
        &state.config.map_tile_url,
        &lang.t("map-label"),
    );
    let hotspots = clusters
        .iter()
        .take(10)
        .map(|c| Hotspot {
            count: c.count,
            near: near(c.lat, c.long),
            href: zoom_link(&c.bbox),
        })
        .collect();
    let page = PublicMap {
        p: Page::new(lang, lang.t("map-title"), &uri, &csrf),
        svg,
        hotspots,
        count_text: t!(lang, "map-count", count = points.len()),
        services: service_options(&state, lang, &pf.service)
            .await
            .or_page(lang)?,
        districts: district_options(&state, lang, Some(&pf.district))
            .await
            .or_page(lang)?,
        status: pf.status.clone(),
        list_link: format!("/reports?{base_query}"),
        whole_link: format!("/reports/map?{base_query}"),
        attribution: map::attribution(&state.config),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[cfg(test)]
mod tests {
    #[test]
    fn datetime_inputs_are_pakistan_time() {
        assert_eq!(
            super::local_datetime("2026-11-26T09:30").as_deref(),
            Some("2026-11-26T09:30:00+05:00")
        );
        assert!(super::local_datetime("soon").is_none());
    }
}
