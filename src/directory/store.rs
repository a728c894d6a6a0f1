//! The directory: all of its SQL.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::model::{Hours, Kind, KindAttr, Place};
use crate::platform::db::{query, Db, Query, Tx};
use crate::platform::i18n::Text3;
use crate::platform::questions::SmsKeywords;

fn decode(e: serde_json::Error) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

pub async fn current_seq(db: &Db) -> Result<i64, sqlx::Error> {
    db.scalar(query("SELECT value FROM dir_seq WHERE id = 1"))
        .await
}

/// The next change number. Taking it also locks the counter's row until the transaction ends,
/// which serialises directory writes (cheap: they are rare next to reads).
pub async fn next_seq(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    tx.scalar(query(
        "UPDATE dir_seq SET value = value + 1 WHERE id = 1 RETURNING value",
    ))
    .await
}

// ---------------------------------------------------------------------------------------------
// Kinds and organizations

#[derive(sqlx::FromRow, khidmat_derive::FromRaw)]
struct KindRow {
    code: String,
    department_id: Option<i64>,
    name_en: String,
    name_ur: String,
    name_ps: String,
    icon: String,
    attributes: String,
    provider_attributes: String,
    sms_keywords: String,
}

impl KindRow {
    fn into_kind(self) -> Result<Kind, sqlx::Error> {
        Ok(Kind {
            code: self.code,
            department_id: self.department_id,
            name: Text3 {
                en: self.name_en,
                ur: self.name_ur,
                ps: self.name_ps,
            },
            icon: self.icon,
            attributes: serde_json::from_str(&self.attributes).map_err(decode)?,
            provider_attributes: serde_json::from_str(&self.provider_attributes).map_err(decode)?,
            sms_keywords: serde_json::from_str(&self.sms_keywords).map_err(decode)?,
        })
    }
}

const KIND_COLUMNS: &str =
    "code, department_id, name_en, name_ur, name_ps, icon, attributes, provider_attributes, sms_keywords";

pub async fn kinds(db: &Db) -> Result<Vec<Kind>, sqlx::Error> {
    let rows: Vec<KindRow> = db
        .fetch_all(query(format!(
            "SELECT {KIND_COLUMNS} FROM dir_kinds ORDER BY code"
        )))
        .await?;
    rows.into_iter().map(KindRow::into_kind).collect()
}

#[allow(clippy::too_many_arguments)]
pub async fn upsert_kind(
    tx: &mut Tx,
    code: &str,
    department_id: Option<i64>,
    name: &Text3,
    icon: &str,
    attributes: &[KindAttr],
    provider_attributes: &[KindAttr],
    sms: &SmsKeywords,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO dir_kinds (code, department_id, name_en, name_ur, name_ps, icon, attributes, provider_attributes, sms_keywords, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (code) DO UPDATE SET \
             department_id = excluded.department_id, name_en = excluded.name_en, name_ur = excluded.name_ur, \
             name_ps = excluded.name_ps, icon = excluded.icon, attributes = excluded.attributes, \
             provider_attributes = excluded.provider_attributes, sms_keywords = excluded.sms_keywords, updated_at = excluded.updated_at",
        )
        .bind(code)
        .bind(department_id)
        .bind(&name.en)
        .bind(&name.ur)
        .bind(&name.ps)
        .bind(icon)
        .bind(serde_json::to_string(attributes).expect("serialise"))
        .bind(serde_json::to_string(provider_attributes).expect("serialise"))
        .bind(serde_json::to_string(sms).expect("serialise"))
        .bind(Utc::now()),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct OrgRow {
    pub id: i64,
    pub uuid: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub email: Option<String>,
    pub website: Option<String>,
    pub updated_at: DateTime<Utc>,
}

const ORG_COLUMNS: &str = "id, uuid, slug, name, description, email, website, updated_at";

pub async fn upsert_org(
    tx: &mut Tx,
    slug: &str,
    name: &str,
    description: &str,
    email: Option<&str>,
    website: Option<&str>,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        query(
            "INSERT INTO dir_organizations (uuid, slug, name, description, email, website, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (slug) DO UPDATE SET name = excluded.name, \
             description = excluded.description, email = excluded.email, website = excluded.website, \
             updated_at = excluded.updated_at RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(slug)
        .bind(name)
        .bind(description)
        .bind(email)
        .bind(website)
        .bind(Utc::now()),
    )
    .await
}

pub async fn org_id_by_slug(tx: &mut Tx, slug: &str) -> Result<Option<i64>, sqlx::Error> {
    tx.fetch_optional::<(i64,)>(
        query("SELECT id FROM dir_organizations WHERE slug = $1").bind(slug),
    )
    .await
    .map(|r| r.map(|(i,)| i))
}

/// Organizations by name, those whose name or description contains `search` when it is given.
pub async fn orgs(
    db: &Db,
    search: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<OrgRow>, i64), sqlx::Error> {
    let filtered = |select: &str| {
        let q = query(format!("{select} FROM dir_organizations o WHERE 1 = 1"));
        match search {
            Some(s) => {
                let like = format!("%{}%", s.to_lowercase().replace(['%', '_'], ""));
                q.push(" AND (LOWER(o.name) LIKE ")
                    .push_bind(like.clone())
                    .push(" OR LOWER(o.description) LIKE ")
                    .push_bind(like)
                    .push(")")
            }
            None => q,
        }
    };
    let total = db.scalar(filtered("SELECT COUNT(*)")).await?;
    let rows = db
        .fetch_all(
            filtered(&format!("SELECT {ORG_COLUMNS}"))
                .push(" ORDER BY o.name, o.id LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset),
        )
        .await?;
    Ok((rows, total))
}

pub async fn org_by_uuid(db: &Db, uuid: &str) -> Result<Option<OrgRow>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {ORG_COLUMNS} FROM dir_organizations WHERE uuid = $1"
        ))
        .bind(uuid),
    )
    .await
}

pub async fn org_by_id(db: &Db, id: i64) -> Result<Option<OrgRow>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {ORG_COLUMNS} FROM dir_organizations WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Places

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct PlaceRow {
    pub id: i64,
    pub uuid: String,
    pub service_uuid: String,
    pub sal_uuid: String,
    pub kind: String,
    pub organization_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub lat: f64,
    pub long: f64,
    pub address: String,
    pub district: Option<String>,
    pub phone: Option<String>,
    pub attributes: String,
    pub hours: String,
    pub status: String,
    pub name_ur: String,
    pub name_ps: String,
    pub address_ur: String,
    pub address_ps: String,
    pub suggested_by: Option<String>,
    pub possible_duplicate_of: Option<i64>,
    pub seq: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PlaceRow {
    pub fn attributes(&self) -> BTreeMap<String, serde_json::Value> {
        serde_json::from_str(&self.attributes).unwrap_or_default()
    }

    pub fn hours(&self) -> Vec<Hours> {
        serde_json::from_str(&self.hours).unwrap_or_default()
    }

    /// The name in three languages: the registered one and its translations.
    pub fn names(&self) -> Text3 {
        Text3 {
            en: self.name.clone(),
            ur: self.name_ur.clone(),
            ps: self.name_ps.clone(),
        }
    }

    pub fn addresses(&self) -> Text3 {
        Text3 {
            en: self.address.clone(),
            ur: self.address_ur.clone(),
            ps: self.address_ps.clone(),
        }
    }

    pub fn place(&self) -> Place {
        Place {
            id: self.id,
            uuid: self.uuid.clone(),
            kind: self.kind.clone(),
            name: self.names(),
            lat: self.lat,
            long: self.long,
            address: self.addresses(),
            district: self.district.clone(),
            phone: self.phone.clone(),
            attributes: self.attributes(),
            hours: self.hours(),
            status: self.status.clone(),
        }
    }
}

const PLACE_COLUMNS: &str =
    "p.id, p.uuid, p.service_uuid, p.sal_uuid, p.kind, p.organization_id, p.name, \
    p.description, p.lat, p.long, p.address, p.district, p.phone, p.attributes, p.hours, p.status, \
    p.name_ur, p.name_ps, p.address_ur, p.address_ps, p.suggested_by, p.possible_duplicate_of, p.seq, p.created_at, p.updated_at";

/// Places changed after change number `seq`, in change order.
pub async fn places_since(db: &Db, seq: i64) -> Result<Vec<Place>, sqlx::Error> {
    let rows: Vec<PlaceRow> = db
        .fetch_all(
            query(format!(
                "SELECT {PLACE_COLUMNS} FROM dir_places p WHERE p.seq > $1 ORDER BY p.seq"
            ))
            .bind(seq),
        )
        .await?;
    Ok(rows.iter().map(PlaceRow::place).collect())
}

pub struct NewPlace<'a> {
    pub kind: &'a str,
    pub organization_id: Option<i64>,
    /// The registered name (`en`) and its Urdu and Pashto (empty where not known).
    pub name: &'a Text3,
    pub description: &'a str,
    pub lat: f64,
    pub long: f64,
    pub address: &'a Text3,
    pub district: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub attributes: &'a BTreeMap<String, serde_json::Value>,
    pub hours: &'a [Hours],
    pub status: &'a str,
    pub suggested_by: Option<&'a str>,
    pub possible_duplicate_of: Option<i64>,
}

pub async fn insert_place(tx: &mut Tx, p: &NewPlace<'_>) -> Result<i64, sqlx::Error> {
    let seq = next_seq(tx).await?;
    let now = Utc::now();
    tx.scalar(
        query(
            "INSERT INTO dir_places (uuid, service_uuid, sal_uuid, kind, organization_id, name, description, lat, long, \
             address, district, phone, attributes, hours, status, suggested_by, possible_duplicate_of, seq, created_at, updated_at, \
             name_ur, name_ps, address_ur, address_ps) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20, $21, $22, $23) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(p.kind)
        .bind(p.organization_id)
        .bind(&p.name.en)
        .bind(p.description)
        .bind(p.lat)
        .bind(p.long)
        .bind(&p.address.en)
        .bind(p.district)
        .bind(p.phone)
        .bind(serde_json::to_string(p.attributes).expect("serialise"))
        .bind(serde_json::to_string(p.hours).expect("serialise"))
        .bind(p.status)
        .bind(p.suggested_by)
        .bind(p.possible_duplicate_of)
        .bind(seq)
        .bind(now)
        .bind(&p.name.ur)
        .bind(&p.name.ps)
        .bind(&p.address.ur)
        .bind(&p.address.ps),
    )
    .await
}

/// Give a place the Urdu and Pashto of its name and address that it lacks (a pack loaded again
/// with translations); what is already there, perhaps corrected by staff, stays. A change is a
/// new change number, so search indexes pick it up.
pub async fn fill_place_words(
    tx: &mut Tx,
    id: i64,
    name: &Text3,
    address: &Text3,
) -> Result<bool, sqlx::Error> {
    let seq = next_seq(tx).await?;
    let changed = tx
        .execute(
            query(
                "UPDATE dir_places SET \
                 name_ur = CASE WHEN name_ur = '' THEN $1 ELSE name_ur END, \
                 name_ps = CASE WHEN name_ps = '' THEN $2 ELSE name_ps END, \
                 address_ur = CASE WHEN address_ur = '' THEN $3 ELSE address_ur END, \
                 address_ps = CASE WHEN address_ps = '' THEN $4 ELSE address_ps END, \
                 seq = $5, updated_at = $6 \
                 WHERE id = $7 AND ((name_ur = '' AND $1 <> '') OR (name_ps = '' AND $2 <> '') \
                 OR (address_ur = '' AND $3 <> '') OR (address_ps = '' AND $4 <> ''))",
            )
            .bind(&name.ur)
            .bind(&name.ps)
            .bind(&address.ur)
            .bind(&address.ps)
            .bind(seq)
            .bind(Utc::now())
            .bind(id),
        )
        .await?;
    Ok(changed > 0)
}

/// Verify or reject a place (a new change number: indexes pick it up).
pub async fn set_place_status(tx: &mut Tx, id: i64, status: &str) -> Result<(), sqlx::Error> {
    let seq = next_seq(tx).await?;
    tx.execute(
        query("UPDATE dir_places SET status = $1, seq = $2, updated_at = $3 WHERE id = $4")
            .bind(status)
            .bind(seq)
            .bind(Utc::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

/// A place by the id of its HSDS service or service_at_location.
pub async fn place_by_hsds_id(
    db: &Db,
    column: HsdsId,
    id: &str,
) -> Result<Option<PlaceRow>, sqlx::Error> {
    let c = match column {
        HsdsId::Service => "service_uuid",
        HsdsId::ServiceAtLocation => "sal_uuid",
    };
    db.fetch_optional(
        query(format!(
            "SELECT {PLACE_COLUMNS} FROM dir_places p WHERE p.{c} = $1"
        ))
        .bind(id),
    )
    .await
}

#[derive(Debug, Clone, Copy)]
pub enum HsdsId {
    Service,
    ServiceAtLocation,
}

pub async fn place_by_uuid(db: &Db, uuid: &str) -> Result<Option<PlaceRow>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {PLACE_COLUMNS} FROM dir_places p WHERE p.uuid = $1"
        ))
        .bind(uuid),
    )
    .await
}

pub async fn place_by_id(db: &Db, id: i64) -> Result<Option<PlaceRow>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {PLACE_COLUMNS} FROM dir_places p WHERE p.id = $1"
        ))
        .bind(id),
    )
    .await
}

/// Which verified places to list (HSDS `/services`).
#[derive(Debug, Default, Clone)]
pub struct PlaceFilter {
    pub search: Option<String>,
    pub kind: Option<String>,
    pub organization_id: Option<i64>,
    pub modified_after: Option<DateTime<Utc>>,
    pub status: Option<&'static str>,
    /// Only these places (those near a point, from the search index).
    pub ids: Option<Vec<i64>>,
}

fn place_where(select: &str, f: &PlaceFilter) -> Query {
    let mut q = query(format!("{select} FROM dir_places p WHERE 1 = 1"));
    if let Some(s) = f.status {
        q = q.push(" AND p.status = ").push_bind(s);
    }
    if let Some(k) = &f.kind {
        q = q.push(" AND p.kind = ").push_bind(k.as_str());
    }
    if let Some(o) = f.organization_id {
        q = q.push(" AND p.organization_id = ").push_bind(o);
    }
    if let Some(t) = f.modified_after {
        q = q.push(" AND p.updated_at > ").push_bind(t);
    }
    if let Some(ids) = &f.ids {
        q = q.push(" AND p.id IN (-1");
        for id in ids {
            q = q.push(", ").push_bind(*id);
        }
        q = q.push(")");
    }
    if let Some(s) = &f.search {
        let like = format!("%{}%", s.to_lowercase().replace(['%', '_'], ""));
        q = q
            .push(" AND (LOWER(p.name) LIKE ")
            .push_bind(like.clone())
            .push(" OR LOWER(p.description) LIKE ")
            .push_bind(like.clone())
            .push(" OR LOWER(p.address) LIKE ")
            .push_bind(like)
            .push(")");
    }
    q
}

pub async fn places(
    db: &Db,
    f: &PlaceFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<PlaceRow>, i64), sqlx::Error> {
    let total = db.scalar(place_where("SELECT COUNT(*)", f)).await?;
    let rows = db
        .fetch_all(
            place_where(&format!("SELECT {PLACE_COLUMNS}"), f)
                .push(" ORDER BY p.name, p.id LIMIT ")
                .push_bind(limit)
                .push(" OFFSET ")
                .push_bind(offset),
        )
        .await?;
    Ok((rows, total))
}

/// The verified places of the kinds a department owns, by name.
pub async fn verified_places_of_department(
    db: &Db,
    department_id: i64,
) -> Result<Vec<PlaceRow>, sqlx::Error> {
    db.fetch_all(
        query(format!(
            "SELECT {PLACE_COLUMNS} FROM dir_places p JOIN dir_kinds k ON k.code = p.kind \
             WHERE k.department_id = $1 AND p.status = 'verified' ORDER BY p.name, p.id"
        ))
        .bind(department_id),
    )
    .await
}

/// The ids of every place `f` lets through (to narrow what the search index found near a point).
pub async fn place_ids(db: &Db, f: &PlaceFilter) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = db.fetch_all(place_where("SELECT p.id", f)).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Places of `kind` (any status but rejected) within `radius_m`: `(id, metres)`, nearest first.
pub async fn places_near(
    db: &Db,
    kind: &str,
    lat: f64,
    long: f64,
    radius_m: f64,
) -> Result<Vec<(i64, f64)>, sqlx::Error> {
    let (s, n, w, e) = crate::platform::geo::bounding_box(lat, long, radius_m);
    let rows: Vec<(i64, f64, f64)> = db
        .fetch_all(
            query(
                "SELECT id, lat, long FROM dir_places WHERE kind = $1 AND status <> 'rejected' \
                 AND lat BETWEEN $2 AND $3 AND long BETWEEN $4 AND $5",
            )
            .bind(kind)
            .bind(s)
            .bind(n)
            .bind(w)
            .bind(e),
        )
        .await?;
    let mut out: Vec<(i64, f64)> = rows
        .into_iter()
        .map(|(id, la, lo)| (id, crate::platform::geo::haversine_m(lat, long, la, lo)))
        .filter(|(_, m)| *m <= radius_m)
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Providers

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct ProviderRow {
    pub id: i64,
    pub uuid: String,
    pub place_id: i64,
    pub name: String,
    pub title: String,
    pub attributes: String,
    pub hours: String,
    pub updated_at: DateTime<Utc>,
}

impl ProviderRow {
    pub fn attributes(&self) -> BTreeMap<String, serde_json::Value> {
        serde_json::from_str(&self.attributes).unwrap_or_default()
    }
    pub fn hours(&self) -> Vec<Hours> {
        serde_json::from_str(&self.hours).unwrap_or_default()
    }
}

pub async fn insert_provider(
    tx: &mut Tx,
    place_id: i64,
    name: &str,
    title: &str,
    attributes: &BTreeMap<String, serde_json::Value>,
    hours: &[Hours],
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        query(
            "INSERT INTO dir_providers (uuid, place_id, name, title, attributes, hours, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(place_id)
        .bind(name)
        .bind(title)
        .bind(serde_json::to_string(attributes).expect("serialise"))
        .bind(serde_json::to_string(hours).expect("serialise"))
        .bind(Utc::now()),
    )
    .await
}

pub async fn providers_of(db: &Db, place_ids: &[i64]) -> Result<Vec<ProviderRow>, sqlx::Error> {
    if place_ids.is_empty() {
        return Ok(vec![]);
    }
    let mut q = query(
        "SELECT id, uuid, place_id, name, title, attributes, hours, updated_at FROM dir_providers WHERE place_id IN (",
    );
    q = q.push_binds(place_ids);
    db.fetch_all(q.push(") ORDER BY place_id, name")).await
}

pub async fn provider_by_uuid(db: &Db, uuid: &str) -> Result<Option<ProviderRow>, sqlx::Error> {
    db.fetch_optional(
        query("SELECT id, uuid, place_id, name, title, attributes, hours, updated_at FROM dir_providers WHERE uuid = $1")
            .bind(uuid),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Reviews

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct ReviewRow {
    pub id: i64,
    pub subject: String,
    pub place_id: i64,
    pub stars: i64,
    pub comment: String,
    pub photo_sha256: Option<String>,
    pub reviewer_phone: String,
    pub reviewer_name: String,
    pub status: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

const REVIEW_SELECT: &str = "SELECT r.id, r.subject, r.place_id, r.stars, r.comment, \
    (SELECT ph.sha256 FROM photos ph WHERE ph.id = r.photo_id) AS photo_sha256, r.reviewer_phone, \
    r.reviewer_name, r.status, r.reason, r.created_at FROM dir_reviews r";

/// Has this phone reviewed this subject since `since` (hidden reviews count too)?
pub async fn reviewed_since(
    tx: &mut Tx,
    phone: &str,
    subject: &str,
    since: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n: i64 = tx
        .scalar(
            query("SELECT COUNT(*) FROM dir_reviews WHERE reviewer_phone = $1 AND subject = $2 AND created_at > $3")
                .bind(phone)
                .bind(subject)
                .bind(since),
        )
        .await?;
    Ok(n > 0)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_review(
    tx: &mut Tx,
    subject: &str,
    place_id: i64,
    stars: i64,
    comment: &str,
    photo_id: Option<i64>,
    phone: &str,
    name: &str,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        query(
            "INSERT INTO dir_reviews (subject, place_id, stars, comment, photo_id, reviewer_phone, reviewer_name, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'visible', $8) RETURNING id",
        )
        .bind(subject)
        .bind(place_id)
        .bind(stars)
        .bind(comment)
        .bind(photo_id)
        .bind(phone)
        .bind(name)
        .bind(Utc::now()),
    )
    .await
}

/// Average stars and count of the visible reviews of each subject: always computed from the
/// reviews themselves, so a hidden review leaves every average at once.
pub async fn ratings(
    db: &Db,
    subjects: &[String],
) -> Result<HashMap<String, (f64, i64)>, sqlx::Error> {
    if subjects.is_empty() {
        return Ok(HashMap::new());
    }
    let mut q = query(
        "SELECT subject, CAST(SUM(stars) AS BIGINT), COUNT(*) FROM dir_reviews WHERE status = 'visible' AND subject IN (",
    );
    q = q.push_binds(subjects);
    let rows: Vec<(String, i64, i64)> = db.fetch_all(q.push(") GROUP BY subject")).await?;
    Ok(rows
        .into_iter()
        .map(|(s, sum, n)| (s, (sum as f64 / n as f64, n)))
        .collect())
}

pub async fn reviews_of(db: &Db, subject: &str, limit: i64) -> Result<Vec<ReviewRow>, sqlx::Error> {
    db.fetch_all(
        query(format!("{REVIEW_SELECT} WHERE r.subject = $1 AND r.status = 'visible' ORDER BY r.id DESC LIMIT $2"))
            .bind(subject)
            .bind(limit),
    )
    .await
}

/// Reviews for moderation, newest first, of the given places' kinds (`None`: all).
pub async fn recent_reviews(
    db: &Db,
    kinds: Option<&[String]>,
    limit: i64,
) -> Result<Vec<ReviewRow>, sqlx::Error> {
    let mut q = query(format!("{REVIEW_SELECT} WHERE 1 = 1"));
    if let Some(kinds) = kinds {
        if kinds.is_empty() {
            return Ok(vec![]);
        }
        q = q.push(" AND r.place_id IN (SELECT id FROM dir_places WHERE kind IN (");
        q = q.push_binds(kinds);
        q = q.push("))");
    }
    db.fetch_all(q.push(" ORDER BY r.id DESC LIMIT ").push_bind(limit))
        .await
}

pub async fn review(db: &Db, id: i64) -> Result<Option<ReviewRow>, sqlx::Error> {
    db.fetch_optional(query(format!("{REVIEW_SELECT} WHERE r.id = $1")).bind(id))
        .await
}

pub async fn set_review_status(
    tx: &mut Tx,
    id: i64,
    status: &str,
    reason: &str,
    actor: &str,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE dir_reviews SET status = $1, reason = $2, moderated_by = $3, moderated_at = $4 WHERE id = $5")
            .bind(status)
            .bind(reason)
            .bind(actor)
            .bind(Utc::now())
            .bind(id),
    )
    .await?;
    Ok(())
}

/// Suggestions waiting for staff, of the given kinds (`None`: all), oldest first.
pub async fn pending_places(
    db: &Db,
    kinds: Option<&[String]>,
) -> Result<Vec<PlaceRow>, sqlx::Error> {
    let mut q = query(format!(
        "SELECT {PLACE_COLUMNS} FROM dir_places p WHERE p.status = 'pending'"
    ));
    if let Some(kinds) = kinds {
        if kinds.is_empty() {
            return Ok(vec![]);
        }
        q = q.push(" AND p.kind IN (");
        q = q.push_binds(kinds);
        q = q.push(")");
    }
    db.fetch_all(q.push(" ORDER BY p.id LIMIT 200")).await
}
