//! The deployment's own settings, for platform administrators: the public site's name, contact
//! text and logo, the SMS gateway and its secret, and the districts. Each is checked, saved in
//! one transaction and audited with before and after (secrets only as "changed"); a change is in
//! force on every node within `settings::CACHE_SECONDS` (districts within their cache's minute).

use base64::Engine;

use super::Power;
use crate::platform::error::{Error, Result};
use crate::platform::i18n::{Lang, Text3};
use crate::platform::identity::Staff;
use crate::platform::org::District;
use crate::platform::settings::{self, GATEWAYS};
use crate::platform::state::AppState;
use crate::platform::{audit, files, form, geo};

/// Largest logo side kept, in pixels (the header shows it 32 px high; 128 stays sharp on any
/// phone's screen and keeps the file a few kilobytes).
pub const LOGO_SIDE: u32 = 128;

/// Only platform administrators change the deployment; anyone else is told there is no such page.
pub fn platform(staff: &Staff) -> Result<()> {
    match Power::of(staff) {
        Ok(Power::Platform) => Ok(()),
        _ => Err(Error::NotFound("no such page".into())),
    }
}

fn text3(lang: Lang, name: &str, t: &Text3, max: usize) -> Result<Text3> {
    Ok(Text3 {
        en: form::optional_text(lang, name, &t.en, max)?,
        ur: form::optional_text(lang, name, &t.ur, max)?,
        ps: form::optional_text(lang, name, &t.ps, max)?,
    })
}

/// A text in three languages as a setting: none if all are empty; English needed otherwise
/// (Urdu and Pashto fall back to it).
fn text_setting(lang: Lang, name: &str, t: &Text3, max: usize) -> Result<Option<String>> {
    let t = text3(lang, name, t, max)?;
    if t.en.is_empty() && t.ur.is_empty() && t.ps.is_empty() {
        return Ok(None);
    }
    if t.en.is_empty() {
        return Err(Error::BadRequest(crate::t!(
            lang,
            "err-field-required",
            name = format!("{name} (English)")
        )));
    }
    Ok(Some(serde_json::to_string(&t).expect("serialisable")))
}

/// The site's name and contact text (empty: the built-in name, no contact text).
pub async fn save_site(
    state: &AppState,
    staff: &Staff,
    lang: Lang,
    name: &Text3,
    contact: &Text3,
) -> Result<()> {
    platform(staff)?;
    let name = text_setting(lang, &lang.t("admin-site-name"), name, 60)?;
    let contact = text_setting(lang, &lang.t("admin-site-contact"), contact, 500)?;
    settings::set(
        &state.db,
        &state.caches.settings,
        &staff.actor(),
        "site.name",
        name.as_deref(),
    )
    .await?;
    settings::set(
        &state.db,
        &state.caches.settings,
        &staff.actor(),
        "site.contact",
        contact.as_deref(),
    )
    .await?;
    Ok(())
}

/// A new logo (any JPEG, PNG, WebP or GIF; kept as a small PNG), or none.
pub async fn save_logo(
    state: &AppState,
    staff: &Staff,
    lang: Lang,
    bytes: Option<Vec<u8>>,
) -> Result<()> {
    platform(staff)?;
    let value = match bytes {
        None => None,
        Some(b) => {
            let e = files::logo(b, LOGO_SIDE).await.map_err(|e| match e {
                files::PhotoError::Io(e) => Error::Internal(e.into()),
                _ => Error::BadRequest(lang.t("admin-err-logo")),
            })?;
            Some(base64::engine::general_purpose::STANDARD.encode(&e.bytes))
        }
    };
    settings::set(
        &state.db,
        &state.caches.settings,
        &staff.actor(),
        "site.logo",
        value.as_deref(),
    )
    .await?;
    Ok(())
}

/// The SMS gateway: which one, and for `http` its address (empty keeps the one in force).
/// `None` for the gateway goes back to the configuration file's.
pub async fn save_gateway(
    state: &AppState,
    staff: &Staff,
    gateway: Option<&str>,
    http_url: &str,
) -> Result<()> {
    platform(staff)?;
    let actor = staff.actor();
    let Some(gateway) = gateway else {
        settings::set(
            &state.db,
            &state.caches.settings,
            &actor,
            "sms.gateway",
            None,
        )
        .await?;
        settings::set(
            &state.db,
            &state.caches.settings,
            &actor,
            "sms.http_url",
            None,
        )
        .await?;
        return Ok(());
    };
    if !GATEWAYS.contains(&gateway) {
        return Err(Error::BadRequest(format!(
            "the gateway must be one of {}",
            GATEWAYS.join(", ")
        )));
    }
    let url = http_url.trim();
    if !url.is_empty() && !crate::platform::config::http_gateway_url_ok(url) {
        return Err(Error::BadRequest(
            "the gateway address must start with http:// and have {to} and {text} in it".into(),
        ));
    }
    let in_force = state.settings().await;
    if gateway == "http"
        && url.is_empty()
        && !crate::platform::config::http_gateway_url_ok(in_force.sms_http_url(&state.config))
    {
        return Err(Error::BadRequest(
            "the http gateway needs its address, with {to} and {text} in it".into(),
        ));
    }
    if !url.is_empty() {
        settings::set(
            &state.db,
            &state.caches.settings,
            &actor,
            "sms.http_url",
            Some(url),
        )
        .await?;
    }
    settings::set(
        &state.db,
        &state.caches.settings,
        &actor,
        "sms.gateway",
        Some(gateway),
    )
    .await?;
    Ok(())
}

/// A new secret for the inbound gateways, to be shown once.
pub async fn new_gateway_secret(state: &AppState, staff: &Staff) -> Result<String> {
    platform(staff)?;
    Ok(settings::new_gateway_secret(&state.db, &state.caches.settings, &staff.actor()).await?)
}

/// A district as the form sends it.
pub struct DistrictIn<'a> {
    pub slug: &'a str,
    pub name: Text3,
    pub division: &'a str,
    pub lat: &'a str,
    pub long: &'a str,
}

/// Add a district, or change one's names, division or headquarters (a slug never changes:
/// reports, cases and staff scopes refer to it).
pub async fn save_district(
    state: &AppState,
    staff: &Staff,
    lang: Lang,
    d: &DistrictIn<'_>,
) -> Result<()> {
    platform(staff)?;
    let slug = form::code(lang, "slug", d.slug)?;
    let name = text3(lang, &lang.t("form-name"), &d.name, 60)?;
    if name.en.is_empty() {
        return Err(Error::BadRequest(crate::t!(
            lang,
            "err-field-required",
            name = lang.t("form-name")
        )));
    }
    let division = form::text(lang, &lang.t("admin-division"), d.division, 60)?;
    let number = |raw: &str| raw.trim().parse::<f64>().ok();
    let (Some(lat), Some(long)) = (number(d.lat), number(d.long)) else {
        return Err(Error::BadRequest(lang.t("admin-err-hq")));
    };
    if !geo::valid_lat(lat) || !geo::valid_long(long) {
        return Err(Error::BadRequest(lang.t("admin-err-hq")));
    }
    let before: Option<District> = state
        .districts()
        .await?
        .iter()
        .find(|x| x.slug == slug)
        .cloned();
    let mut tx = state.db.begin().await?;
    crate::platform::org::upsert_district(&mut tx, &slug, &name, &division, (lat, long)).await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        if before.is_some() {
            "district.update"
        } else {
            "district.create"
        },
        "district",
        &slug,
        serde_json::json!({
            "before": before.map(|b| serde_json::json!({"name": [b.name_en, b.name_ur, b.name_ps], "division": b.division, "hq": [b.hq_lat, b.hq_long]})),
            "after": {"name": [name.en, name.ur, name.ps], "division": division, "hq": [lat, long]},
        }),
    )
    .await?;
    tx.commit().await?;
    state.caches.districts.clear().await;
    Ok(())
}
