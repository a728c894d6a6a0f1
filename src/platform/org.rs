//! Departments and districts: who owns a service, and where a citizen is.

use chrono::Utc;
use serde::Serialize;

use super::db::{query, Db, Tx};
use super::geo;
use super::i18n::{Lang, Text3};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct District {
    pub slug: String,
    pub name_en: String,
    pub name_ur: String,
    pub name_ps: String,
    pub division: String,
    pub hq_lat: f64,
    pub hq_long: f64,
}

impl District {
    /// The name in `lang`, or the English one where the pack has none in it.
    pub fn name(&self, lang: Lang) -> &str {
        let own = match lang {
            Lang::En => &self.name_en,
            Lang::Ur => &self.name_ur,
            Lang::Ps => &self.name_ps,
        };
        if own.is_empty() {
            &self.name_en
        } else {
            own
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Department {
    pub id: i64,
    pub slug: String,
    pub name_en: String,
    pub name_ur: String,
    pub name_ps: String,
}

impl Department {
    pub fn name(&self) -> Text3 {
        Text3 {
            en: self.name_en.clone(),
            ur: self.name_ur.clone(),
            ps: self.name_ps.clone(),
        }
    }
}

pub async fn districts(db: &Db) -> Result<Vec<District>, sqlx::Error> {
    db.fetch_all(query(
        "SELECT slug, name_en, name_ur, name_ps, division, hq_lat, hq_long FROM districts ORDER BY slug",
    ))
    .await
}

pub async fn district(db: &Db, slug: &str) -> Result<Option<District>, sqlx::Error> {
    db.fetch_optional(
        query("SELECT slug, name_en, name_ur, name_ps, division, hq_lat, hq_long FROM districts WHERE slug = $1")
            .bind(slug),
    )
    .await
}

/// The district whose headquarters is nearest to a point, if one is within `max_m`. This is an
/// approximation (no boundary polygons yet): good enough to route a report, and staff can correct it.
pub fn nearest_district(
    districts: &[District],
    lat: f64,
    long: f64,
    max_m: f64,
) -> Option<&District> {
    districts
        .iter()
        .map(|d| (geo::haversine_m(lat, long, d.hq_lat, d.hq_long), d))
        .filter(|(m, _)| *m <= max_m)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, d)| d)
}

pub async fn upsert_district(
    tx: &mut Tx,
    slug: &str,
    name: &Text3,
    division: &str,
    hq: (f64, f64),
) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO districts (slug, name_en, name_ur, name_ps, division, hq_lat, hq_long) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (slug) DO UPDATE SET name_en = excluded.name_en, name_ur = excluded.name_ur, \
             name_ps = excluded.name_ps, division = excluded.division, hq_lat = excluded.hq_lat, hq_long = excluded.hq_long",
        )
        .bind(slug)
        .bind(&name.en)
        .bind(&name.ur)
        .bind(&name.ps)
        .bind(division)
        .bind(hq.0)
        .bind(hq.1),
    )
    .await?;
    Ok(())
}

const DEPARTMENT_COLUMNS: &str = "id, slug, name_en, name_ur, name_ps";

pub async fn departments(db: &Db) -> Result<Vec<Department>, sqlx::Error> {
    db.fetch_all(query(format!(
        "SELECT {DEPARTMENT_COLUMNS} FROM departments ORDER BY slug"
    )))
    .await
}

pub async fn department_by_slug(db: &Db, slug: &str) -> Result<Option<Department>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE slug = $1"
        ))
        .bind(slug),
    )
    .await
}

pub async fn department_by_id(db: &Db, id: i64) -> Result<Option<Department>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE id = $1"
        ))
        .bind(id),
    )
    .await
}

/// Create or rename a department; returns its id.
pub async fn upsert_department(tx: &mut Tx, slug: &str, name: &Text3) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    tx.scalar(
        query(
            "INSERT INTO departments (slug, name_en, name_ur, name_ps, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (slug) DO UPDATE SET name_en = excluded.name_en, name_ur = excluded.name_ur, \
             name_ps = excluded.name_ps, updated_at = excluded.updated_at RETURNING id",
        )
        .bind(slug)
        .bind(&name.en)
        .bind(&name.ur)
        .bind(&name.ps)
        .bind(now),
    )
    .await
}
