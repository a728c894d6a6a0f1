//! The reports service's staff pages: the department's inbox (filters, sorting, pages, CSV
//! export), a report's page (photo, map, history, possible duplicate, status with a note,
//! assignment), and the department's dashboard. Every page is scoped like the staff API: a
//! report outside the caller's department (and district) is "not found", whoever asks and
//! however.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Datelike, Duration, Utc};
use serde::Deserialize;

use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::identity::{self, Staff};
use crate::platform::sheet::Sheet;
use crate::platform::state::AppState;
use crate::quiz;
use crate::reports::model::{RichStatus, ALL_STATUSES};
use crate::reports::open311::answers_of;
use crate::reports::store::{self, Filter, GroupColumn, Order, ReportRow, Search};
use crate::t;
use crate::web::fields::{options, Opt};
use crate::web::staff::{staff_page, CsrfForm, StaffPage};
use crate::web::{charts, format, map, render, FormPost, Frame, Here, OrPage, Page, PageError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff", get(inbox))
        .route("/staff/export.csv", get(export))
        .route("/staff/dashboard", get(dashboard))
        .route("/staff/reports/{id}", get(report))
        .route("/staff/reports/{id}/status", post(change_status))
        .route("/staff/reports/{id}/assign", post(assign))
        .route("/staff/reports/{id}/notes", post(add_note))
        .route(
            "/staff/reports/{id}/updates/{update}",
            post(moderate_update),
        )
        .route("/staff/reports/{id}/duplicate", post(duplicate))
        .route("/staff/reports/{id}/contact", post(reveal_contact))
        .route("/staff/reports/{id}/voice", get(voice))
}

// ---------------------------------------------------------------------------------------------
// Inbox and export

#[derive(Deserialize, Default, Clone)]
struct InboxQuery {
    /// A reference, the reporter's phone number, or words.
    q: Option<String>,
    /// `1`: only open reports past their expected response date.
    overdue: Option<String>,
    service: Option<String>,
    status: Option<String>,
    district: Option<String>,
    from: Option<String>,
    to: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

impl InboxQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        for (k, val) in [
            ("q", &self.q),
            ("overdue", &self.overdue),
            ("service", &self.service),
            ("status", &self.status),
            ("district", &self.district),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
        ] {
            if let Some(x) = val.as_deref().filter(|x| !x.is_empty()) {
                v.push((k, x.to_owned()));
            }
        }
        v
    }

    fn link(&self, base: &str, page: Option<i64>) -> String {
        let mut pairs = self.pairs();
        if let Some(p) = page {
            pairs.push(("page", p.to_string()));
        }
        let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
        if q.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{q}")
        }
    }

    /// The filter these parameters ask for, within `staff`'s scope. Values that mean nothing
    /// are refused with a message, so a mistyped filter never silently shows everything.
    fn filter(&self, staff: &Staff, lang: Lang) -> Result<Filter, PageError> {
        let bad = |what: &str| PageError {
            error: Error::BadRequest(t!(lang, "inbox-bad-filter", name = what)),
            lang,
        };
        let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let mut f = Filter {
            scope: Some(staff.scope.clone()),
            service_codes: some(&self.service).map(|c| vec![c]),
            district: some(&self.district),
            ..Default::default()
        };
        match some(&self.status).as_deref() {
            None => {}
            Some("open") => f.statuses = Some(vec!["open"]),
            Some("closed") => f.statuses = Some(vec!["closed"]),
            Some(s) => f.rich_status = Some(RichStatus::parse(s).ok_or_else(|| bad("status"))?),
        }
        if let Some(d) = some(&self.from) {
            f.start = Some(crate::platform::clock::day_start(&d).ok_or_else(|| bad("from"))?);
        }
        if let Some(d) = some(&self.to) {
            f.end = Some(
                crate::platform::clock::day_start(&d).ok_or_else(|| bad("to"))? + Duration::days(1)
                    - Duration::microseconds(1),
            );
        }
        if let Some(s) = some(&self.sort) {
            f.order = Order::parse(&s).ok_or_else(|| bad("sort"))?;
        }
        f.search = some(&self.q).and_then(|q| Search::parse(&q));
        match some(&self.overdue).as_deref() {
            None => {}
            Some("1") => f.overdue_at = Some(Utc::now()),
            Some(_) => return Err(bad("overdue")),
        }
        Ok(f)
    }
}

pub struct Row {
    pub id: i64,
    pub submitted: String,
    pub service: String,
    pub district: String,
    pub status: String,
    pub status_class: &'static str,
    pub assigned: bool,
    pub duplicate: bool,
    pub summary: String,
    /// The expected response date, for an open report.
    pub due: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "staff_inbox.html")]
struct Inbox {
    p: Page,
    rows: Vec<Row>,
    services: Vec<Opt>,
    statuses: Vec<Opt>,
    districts: Vec<Opt>,
    sorts: Vec<Opt>,
    from: String,
    to: String,
    shown: String,
    prev: Option<String>,
    next: Option<String>,
    export: String,
    search: String,
    overdue_only: bool,
    /// How many of the listed reports (every filter but "overdue") are overdue, and the link
    /// that lists them.
    overdue: i64,
    overdue_text: String,
    overdue_link: String,
}

const INBOX_PAGE: i64 = 50;

async fn district_names(
    state: &AppState,
    lang: Lang,
) -> Result<BTreeMap<String, String>, sqlx::Error> {
    Ok(state
        .districts()
        .await?
        .iter()
        .map(|d| (d.slug.clone(), d.name(lang).to_owned()))
        .collect())
}

async fn inbox(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let page_no = q
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| (1..=100_000).contains(p))
        .unwrap_or(1);
    let mut f = q.filter(&staff, lang)?;
    let total = store::count(&state.db, &f).await.or_page(lang)?;
    if let Some(Search::Phone(e164)) = &f.search {
        crate::reports::record_phone_search(&state.db, &staff, e164, total)
            .await
            .or_page(lang)?;
    }
    let now = Utc::now();
    let overdue = store::count(
        &state.db,
        &Filter {
            overdue_at: Some(now),
            ..f.clone()
        },
    )
    .await
    .or_page(lang)?;
    let overdue_link = InboxQuery {
        overdue: Some("1".into()),
        sort: Some("due".into()),
        ..q.clone()
    }
    .link("/staff", None);
    f.limit = INBOX_PAGE;
    f.offset = (page_no - 1) * INBOX_PAGE;
    let rows = store::list(&state.db, &f).await.or_page(lang)?;
    let names = district_names(&state, lang).await.or_page(lang)?;
    let services: Vec<(String, String)> = store::services(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .filter(|s| match &staff.scope {
            identity::Scope::All => true,
            identity::Scope::Department { department_id, .. } => *department_id == s.department_id,
        })
        .map(|s| (s.code.clone(), s.name.get(lang).to_owned()))
        .collect();
    let mut statuses = vec![
        ("open".to_string(), lang.t("inbox-all-open")),
        ("closed".to_string(), lang.t("inbox-all-closed")),
    ];
    statuses.extend(
        ALL_STATUSES
            .iter()
            .map(|s| (s.as_str().to_string(), s.label(lang))),
    );
    let districts: Vec<(String, String)> = match &staff.scope {
        identity::Scope::Department {
            district: Some(d), ..
        } => vec![(d.clone(), names.get(d).cloned().unwrap_or_default())],
        _ => {
            let mut v: Vec<(String, String)> =
                names.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            v.sort_by(|a, b| a.1.cmp(&b.1));
            v
        }
    };
    let sorts = vec![
        ("newest".to_string(), lang.t("sort-newest")),
        ("oldest".to_string(), lang.t("sort-oldest")),
        ("updated".to_string(), lang.t("sort-updated")),
        ("due".to_string(), lang.t("sort-due")),
    ];
    let first = if total == 0 { 0 } else { f.offset + 1 };
    let last = f.offset + rows.len() as i64;
    let page = Inbox {
        p: staff_page(&state, lang, lang.t("inbox-title"), &uri, &csrf, &staff),
        rows: rows.iter().map(|r| row(r, lang, &names, now)).collect(),
        services: options(services, q.service.as_deref()),
        statuses: options(statuses, q.status.as_deref()),
        districts: options(districts, q.district.as_deref()),
        sorts: options(sorts, Some(f.order.as_str())),
        from: q.from.clone().unwrap_or_default(),
        to: q.to.clone().unwrap_or_default(),
        shown: t!(
            lang,
            "inbox-shown",
            first = first,
            last = last,
            total = total
        ),
        prev: (page_no > 1).then(|| q.link("/staff", Some(page_no - 1))),
        next: (last < total).then(|| q.link("/staff", Some(page_no + 1))),
        export: q.link("/staff/export.csv", None),
        search: q.q.clone().unwrap_or_default(),
        overdue_only: f.overdue_at.is_some(),
        overdue,
        overdue_text: t!(lang, "inbox-overdue-count", count = overdue),
        overdue_link,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

fn row(r: &ReportRow, lang: Lang, names: &BTreeMap<String, String>, now: DateTime<Utc>) -> Row {
    let rich = r.rich_status();
    let due = r.expected_at.filter(|_| rich.is_open());
    let summary = r
        .description
        .clone()
        .or_else(|| r.address.clone())
        .unwrap_or_default();
    Row {
        id: r.id,
        submitted: format::datetime(lang, r.requested_at),
        service: r.service_name().get(lang).to_owned(),
        district: r
            .district
            .as_ref()
            .map(|d| names.get(d).cloned().unwrap_or_else(|| d.clone()))
            .unwrap_or_default(),
        status: rich.label(lang),
        status_class: if rich.is_open() { "open" } else { "closed" },
        assigned: r.assigned_to.is_some(),
        duplicate: r.possible_duplicate_of.is_some() && rich.is_open(),
        summary: if summary.chars().count() > 90 {
            summary.chars().take(87).collect::<String>() + "…"
        } else {
            summary
        },
        due: due.map(|d| format::date(lang, d)).unwrap_or_default(),
        overdue: due.is_some_and(|d| d < now),
    }
}

/// A moment as the export writes it: Pakistan time to the second, with its offset
/// (`2026-12-06T10:27:13+05:00`), which a spreadsheet and a program both read.
fn pakistan_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&crate::platform::clock::pkt())
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// The most rows one export holds.
const EXPORT_MAX: i64 = 100_000;

/// `GET /staff/export.csv`: the inbox's filtered list, all pages, as UTF-8 CSV with a byte
/// order mark (without it, Excel reads Urdu as Latin-1 gibberish).
async fn export(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    headers: HeaderMap,
    lang: Lang,
    Query(q): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let mut f = q.filter(&staff, lang)?;
    let names = district_names(&state, lang).await.or_page(lang)?;
    let base = state.config.base_url(&headers);
    let mut sheet = Sheet::new();
    let header = [
        "id",
        "submitted",
        "service",
        "department",
        "district",
        "status",
        "description",
        "address",
        "lat",
        "long",
        "attributes",
        "photo",
        "contact_name",
        "contact_phone",
        "contact_email",
        "channel",
        "assigned_to",
        "possible_duplicate_of",
        "updated",
    ];
    sheet.row(header);
    f.limit = 1000;
    let mut written = 0;
    loop {
        let rows = store::list(&state.db, &f).await.or_page(lang)?;
        for r in &rows {
            let cells = [
                r.id.to_string(),
                pakistan_time(r.requested_at),
                r.service_name().get(lang).to_owned(),
                r.department_name().get(lang).to_owned(),
                r.district
                    .as_ref()
                    .map(|d| names.get(d).cloned().unwrap_or_else(|| d.clone()))
                    .unwrap_or_default(),
                r.rich_status().label(lang),
                r.description.clone().unwrap_or_default(),
                r.address.clone().unwrap_or_default(),
                r.lat.map(|v| v.to_string()).unwrap_or_default(),
                r.long.map(|v| v.to_string()).unwrap_or_default(),
                serde_json::Value::Object(answers_of(r)).to_string(),
                crate::reports::media_url(&base, r.photo_sha256.as_deref(), r.media_url.clone())
                    .unwrap_or_default(),
                r.contact_name.clone().unwrap_or_default(),
                crate::reports::masked_phone(r.contact_phone.as_deref()).unwrap_or_default(),
                r.contact_email.clone().unwrap_or_default(),
                r.channel.clone(),
                r.assigned_to.map(|v| v.to_string()).unwrap_or_default(),
                r.possible_duplicate_of
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                pakistan_time(r.updated_at),
            ];
            sheet.row(&cells);
        }
        written += rows.len() as i64;
        if (rows.len() as i64) < f.limit || written >= EXPORT_MAX {
            break;
        }
        f.offset += f.limit;
    }
    let name = format!("reports-{}.csv", Utc::now().format("%Y-%m-%d"));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        format!("\u{feff}{}", sheet.finish()),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// One report

pub struct Answered {
    pub label: String,
    pub value: String,
}

pub struct Entry {
    pub id: i64,
    pub status: String,
    pub note: String,
    pub author: String,
    pub at: String,
    /// The reporter's own update: staff may hide it from the public.
    pub by_reporter: bool,
    pub hidden_reason: Option<String>,
    pub photo: Option<String>,
}

pub struct Duplicate {
    pub id: i64,
    pub distance: String,
    pub service: String,
    pub submitted: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "staff_report.html")]
struct ReportPage {
    p: Page,
    id: i64,
    service: String,
    department: String,
    district: String,
    status: String,
    status_class: &'static str,
    submitted: String,
    expected: String,
    channel: String,
    description: String,
    address: String,
    position: String,
    osm_link: String,
    map: Option<String>,
    attribution: String,
    photo: Option<String>,
    /// The report was described aloud (a voice note, a call's recording).
    voice: bool,
    answers: Vec<Answered>,
    contact_name: String,
    contact_phone: String,
    /// The full number is shown (after "show number", audited).
    revealed: bool,
    contact_email: String,
    history: Vec<Entry>,
    duplicate: Option<Duplicate>,
    statuses: Vec<Opt>,
    users: Vec<Opt>,
    error: Option<String>,
    note: String,
    done: Option<String>,
    /// The language the citizen reported in (and reads the note in), named in the page's.
    reporter_reads: String,
    /// Replies ready to use: the service's note for each status, in the citizen's language.
    replies: Vec<(String, String)>,
    /// Staff's internal notes (never shown to the citizen).
    notes: Vec<Entry>,
    /// The reporter asked that it not be shown publicly.
    private: bool,
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// What a report's page shows besides the report: a problem with the status form (and the note
/// typed, given back), what was just done, and whether the reporter's number is revealed.
#[derive(Default)]
struct Shown {
    error: Option<String>,
    note: String,
    done: Option<String>,
    reveal: bool,
}

async fn report_page(
    state: &AppState,
    staff: &Staff,
    frame: Frame<'_>,
    headers: &HeaderMap,
    id: i64,
    shown: Shown,
) -> Result<ReportPage, PageError> {
    let Frame { lang, csrf, uri } = frame;
    let Shown {
        error,
        note,
        done,
        reveal,
    } = shown;
    let r = crate::reports::report_for_staff(&state.db, staff, id)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let names = district_names(state, lang).await.or_page(lang)?;
    let service = state.service(&r.service_code).await.or_page(lang)?;
    let answers = crate::platform::questions::labelled(
        service
            .as_ref()
            .map(|s| s.attributes.as_slice())
            .unwrap_or_default(),
        &r.attributes,
        lang,
    )
    .into_iter()
    .map(|(label, value)| Answered { label, value })
    .collect();
    let users = identity::department_users(&state.db, r.department_id, r.district.as_deref())
        .await
        .or_page(lang)?;
    // Authors are recorded as `user:ID` (or `key:ID`); staff read names.
    let author = |a: String| {
        users
            .iter()
            .find(|(uid, _)| a == format!("user:{uid}"))
            .map(|(_, name)| name.clone())
            .unwrap_or(a)
    };
    let base = state.config.base_url(headers);
    let history = store::updates_of(&state.db, id, true)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|u| Entry {
            id: u.id,
            by_reporter: u.author == crate::reports::followup::REPORTER,
            status: if u.author == crate::reports::followup::REPORTER {
                lang.t("track-citizen-update")
            } else {
                RichStatus::parse(&u.status)
                    .map(|s| s.label(lang))
                    .unwrap_or(u.status)
            },
            note: u.note,
            author: author(u.author),
            at: format::datetime(lang, u.at),
            hidden_reason: u.hidden_reason,
            photo: u
                .photo_sha256
                .map(|sha| crate::platform::files::url(&base, &sha)),
        })
        .collect();
    let reader = Lang::parse(&r.lang).unwrap_or_default();
    let rich = r.rich_status();
    let duplicate = match r.possible_duplicate_of.filter(|_| rich.is_open()) {
        Some(other) => store::get(&state.db, other)
            .await
            .or_page(lang)?
            .map(|o| Duplicate {
                id: o.id,
                distance: r
                    .duplicate_distance_m
                    .map(|m| t!(lang, "dup-distance", metres = format!("{m:.0}")))
                    .unwrap_or_default(),
                service: o.service_name().get(lang).to_owned(),
                submitted: format::datetime(lang, o.requested_at),
                description: o.description.unwrap_or_default(),
            }),
        None => None,
    };
    let mut user_opts = vec![Opt {
        value: String::new(),
        label: lang.t("assign-nobody"),
        selected: r.assigned_to.is_none(),
    }];
    user_opts.extend(users.iter().map(|(uid, name)| Opt {
        value: uid.to_string(),
        label: name.clone(),
        selected: Some(*uid) == r.assigned_to,
    }));
    let districts = state.districts().await.or_page(lang)?;
    let voice = crate::reports::voice(&state.db, id)
        .await
        .or_page(lang)?
        .is_some();
    Ok(ReportPage {
        voice,
        p: staff_page(state, lang, t!(lang, "track-title", id = r.id), uri, csrf, staff),
        id: r.id,
        private: r.private,
        service: r.service_name().get(lang).to_owned(),
        department: r.department_name().get(lang).to_owned(),
        district: r
            .district
            .as_ref()
            .map(|d| names.get(d).cloned().unwrap_or_else(|| d.clone()))
            .unwrap_or_default(),
        status: rich.label(lang),
        status_class: if rich.is_open() { "open" } else { "closed" },
        submitted: format::datetime(lang, r.requested_at),
        expected: r
            .expected_at
            .map(|t| format::datetime(lang, t))
            .unwrap_or_default(),
        channel: r.channel.clone(),
        description: r.description.clone().unwrap_or_default(),
        address: r.address.clone().unwrap_or_default(),
        position: r
            .lat
            .zip(r.long)
            .map(|(la, lo)| format!("{la:.5}, {lo:.5}"))
            .unwrap_or_default(),
        osm_link: r
            .lat
            .zip(r.long)
            .map(|(la, lo)| {
                format!("https://www.openstreetmap.org/?mlat={la:.6}&mlon={lo:.6}#map=17/{la:.6}/{lo:.6}")
            })
            .unwrap_or_default(),
        map: r
            .lat
            .zip(r.long)
            .map(|(la, lo)| map::small_map(&state.config, la, lo, &districts, lang)),
        attribution: map::attribution(&state.config),
        photo: crate::reports::media_url(&base, r.photo_sha256.as_deref(), r.media_url.clone()),
        answers,
        contact_name: r.contact_name.clone().unwrap_or_default(),
        contact_phone: if reveal {
            r.contact_phone.clone().unwrap_or_default()
        } else {
            crate::reports::masked_phone(r.contact_phone.as_deref()).unwrap_or_default()
        },
        revealed: reveal,
        contact_email: r.contact_email.clone().unwrap_or_default(),
        history,
        duplicate,
        statuses: options(
            ALL_STATUSES
                .iter()
                .map(|s| (s.as_str().to_string(), s.label(lang)))
                .collect(),
            Some(rich.as_str()),
        ),
        users: user_opts,
        error,
        note,
        reporter_reads: t!(
            lang,
            "status-note-reader",
            language = lang.t(&format!("language-{}", reader.code()))
        ),
        replies: service
            .as_ref()
            .map(|s| {
                ALL_STATUSES
                    .iter()
                    .filter_map(|st| {
                        let text = s.status_notes.get(st.as_str())?.get(reader);
                        (!text.is_empty()).then(|| (st.label(lang), text.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        notes: crate::reports::store::notes_of(&state.db, id)
            .await
            .or_page(lang)?
            .into_iter()
            .map(|n| Entry {
                id: 0,
                status: String::new(),
                author: author(n.author),
                note: n.note,
                at: format::datetime(lang, n.at),
                by_reporter: false,
                hidden_reason: None,
                photo: None,
            })
            .collect(),
        done: done.map(|d| match d.as_str() {
            "assign" => lang.t("done-assign"),
            "note" => lang.t("done-note"),
            "dismiss" => lang.t("done-dismiss"),
            _ => lang.t("done-status"),
        }),
    })
}

/// The recording a report was described in, for the staff who may see the report.
async fn voice(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    crate::reports::report_for_staff(&state.db, &staff, id)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let (sha, content_type) = crate::reports::voice(&state.db, id)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let bytes = state
        .files
        .get(crate::platform::files::Area::Documents, &sha, &content_type)
        .await
        .ok()
        .flatten()
        .ok_or_else(|| PageError::not_found(lang))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (
                axum::http::header::CACHE_CONTROL,
                "private, no-store".to_owned(),
            ),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "sandbox".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn parse_id(raw: &str, lang: Lang) -> Result<i64, PageError> {
    raw.parse().map_err(|_| PageError::not_found(lang))
}

async fn report(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    headers: HeaderMap,
    Here { lang, csrf, uri }: Here,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    let page = report_page(
        &state,
        &staff,
        Frame::new(lang, &csrf, &uri),
        &headers,
        id,
        Shown {
            done: q.done,
            ..Shown::default()
        },
    )
    .await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct StatusForm {
    status: String,
    note: String,
}

async fn change_status(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormPost(csrf, f): FormPost<StatusForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    let result = match RichStatus::parse(&f.status) {
        None => Err(Error::BadRequest(t!(
            lang,
            "inbox-bad-filter",
            name = "status"
        ))),
        Some(status) => {
            if f.note.trim().is_empty() {
                Err(Error::BadRequest(lang.t("status-note-required")))
            } else {
                let base = state.config.base_url(&headers);
                crate::reports::post_update(&state, &staff, id, status, &f.note, None, &base).await
            }
        }
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/staff/reports/{id}?done=status")).into_response()),
        Err(Error::NotFound(_)) => Err(PageError::not_found(lang)),
        Err(e @ Error::BadRequest(_)) => {
            let page = report_page(
                &state,
                &staff,
                Frame::new(lang, &csrf, &uri),
                &headers,
                id,
                Shown {
                    error: Some(e.message()),
                    note: f.note,
                    ..Shown::default()
                },
            )
            .await?;
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

/// "Show number": the full phone number, once, recorded in the audit log.
async fn reveal_contact(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, uri, .. }: Here,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormPost(csrf, _): FormPost<CsrfForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    crate::reports::reveal_phone(&state.db, &staff, id)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let page = report_page(
        &state,
        &staff,
        Frame::new(lang, &csrf, &uri),
        &headers,
        id,
        Shown {
            reveal: true,
            ..Shown::default()
        },
    )
    .await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct AssignForm {
    user_id: String,
}

async fn assign(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<String>,
    FormPost(_, f): FormPost<AssignForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    let user = match f.user_id.trim() {
        "" => None,
        s => Some(s.parse::<i64>().map_err(|_| PageError::not_found(lang))?),
    };
    match crate::reports::assign(&state.db, &staff, id, user).await {
        Ok(()) => Ok(Redirect::to(&format!("/staff/reports/{id}?done=assign")).into_response()),
        Err(Error::NotFound(_)) => Err(PageError::not_found(lang)),
        Err(e) => Err(PageError { error: e, lang }),
    }
}

#[derive(Deserialize)]
struct NoteForm {
    note: String,
}

/// `POST /staff/reports/{id}/notes`: an internal note for colleagues.
async fn add_note(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<String>,
    FormPost(_, f): FormPost<NoteForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    match crate::reports::add_note(&state.db, &staff, id, &f.note).await {
        Ok(_) => Ok(Redirect::to(&format!("/staff/reports/{id}?done=note#notes")).into_response()),
        Err(Error::NotFound(_)) => Err(PageError::not_found(lang)),
        Err(e) => Err(PageError { error: e, lang }),
    }
}

#[derive(Deserialize)]
struct ModerateForm {
    #[serde(default)]
    reason: String,
}

/// Hide a reporter's update from the public, with a reason (or show it again: no reason).
async fn moderate_update(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path((id, update)): Path<(String, String)>,
    FormPost(_, f): FormPost<ModerateForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    let update: i64 = update.parse().map_err(|_| PageError::not_found(lang))?;
    match crate::reports::moderate_update(&state.db, &staff, id, update, &f.reason).await {
        Ok(()) => Ok(Redirect::to(&format!("/staff/reports/{id}#hi-h")).into_response()),
        Err(Error::NotFound(_)) => Err(PageError::not_found(lang)),
        Err(e) => Err(PageError { error: e, lang }),
    }
}

#[derive(Deserialize)]
struct DuplicateForm {
    action: String,
}

/// Confirm the linked report as the original (this one closes as its duplicate), or dismiss
/// the link.
async fn duplicate(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormPost(_, f): FormPost<DuplicateForm>,
) -> Result<Response, PageError> {
    let id = parse_id(&id, lang)?;
    let r = crate::reports::report_for_staff(&state.db, &staff, id)
        .await
        .map_err(|_| PageError::not_found(lang))?;
    let done = match (f.action.as_str(), r.possible_duplicate_of) {
        ("confirm", Some(original)) => {
            let note = t!(lang, "dup-note", id = original);
            crate::reports::post_update(
                &state,
                &staff,
                id,
                RichStatus::Duplicate,
                &note,
                Some(original),
                &state.config.base_url(&headers),
            )
            .await
            .or_page(lang)?;
            "status"
        }
        ("dismiss", _) => {
            crate::reports::dismiss_duplicate(&state.db, &staff, id)
                .await
                .or_page(lang)?;
            "dismiss"
        }
        _ => return Ok(Redirect::to(&format!("/staff/reports/{id}")).into_response()),
    };
    Ok(Redirect::to(&format!("/staff/reports/{id}?done={done}")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Dashboard

#[derive(Template)]
#[template(path = "staff_dashboard.html")]
struct Dashboard {
    p: Page,
    week_options: Vec<Opt>,
    total: i64,
    open: i64,
    median: String,
    resolved: usize,
    weekly: String,
    weekly_rows: Vec<(String, i64)>,
    by_status: String,
    status_rows: Vec<(String, i64)>,
    by_district: String,
    district_rows: Vec<(String, i64)>,
    /// The theory banks whose wrong answers the caller may read: (code, name).
    quiz: Vec<(String, String)>,
    /// Open reports past their expected response date, now: in all, per service (name, count,
    /// the inbox listing them) and per officer assigned (name, count).
    overdue: i64,
    overdue_by_service: Vec<(String, i64, String)>,
    overdue_by_officer: Vec<(String, i64)>,
    /// "Is it fixed?" about this period's reports, exact: tables by service, district and
    /// (for staff of every department) department.
    outcomes: Vec<OutcomeTable>,
}

pub struct OutcomeTable {
    pub title: String,
    /// (name, answers, "not fixed" share, mean rating)
    pub rows: Vec<(String, i64, String, String)>,
}

#[derive(Deserialize)]
struct DashboardQuery {
    weeks: Option<String>,
}

/// Monday 00:00 (Pakistan time) of the week holding `at`, in UTC.
fn week_start(at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at
        .with_timezone(&crate::platform::clock::pkt())
        .date_naive();
    let monday = local - Duration::days(local.weekday().num_days_from_monday() as i64);
    crate::platform::clock::day_start(&monday.format("%Y-%m-%d").to_string()).expect("a valid day")
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

async fn dashboard(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    let weeks = match q.weeks.as_deref() {
        Some("4") => 4,
        Some("52") => 52,
        _ => 12,
    };
    let now = Utc::now();
    let first = week_start(now) - Duration::weeks(weeks - 1);
    let scoped = Filter {
        scope: Some(staff.scope.clone()),
        start: Some(first),
        ..Default::default()
    };
    // Reports per week: one indexed count per week.
    let mut weekly_rows = Vec::new();
    for i in 0..weeks {
        let start = first + Duration::weeks(i);
        let f = Filter {
            start: Some(start),
            end: Some(start + Duration::weeks(1) - Duration::microseconds(1)),
            ..scoped.clone()
        };
        let n = store::count(&state.db, &f).await.or_page(lang)?;
        let local = start.with_timezone(&crate::platform::clock::pkt());
        weekly_rows.push((format!("{}/{}", local.day(), local.month()), n));
    }
    let by_status_raw = store::count_by(&state.db, &scoped, GroupColumn::RichStatus)
        .await
        .or_page(lang)?;
    let total: i64 = by_status_raw.iter().map(|r| r.1).sum();
    let open: i64 = by_status_raw
        .iter()
        .filter(|(s, _)| {
            s.as_deref()
                .and_then(RichStatus::parse)
                .is_some_and(|s| s.is_open())
        })
        .map(|r| r.1)
        .sum();
    let status_rows: Vec<(String, i64)> = by_status_raw
        .into_iter()
        .map(|(s, n)| {
            (
                s.as_deref()
                    .and_then(RichStatus::parse)
                    .map(|s| s.label(lang))
                    .unwrap_or_default(),
                n,
            )
        })
        .collect();
    let names = district_names(&state, lang).await.or_page(lang)?;
    let district_rows: Vec<(String, i64)> =
        store::count_by(&state.db, &scoped, GroupColumn::District)
            .await
            .or_page(lang)?
            .into_iter()
            .take(15)
            .map(|(d, n)| {
                (
                    d.map(|d| names.get(&d).cloned().unwrap_or(d))
                        .unwrap_or_else(|| lang.t("dash-no-district")),
                    n,
                )
            })
            .collect();
    let durations: Vec<i64> = store::resolutions(&state.db, &scoped)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|(a, b)| (b - a).num_seconds().max(0))
        .collect();
    let resolved = durations.len();
    let median = median(durations)
        .map(|s| format::duration(lang, s))
        .unwrap_or_else(|| lang.t("dash-none-resolved"));
    let quiz = quiz::banks_for(&state.db, &staff)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|b| (b.code.clone(), b.name.get(lang).to_owned()))
        .collect();
    // What is overdue now, whenever it came in.
    let late = Filter {
        scope: Some(staff.scope.clone()),
        overdue_at: Some(now),
        ..Default::default()
    };
    let late_link = |pairs: &[(&str, &str)]| {
        let mut all = vec![("overdue", "1"), ("sort", "due")];
        all.extend_from_slice(pairs);
        format!(
            "/staff?{}",
            serde_urlencoded::to_string(all).unwrap_or_default()
        )
    };
    let service_names: BTreeMap<String, String> = store::services(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|s| (s.code.clone(), s.name.get(lang).to_owned()))
        .collect();
    let overdue_by_service: Vec<(String, i64, String)> =
        store::count_by(&state.db, &late, GroupColumn::Service)
            .await
            .or_page(lang)?
            .into_iter()
            .filter_map(|(code, n)| {
                let code = code?;
                Some((
                    service_names
                        .get(&code)
                        .cloned()
                        .unwrap_or_else(|| code.clone()),
                    n,
                    late_link(&[("service", code.as_str())]),
                ))
            })
            .collect();
    let by_officer = store::count_by(&state.db, &late, GroupColumn::Officer)
        .await
        .or_page(lang)?;
    let officer_ids: Vec<i64> = by_officer
        .iter()
        .filter_map(|(id, _)| id.as_deref()?.parse().ok())
        .collect();
    let officers = identity::user_names(&state.db, &officer_ids)
        .await
        .or_page(lang)?;
    let overdue_by_officer: Vec<(String, i64)> = by_officer
        .into_iter()
        .map(|(id, n)| {
            let name = id
                .as_deref()
                .and_then(|i| i.parse::<i64>().ok())
                .and_then(|i| officers.get(&i).cloned())
                .unwrap_or_else(|| lang.t("dash-unassigned"));
            (name, n)
        })
        .collect();
    // What reporters said when asked whether it was fixed, exact (staff see exact figures).
    let departments: BTreeMap<String, String> = crate::platform::org::departments(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|d| (d.id.to_string(), d.name().get(lang).to_owned()))
        .collect();
    let mut groupings = vec![
        (GroupColumn::Service, "impact-by-service"),
        (GroupColumn::District, "impact-by-district"),
    ];
    if matches!(staff.scope, crate::platform::identity::Scope::All) {
        groupings.push((GroupColumn::Department, "impact-by-department"));
    }
    let mut outcomes = Vec::new();
    for (column, title) in groupings {
        let rows = store::outcomes_by(&state.db, &scoped, column)
            .await
            .or_page(lang)?
            .into_iter()
            .map(|(key, answered, reopened, ratings, sum)| {
                let key = key.unwrap_or_default();
                let name = match column {
                    GroupColumn::Service => service_names.get(&key).cloned(),
                    GroupColumn::District => names.get(&key).cloned(),
                    _ => departments.get(&key).cloned(),
                }
                .unwrap_or_else(|| {
                    if key.is_empty() {
                        lang.t("dash-no-district")
                    } else {
                        key.clone()
                    }
                });
                use crate::programme::figures::{mean, rate};
                use crate::web::impact::{percent, stars};
                (
                    name,
                    answered,
                    percent(rate(reopened, answered)),
                    stars(mean(sum, ratings)),
                )
            })
            .collect();
        outcomes.push(OutcomeTable {
            title: lang.t(title),
            rows,
        });
    }
    let rtl = lang.is_rtl();
    let page = Dashboard {
        outcomes,
        p: staff_page(&state, lang, lang.t("dash-title"), &uri, &csrf, &staff),
        week_options: options(
            [4, 12, 52]
                .iter()
                .map(|w| (w.to_string(), t!(lang, "dash-weeks", weeks = *w as i64)))
                .collect(),
            Some(&weeks.to_string()),
        ),
        total,
        open,
        median,
        resolved,
        weekly: charts::columns(&weekly_rows, rtl, &lang.t("dash-per-week")),
        weekly_rows,
        by_status: charts::bars(&status_rows, rtl, &lang.t("dash-per-status")),
        status_rows,
        by_district: charts::bars(&district_rows, rtl, &lang.t("dash-per-district")),
        district_rows,
        quiz,
        overdue: overdue_by_service.iter().map(|r| r.1).sum(),
        overdue_by_service,
        overdue_by_officer,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 2]), Some(2));
    }

    #[test]
    fn weeks_start_on_monday_in_pakistan() {
        use chrono::TimeZone;
        // Sunday 2026-11-29 20:00 UTC is Monday 01:00 in Pakistan.
        let at = Utc.with_ymd_and_hms(2026, 11, 29, 20, 0, 0).unwrap();
        assert_eq!(
            week_start(at),
            Utc.with_ymd_and_hms(2026, 11, 29, 19, 0, 0).unwrap()
        );
    }
}
