//! Alerts for an area (`/alerts`): a citizen asks to hear of new public reports in a district
//! or near where they are, by e-mail (confirmed by the mailed link) or on this phone by Web
//! Push; each message carries its way out (`/alerts/{token}/stop`). The rules are the reports
//! service's (`reports::alerts`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::public::{service_options, Notice, ServiceOption};
use crate::platform::i18n::Lang;
use crate::platform::push;
use crate::platform::state::AppState;
use crate::reports::alerts::{self, Area, RADII};
use crate::t;
use crate::web::fields::{district_options, DistrictOption};
use crate::web::{render, FormPost, Here, OrPage, Page, PageError, PublicWrite};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts", get(form_page).post(by_email))
        .route("/alerts/push", post(by_push))
        .route("/alerts/{token}", get(confirm_page).post(confirm))
        .route("/alerts/{token}/stop", get(stop))
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    p: Page,
    districts: Vec<DistrictOption>,
    services: Vec<ServiceOption>,
    /// `(metres, label)`
    radii: Vec<(i64, String)>,
    push_key: String,
    error: Option<String>,
    email: String,
}

async fn view(
    state: &AppState,
    lang: Lang,
    csrf: &crate::web::Csrf,
    uri: &axum::http::Uri,
    f: &AlertForm,
    error: Option<String>,
) -> Result<AlertsPage, PageError> {
    Ok(AlertsPage {
        p: Page::new(lang, lang.t("alerts-title"), uri, csrf),
        districts: district_options(state, lang, Some(f.district.as_str()))
            .await
            .or_page(lang)?,
        services: service_options(state, lang, &f.service)
            .await
            .or_page(lang)?,
        radii: RADII
            .iter()
            .map(|m| {
                let label = if *m < 1000 {
                    t!(lang, "alerts-metres", metres = *m)
                } else {
                    t!(lang, "alerts-km", km = *m / 1000)
                };
                (*m, label)
            })
            .collect(),
        push_key: push::Vapid::load(&state.db)
            .await
            .or_page(lang)?
            .public_key(),
        error,
        email: f.email.clone(),
    })
}

/// What the form sends: a district, or a point (the phone's location) with a radius; perhaps
/// one service; and, for e-mail, the address.
#[derive(Debug, Default, Deserialize)]
struct AlertForm {
    #[serde(default)]
    district: String,
    #[serde(default)]
    lat: String,
    #[serde(default)]
    long: String,
    #[serde(default)]
    radius: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    p256dh: String,
    #[serde(default)]
    auth: String,
}

impl AlertForm {
    /// The area asked for: the location when the phone gave one, else the district.
    fn area(&self) -> Area {
        let number = |s: &str| crate::platform::text::typed_decimal(s)?.parse::<f64>().ok();
        let point = match (number(&self.lat), number(&self.long)) {
            (Some(la), Some(lo)) => Some((
                la,
                lo,
                self.radius.trim().parse::<i64>().unwrap_or(RADII[1]),
            )),
            _ => None,
        };
        let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Area {
            district: if point.is_some() {
                None
            } else {
                nonempty(&self.district)
            },
            point,
            service: nonempty(&self.service),
        }
    }
}

async fn form_page(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let page = view(&state, lang, &csrf, &uri, &AlertForm::default(), None).await?;
    Ok(render(StatusCode::OK, &csrf, &page))
}

/// `POST /alerts`: by e-mail. The confirmation link is mailed; the page says so.
async fn by_email(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, csrf, uri }: Here,
    headers: HeaderMap,
    FormPost(_, f): FormPost<AlertForm>,
) -> Result<Response, PageError> {
    let base = state.config.base_url(&headers);
    match alerts::subscribe_email(&state, &f.area(), &f.email, &base, lang).await {
        Ok(()) => Ok(notice(lang, &csrf, &uri, lang.t("alerts-mailed"), None)),
        Err(
            e @ (crate::platform::error::Error::BadRequest(_)
            | crate::platform::error::Error::TooManyRequests(_)),
        ) => {
            let status = e.status();
            let page = view(&state, lang, &csrf, &uri, &f, Some(e.message())).await?;
            Ok(render(status, &csrf, &page))
        }
        Err(error) => Err(PageError { error, lang }),
    }
}

/// `POST /alerts/push`: on this phone (the page's script sends the subscription its push service
/// gave it). `{ "stop": "/alerts/{token}/stop" }`, the way out the page keeps, or the problem.
async fn by_push(
    State(state): State<AppState>,
    _: PublicWrite,
    Here { lang, .. }: Here,
    headers: HeaderMap,
    FormPost(_, f): FormPost<AlertForm>,
) -> Result<Response, PageError> {
    let base = state.config.base_url(&headers);
    let sub = push::Subscription {
        endpoint: f.endpoint.clone(),
        p256dh: f.p256dh.clone(),
        auth: f.auth.clone(),
    };
    let token = alerts::subscribe_push(&state, &f.area(), &sub, &base, lang)
        .await
        .map_err(|error| PageError { error, lang })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({ "stop": format!("/alerts/{token}/stop") })),
    )
        .into_response())
}

fn notice(
    lang: Lang,
    csrf: &crate::web::Csrf,
    uri: &axum::http::Uri,
    text: String,
    action: Option<String>,
) -> Response {
    let page = Notice {
        p: Page::new(lang, lang.t("alerts-title"), uri, csrf),
        text,
        button: if action.is_some() {
            lang.t("alerts-confirm-button")
        } else {
            String::new()
        },
        action,
        link: "/reports".into(),
        link_text: lang.t("reports-title"),
    };
    render(StatusCode::OK, csrf, &page)
}

/// `GET /alerts/{token}`: the link mailed to confirm. A button confirms (a mail scanner that
/// opens every link does not sign anyone up).
async fn confirm_page(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    alerts::by_token(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    Ok(notice(
        lang,
        &csrf,
        &uri,
        lang.t("alerts-confirm-text"),
        Some(format!("/alerts/{token}")),
    ))
}

async fn confirm(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
    FormPost(_, _): FormPost<std::collections::HashMap<String, String>>,
) -> Result<Response, PageError> {
    if !alerts::confirm(&state.db, &token).await.or_page(lang)? {
        return Err(PageError::not_found(lang));
    }
    Ok(notice(lang, &csrf, &uri, lang.t("alerts-confirmed"), None))
}

/// `GET /alerts/{token}/stop`: the one-click way out, from every message an alert sends.
async fn stop(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let gone = alerts::stop(&state.db, &token).await.or_page(lang)?;
    let text = if gone {
        lang.t("alerts-stopped")
    } else {
        lang.t("alerts-gone")
    };
    Ok(notice(lang, &csrf, &uri, text, None))
}
