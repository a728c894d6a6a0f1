//! A citizen's own page, `/me`: signing in with a code sent by SMS (no password, no account),
//! and what they have done: their theory test scores, from the web and from USSD calls made
//! from the same phone.

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::{format, local_path, render, FormPost, Here, OrPage, Page, PageError, PublicWrite};
use crate::platform::citizen::{self, MaybeCitizen, SignedIn};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::personal::Phone;
use crate::platform::state::AppState;
use crate::quiz::{self, Kind};

/// A signed-in citizen; anyone else is sent to sign in, and back afterwards (to the page, or for
/// a form sent, to the page the form was on).
pub struct SignedInPage(pub SignedIn);

impl FromRequestParts<AppState> for SignedInPage {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if let Ok(MaybeCitizen(Some(who))) = MaybeCitizen::from_request_parts(parts, state).await {
            return Ok(SignedInPage(who));
        }
        let here = parts.uri.path_and_query().map(|p| p.as_str().to_owned());
        let back = || {
            let host = parts.headers.get(header::HOST)?.to_str().ok()?;
            let from = parts.headers.get(header::REFERER)?.to_str().ok()?;
            let path = from.split_once("://")?.1.strip_prefix(host)?;
            path.starts_with('/').then(|| path.to_owned())
        };
        let to = if parts.method == axum::http::Method::GET {
            here
        } else {
            back()
        };
        let next = local_path(to.as_deref().or(Some("/me")));
        let q = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
        Err(Redirect::to(&format!("/me?{q}")).into_response())
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/me/code", post(send_code))
        .route("/me/sign-in", post(sign_in))
        .route("/me/sign-out", post(sign_out))
}

/// One finished test: (link, when, test, practice or mock, score, passed, a mock test).
type Row = (String, String, String, String, String, bool, bool);

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    p: Page,
    /// `phone` (ask for the number), `code` (ask for the code) or `history`.
    step: &'static str,
    next: String,
    phone: String,
    error: Option<String>,
    who: String,
    tests: Vec<Row>,
}

impl MePage {
    fn new(p: Page, step: &'static str, next: &str) -> MePage {
        MePage {
            p,
            step,
            next: next.to_owned(),
            phone: String::new(),
            error: None,
            who: String::new(),
            tests: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn me(
    State(state): State<AppState>,
    MaybeCitizen(who): MaybeCitizen,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let p = Page::new(lang, lang.t("me-title"), &uri, &csrf);
    let Some(who) = who else {
        let next = local_path(q.next.as_deref().or(Some("/me")));
        return Ok(render(
            StatusCode::OK,
            &csrf,
            &MePage::new(p, "phone", &next),
        ));
    };
    let banks = quiz::banks(&state.db).await.or_page(lang)?;
    let tests = quiz::history(&state.db, &who.key)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|t| {
            let name = banks
                .iter()
                .find(|(b, _)| b.code == t.bank)
                .map(|(b, _)| b.name.get(lang).to_owned())
                .unwrap_or(t.bank);
            let kind = match t.kind {
                Kind::Mock => lang.t("quiz-mock"),
                Kind::Practice => lang.t("quiz-practice"),
            };
            let via = if t.channel == "ussd" {
                format!("{kind} (USSD)")
            } else {
                kind
            };
            (
                format!("/theory/s/{}", t.token),
                format::datetime(lang, t.finished_at),
                name,
                via,
                format!("{}/{}", t.correct, t.total),
                t.passed,
                t.kind == Kind::Mock,
            )
        })
        .collect();
    let mut page = MePage::new(p, "history", "/me");
    page.who = who.phone_masked;
    page.tests = tests;
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn send_code(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<CodeForm>,
) -> Result<Response, PageError> {
    let next = local_path(f.next.as_deref());
    let mut page = MePage::new(
        Page::new(lang, lang.t("me-title"), &uri, &csrf),
        "code",
        &next,
    );
    page.phone = f.phone.trim().to_owned();
    let status = match Phone::parse(&f.phone) {
        None => {
            page.step = "phone";
            page.error = Some(lang.t("err-phone"));
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Some(phone) => {
            match citizen::send_code(&state.db, &state.config, &state.job_wake, &phone, lang).await
            {
                Ok(()) => StatusCode::OK,
                Err(e @ Error::TooManyRequests(_)) => {
                    page.step = "phone";
                    page.error = Some(e.message());
                    StatusCode::TOO_MANY_REQUESTS
                }
                Err(e) => return Err(PageError { error: e, lang }),
            }
        }
    };
    Ok(render(status, &csrf, &page))
}

async fn sign_in(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, uri, .. }: Here,
    FormPost(csrf, f): FormPost<CodeForm>,
) -> Result<Response, PageError> {
    let next = local_path(f.next.as_deref());
    let mut page = MePage::new(
        Page::new(lang, lang.t("me-title"), &uri, &csrf),
        "code",
        &next,
    );
    page.phone = f.phone.trim().to_owned();
    let Some(phone) = Phone::parse(&f.phone) else {
        page.step = "phone";
        page.error = Some(lang.t("err-phone"));
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page));
    };
    match citizen::sign_in(&state.db, &state.config, &phone, &f.code, lang).await {
        Ok(token) => {
            let cookie = citizen::set_cookie(
                &token,
                state.config.citizen_session_days,
                state.config.public_url.as_deref(),
            );
            Ok(([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response())
        }
        Err(e @ Error::BadRequest(_)) => {
            page.error = Some(e.message());
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    lang: Lang,
    FormPost(_, _): FormPost<CodeForm>,
) -> Result<Response, PageError> {
    if let Some(t) = citizen::token(&headers) {
        citizen::sign_out(&state.db, t).await.or_page(lang)?;
    }
    Ok((
        [(header::SET_COOKIE, citizen::clear_cookie())],
        Redirect::to("/"),
    )
        .into_response())
}
