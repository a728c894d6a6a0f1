//! Register lookups on the web: the list, a register's form (a POST, so a CNIC never sits in an
//! address, a history or a log), and `/registers/{code}/check?key=` for keys that are not
//! personal (a licence number), which is what a QR code on a printed licence opens.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::{render, Csrf, FormPost, Frame, Here, OrPage, Page, PageError};
use crate::platform::error::Error;
use crate::platform::i18n::Lang;
use crate::platform::ratelimit::PeerAddr;
use crate::platform::state::AppState;
use crate::registers::model::Datatype;
use crate::registers::{self, Answer, Register};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/registers", get(list))
        .route("/registers/{code}", get(form).post(look_up))
        .route("/registers/{code}/check", get(check))
}

#[derive(Template)]
#[template(path = "registers.html")]
struct ListPage {
    p: Page,
    /// (code, name, description)
    registers: Vec<(String, String, String)>,
}

async fn list(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let registers = registers::registers(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|r| {
            (
                r.spec.code.clone(),
                r.spec.name.get(lang).to_owned(),
                r.spec.description.get(lang).to_owned(),
            )
        })
        .collect();
    let page = ListPage {
        p: Page::new(lang, lang.t("register-title"), &uri, &csrf),
        registers,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    p: Page,
    code: String,
    description: String,
    /// What to type: each key's label and an example.
    hint: String,
    key: String,
    answer: Option<Answer>,
    error: Option<String>,
    /// A QR code of this lookup's link, for keys that are not personal.
    qr: Option<String>,
}

/// The register's page with its empty form; the caller fills in an answer or an error.
fn page_of(lang: Lang, uri: &axum::http::Uri, csrf: &Csrf, reg: &Register) -> RegisterPage {
    let hint = reg
        .spec
        .key_fields()
        .iter()
        .map(|f| {
            let example = match f.datatype {
                Datatype::Cnic => "17301-1234567-1",
                _ => f.example.as_str(),
            };
            format!("{} ({example})", f.label.get(lang))
        })
        .collect::<Vec<_>>()
        .join(" / ");
    RegisterPage {
        p: Page::new(lang, reg.spec.name.get(lang).to_owned(), uri, csrf),
        code: reg.spec.code.clone(),
        description: reg.spec.description.get(lang).to_owned(),
        hint,
        key: String::new(),
        answer: None,
        error: None,
        qr: None,
    }
}

async fn register_or_page(state: &AppState, code: &str, lang: Lang) -> Result<Register, PageError> {
    registers::register(&state.db, code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))
}

async fn form(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let reg = register_or_page(&state, &code, lang).await?;
    let page = page_of(lang, &uri, &csrf, &reg);
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// Run a lookup and draw the page: the answer, the declared "not found", or what is wrong.
async fn answer_page(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    frame: Frame<'_>,
    reg: &Register,
    key: &str,
    link: bool,
) -> Result<Response, PageError> {
    let Frame { lang, csrf, uri } = frame;
    state
        .limit_public_write(headers, peer, lang)
        .await
        .or_page(lang)?;
    match registers::lookup(state, reg, key, lang, "web", None).await {
        Ok(a) => {
            let personal = registers::read_key(reg, key, lang)
                .ok()
                .and_then(|(field, _)| reg.spec.field(field))
                .is_some_and(|f| f.datatype == Datatype::Cnic);
            let qr = (a.found && !personal).then(|| {
                let q = serde_urlencoded::to_string([("key", key.trim())]).unwrap_or_default();
                let url = format!(
                    "{}/registers/{}/check?{q}",
                    state.config.base_url(headers),
                    reg.spec.code
                );
                crate::web::qr::svg(&url, &lang.t("register-qr")).unwrap_or_default()
            });
            let status = if a.found {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            // A CNIC typed into the form is not shown back.
            let shown = if personal || link {
                String::new()
            } else {
                key.trim().to_owned()
            };
            let mut page = page_of(lang, uri, csrf, reg);
            page.key = shown;
            page.answer = Some(a);
            page.qr = qr;
            Ok(render(status, csrf, &page))
        }
        Err(e @ (Error::BadRequest(_) | Error::TooManyRequests(_))) => {
            let status = if matches!(e, Error::TooManyRequests(_)) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::BAD_REQUEST
            };
            let mut page = page_of(lang, uri, csrf, reg);
            page.error = Some(e.message());
            Ok(render(status, csrf, &page))
        }
        Err(e) => Err(PageError { error: e, lang }),
    }
}

async fn look_up(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Here { lang, uri, .. }: Here,
    Path(code): Path<String>,
    FormPost(csrf, f): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let reg = register_or_page(&state, &code, lang).await?;
    let key = f.get("key").cloned().unwrap_or_default();
    answer_page(
        &state,
        &headers,
        peer,
        Frame::new(lang, &csrf, &uri),
        &reg,
        &key,
        false,
    )
    .await
}

#[derive(Deserialize)]
struct CheckQuery {
    key: Option<String>,
}

async fn check(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
    Query(q): Query<CheckQuery>,
) -> Result<Response, PageError> {
    let reg = register_or_page(&state, &code, lang).await?;
    let key = q.key.unwrap_or_default();
    // A CNIC never travels in an address: it belongs in the form.
    if let Ok((field, _)) = registers::read_key(&reg, &key, lang) {
        if reg
            .spec
            .field(field)
            .is_some_and(|f| f.datatype == Datatype::Cnic)
        {
            let mut page = page_of(lang, &uri, &csrf, &reg);
            page.error = Some(lang.t("register-err-cnic-link"));
            return Ok(render(StatusCode::BAD_REQUEST, &csrf, &page));
        }
    }
    answer_page(
        &state,
        &headers,
        peer,
        Frame::new(lang, &csrf, &uri),
        &reg,
        &key,
        true,
    )
    .await
}
