//! Service packs: a department's services as data, in TOML. A pack may hold districts,
//! departments and report services; loading it creates or updates each (by slug or code), in
//! one transaction, and is recorded so that the demo packs load only once.
//!
//! ```toml
//! [pack]
//! name = "pesco"
//! version = 1
//!
//! [[department]]
//! slug = "pesco"
//! name = { en = "…", ur = "…", ps = "…" }
//!
//! [[reports.service]]
//! code = "kunda"
//! department = "pesco"
//! name = { en = "…", ur = "…", ps = "…" }
//! minutes_saved = 45
//! response_hours = 72
//! [[reports.service.attribute]]
//! code = "premises"
//! datatype = "singlevaluelist"
//! …
//! ```

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::platform::db::{query, Db};
use crate::platform::i18n::Text3;
use crate::platform::{audit, org};
use crate::reports::model::{Attribute, RichStatus, ServiceCode};
use crate::reports::store::{upsert_service, ServiceSpec};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    pub pack: PackInfo,
    #[serde(default)]
    pub district: Vec<DistrictSpec>,
    #[serde(default)]
    pub department: Vec<DepartmentSpec>,
    #[serde(default)]
    pub reports: ReportsSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackInfo {
    pub name: String,
    pub version: i64,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictSpec {
    pub slug: String,
    pub name: Text3,
    pub division: String,
    pub hq_lat: f64,
    pub hq_long: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentSpec {
    pub slug: String,
    pub name: Text3,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsSection {
    #[serde(default)]
    pub service: Vec<ReportServiceSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportServiceSpec {
    pub code: ServiceCode,
    pub department: String,
    pub name: Text3,
    #[serde(default)]
    pub description: Text3,
    #[serde(default)]
    pub group: Text3,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub icon: String,
    /// SMS keywords per language: `sms = { en = ["KUNDA"], ur = ["کنڈا"], ps = ["کونډه"] }`.
    #[serde(default)]
    pub sms: crate::reports::model::SmsKeywords,
    /// Government time one report saves (a visit or phone call avoided), for the impact figures.
    pub minutes_saved: i64,
    /// When the department promises a response.
    pub response_hours: i64,
    /// `false`: reports are not listed publicly (complaints about people, rights violations).
    #[serde(default = "yes")]
    pub public: bool,
    #[serde(default = "yes")]
    pub active: bool,
    /// Default notes shown with a status (`open`, `fixed`, …).
    #[serde(default)]
    pub status_notes: BTreeMap<String, Text3>,
    #[serde(default)]
    pub attribute: Vec<Attribute>,
}

fn yes() -> bool {
    true
}

impl Pack {
    pub fn parse(text: &str) -> anyhow::Result<Pack> {
        let pack: Pack = toml::from_str(text)?;
        pack.check()?;
        Ok(pack)
    }

    /// Everything that can be checked without the database.
    fn check(&self) -> anyhow::Result<()> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        anyhow::ensure!(
            name_ok(&self.pack.name),
            "pack name {:?}: use 1-64 of a-z, 0-9 and -",
            self.pack.name
        );
        for d in &self.district {
            anyhow::ensure!(
                name_ok(&d.slug),
                "district slug {:?}: use a-z, 0-9 and -",
                d.slug
            );
            anyhow::ensure!(
                crate::platform::geo::valid_lat(d.hq_lat)
                    && crate::platform::geo::valid_long(d.hq_long),
                "district {}: hq_lat/hq_long out of range",
                d.slug
            );
        }
        for d in &self.department {
            anyhow::ensure!(
                name_ok(&d.slug),
                "department slug {:?}: use a-z, 0-9 and -",
                d.slug
            );
            anyhow::ensure!(
                !d.name.en.is_empty(),
                "department {}: name.en is required",
                d.slug
            );
        }
        let mut codes = std::collections::HashSet::new();
        let mut keywords = std::collections::HashMap::new();
        for s in &self.reports.service {
            let code = s.code.as_str();
            anyhow::ensure!(codes.insert(code), "service {code} appears twice");
            for (_, kw) in s.sms.all() {
                let key = kw.to_lowercase();
                anyhow::ensure!(
                    !key.is_empty() && !key.contains(char::is_whitespace),
                    "service {code}: SMS keyword {kw:?} must be one word"
                );
                anyhow::ensure!(
                    !crate::channels::sms::STATUS_KEYWORDS.contains(&key.as_str()),
                    "service {code}: SMS keyword {kw:?} is the status keyword"
                );
                if let Some(other) = keywords.insert(key, code) {
                    anyhow::ensure!(
                        other == code,
                        "SMS keyword {kw:?} belongs to both {other} and {code}"
                    );
                }
            }
            anyhow::ensure!(!s.name.en.is_empty(), "service {code}: name.en is required");
            anyhow::ensure!(
                s.minutes_saved >= 0,
                "service {code}: minutes_saved cannot be negative"
            );
            anyhow::ensure!(
                (1..=24 * 365).contains(&s.response_hours),
                "service {code}: response_hours must be 1 to 8760"
            );
            let mut attr_codes = std::collections::HashSet::new();
            for a in &s.attribute {
                a.check()
                    .map_err(|e| anyhow::anyhow!("service {code}: {e}"))?;
                anyhow::ensure!(
                    attr_codes.insert(&a.code),
                    "service {code}: attribute {} appears twice",
                    a.code
                );
            }
            for status in s.status_notes.keys() {
                anyhow::ensure!(
                    RichStatus::parse(status).is_some(),
                    "service {code}: status_notes.{status} is not a status"
                );
            }
        }
        Ok(())
    }
}

pub struct Loaded {
    pub name: String,
    pub departments: usize,
    pub services: usize,
    pub districts: usize,
}

/// Load (create or update) everything in a pack, in one transaction.
pub async fn load(db: &Db, text: &str, actor: &str) -> anyhow::Result<Loaded> {
    let pack = Pack::parse(text)?;
    let mut tx = db.begin().await?;
    for d in &pack.district {
        org::upsert_district(
            &mut tx,
            &d.slug,
            &d.name,
            &d.division,
            (d.hq_lat, d.hq_long),
        )
        .await?;
    }
    let mut departments: HashMap<String, i64> = HashMap::new();
    for d in &pack.department {
        let id = org::upsert_department(&mut tx, &d.slug, &d.name).await?;
        departments.insert(d.slug.clone(), id);
    }
    for s in &pack.reports.service {
        let department_id = match departments.get(&s.department) {
            Some(id) => *id,
            None => tx
                .fetch_optional::<(i64,)>(
                    query("SELECT id FROM departments WHERE slug = $1").bind(&s.department),
                )
                .await?
                .map(|(id,)| id)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "service {}: unknown department {:?}: add a [[department]] section",
                        s.code.as_str(),
                        s.department
                    )
                })?,
        };
        upsert_service(
            &mut tx,
            &ServiceSpec {
                code: s.code.as_str(),
                department_id,
                name: &s.name,
                description: &s.description,
                group: &s.group,
                keywords: s.keywords.join(","),
                sms_keywords: &s.sms,
                icon: &s.icon,
                attributes: &s.attribute,
                status_notes: &s.status_notes,
                minutes_saved: s.minutes_saved,
                response_hours: s.response_hours,
                public: s.public,
                active: s.active,
            },
        )
        .await?;
    }
    let sha = hex::encode(Sha256::digest(text.as_bytes()));
    tx.execute(
        query(
            "INSERT INTO packs_loaded (name, version, sha256, loaded_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, loaded_at = excluded.loaded_at",
        )
        .bind(&pack.pack.name)
        .bind(pack.pack.version)
        .bind(sha)
        .bind(Utc::now()),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        "pack.load",
        "pack",
        &pack.pack.name,
        serde_json::json!({"version": pack.pack.version, "services": pack.reports.service.len()}),
    )
    .await?;
    tx.commit().await?;
    Ok(Loaded {
        name: pack.pack.name,
        departments: pack.department.len(),
        services: pack.reports.service.len(),
        districts: pack.district.len(),
    })
}

/// The demo packs, built into the binary: the programme's own systems.
pub const DEMO_PACKS: &[(&str, &str)] = &[
    (
        "pesco-electricity-theft",
        include_str!("../packs/pesco-electricity-theft.toml"),
    ),
    (
        "kp-traffic-police",
        include_str!("../packs/kp-traffic-police.toml"),
    ),
    (
        "wssp-water-sanitation",
        include_str!("../packs/wssp-water-sanitation.toml"),
    ),
    (
        "human-rights-complaints",
        include_str!("../packs/human-rights-complaints.toml"),
    ),
];

/// Load each demo pack that has never been loaded (a restart loads nothing twice).
pub async fn load_demo(db: &Db) -> anyhow::Result<()> {
    for (name, text) in DEMO_PACKS {
        let seen: Option<(String,)> = db
            .fetch_optional(query("SELECT name FROM packs_loaded WHERE name = $1").bind(*name))
            .await?;
        if seen.is_none() {
            let loaded = load(db, text, "system:demo").await?;
            tracing::info!(pack = %loaded.name, services = loaded.services, "demo pack loaded");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_packs_parse_and_are_named_after_their_files() {
        for (name, text) in DEMO_PACKS {
            let pack = Pack::parse(text).unwrap_or_else(|e| panic!("{name}: {e:#}"));
            assert_eq!(&pack.pack.name, name);
            assert!(!pack.reports.service.is_empty());
            for s in &pack.reports.service {
                assert!(
                    !s.name.ur.is_empty() && !s.name.ps.is_empty(),
                    "{} needs Urdu and Pashto names",
                    s.code.as_str()
                );
                for a in &s.attribute {
                    for v in &a.values {
                        assert!(
                            !v.name.ur.is_empty() && !v.name.ps.is_empty(),
                            "{}/{}/{}",
                            s.code.as_str(),
                            a.code,
                            v.key
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn mistakes_are_named() {
        let bad = r#"
[pack]
name = "x"
version = 1
[[reports.service]]
code = "a"
department = "d"
name = { en = "A" }
minutes_saved = 1
response_hours = 24
[[reports.service.attribute]]
code = "kind"
datatype = "singlevaluelist"
description = { en = "Kind" }
"#;
        let err = Pack::parse(bad).unwrap_err().to_string();
        assert!(err.contains("needs values"), "{err}");
        assert!(Pack::parse("[pack]\nname = \"Bad Name\"\nversion = 1\n").is_err());
    }
}
