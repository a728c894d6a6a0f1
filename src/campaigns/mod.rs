//! Campaigns (CrowdDurshal's lesson): verified organisations present projects and collect pledges
//! of support (money, or help: volunteers and items), under a policy that an administrator sets
//! per jurisdiction, because the law decides what may run and the law changes.
//!
//! - `orgs`: registration (by a citizen signed in with their phone), e-mail verification, and
//!   staff verification with notes; only verified organisations publish.
//! - `projects`: drafts, staff review, publication, photos, updates, featured projects.
//! - `pledges`: a backer accepts the risk disclosure and pledges; the organisation accepts or
//!   declines; on acceptance both receive each other's contact by e-mail and SMS.
//! - here: the policy, and who may do what.
//!
//! Policy modes, weakest first: `disabled` (nothing shown), `help` (pledges of help only: projects
//! that seek volunteers or items), `interest` (money projects too, but an amount is an expression
//! of interest, not binding), `money` (pledges with amounts). A district's policy overrides the
//! province's; with no policy at all, campaigns are disabled. Changing the policy deletes nothing:
//! a project it does not allow is hidden with a notice, and returns when a policy allows it.

pub mod api;
pub mod orgs;
pub mod pack;
pub mod pledges;
pub mod projects;

/// This service's routes (its API; its pages are `web::campaigns`).
pub fn router() -> axum::Router<crate::platform::state::AppState> {
    api::router()
}

/// This service's part of the OpenAPI document, declared beside its handlers (api).
pub fn openapi() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    api::ApiDoc::openapi()
}

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::platform::audit;
use crate::platform::db::{query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::{Lang, Text3};
use crate::platform::identity::{Role, Staff};
use crate::platform::state::AppState;
use crate::t;

/// A category a project is filed under, as the campaigns pack declares it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Category {
    pub code: String,
    pub name: Text3,
}

/// The categories, in the order their pack gives them.
pub async fn categories(db: &Db) -> Result<Vec<Category>> {
    let rows: Vec<(String, String, String, String)> = db
        .fetch_all(query(
            "SELECT code, name_en, name_ur, name_ps FROM campaign_categories ORDER BY position, code",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|(code, en, ur, ps)| Category {
            code,
            name: Text3 { en, ur, ps },
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Disabled,
    Help,
    Interest,
    Money,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Disabled, Mode::Help, Mode::Interest, Mode::Money];

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Disabled => "disabled",
            Mode::Help => "help",
            Mode::Interest => "interest",
            Mode::Money => "money",
        }
    }

    /// What a pledge to a project seeking `goal` is under this mode; `None`: the project may not
    /// be shown at all.
    pub fn pledge_for(self, goal: GoalKind) -> Option<PledgeKind> {
        match (goal, self) {
            (_, Mode::Disabled) => None,
            (GoalKind::Money, Mode::Help) => None,
            (GoalKind::Money, Mode::Interest) => Some(PledgeKind::Interest),
            (GoalKind::Money, Mode::Money) => Some(PledgeKind::Money),
            (_, _) => Some(PledgeKind::Help),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GoalKind {
    /// An amount, in paisa.
    Money,
    Volunteers,
    Items,
}

impl GoalKind {
    pub fn parse(s: &str) -> Option<GoalKind> {
        match s {
            "money" => Some(GoalKind::Money),
            "volunteers" => Some(GoalKind::Volunteers),
            "items" => Some(GoalKind::Items),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GoalKind::Money => "money",
            GoalKind::Volunteers => "volunteers",
            GoalKind::Items => "items",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PledgeKind {
    /// An amount that binds the backer.
    Money,
    /// An amount as an expression of interest: nothing binds.
    Interest,
    /// People or items.
    Help,
}

impl PledgeKind {
    pub fn parse(s: &str) -> PledgeKind {
        match s {
            "money" => PledgeKind::Money,
            "interest" => PledgeKind::Interest,
            _ => PledgeKind::Help,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PledgeKind::Money => "money",
            PledgeKind::Interest => "interest",
            PledgeKind::Help => "help",
        }
    }
}

/// A policy set for a jurisdiction (`province` or a district's slug).
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub jurisdiction: String,
    pub mode: Mode,
    pub basis: String,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// The policies in force.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    pub province: Option<Policy>,
    pub districts: HashMap<String, Policy>,
}

impl Policies {
    /// The policy that governs `district`: its own, else the province's. `None`: no policy has
    /// ever been set, and campaigns are disabled.
    pub fn for_district(&self, district: &str) -> Option<&Policy> {
        self.districts.get(district).or(self.province.as_ref())
    }

    pub fn mode(&self, district: &str) -> Mode {
        self.for_district(district)
            .map(|p| p.mode)
            .unwrap_or(Mode::Disabled)
    }
}

type PolicyRow = (String, String, String, String, DateTime<Utc>);

fn policy(r: PolicyRow) -> Policy {
    Policy {
        jurisdiction: r.0,
        mode: Mode::parse(&r.1).unwrap_or(Mode::Disabled),
        basis: r.2,
        set_by: r.3,
        set_at: r.4,
    }
}

/// Every policy ever set, newest first.
pub async fn policy_history(db: &Db) -> Result<Vec<Policy>> {
    let rows: Vec<PolicyRow> = db
        .fetch_all(query(
            "SELECT jurisdiction, mode, basis, set_by, set_at FROM campaign_policies ORDER BY id DESC",
        ))
        .await?;
    Ok(rows.into_iter().map(policy).collect())
}

pub async fn policies(db: &Db) -> Result<Policies> {
    let mut out = Policies::default();
    // Oldest first, so the newest of each jurisdiction stays.
    for p in policy_history(db).await?.into_iter().rev() {
        if p.jurisdiction == "province" {
            out.province = Some(p);
        } else {
            out.districts.insert(p.jurisdiction.clone(), p);
        }
    }
    Ok(out)
}

/// What a staff member may do with campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Verifies organisations and reviews projects: the campaigns department's staff.
    Reviewer,
    /// Also sets the policy.
    Admin,
}

pub fn access(state: &AppState, staff: &Staff) -> Result<Access> {
    match staff.role_in(&state.config.campaigns_department) {
        Some(Role::Admin) => Ok(Access::Admin),
        Some(_) => Ok(Access::Reviewer),
        None => Err(Error::Forbidden(
            "campaigns are reviewed by the campaigns department's staff".into(),
        )),
    }
}

/// Set the policy of `jurisdiction` (administrators only), with the law or notification it rests
/// on. Nothing is deleted: projects it does not allow are hidden until one does.
pub async fn set_policy(
    state: &AppState,
    staff: &Staff,
    jurisdiction: &str,
    mode: &str,
    basis: &str,
    lang: Lang,
) -> Result<()> {
    if access(state, staff)? != Access::Admin {
        return Err(Error::Forbidden(
            "only an administrator sets the campaigns policy".into(),
        ));
    }
    let jurisdiction = jurisdiction.trim();
    if jurisdiction != "province"
        && !state
            .districts()
            .await?
            .iter()
            .any(|d| d.slug == jurisdiction)
    {
        return Err(Error::BadRequest(t!(
            lang,
            "err-unknown-district",
            district = jurisdiction
        )));
    }
    let mode =
        Mode::parse(mode.trim()).ok_or_else(|| Error::BadRequest(lang.t("campaign-err-mode")))?;
    let basis = crate::platform::form::text(lang, &lang.t("campaign-basis"), basis, 500)?;
    let before = policies(&state.db).await?;
    let before = if jurisdiction == "province" {
        before.province
    } else {
        before.districts.get(jurisdiction).cloned()
    };
    let mut tx = state.db.begin().await?;
    tx.execute(
        query(
            "INSERT INTO campaign_policies (jurisdiction, mode, basis, set_by, set_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(jurisdiction)
        .bind(mode.as_str())
        .bind(&basis)
        .bind(staff.actor())
        .bind(Utc::now()),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "campaigns.policy",
        "jurisdiction",
        jurisdiction,
        serde_json::json!({
            "before": before.map(|p| serde_json::json!({"mode": p.mode, "basis": p.basis})),
            "after": {"mode": mode, "basis": basis},
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_allows_what_it_says() {
        use GoalKind::*;
        assert_eq!(Mode::Disabled.pledge_for(Volunteers), None);
        assert_eq!(Mode::Help.pledge_for(Money), None);
        assert_eq!(Mode::Help.pledge_for(Items), Some(PledgeKind::Help));
        assert_eq!(Mode::Interest.pledge_for(Money), Some(PledgeKind::Interest));
        assert_eq!(Mode::Money.pledge_for(Money), Some(PledgeKind::Money));
        assert_eq!(Mode::Money.pledge_for(Volunteers), Some(PledgeKind::Help));
        for m in Mode::ALL {
            assert_eq!(Mode::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn a_district_policy_overrides_the_province() {
        let p = |j: &str, mode| Policy {
            jurisdiction: j.into(),
            mode,
            basis: "x".into(),
            set_by: "a".into(),
            set_at: Utc::now(),
        };
        let mut ps = Policies::default();
        assert_eq!(ps.mode("swat"), Mode::Disabled, "no policy: disabled");
        ps.province = Some(p("province", Mode::Help));
        ps.districts.insert("swat".into(), p("swat", Mode::Money));
        assert_eq!(ps.mode("swat"), Mode::Money);
        assert_eq!(ps.mode("peshawar"), Mode::Help);
    }
}
