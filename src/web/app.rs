//! Khidmat as an app a citizen installs from the browser: a web app manifest in each language,
//! icons (drawn here, so no image files travel in the repository), the favicon, the service
//! worker (`static/sw.js`, given the versions of what it keeps) and the page it shows in the
//! citizen's language when there is no connection and no kept copy of the page asked for.

use std::io::Cursor;
use std::sync::LazyLock;

use askama::Template;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use super::{asset_url, render, Here, Page};
use crate::platform::i18n::{Lang, ALL_LANGS};
use crate::platform::state::AppState;

/// The colour of the site's top bar: the app's title bar and splash screen take it.
pub const THEME_COLOUR: &str = "#0d47a1";
const THEME_RGB: [u8; 3] = [0x0d, 0x47, 0xa1];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/manifest/{file}", get(manifest))
        .route("/icons/{file}", get(icon))
        .route("/favicon.ico", get(favicon))
        .route("/sw.js", get(service_worker))
        .route("/offline", get(offline))
}

// ---------------------------------------------------------------------------------------------
// The manifest

/// `GET /manifest/{lang}.webmanifest`: the app in one language, opening at the home page in it.
async fn manifest(Path(file): Path<String>) -> Response {
    let Some(lang) = file.strip_suffix(".webmanifest").and_then(Lang::parse) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let settings = super::SETTINGS
        .try_with(std::sync::Arc::clone)
        .unwrap_or_default();
    let name = settings.site_name(lang);
    let body = serde_json::json!({
        "id": "/",
        "name": name,
        "short_name": name,
        "description": lang.t("app-description"),
        "lang": lang.code(),
        "dir": if lang.is_rtl() { "rtl" } else { "ltr" },
        "start_url": format!("/?locale={}", lang.code()),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f7f9fa",
        "theme_color": THEME_COLOUR,
        "icons": [
            {"src": "/icons/192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/icons/512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"}
        ],
    });
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Icons

/// A white speech bubble with a tick, on the theme colour: "your word was heard". `full` fills
/// the square (a maskable icon: the launcher cuts its own shape, so the bubble stays inside the
/// middle 80%); otherwise the square has rounded corners.
fn draw_icon(size: u32, full: bool) -> Vec<u8> {
    let n = size as f64;
    // Four samples a pixel, for smooth edges.
    let offsets = [0.25, 0.75];
    let inside_bubble = |x: f64, y: f64| {
        let (cx, cy, r) = (0.5, 0.46, 0.25);
        let circle = (x - cx).powi(2) + (y - cy).powi(2) <= r * r;
        // The tail: a triangle below the circle, to the start side.
        let (ax, ay, bx, by, qx, qy) = (0.36, 0.60, 0.50, 0.70, 0.32, 0.78);
        let sign = |px: f64, py: f64, x1: f64, y1: f64, x2: f64, y2: f64| {
            (px - x2) * (y1 - y2) - (x1 - x2) * (py - y2)
        };
        let d1 = sign(x, y, ax, ay, bx, by);
        let d2 = sign(x, y, bx, by, qx, qy);
        let d3 = sign(x, y, qx, qy, ax, ay);
        let tail = !((d1 < 0.0 || d2 < 0.0 || d3 < 0.0) && (d1 > 0.0 || d2 > 0.0 || d3 > 0.0));
        circle || tail
    };
    let on_tick = |x: f64, y: f64| {
        let segment = |x1: f64, y1: f64, x2: f64, y2: f64| {
            let (dx, dy) = (x2 - x1, y2 - y1);
            let t = (((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            ((x - x1 - t * dx).powi(2) + (y - y1 - t * dy).powi(2)).sqrt()
        };
        segment(0.39, 0.47, 0.47, 0.55) <= 0.035 || segment(0.47, 0.55, 0.62, 0.38) <= 0.035
    };
    let in_square = |x: f64, y: f64| {
        if full {
            return true;
        }
        let r = 0.2;
        let qx = (x - 0.5).abs() - (0.5 - r);
        let qy = (y - 0.5).abs() - (0.5 - r);
        qx <= 0.0 || qy <= 0.0 || qx * qx + qy * qy <= r * r
    };
    let img = image::RgbaImage::from_fn(size, size, |px, py| {
        let (mut white, mut colour, mut clear) = (0u32, 0u32, 0u32);
        for ox in offsets {
            for oy in offsets {
                let (x, y) = ((px as f64 + ox) / n, (py as f64 + oy) / n);
                if !in_square(x, y) {
                    clear += 1;
                } else if inside_bubble(x, y) && !on_tick(x, y) {
                    white += 1;
                } else {
                    colour += 1;
                }
            }
        }
        let mix = |c: u8| ((white * 255 + colour * c as u32) / (white + colour).max(1)) as u8;
        let alpha = (((white + colour) * 255) / (white + colour + clear)) as u8;
        image::Rgba([
            mix(THEME_RGB[0]),
            mix(THEME_RGB[1]),
            mix(THEME_RGB[2]),
            alpha,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("a PNG encodes into memory");
    out.into_inner()
}

static ICONS: LazyLock<[(&'static str, Vec<u8>); 4]> = LazyLock::new(|| {
    [
        ("192.png", draw_icon(192, false)),
        ("512.png", draw_icon(512, false)),
        ("maskable-512.png", draw_icon(512, true)),
        ("48.png", draw_icon(48, false)),
    ]
});

fn icon_bytes(name: &str) -> Option<&'static [u8]> {
    ICONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b.as_slice())
}

async fn icon(Path(file): Path<String>) -> Response {
    match icon_bytes(&file) {
        Some(png) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/png")),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=604800"),
                ),
            ],
            png,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// An ICO file holding the 48-pixel icon as PNG (which every browser since 2010 reads).
static FAVICON: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let png = icon_bytes("48.png").expect("drawn");
    let mut ico = Vec::with_capacity(22 + png.len());
    ico.extend_from_slice(&[0, 0, 1, 0, 1, 0]); // reserved, type 1 (icon), one image
    ico.extend_from_slice(&[48, 48, 0, 0]); // width, height, no palette, reserved
    ico.extend_from_slice(&1u16.to_le_bytes()); // colour planes
    ico.extend_from_slice(&32u16.to_le_bytes()); // bits per pixel
    ico.extend_from_slice(&(png.len() as u32).to_le_bytes());
    ico.extend_from_slice(&22u32.to_le_bytes()); // where the image starts
    ico.extend_from_slice(png);
    ico
});

async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/x-icon"),
            (header::CACHE_CONTROL, "public, max-age=604800"),
        ],
        FAVICON.as_slice(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// The service worker

/// `static/sw.js` with what it keeps at install: the shell at its current versions and the
/// offline page in each language. A new release changes the versions, so the browser installs
/// the new worker and drops the old shell.
static SERVICE_WORKER: LazyLock<String> = LazyLock::new(|| {
    let mut keep: Vec<String> = ["app.css", "app.js", "icons.svg"]
        .iter()
        .map(|a| asset_url(a))
        .collect();
    keep.push("/icons/192.png".into());
    keep.extend(
        ALL_LANGS
            .iter()
            .map(|l| format!("/offline?locale={}", l.code())),
    );
    let list = serde_json::to_string(&keep).expect("strings serialise");
    let source = include_str!("../../static/sw.js");
    let version = hex::encode(&Sha256::digest(format!("{source}{list}").as_bytes())[..6]);
    source
        .replace("__VERSION__", &version)
        .replace("__PRECACHE__", &list)
});

async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            // Always asked again, so a new release reaches installed apps at once.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER.as_str(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// The offline page

#[derive(Template)]
#[template(path = "offline.html")]
struct Offline {
    p: Page,
}

/// What the service worker shows when there is no connection and no kept copy of a page.
async fn offline(Here { lang, csrf, uri }: Here) -> Response {
    let page = Offline {
        p: Page::new(lang, lang.t("offline-title"), &uri, &csrf),
    };
    render(StatusCode::OK, &csrf, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_icons_are_the_sizes_they_claim_and_the_favicon_is_an_ico() {
        for (name, size) in [
            ("192.png", 192),
            ("512.png", 512),
            ("maskable-512.png", 512),
        ] {
            let img = image::load_from_memory(icon_bytes(name).unwrap()).unwrap();
            assert_eq!((img.width(), img.height()), (size, size), "{name}");
        }
        // Rounded corners are clear; the maskable icon fills its square.
        let any = image::load_from_memory(icon_bytes("512.png").unwrap())
            .unwrap()
            .to_rgba8();
        let full = image::load_from_memory(icon_bytes("maskable-512.png").unwrap())
            .unwrap()
            .to_rgba8();
        assert_eq!(any.get_pixel(0, 0)[3], 0);
        assert_eq!(full.get_pixel(0, 0).0, [0x0d, 0x47, 0xa1, 255]);
        // The bubble is white at its middle-top, the tick is the theme colour.
        assert_eq!(full.get_pixel(256, 150).0, [255, 255, 255, 255]);
        assert_eq!(&FAVICON[..4], &[0, 0, 1, 0]);
        assert_eq!(&FAVICON[22..26], b"\x89PNG");
    }

    #[test]
    fn the_service_worker_keeps_the_current_shell_and_every_offline_page() {
        let sw = SERVICE_WORKER.as_str();
        assert!(!sw.contains("__VERSION__") && !sw.contains("__PRECACHE__"));
        assert!(sw.contains(&asset_url("app.js")));
        for l in ["en", "ur", "ps"] {
            assert!(sw.contains(&format!("/offline?locale={l}")), "{l}");
        }
    }
}
