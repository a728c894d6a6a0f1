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
use crate::platform::questions::Attribute;
use crate::platform::{audit, org};
use crate::reports::model::{RichStatus, ServiceCode};
use crate::reports::{upsert_service, ServiceSpec};

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
    #[serde(default)]
    pub directory: DirectorySection,
    #[serde(default)]
    pub benefits: BenefitsSection,
    #[serde(default)]
    pub cases: CasesSection,
    #[serde(default)]
    pub registers: RegistersSection,
    #[serde(default)]
    pub content: ContentSection,
    #[serde(default)]
    pub theory: TheorySection,
    #[serde(default)]
    pub campaigns: crate::campaigns::pack::Section,
}

/// `[theory]`: question banks for theory tests.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TheorySection {
    #[serde(default)]
    pub bank: Vec<crate::quiz::BankSpec>,
}

/// `[content]`: department information pages.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentSection {
    #[serde(default)]
    pub page: Vec<crate::content::PageSpec>,
}

/// `[registers]`: registers the public may look up.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistersSection {
    #[serde(default)]
    pub register: Vec<crate::registers::model::RegisterSpec>,
}

/// `[cases]`: multi-department workflows.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesSection {
    #[serde(default)]
    pub workflow: Vec<crate::cases::workflow::Workflow>,
}

/// `[benefits]`: funds people apply to.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenefitsSection {
    #[serde(default)]
    pub fund: Vec<crate::benefits::model::FundSpec>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
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

#[derive(Debug, Deserialize, serde::Serialize)]
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

#[derive(Debug, Deserialize, serde::Serialize)]
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
    pub sms: crate::platform::questions::SmsKeywords,
    /// Government time one report saves (a visit or phone call avoided), for the impact figures.
    pub minutes_saved: i64,
    /// When the department promises a response.
    pub response_hours: i64,
    /// Photos a report may carry, the reporter's later ones included (1 to 10).
    #[serde(default = "three")]
    pub max_photos: i64,
    /// How long after "fixed" the reporter is asked whether it is (0 to 8760; four weeks unless
    /// said, as FixMyStreet does).
    #[serde(default = "four_weeks")]
    pub ask_fixed_after_hours: i64,
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

fn three() -> i64 {
    3
}

fn four_weeks() -> i64 {
    24 * 28
}

/// `[directory]`: kinds of places, organizations, and places (with providers).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySection {
    #[serde(default)]
    pub kind: Vec<KindSpec>,
    #[serde(default)]
    pub organization: Vec<OrgSpec>,
    #[serde(default)]
    pub place: Vec<PlaceSpec>,
}

#[derive(Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct KindSpec {
    pub code: String,
    pub department: Option<String>,
    pub name: Text3,
    #[serde(default)]
    pub icon: String,
    #[serde(default)]
    pub attribute: Vec<crate::directory::model::KindAttr>,
    #[serde(default)]
    pub provider_attribute: Vec<crate::directory::model::KindAttr>,
    #[serde(default)]
    pub sms: crate::platform::questions::SmsKeywords,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSpec {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub email: Option<String>,
    pub website: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceSpec {
    pub kind: String,
    pub organization: Option<String>,
    /// `"Public toilet, Firdous Chowk"`, or with its Urdu and Pashto: `{ en = …, ur = …, ps = … }`.
    pub name: Words,
    #[serde(default)]
    pub description: String,
    pub lat: f64,
    pub long: f64,
    #[serde(default)]
    pub address: Words,
    pub district: Option<String>,
    pub phone: Option<String>,
    /// Attribute values as text (`wheelchair = "yes"`, `gender = "women"`).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// `["MO-FR 09:00-17:00", "SA 09:00-13:00"]`
    #[serde(default)]
    pub hours: Vec<String>,
    #[serde(default)]
    pub provider: Vec<ProviderSpec>,
}

/// A name as a pack gives it: one text (as registered), or the three languages.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Words {
    One(String),
    Three(Text3),
}

impl Default for Words {
    fn default() -> Self {
        Words::One(String::new())
    }
}

impl Words {
    pub fn text3(&self) -> Text3 {
        match self {
            Words::One(s) => Text3 {
                en: s.clone(),
                ..Text3::default()
            },
            Words::Three(t) => t.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSpec {
    pub name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub hours: Vec<String>,
}

impl Pack {
    pub fn parse(text: &str) -> anyhow::Result<Pack> {
        let pack: Pack = toml::from_str(text)?;
        pack.check()?;
        Ok(pack)
    }

    /// The checks every reporting service passes, from a pack or from the administration pages.
    pub fn check_services(services: &[ReportServiceSpec]) -> anyhow::Result<()> {
        let mut codes = std::collections::HashSet::new();
        let mut keywords = std::collections::HashMap::new();
        for s in services {
            let code = s.code.as_str();
            anyhow::ensure!(codes.insert(code), "service {code} appears twice");
            for (_, kw) in s.sms.all() {
                let key = kw.to_lowercase();
                anyhow::ensure!(
                    !key.is_empty() && !key.contains(char::is_whitespace),
                    "service {code}: SMS keyword {kw:?} must be one word"
                );
                anyhow::ensure!(
                    !crate::platform::sms::keyword_is_reserved(&key),
                    "service {code}: SMS keyword {kw:?} is kept by the SMS channel (STATUS, GRANT, FOLLOW, STOP, a digit)"
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
            anyhow::ensure!(
                (1..=10).contains(&s.max_photos),
                "service {code}: max_photos must be 1 to 10"
            );
            anyhow::ensure!(
                (0..=24 * 365).contains(&s.ask_fixed_after_hours),
                "service {code}: ask_fixed_after_hours must be 0 to 8760"
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
        Pack::check_services(&self.reports.service)?;
        let mut banks = std::collections::HashSet::new();
        for b in &self.theory.bank {
            anyhow::ensure!(banks.insert(&b.code), "bank {} appears twice", b.code);
            b.check().map_err(|e| anyhow::anyhow!(e))?;
        }
        let mut pages = std::collections::HashSet::new();
        for p in &self.content.page {
            anyhow::ensure!(pages.insert(&p.code), "page {} appears twice", p.code);
            p.check().map_err(|e| anyhow::anyhow!(e))?;
        }
        let mut registers = std::collections::HashSet::new();
        for r in &self.registers.register {
            anyhow::ensure!(
                registers.insert(&r.code),
                "register {} appears twice",
                r.code
            );
            r.check().map_err(|e| anyhow::anyhow!(e))?;
        }
        let mut funds = std::collections::HashSet::new();
        for f in &self.benefits.fund {
            anyhow::ensure!(funds.insert(&f.code), "fund {} appears twice", f.code);
            f.check().map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(())
    }
}

#[derive(Debug)]
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
        let department_id = department_id(
            &mut tx,
            &departments,
            &s.department,
            &format!("service {}", s.code.as_str()),
        )
        .await?;
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
                max_photos: s.max_photos,
                ask_fixed_after_hours: s.ask_fixed_after_hours,
                public: s.public,
                active: s.active,
            },
        )
        .await?;
    }
    load_directory(&mut tx, &pack.directory, &departments).await?;
    if !pack.cases.workflow.is_empty() {
        // A workflow is checked against the departments there will be, and refused whole.
        let mut known: std::collections::HashSet<String> = departments.keys().cloned().collect();
        let existing: Vec<(String,)> = tx.fetch_all(query("SELECT slug FROM departments")).await?;
        known.extend(existing.into_iter().map(|(s,)| s));
        let others = crate::cases::stored(&mut tx).await?;
        let problems = crate::cases::check_all(&pack.cases.workflow, &known, &others);
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            anyhow::bail!(
                "the pack's workflows have {} problems (run `khidmat workflow check`):\n{}",
                problems.len(),
                list.join("\n")
            );
        }
        for w in &pack.cases.workflow {
            crate::cases::upsert_workflow(&mut tx, w).await?;
        }
    }
    for f in &pack.benefits.fund {
        let id = department_id(
            &mut tx,
            &departments,
            &f.department,
            &format!("fund {}", f.code),
        )
        .await?;
        crate::benefits::upsert_fund(&mut tx, f, id, actor).await?;
    }
    for r in &pack.registers.register {
        let id = department_id(
            &mut tx,
            &departments,
            &r.department,
            &format!("register {}", r.code),
        )
        .await?;
        crate::registers::upsert(&mut tx, r, id).await?;
    }
    for p in &pack.content.page {
        let id = department_id(
            &mut tx,
            &departments,
            &p.department,
            &format!("page {}", p.code),
        )
        .await?;
        crate::content::upsert(&mut tx, p, id).await?;
    }
    for b in &pack.theory.bank {
        let id = department_id(
            &mut tx,
            &departments,
            &b.department,
            &format!("bank {}", b.code),
        )
        .await?;
        crate::quiz::upsert(&mut tx, b, id).await?;
    }
    crate::campaigns::pack::load(&mut tx, &pack.campaigns, actor).await?;
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

/// The id of a department named by a pack: one the pack declares, or one already loaded.
async fn department_id(
    tx: &mut crate::platform::db::Tx,
    departments: &HashMap<String, i64>,
    slug: &str,
    what: &str,
) -> anyhow::Result<i64> {
    if let Some(id) = departments.get(slug) {
        return Ok(*id);
    }
    tx.fetch_optional::<(i64,)>(query("SELECT id FROM departments WHERE slug = $1").bind(slug))
        .await?
        .map(|(id,)| id)
        .ok_or_else(|| {
            anyhow::anyhow!("{what}: unknown department {slug:?}: add a [[department]] section")
        })
}

/// The directory part of a pack. A place already there (same kind and name within 5 m) is
/// left as it is, so loading a pack twice adds nothing.
async fn load_directory(
    tx: &mut crate::platform::db::Tx,
    d: &DirectorySection,
    departments: &HashMap<String, i64>,
) -> anyhow::Result<()> {
    use crate::directory::{model::Hours, store as dir};
    for k in &d.kind {
        let department_id = match &k.department {
            None => None,
            Some(slug) => {
                Some(department_id(tx, departments, slug, &format!("kind {}", k.code)).await?)
            }
        };
        dir::upsert_kind(
            tx,
            &k.code,
            department_id,
            &k.name,
            &k.icon,
            &k.attribute,
            &k.provider_attribute,
            &k.sms,
        )
        .await?;
    }
    let mut orgs: HashMap<String, i64> = HashMap::new();
    for o in &d.organization {
        let id = dir::upsert_org(
            tx,
            &o.slug,
            &o.name,
            &o.description,
            o.email.as_deref(),
            o.website.as_deref(),
        )
        .await?;
        orgs.insert(o.slug.clone(), id);
    }
    let kinds: HashMap<String, crate::directory::model::Kind> = {
        let rows: Vec<(String,)> = tx.fetch_all(query("SELECT code FROM dir_kinds")).await?;
        let mut m = HashMap::new();
        for (code,) in rows {
            let spec = d.kind.iter().find(|k| k.code == code);
            if let Some(k) = spec {
                m.insert(
                    code.clone(),
                    crate::directory::model::Kind {
                        code: code.clone(),
                        department_id: None,
                        name: k.name.clone(),
                        icon: k.icon.clone(),
                        attributes: k.attribute.clone(),
                        provider_attributes: k.provider_attribute.clone(),
                        sms_keywords: k.sms.clone(),
                    },
                );
            }
        }
        m
    };
    for p in &d.place {
        let kind = kinds.get(&p.kind).ok_or_else(|| {
            anyhow::anyhow!(
                "place {:?}: kind {:?} is not defined in this pack",
                p.name,
                p.kind
            )
        })?;
        let pairs: Vec<(String, String)> = p
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let (name, address) = (p.name.text3(), p.address.text3());
        let attributes = crate::directory::parse_attributes(kind, &pairs)
            .map_err(|e| anyhow::anyhow!("place {:?}: {}", name.en, e.message()))?;
        let hours: Vec<Hours> = p
            .hours
            .iter()
            .map(|h| Hours::parse_line(h))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("place {:?}: {e}", name.en))?;
        let (s, n, w, e) = crate::platform::geo::bounding_box(p.lat, p.long, 5.0);
        let exists: Option<(i64,)> = tx.fetch_optional(query(
            "SELECT id FROM dir_places WHERE kind = $1 AND name = $2 AND lat BETWEEN $3 AND $4 AND long BETWEEN $5 AND $6",
        ).bind(&p.kind).bind(&name.en).bind(s).bind(n).bind(w).bind(e)).await?;
        if let Some((id,)) = exists {
            // Already here: only the Urdu and Pashto it lacks are added.
            dir::fill_place_words(tx, id, &name, &address).await?;
            continue;
        }
        let organization_id = match &p.organization {
            None => None,
            Some(slug) => Some(match orgs.get(slug) {
                Some(id) => *id,
                None => dir::org_id_by_slug(tx, slug).await?.ok_or_else(|| {
                    anyhow::anyhow!("place {:?}: unknown organization {slug:?}", name.en)
                })?,
            }),
        };
        let id = dir::insert_place(
            tx,
            &dir::NewPlace {
                kind: &p.kind,
                organization_id,
                name: &name,
                description: &p.description,
                lat: p.lat,
                long: p.long,
                address: &address,
                district: p.district.as_deref(),
                phone: p.phone.as_deref(),
                attributes: &attributes,
                hours: &hours,
                status: "verified",
                suggested_by: None,
                possible_duplicate_of: None,
            },
        )
        .await?;
        for d in &p.provider {
            let pairs: Vec<(String, String)> = d
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let mut attrs = std::collections::BTreeMap::new();
            for (k, v) in &pairs {
                let a = kind
                    .provider_attributes
                    .iter()
                    .find(|a| &a.code == k)
                    .ok_or_else(|| anyhow::anyhow!("provider {:?}: no attribute {k:?}", d.name))?;
                attrs.insert(
                    k.clone(),
                    a.parse(v).ok_or_else(|| {
                        anyhow::anyhow!("provider {:?}: {v:?} is not a value of {k}", d.name)
                    })?,
                );
            }
            let hours: Vec<Hours> = d
                .hours
                .iter()
                .map(|h| Hours::parse_line(h))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("provider {:?}: {e}", d.name))?;
            dir::insert_provider(tx, id, &d.name, &d.title, &attrs, &hours).await?;
        }
    }
    Ok(())
}

/// The demo packs, built into the binary: the programme's own systems.
pub const DEMO_PACKS: &[(&str, &str)] = &[
    (
        "minorities-grants",
        include_str!("../packs/minorities-grants.toml"),
    ),
    (
        "excise-vehicle-seizure",
        include_str!("../packs/excise-vehicle-seizure.toml"),
    ),
    (
        "ngo-registration",
        include_str!("../packs/ngo-registration.toml"),
    ),
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
    (
        "peshawar-directory",
        include_str!("../packs/peshawar-directory.toml"),
    ),
    (
        "kp-innovation-programme",
        include_str!("../packs/kp-innovation-programme.toml"),
    ),
    (
        "kp-traffic-registers",
        include_str!("../packs/kp-traffic-registers.toml"),
    ),
    (
        "kp-driving-theory",
        include_str!("../packs/kp-driving-theory.toml"),
    ),
    ("kp-campaigns", include_str!("../packs/kp-campaigns.toml")),
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
            assert!(
                !pack.reports.service.is_empty()
                    || !pack.directory.kind.is_empty()
                    || !pack.benefits.fund.is_empty()
                    || !pack.cases.workflow.is_empty()
                    || !pack.registers.register.is_empty()
                    || !pack.theory.bank.is_empty()
                    || !pack.campaigns.policy.is_empty()
                    || !pack.department.is_empty(),
                "{name} is empty"
            );
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
