//! What every staff page shares: the [`StaffPage`] extractor (a session, or the login page and
//! back), the page frame with the staff member's name, logging in and out; and the outbound SMS
//! an administrator watches (what went out, what waits, the dead letters). Each service's staff
//! pages are its own file (`reports/staff.rs`, `benefits.rs`, …), scoped like its staff API: what
//! lies outside the caller's department (and district) is "not found", whoever asks and however.

use askama::Template;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::fields::{options, Opt};
use super::{
    format, local_path, render, Csrf, FormPost, Here, OrPage, Page, PageError, PublicWrite,
};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::identity::{self, Staff, StaffKind};
use crate::platform::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/staff/login", get(login_form).post(login))
        .route("/staff/logout", post(logout))
        .route("/staff/messages", get(messages))
        .route("/staff/messages/{id}/retry", post(retry_message))
        .route("/staff/messages/test", post(test_message))
}

/// A logged-in staff member; anyone else is sent to the login page (and back afterwards).
pub struct StaffPage(pub Staff);

impl FromRequestParts<AppState> for StaffPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // Pages take the session only: an API key is for machines.
        if identity::session_cookie(&parts.headers).is_some() {
            if let Ok(staff) = Staff::from_request_parts(parts, state).await {
                return Ok(StaffPage(staff));
            }
        }
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/staff");
        let to = if parts.method == axum::http::Method::GET {
            here
        } else {
            "/staff"
        };
        let q = serde_urlencoded::to_string([("next", to)]).unwrap_or_default();
        Err(Redirect::to(&format!("/staff/login?{q}")).into_response())
    }
}

pub(super) fn staff_page(
    state: &AppState,
    lang: Lang,
    title: String,
    uri: &axum::http::Uri,
    csrf: &Csrf,
    staff: &Staff,
) -> Page {
    let mut p = Page::new(lang, title, uri, csrf);
    p.staff_name = Some(match &staff.kind {
        StaffKind::User { name, .. } | StaffKind::Key { name, .. } => name.clone(),
    });
    p.nav = StaffNav::of(state, staff);
    p
}

/// The staff sections this member may open, for the navigation: each asks the rule that
/// section's own pages enforce, so no link leads to "forbidden" or "not found". Reports,
/// the dashboard, the directory's queue, benefits and cases are every member's (each lists what
/// lies in the member's scope).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StaffNav {
    pub programme: bool,
    pub campaigns: bool,
    pub admin: bool,
    pub data: bool,
    /// A platform administrator: the outbound messages, and the server's own commands.
    pub platform: bool,
}

impl StaffNav {
    pub fn of(state: &AppState, staff: &Staff) -> StaffNav {
        let platform_admin = matches!(
            staff.kind,
            StaffKind::User {
                role: identity::Role::Admin,
                ..
            }
        );
        StaffNav {
            programme: crate::programme::access(state, staff).is_ok(),
            campaigns: crate::campaigns::access(state, staff).is_ok(),
            admin: crate::admin::Power::of(staff).is_ok(),
            data: super::opendata::may_publish(staff),
            platform: platform_admin,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Login

#[derive(Template)]
#[template(path = "staff_login.html")]
struct Login {
    p: Page,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(Here { lang, csrf, uri }: Here, Query(q): Query<NextQuery>) -> Response {
    let page = Login {
        p: Page::new(lang, lang.t("login-title"), &uri, &csrf),
        next: staff_next(q.next.as_deref()),
        email: String::new(),
        error: None,
    };
    render(StatusCode::OK, &csrf, &page)
}

/// Where to go after logging in: the page that asked for it, or the inbox.
fn staff_next(next: Option<&str>) -> String {
    match next {
        Some(n) if !n.is_empty() => local_path(Some(n)),
        _ => "/staff".into(),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<LoginForm>,
) -> Result<Response, PageError> {
    let hours = state.config.session_hours;
    match identity::login(&state.db, &f.email, &f.password, hours).await {
        Ok((token, _)) => {
            let cookie =
                identity::session_set_cookie(&token, hours, state.config.public_url.as_deref());
            let next = staff_next(f.next.as_deref());
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
        }
        Err(e @ (Error::Unauthorized(_) | Error::Forbidden(_))) => {
            let status = e.status();
            let page = Login {
                p: Page::new(lang, lang.t("login-title"), &uri, &csrf),
                next: staff_next(f.next.as_deref()),
                email: f.email,
                error: Some(if status == StatusCode::UNAUTHORIZED {
                    lang.t("login-failed")
                } else {
                    e.message()
                }),
            };
            Ok(render(status, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

/// A form that carries nothing but its token.
#[derive(Deserialize)]
pub(super) struct CsrfForm {}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    lang: Lang,
    FormPost(_, _): FormPost<CsrfForm>,
) -> Result<Response, PageError> {
    if let Some(token) = identity::session_cookie(&headers) {
        identity::logout(&state.db, token).await.or_page(lang)?;
    }
    Ok((
        [(header::SET_COOKIE, identity::session_clear_cookie())],
        Redirect::to("/staff/login"),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------
// Outbound SMS, for administrators: what went out, what is waiting, and the dead letters.

pub struct MessageRow {
    pub id: i64,
    pub created: String,
    pub to: String,
    pub status: String,
    pub gateway: String,
    pub attempts: i64,
    pub segments: i64,
    pub error: String,
    pub body: String,
    pub report: Option<i64>,
}

#[derive(Template)]
#[template(path = "staff_messages.html")]
struct Messages {
    p: Page,
    rows: Vec<MessageRow>,
    statuses: Vec<Opt>,
}

#[derive(Deserialize)]
struct MessagesQuery {
    status: Option<String>,
}

/// The SMS log is for platform administrators.
fn messages_admin(staff: &Staff, lang: Lang) -> Result<(), PageError> {
    if matches!(
        staff.kind,
        StaffKind::User {
            role: identity::Role::Admin,
            ..
        }
    ) {
        Ok(())
    } else {
        Err(PageError {
            error: Error::Forbidden(lang.t("messages-admins-only")),
            lang,
        })
    }
}

#[derive(Deserialize)]
struct MessageForm {
    #[serde(default)]
    phone: String,
}

/// Send an undeliverable message again (after the gateway is mended).
async fn retry_message(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    Path(id): Path<i64>,
    FormPost(_, _): FormPost<MessageForm>,
) -> Result<Response, PageError> {
    messages_admin(&staff, lang)?;
    crate::platform::sms::retry(&state.db, &staff.actor(), id)
        .await
        .or_page(lang)?;
    state.job_wake.notify_one();
    Ok(Redirect::to("/staff/messages").into_response())
}

/// Send a test message through the configured gateway.
async fn test_message(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    lang: Lang,
    FormPost(_, f): FormPost<MessageForm>,
) -> Result<Response, PageError> {
    messages_admin(&staff, lang)?;
    let phone = crate::platform::personal::Phone::parse(&f.phone).ok_or_else(|| PageError {
        error: Error::BadRequest(lang.t("err-phone")),
        lang,
    })?;
    let mut tx = state.db.begin().await.or_page(lang)?;
    crate::platform::sms::queue(
        &mut tx,
        &state.config,
        &phone,
        &lang.t("messages-test-text"),
        lang,
        None,
    )
    .await
    .or_page(lang)?;
    crate::platform::audit::record(
        &mut tx,
        &staff.actor(),
        "sms.test",
        "sms",
        &phone.masked(),
        serde_json::json!({}),
    )
    .await
    .or_page(lang)?;
    tx.commit().await.or_page(lang)?;
    state.job_wake.notify_one();
    Ok(Redirect::to("/staff/messages").into_response())
}

async fn messages(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<MessagesQuery>,
) -> Result<Response, PageError> {
    messages_admin(&staff, lang)?;
    let status = q
        .status
        .filter(|s| ["queued", "sent", "dead", "suppressed"].contains(&s.as_str()));
    let rows = crate::platform::sms::outgoing_list(&state.db, status.as_deref(), 200)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|m| MessageRow {
            id: m.id,
            created: format::datetime(lang, m.created_at),
            to: crate::platform::personal::Phone::parse(&m.phone)
                .map(|p| p.masked())
                .unwrap_or_default(),
            status: m.status,
            gateway: m.gateway,
            attempts: m.attempts,
            segments: m.segments,
            error: m.last_error.unwrap_or_default(),
            body: m.body,
            report: m.report_id,
        })
        .collect();
    let statuses = options(
        ["queued", "sent", "dead", "suppressed"]
            .iter()
            .map(|s| (s.to_string(), lang.t(&format!("messages-{s}"))))
            .collect(),
        status.as_deref(),
    );
    let page = Messages {
        p: staff_page(&state, lang, lang.t("messages-title"), &uri, &csrf, &staff),
        rows,
        statuses,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}
