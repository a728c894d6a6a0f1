//! Directory: places and the providers at them (public toilets, health facilities and their
//! doctors, emergency contacts, driving schools), found by distance with filters and opening
//! hours, reviewed by citizens who prove their phone number, suggested by citizens and verified
//! by staff. Speaks Open Referral HSDS 3.0 (`hsds.rs`).
//!
//! - `model.rs`: kinds, typed attributes, opening hours
//! - `store.rs`: the SQL
//! - `index.rs`: the in-memory R-tree that answers "nearest", kept in step with the store
//! - `hsds.rs`: the HSDS API

pub mod hsds;
pub mod import;
pub mod index;
pub mod model;
pub mod store;

// What other services (the open-data publisher, packs) and the channels use of this one: the
// kinds of place, a filtered page of places, and their ratings. They do not reach into `store`.
pub use store::{kinds, places, ratings, PlaceFilter};

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde_json::Value;

use crate::platform::error::{Error, Result};
use crate::platform::i18n::{Lang, Text3};
use crate::platform::identity::{Scope, Staff};
use crate::platform::personal::Phone;
use crate::platform::state::AppState;
use crate::platform::{audit, files, geo, impact, otp};
use crate::t;
use model::Kind;

pub fn router() -> axum::Router<AppState> {
    hsds::router()
}

/// This service's part of the OpenAPI document, declared beside its handlers (hsds).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    hsds::ApiDoc::openapi()
}

/// The widest search: beyond this, "near" means nothing.
pub const MAX_RADIUS_M: f64 = 200_000.0;
/// A suggestion this close to a place of the same kind is probably that place.
pub const DUPLICATE_RADIUS_M: f64 = 30.0;
/// One review per person per subject in this many days.
pub const REVIEW_DAYS: i64 = 30;

/// `lat` and `long` given together (or neither), in range.
pub fn parse_point(lat: Option<&str>, long: Option<&str>) -> Result<Option<(f64, f64)>> {
    let lat = lat.map(str::trim).filter(|s| !s.is_empty());
    let long = long.map(str::trim).filter(|s| !s.is_empty());
    match (lat, long) {
        (None, None) => Ok(None),
        (Some(la), Some(lo)) => {
            let la: f64 = la
                .parse()
                .ok()
                .filter(|v| geo::valid_lat(*v))
                .ok_or_else(|| Error::BadRequest("lat must be a number from -90 to 90".into()))?;
            let lo: f64 = lo
                .parse()
                .ok()
                .filter(|v| geo::valid_long(*v))
                .ok_or_else(|| {
                    Error::BadRequest("long must be a number from -180 to 180".into())
                })?;
            Ok(Some((la, lo)))
        }
        _ => Err(Error::BadRequest("send lat and long together".into())),
    }
}

/// A search radius in metres: more than 0, at most 200 km; 5 km when not given.
pub fn parse_radius(raw: Option<&str>) -> Result<f64> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(5_000.0),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|r| r.is_finite() && *r > 0.0 && *r <= MAX_RADIUS_M)
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "proximity must be more than 0 and at most {MAX_RADIUS_M} metres"
                ))
            }),
    }
}

pub async fn kind(state: &AppState, code: &str) -> Result<Kind> {
    store::kinds(&state.db)
        .await?
        .into_iter()
        .find(|k| k.code == code)
        .ok_or_else(|| Error::NotFound(format!("there is no kind of place {code:?}")))
}

/// Attribute filters as given (`wheelchair=yes`), checked against the kind.
pub fn parse_filters(kind: &Kind, raw: &[(String, String)]) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for (k, v) in raw {
        let a = kind.attribute(k).ok_or_else(|| {
            Error::BadRequest(format!(
                "places of kind {} have no attribute {k:?}",
                kind.code
            ))
        })?;
        let value = a
            .parse(v)
            .ok_or_else(|| Error::BadRequest(format!("{v:?} is not a value of {k}")))?;
        out.push((k.clone(), value));
    }
    Ok(out)
}

/// Typed attribute values of a place, from form fields or CSV cells (empty cells are skipped).
pub fn parse_attributes(kind: &Kind, raw: &[(String, String)]) -> Result<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for (k, v) in raw.iter().filter(|(_, v)| !v.trim().is_empty()) {
        let a = kind.attribute(k).ok_or_else(|| {
            Error::BadRequest(format!(
                "places of kind {} have no attribute {k:?}",
                kind.code
            ))
        })?;
        out.insert(
            k.clone(),
            a.parse(v)
                .ok_or_else(|| Error::BadRequest(format!("{v:?} is not a value of {k}")))?,
        );
    }
    Ok(out)
}

/// May `staff` work the places of `kind`?
pub fn staff_may(staff: &Staff, kind: &Kind) -> bool {
    match (&staff.scope, kind.department_id) {
        (Scope::All, _) => true,
        (Scope::Department { department_id, .. }, Some(d)) => *department_id == d,
        _ => false,
    }
}

/// The kinds `staff` works (`None`: all).
pub async fn staff_kinds(state: &AppState, staff: &Staff) -> Result<Option<Vec<String>>> {
    Ok(match staff.scope {
        Scope::All => None,
        _ => Some(
            store::kinds(&state.db)
                .await?
                .into_iter()
                .filter(|k| staff_may(staff, k))
                .map(|k| k.code)
                .collect(),
        ),
    })
}

/// A review as a citizen sends it.
pub struct ReviewIn {
    /// `place:UUID` or `provider:UUID`
    pub subject: String,
    pub stars: i64,
    pub comment: String,
    pub name: String,
    pub phone: String,
    pub code: String,
    pub photo: Option<Vec<u8>>,
}

/// File a review: the phone proven by a one-time code, one review per person per subject per
/// 30 days. Returns the review's id.
pub async fn review(state: &AppState, r: ReviewIn, lang: Lang) -> Result<i64> {
    if !(1..=5).contains(&r.stars) {
        return Err(Error::BadRequest(lang.t("dir-err-stars")));
    }
    let comment = r.comment.trim();
    if comment.chars().count() > 2000 {
        return Err(Error::BadRequest(t!(
            lang,
            "err-field-too-long",
            name = "comment",
            max = 2000i64
        )));
    }
    let name = r.name.trim();
    if name.chars().count() > 100 {
        return Err(Error::BadRequest(t!(
            lang,
            "err-field-too-long",
            name = "name",
            max = 100i64
        )));
    }
    let phone = Phone::parse(&r.phone).ok_or_else(|| Error::BadRequest(lang.t("err-phone")))?;
    let (what, uuid) = r
        .subject
        .split_once(':')
        .ok_or_else(|| Error::NotFound(lang.t("page-not-found")))?;
    let (subject, place_id) = match what {
        "place" => {
            let p = store::place_by_uuid(&state.db, uuid)
                .await?
                .filter(|p| p.status == "verified")
                .ok_or_else(|| Error::NotFound(lang.t("page-not-found")))?;
            (format!("place:{}", p.id), p.id)
        }
        "provider" => {
            let d = store::provider_by_uuid(&state.db, uuid)
                .await?
                .ok_or_else(|| Error::NotFound(lang.t("page-not-found")))?;
            (format!("provider:{}", d.id), d.place_id)
        }
        _ => return Err(Error::NotFound(lang.t("page-not-found"))),
    };
    if !otp::verify(&state.db, &phone, "review", &r.code).await? {
        return Err(Error::Forbidden(lang.t("dir-err-code")));
    }
    let photo = match r.photo {
        Some(bytes) if !bytes.is_empty() => {
            let p = files::encode(bytes, state.config.photo_max_side)
                .await
                .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
            state
                .files
                .put(crate::platform::files::Area::Photos, &p)
                .await
                .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
            Some(p)
        }
        _ => None,
    };
    let mut tx = state.db.begin().await?;
    // Serialise reviewers (a row lock on PostgreSQL; SQLite has one writer anyway), so two
    // reviews sent at once cannot both pass the 30-day check.
    tx.execute(crate::platform::db::query(
        "UPDATE dir_seq SET value = value WHERE id = 1",
    ))
    .await?;
    if store::reviewed_since(
        &mut tx,
        phone.e164(),
        &subject,
        Utc::now() - Duration::days(REVIEW_DAYS),
    )
    .await?
    {
        return Err(Error::Conflict(t!(
            lang,
            "dir-err-once",
            days = REVIEW_DAYS
        )));
    }
    let photo_id = match &photo {
        Some(p) => Some(files::record(&mut tx, p).await?.id),
        None => None,
    };
    let id = store::insert_review(
        &mut tx,
        &subject,
        place_id,
        r.stars,
        comment,
        photo_id,
        phone.e164(),
        name,
    )
    .await?;
    impact::record(
        &mut tx,
        &impact::Event {
            service: "directory",
            kind: "review",
            code: None,
            channel: "web",
            district: None,
            department_id: None,
            minutes_saved: 0,
            citizen: Some(impact::Citizen::phone(&phone)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Mask a reviewer's name for publication: `Ayesha Khan` → `A. K.`
pub fn mask_name(name: &str) -> String {
    let initials: Vec<String> = name
        .split_whitespace()
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}."))
        .collect();
    initials.join(" ")
}

/// Hide or restore a review, with a reason (audited). Averages follow at once: they are
/// computed from the visible reviews.
pub async fn moderate(
    state: &AppState,
    staff: &Staff,
    id: i64,
    hide: bool,
    reason: &str,
) -> Result<()> {
    let r = store::review(&state.db, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no review {id}")))?;
    let place = store::place_by_id(&state.db, r.place_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no review {id}")))?;
    let k = kind(state, &place.kind).await?;
    if !staff_may(staff, &k) {
        return Err(Error::NotFound(format!("no review {id}")));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(Error::BadRequest(
            "give a reason (up to 500 characters)".into(),
        ));
    }
    let status = if hide { "hidden" } else { "visible" };
    let mut tx = state.db.begin().await?;
    store::set_review_status(&mut tx, id, status, reason, &staff.actor()).await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        if hide {
            "review.hide"
        } else {
            "review.restore"
        },
        "review",
        &id.to_string(),
        serde_json::json!({"reason": reason}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A place a citizen suggests.
pub struct SuggestIn {
    pub kind: String,
    pub name: String,
    pub lat: f64,
    pub long: f64,
    pub address: String,
    pub attributes: Vec<(String, String)>,
    pub phone: Option<String>,
}

/// Record a suggestion: pending until staff verify it; flagged when a place of the same kind is
/// within 30 m. Returns `(id, possible duplicate)`.
pub async fn suggest(state: &AppState, s: SuggestIn, lang: Lang) -> Result<(i64, Option<i64>)> {
    let k = kind(state, &s.kind).await?;
    let name = s.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(Error::BadRequest(lang.t("dir-err-name")));
    }
    if !geo::valid_lat(s.lat) || !geo::valid_long(s.long) {
        return Err(Error::BadRequest(lang.t("err-lat-range")));
    }
    if s.address.chars().count() > 500 {
        return Err(Error::BadRequest(t!(
            lang,
            "err-field-too-long",
            name = "address",
            max = 500i64
        )));
    }
    let attributes = parse_attributes(&k, &s.attributes)?;
    let phone = match s.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(Phone::parse(p).ok_or_else(|| Error::BadRequest(lang.t("err-phone")))?),
        None => None,
    };
    let duplicate = store::places_near(&state.db, &k.code, s.lat, s.long, DUPLICATE_RADIUS_M)
        .await?
        .first()
        .map(|d| d.0);
    let districts = state.districts().await?;
    let district = crate::platform::org::nearest_district(&districts, s.lat, s.long, 80_000.0)
        .map(|d| d.slug.clone());
    // As the citizen wrote them; staff add the other languages when they verify it.
    let (name, address) = (
        Text3 {
            en: name.to_owned(),
            ..Text3::default()
        },
        Text3 {
            en: s.address.trim().to_owned(),
            ..Text3::default()
        },
    );
    let mut tx = state.db.begin().await?;
    let id = store::insert_place(
        &mut tx,
        &store::NewPlace {
            kind: &k.code,
            organization_id: None,
            name: &name,
            description: "",
            lat: s.lat,
            long: s.long,
            address: &address,
            district: district.as_deref(),
            phone: None,
            attributes: &attributes,
            hours: &[],
            status: "pending",
            suggested_by: phone.as_ref().map(|p| p.e164()),
            possible_duplicate_of: duplicate,
        },
    )
    .await?;
    impact::record(
        &mut tx,
        &impact::Event {
            service: "directory",
            kind: "suggestion",
            code: Some(&k.code),
            channel: "web",
            district: district.as_deref(),
            department_id: k.department_id,
            minutes_saved: 0,
            citizen: phone.as_ref().map(impact::Citizen::phone),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((id, duplicate))
}

/// Staff accept (verified) or reject a suggested place.
/// A place's name and address in Urdu and Pashto, as staff type them (empty: not given).
#[derive(Debug, Default)]
pub struct PlaceWords {
    pub name_ur: String,
    pub name_ps: String,
    pub address_ur: String,
    pub address_ps: String,
}

pub async fn decide(
    state: &AppState,
    staff: &Staff,
    id: i64,
    accept: bool,
    words: &PlaceWords,
) -> Result<()> {
    let p = store::place_by_id(&state.db, id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no place {id}")))?;
    let k = kind(state, &p.kind).await?;
    if !staff_may(staff, &k) {
        return Err(Error::NotFound(format!("no place {id}")));
    }
    let short = |s: &str, max: usize| s.trim().chars().take(max).collect::<String>();
    let name = Text3 {
        en: p.name.clone(),
        ur: short(&words.name_ur, 200),
        ps: short(&words.name_ps, 200),
    };
    let address = Text3 {
        en: p.address.clone(),
        ur: short(&words.address_ur, 500),
        ps: short(&words.address_ps, 500),
    };
    let status = if accept { "verified" } else { "rejected" };
    let mut tx = state.db.begin().await?;
    store::set_place_status(&mut tx, id, status).await?;
    if accept {
        store::fill_place_words(&mut tx, id, &name, &address).await?;
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        "place.decide",
        "place",
        &id.to_string(),
        serde_json::json!({"from": p.status, "to": status}),
    )
    .await?;
    tx.commit().await?;
    state.directory().touch();
    Ok(())
}

/// The names and addresses, in three languages, of the department's verified places (of the
/// kinds it owns): what the hand-over readiness checks for Urdu and Pashto.
pub async fn place_words(
    db: &crate::platform::db::Db,
    department_id: i64,
) -> Result<Vec<(Text3, Text3)>> {
    Ok(store::verified_places_of_department(db, department_id)
        .await?
        .iter()
        .map(|p| (p.names(), p.addresses()))
        .collect())
}

impl AppState {
    /// The directory's nearest-place index, kept in step with the store.
    pub fn directory(&self) -> &index::Shared {
        self.service_state::<index::Shared>()
    }
}
