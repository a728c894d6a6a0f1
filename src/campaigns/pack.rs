//! `[campaigns]` in a service pack: the policy a deployment starts with, and organisations with
//! their projects (a demo's, or ones verified elsewhere and brought in). Loading a pack again
//! changes nothing that is already there: a policy is added only when it differs from the one in
//! force, an organisation is matched by its registration number, a project by its English title.

use chrono::{Duration, Utc};
use serde::Deserialize;

use super::{GoalKind, Mode};
use crate::platform::db::{query, Tx};
use crate::platform::i18n::Text3;
use crate::platform::personal::Phone;
use crate::platform::{audit, impact};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// The categories projects are filed under, in the order lists show them.
    #[serde(default)]
    pub category: Vec<CategorySpec>,
    #[serde(default)]
    pub policy: Vec<PolicySpec>,
    #[serde(default)]
    pub organisation: Vec<OrgSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    /// 1-40 of a-z, 0-9 and -: kept with each project and in the open data.
    pub code: String,
    pub name: Text3,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    /// `province` or a district's slug.
    pub jurisdiction: String,
    pub mode: String,
    pub basis: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgSpec {
    pub name: String,
    pub registration_number: String,
    #[serde(default)]
    pub tax_number: String,
    pub contact_name: String,
    pub email: String,
    /// Who signs in with this phone acts for the organisation.
    pub phone: String,
    #[serde(default)]
    pub website: String,
    pub district: String,
    #[serde(default)]
    pub about: String,
    #[serde(default)]
    pub project: Vec<ProjectSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    pub title: Text3,
    pub summary: Text3,
    pub story: Text3,
    pub category: String,
    pub goal_kind: String,
    /// Paisa for money, else a count.
    pub goal: i64,
    #[serde(default)]
    pub over_goal: bool,
    /// Pledges are taken for this many days from when the pack is loaded.
    pub days_open: i64,
    pub district: String,
    #[serde(default)]
    pub video_url: String,
    #[serde(default)]
    pub featured: bool,
}

pub async fn load(tx: &mut Tx, s: &Section, actor: &str) -> anyhow::Result<()> {
    for (position, c) in s.category.iter().enumerate() {
        anyhow::ensure!(
            !c.code.is_empty()
                && c.code.len() <= 40
                && c.code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "campaign category {:?}: use 1-40 of a-z, 0-9 and -",
            c.code
        );
        anyhow::ensure!(
            !c.name.en.trim().is_empty(),
            "campaign category {:?}: give its name in English at least",
            c.code
        );
        tx.execute(
            query(
                "INSERT INTO campaign_categories (code, name_en, name_ur, name_ps, position) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO UPDATE SET \
                 name_en = excluded.name_en, name_ur = excluded.name_ur, \
                 name_ps = excluded.name_ps, position = excluded.position",
            )
            .bind(&c.code)
            .bind(&c.name.en)
            .bind(&c.name.ur)
            .bind(&c.name.ps)
            .bind(position as i64),
        )
        .await?;
    }
    for p in &s.policy {
        let mode = Mode::parse(&p.mode).ok_or_else(|| {
            anyhow::anyhow!("campaigns policy {}: no mode {:?}", p.jurisdiction, p.mode)
        })?;
        let current: Option<(String, String)> = tx
            .fetch_optional(
                query("SELECT mode, basis FROM campaign_policies WHERE jurisdiction = $1 ORDER BY id DESC LIMIT 1")
                    .bind(&p.jurisdiction),
            )
            .await?;
        if current
            .as_ref()
            .is_some_and(|(m, b)| m == mode.as_str() && b == &p.basis)
        {
            continue;
        }
        tx.execute(
            query(
                "INSERT INTO campaign_policies (jurisdiction, mode, basis, set_by, set_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&p.jurisdiction)
            .bind(mode.as_str())
            .bind(&p.basis)
            .bind(actor)
            .bind(Utc::now()),
        )
        .await?;
        audit::record(
            tx,
            actor,
            "campaigns.policy",
            "jurisdiction",
            &p.jurisdiction,
            serde_json::json!({ "before": current.map(|(m, b)| serde_json::json!({"mode": m, "basis": b})), "after": {"mode": mode, "basis": p.basis} }),
        )
        .await?;
    }
    for o in &s.organisation {
        let phone = Phone::parse(&o.phone)
            .ok_or_else(|| anyhow::anyhow!("organisation {:?}: bad phone", o.name))?;
        let found: Option<(i64,)> = tx
            .fetch_optional(
                query("SELECT id FROM campaign_orgs WHERE registration_number = $1")
                    .bind(&o.registration_number),
            )
            .await?;
        let org_id = match found {
            Some((id,)) => id,
            None => {
                let owner = impact::key(&impact::Citizen::phone(&phone));
                let now = Utc::now();
                let (id,): (i64,) = tx
                    .fetch_one(
                        query(
                            "INSERT INTO campaign_orgs (name, registration_number, tax_number, contact_name, email, phone, \
                             website, district, about, owner, lang, email_verified_at, status, notes, reviewed_by, reviewed_at, created_at) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'ur', $11, 'verified', '', $12, $11, $11) RETURNING id",
                        )
                        .bind(&o.name)
                        .bind(&o.registration_number)
                        .bind(&o.tax_number)
                        .bind(&o.contact_name)
                        .bind(o.email.to_lowercase())
                        .bind(phone.e164())
                        .bind(&o.website)
                        .bind(&o.district)
                        .bind(&o.about)
                        .bind(owner)
                        .bind(now)
                        .bind(actor),
                    )
                    .await?;
                id
            }
        };
        for p in &o.project {
            let goal_kind = GoalKind::parse(&p.goal_kind).ok_or_else(|| {
                anyhow::anyhow!("project {:?}: no goal kind {:?}", p.title.en, p.goal_kind)
            })?;
            let known: Option<(String,)> = tx
                .fetch_optional(
                    query("SELECT code FROM campaign_categories WHERE code = $1").bind(&p.category),
                )
                .await?;
            anyhow::ensure!(
                known.is_some(),
                "project {:?}: no category {:?} (declare it as a [[campaigns.category]])",
                p.title.en,
                p.category
            );
            anyhow::ensure!(
                p.goal > 0,
                "project {:?}: the goal must be above zero",
                p.title.en
            );
            let title = serde_json::to_string(&p.title)?;
            let exists: Option<(i64,)> = tx
                .fetch_optional(
                    query("SELECT id FROM campaign_projects WHERE org_id = $1 AND title = $2")
                        .bind(org_id)
                        .bind(&title),
                )
                .await?;
            if exists.is_some() {
                continue;
            }
            let now = Utc::now();
            let deadline =
                (crate::platform::clock::today() + Duration::days(p.days_open)).to_string();
            tx.execute(
                query(
                    "INSERT INTO campaign_projects (org_id, title, summary, story, category, goal_kind, goal, over_goal, \
                     deadline, district, video_url, status, featured, created_at, published_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'published', $12, $13, $13)",
                )
                .bind(org_id)
                .bind(&title)
                .bind(serde_json::to_string(&p.summary)?)
                .bind(serde_json::to_string(&p.story)?)
                .bind(&p.category)
                .bind(goal_kind.as_str())
                .bind(p.goal)
                .bind(p.over_goal)
                .bind(deadline)
                .bind(&p.district)
                .bind(&p.video_url)
                .bind(p.featured)
                .bind(now),
            )
            .await?;
        }
    }
    Ok(())
}
