//! The web pages: citizens' (`citizen.rs`) and staff's (`staff.rs`), rendered on the server from
//! askama templates (`templates/`) with every string a Fluent message. They work without
//! JavaScript; `static/app.js` adds "use my location", photo downscaling in the browser and an
//! outbox that keeps a report on the phone until the network takes it.
//!
//! Forms carry a CSRF token derived from the `khidmat_csrf` cookie and the browser's sessions
//! with the server's key (`platform::secrets::form_token`): the cookie is `SameSite=Strict`, so
//! another site can neither read nor send it, and a cookie planted in the browser does not
//! tell its planter the token.

pub mod admin;
pub mod app;
pub mod benefits;
pub mod campaigns;
pub mod cases;
pub mod charts;
pub mod content;
pub mod directory;
pub mod fields;
pub mod format;
pub mod impact;
pub mod map;
pub mod me;
pub mod opendata;
pub mod programme;
pub mod qr;
pub mod quiz;
pub mod registers;
pub mod reports;
pub mod staff;

use std::collections::HashMap;
use std::sync::LazyLock;

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::platform::error::Error;
use crate::platform::i18n::{Lang, ALL_LANGS};
use crate::platform::settings::Settings;
use crate::platform::state::AppState;

tokio::task_local! {
    /// The settings in force while a request is answered (set by `with_settings`): the pages'
    /// site name, logo and contact text come from here.
    static SETTINGS: std::sync::Arc<Settings>;
}

/// Middleware: answer the request with this node's current settings at hand.
pub async fn with_settings(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let settings = state.settings().await;
    SETTINGS.scope(settings, next.run(req)).await
}

/// Middleware: the headers that make every answer harder to misuse from another site.
///
/// - `Content-Security-Policy`: the pages' own script and stylesheet only (no inline script, no
///   `eval`), images from here (and the configured map tiles), forms posting here, no framing,
///   no plugins. Inline `style` attributes are allowed (the maps place tiles and points with
///   them); an answer that set its own policy (downloads) keeps it.
/// - `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`; `nosniff`; a referrer
///   that never leaves the site (tracking links carry their token in the path); the phone's
///   location and camera for this site only; `Strict-Transport-Security` under https.
pub async fn security_headers(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(v) = header::HeaderValue::from_str(&content_policy(&state.config.map_tile_url)) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
    for (name, value) in [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        h.entry(name)
            .or_insert(header::HeaderValue::from_static(value));
    }
    h.entry(header::HeaderName::from_static("permissions-policy"))
        .or_insert(header::HeaderValue::from_static(
            "geolocation=(self), camera=(self), microphone=(self), payment=(), usb=()",
        ));
    if state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
    {
        h.entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(header::HeaderValue::from_static("max-age=31536000"));
    }
    resp
}

/// The `Content-Security-Policy` of every page; `tiles` is the map tile template (its origin
/// may serve images).
pub fn content_policy(tiles: &str) -> String {
    let tile_origin = tiles
        .split_once("://")
        .and_then(|(scheme, rest)| {
            let host = rest.split(['/', '{']).next()?;
            (matches!(scheme, "http" | "https")
                && !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
            .then(|| format!(" {scheme}://{host}"))
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data: blob:{tile_origin}; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; \
         manifest-src 'self'; worker-src 'self'"
    )
}

/// `/site/logo.png`: the logo a platform administrator uploaded. Its address carries its
/// version (`?v=`), so a browser keeps it for a year and asks again only when it changes.
async fn logo() -> Response {
    match SETTINGS.try_with(|s| s.logo.clone()).ok().flatten() {
        Some((png, _)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            png.as_ref().clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{file}", get(asset))
        .route("/lang/{code}", get(switch_language))
        .route("/site/logo.png", get(logo))
        .merge(app::router())
        .merge(reports::router())
        .merge(staff::router())
        .merge(directory::router())
        .merge(opendata::router())
        .merge(benefits::router())
        .merge(cases::router())
        .merge(impact::router())
        .merge(programme::router())
        .merge(registers::router())
        .merge(content::router())
        .merge(quiz::router())
        .merge(me::router())
        .merge(campaigns::router())
        .merge(admin::router())
}

// ---------------------------------------------------------------------------------------------
// Static files: built into the binary, addressed by a hash of their content so browsers may
// keep them for a year.

struct Asset {
    body: &'static str,
    mime: &'static str,
    version: String,
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    let files: [(&str, &str, &str); 3] = [
        (
            "app.css",
            include_str!("../../static/app.css"),
            "text/css; charset=utf-8",
        ),
        (
            "app.js",
            include_str!("../../static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        (
            "icons.svg",
            include_str!("../../static/icons.svg"),
            "image/svg+xml",
        ),
    ];
    files
        .into_iter()
        .map(|(name, body, mime)| {
            let version = hex::encode(&Sha256::digest(body.as_bytes())[..6]);
            (
                name,
                Asset {
                    body,
                    mime,
                    version,
                },
            )
        })
        .collect()
});

/// The address of a static file, with its version.
pub fn asset_url(name: &str) -> String {
    match ASSETS.get(name) {
        Some(a) => format!("/static/{name}?v={}", a.version),
        None => format!("/static/{name}"),
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.get(file.as_str()) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(a.mime)),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
            ],
            a.body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Languages

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Only paths on this site ([`crate::platform::text::site_path`]), else home.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if crate::platform::text::site_path(p) => p.to_owned(),
        _ => "/".to_owned(),
    }
}

/// `GET /lang/ur?next=/reports`: remember the language (a year) and go back.
async fn switch_language(Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let next = local_path(q.next.as_deref());
    let Some(lang) = Lang::parse(&code) else {
        return Redirect::to(&next).into_response();
    };
    let cookie = crate::platform::cookies::preference("lang", lang.code());
    ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
}

pub use crate::platform::csrf::{Csrf, CSRF_COOKIE};

/// Read a page's multipart form (files at most `max_file` bytes) and check its form token: the
/// one way pages read multipart, so none forgets the check.
pub async fn read_checked(
    csrf: &Csrf,
    form: axum::extract::Multipart,
    max_file: usize,
    lang: Lang,
) -> Result<crate::platform::form::SentForm, PageError> {
    let sent = crate::platform::form::read_form(form, max_file, lang)
        .await
        .or_page(lang)?;
    checked(csrf, sent.fields.get("csrf").map(String::as_str), lang)?;
    Ok(sent)
}

/// Read a page's streamed upload (a dataset's file, kept in a temporary file as it arrives)
/// and check its form token.
pub async fn read_upload_checked(
    csrf: &Csrf,
    form: axum::extract::Multipart,
    file_field: &str,
    lang: Lang,
) -> Result<crate::opendata::upload::Uploaded, PageError> {
    let sent = crate::opendata::upload::read(form, file_field)
        .await
        .or_page(lang)?;
    checked(csrf, sent.fields.get("csrf").map(String::as_str), lang)?;
    Ok(sent)
}

/// The one place a page's form token is compared: every reader above, and [`FormPost`], ask
/// here.
fn checked(csrf: &Csrf, sent: Option<&str>, lang: Lang) -> Result<(), PageError> {
    if csrf.verify(sent) {
        Ok(())
    } else {
        Err(PageError::form_expired(lang))
    }
}

/// Read a page's form — urlencoded, or multipart with a photo (the reader Open311 uses) — and
/// check its form token.
pub(crate) async fn read_fields_checked(
    state: &AppState,
    csrf: &Csrf,
    req: axum::extract::Request,
    lang: Lang,
) -> Result<crate::reports::open311::Fields, PageError> {
    let fields = crate::reports::open311::read_fields(state, req, lang)
        .await
        .or_page(lang)?;
    checked(csrf, fields.get("csrf"), lang)?;
    Ok(fields)
}

/// Where a page is, for whom: the reader's language, this browser's form token, the address
/// asked for. One extractor for the three every page handler needs.
pub struct Here {
    pub lang: Lang,
    pub csrf: Csrf,
    pub uri: axum::http::Uri,
}

impl axum::extract::FromRequestParts<AppState> for Here {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let Ok(csrf) = Csrf::from_request_parts(parts, state).await;
        let Ok(axum::extract::OriginalUri(uri)) =
            axum::extract::OriginalUri::from_request_parts(parts, state).await;
        Ok(Here { lang, csrf, uri })
    }
}

/// A public write (a report, an application, a pledge…): taking this extractor counts the
/// request against the client's per-minute limit, and past it the handler never runs (429,
/// saying when to try again). A handler cannot forget the limit.
pub struct PublicWrite;

impl axum::extract::FromRequestParts<AppState> for PublicWrite {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, PageError> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let Ok(crate::platform::ratelimit::PeerAddr(peer)) =
            crate::platform::ratelimit::PeerAddr::from_request_parts(parts, state).await;
        state
            .limit_public_write(&parts.headers, peer, lang)
            .await
            .map_err(|error| PageError { error, lang })?;
        Ok(PublicWrite)
    }
}

/// A page's form post, its token already checked: the browser's [`Csrf`] (for the page that
/// answers) and the fields bound to `T`. A post without this browser's token is answered "form
/// expired" before the handler runs, so no handler can forget the check.
pub struct FormPost<T>(pub Csrf, pub T);

impl<T> axum::extract::FromRequest<AppState> for FormPost<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = PageError;

    async fn from_request(
        req: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, PageError> {
        use axum::extract::FromRequestParts;
        let (mut parts, body) = req.into_parts();
        let lang = Lang::from_request_parts(&mut parts, state)
            .await
            .unwrap_or_default();
        let Ok(csrf) = Csrf::from_request_parts(&mut parts, state).await;
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let req = axum::extract::Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| PageError {
                error: if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::TooLarge(e.body_text())
                } else {
                    Error::BadRequest(e.body_text())
                },
                lang,
            })?;
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let sent = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str());
        if !form_type {
            return Err(PageError::form_expired(lang));
        }
        checked(&csrf, sent, lang)?;
        let form = serde_urlencoded::from_bytes(&bytes).map_err(|e| PageError {
            error: Error::Unprocessable(e.to_string()),
            lang,
        })?;
        Ok(FormPost(csrf, form))
    }
}

// ---------------------------------------------------------------------------------------------
// The frame every page shares

pub struct LangLink {
    pub code: &'static str,
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

/// What the layout (`templates/base.html`) needs: language, title, where we are, who is
/// logged in, the form token.
/// What a page's frame needs from the request: the reader's language, the form token and the
/// address. A helper that draws one page for several handlers takes it whole.
#[derive(Clone, Copy)]
pub struct Frame<'a> {
    pub lang: Lang,
    pub csrf: &'a Csrf,
    pub uri: &'a axum::http::Uri,
}

impl<'a> Frame<'a> {
    pub fn new(lang: Lang, csrf: &'a Csrf, uri: &'a axum::http::Uri) -> Self {
        Frame { lang, csrf, uri }
    }
}

pub struct Page {
    pub lang: Lang,
    pub title: String,
    /// This page's path and query, for the language links to come back to.
    pub here: String,
    pub csrf: String,
    /// The logged-in staff member's name, on staff pages.
    pub staff_name: Option<String>,
    /// The staff sections the logged-in member may open.
    pub nav: staff::StaffNav,
    /// The site's name, logo and contact text.
    pub site: std::sync::Arc<Settings>,
}

impl Page {
    pub fn new(lang: Lang, title: String, here: &axum::http::Uri, csrf: &Csrf) -> Page {
        let here = match here.query() {
            // The language links replace ?locale=; everything else stays.
            Some(q) => {
                let kept: Vec<(String, String)> = serde_urlencoded::from_str(q)
                    .map(|v: Vec<(String, String)>| {
                        v.into_iter().filter(|(k, _)| k != "locale").collect()
                    })
                    .unwrap_or_default();
                if kept.is_empty() {
                    here.path().to_owned()
                } else {
                    format!(
                        "{}?{}",
                        here.path(),
                        serde_urlencoded::to_string(kept).unwrap_or_default()
                    )
                }
            }
            None => here.path().to_owned(),
        };
        Page {
            lang,
            title,
            here,
            csrf: csrf.token.clone(),
            staff_name: None,
            nav: Default::default(),
            site: SETTINGS.try_with(std::sync::Arc::clone).unwrap_or_default(),
        }
    }

    pub fn site_name(&self) -> String {
        self.site.site_name(self.lang)
    }

    pub fn contact(&self) -> Option<String> {
        self.site.contact(self.lang)
    }

    pub fn t(&self, id: &str) -> String {
        self.lang.t(id)
    }

    /// The message `{prefix}-{key}`: a name for a code (`admin-section`, `fund` → "Fund").
    pub fn t_of(&self, prefix: &str, key: &str) -> String {
        self.lang.t(&format!("{prefix}-{key}"))
    }

    pub fn code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn dir(&self) -> &'static str {
        if self.lang.is_rtl() {
            "rtl"
        } else {
            "ltr"
        }
    }

    pub fn asset(&self, name: &str) -> String {
        asset_url(name)
    }

    pub fn icon(&self, name: &str) -> String {
        format!("{}#{name}", asset_url("icons.svg"))
    }

    pub fn langs(&self) -> Vec<LangLink> {
        let next = serde_urlencoded::to_string([("next", self.here.as_str())]).unwrap_or_default();
        ALL_LANGS
            .iter()
            .map(|&l| LangLink {
                code: l.code(),
                label: l.native_name(),
                href: format!("/lang/{}?{next}", l.code()),
                current: l == self.lang,
            })
            .collect()
    }
}

/// A rendered page, with the CSRF cookie set if the browser had none.
pub fn render(status: StatusCode, csrf: &Csrf, page: &impl Template) -> Response {
    let body = match page.render() {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let mut resp = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Pages carry form tokens and personal data: never cached by anyone else.
            (header::CACHE_CONTROL, "private, no-cache"),
            (header::VARY, "Cookie, Accept-Language"),
        ],
        body,
    )
        .into_response();
    if let Some(c) = csrf
        .set_cookie()
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    p: Page,
    message: String,
}

/// An error, shown as a page in the reader's language.
pub struct PageError {
    pub error: Error,
    pub lang: Lang,
}

impl PageError {
    /// "No such page", whether it does not exist or is not the reader's to see.
    pub fn not_found(lang: Lang) -> PageError {
        PageError {
            error: Error::NotFound(String::new()),
            lang,
        }
    }

    /// A form sent without this browser's token (old, or from another site).
    pub fn form_expired(lang: Lang) -> PageError {
        PageError {
            error: Error::Forbidden(lang.t("page-form-expired")),
            lang,
        }
    }
}

pub trait OrPage<T> {
    fn or_page(self, lang: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<Error>> OrPage<T> for Result<T, E> {
    fn or_page(self, lang: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError {
            error: e.into(),
            lang,
        })
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.error.status();
        let lang = self.lang;
        let message = match &self.error {
            Error::NotFound(_) => lang.t("page-not-found"),
            Error::Internal(_) => {
                self.error.message();
                lang.t("page-internal-error")
            }
            other => other.message(),
        };
        let csrf = Csrf::none();
        let page = ErrorPage {
            p: Page {
                lang,
                title: lang.t("page-error-title"),
                here: "/".into(),
                csrf: String::new(),
                staff_name: None,
                nav: Default::default(),
                site: SETTINGS.try_with(std::sync::Arc::clone).unwrap_or_default(),
            },
            message,
        };
        render(status, &csrf, &page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_policy_names_the_tile_server_and_nothing_injected() {
        let p = content_policy("https://tiles.example.pk/{z}/{x}/{y}.png");
        assert!(
            p.contains("img-src 'self' data: blob: https://tiles.example.pk;"),
            "{p}"
        );
        let p = content_policy("https://a.example; script-src *; x/{z}");
        assert!(!p.contains("script-src *"), "{p}");
        assert!(content_policy("").contains("img-src 'self' data: blob:;"));
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/reports?x=1")), "/reports?x=1");
        assert_eq!(local_path(Some("//evil.example")), "/");
        assert_eq!(local_path(Some("https://evil.example")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        for escape in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "/\u{0}/evil.example",
            "/\u{2028}/evil.example",
            "\\\\evil.example",
            "/\\/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(local_path(Some(escape)), "/", "{escape:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
