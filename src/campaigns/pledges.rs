//! Pledges: a backer, signed in with their phone, accepts the risk disclosure and pledges an
//! amount (binding, or an expression of interest, as the policy says) or help, with their
//! contact. The organisation accepts or declines; on acceptance each side receives the other's
//! contact by e-mail and SMS. Contacts are personal data: masked everywhere public.

use chrono::{DateTime, Utc};

use super::projects::{self, Project};
use super::{policies, GoalKind, PledgeKind};
use crate::platform::citizen::SignedIn;
use crate::platform::db::{query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::form;
use crate::platform::i18n::Lang;
use crate::platform::money::parse_rupees;
use crate::platform::personal::{mask_email, valid_email, Phone};
use crate::platform::sms as outbound;
use crate::platform::state::AppState;
use crate::platform::{audit, impact, mail};
use crate::t;

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct PledgeIn {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub tax_number: String,
    /// Rupees for a money project; a count of people or items for help.
    #[serde(default)]
    pub amount: String,
    /// What help is offered.
    #[serde(default)]
    pub help: String,
    #[serde(default)]
    pub comment: String,
    /// The risk disclosure was accepted ("on").
    #[serde(default)]
    pub disclosure: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Pledge {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub kind: PledgeKind,
    pub amount: i64,
    pub help: String,
    pub comment: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The backer's language, for what is sent to them.
    pub lang: Lang,
}

impl Pledge {
    pub fn phone_masked(&self) -> String {
        Phone::parse(&self.phone)
            .map(|p| p.masked())
            .unwrap_or_default()
    }
    pub fn email_masked(&self) -> String {
        mask_email(&self.email)
    }
}

type Row = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    String,
    DateTime<Utc>,
    String,
);

const SELECT: &str =
    "SELECT id, project_id, name, email, phone, kind, amount, help, comment, status, created_at, \
     lang FROM campaign_pledges";

fn pledge(r: Row) -> Pledge {
    Pledge {
        id: r.0,
        project_id: r.1,
        name: r.2,
        email: r.3,
        phone: r.4,
        kind: PledgeKind::parse(&r.5),
        amount: r.6,
        help: r.7,
        comment: r.8,
        status: r.9,
        created_at: r.10,
        lang: Lang::parse(&r.11).unwrap_or(Lang::Ur),
    }
}

/// The pledges to a project, newest first (for its organisation).
pub async fn of_project(db: &Db, project_id: i64) -> Result<Vec<Pledge>> {
    let rows: Vec<Row> = db
        .fetch_all(
            query(format!("{SELECT} WHERE project_id = $1 ORDER BY id DESC")).bind(project_id),
        )
        .await?;
    Ok(rows.into_iter().map(pledge).collect())
}

/// A backer's own pledges, newest first.
pub async fn of_backer(db: &Db, backer: &str) -> Result<Vec<Pledge>> {
    let rows: Vec<Row> = db
        .fetch_all(query(format!("{SELECT} WHERE backer = $1 ORDER BY id DESC")).bind(backer))
        .await?;
    Ok(rows.into_iter().map(pledge).collect())
}

/// Pledge to a published project that the policy in force in its district allows.
pub async fn pledge_to(
    state: &AppState,
    who: &SignedIn,
    project_id: i64,
    input: &PledgeIn,
    lang: Lang,
) -> Result<i64> {
    let f = |k: &str| lang.t(k);
    let p = projects::project_by_id(&state.db, project_id)
        .await?
        .filter(|p| p.status == "published" && p.org_verified)
        .ok_or_else(|| Error::NotFound(f("campaign-err-no-project")))?;
    let policies = policies(&state.db).await?;
    let Some(kind) = policies.mode(&p.district).pledge_for(p.goal_kind) else {
        return Err(Error::Forbidden(f("campaign-err-policy")));
    };
    if !p.open(crate::platform::clock::today()) {
        return Err(Error::Conflict(f("campaign-err-closed")));
    }
    if input.disclosure.is_none() {
        return Err(Error::BadRequest(f("campaign-err-disclosure")));
    }
    let name = form::text(lang, &f("form-name"), &input.name, 100)?;
    let email = input.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(Error::BadRequest(f("err-email")));
    }
    let phone = Phone::parse(&input.phone).ok_or_else(|| Error::BadRequest(f("err-phone")))?;
    let tax_number = form::optional_text(lang, &f("campaign-org-ntn"), &input.tax_number, 30)?;
    let comment = form::optional_text(lang, &f("campaign-comment"), &input.comment, 1000)?;
    let help = match kind {
        PledgeKind::Help => form::text(lang, &f("campaign-help"), &input.help, 500)?,
        _ => String::new(),
    };
    let amount = match p.goal_kind {
        GoalKind::Money => parse_rupees(&input.amount),
        _ => input.amount.trim().parse::<i64>().ok(),
    }
    .filter(|a| *a > 0)
    .ok_or_else(|| Error::BadRequest(f("campaign-err-amount")))?;
    refuse_over_goal(&p, amount, lang)?;
    let mut tx = state.db.begin().await?;
    let key = impact::key(&impact::Citizen::phone(&phone));
    if key != who.key {
        return Err(Error::BadRequest(f("campaign-err-own-phone")));
    }
    let owner: String = tx
        .scalar(query("SELECT owner FROM campaign_orgs WHERE id = $1").bind(p.org_id))
        .await?;
    if owner == who.key {
        return Err(Error::Conflict(f("campaign-err-own-project")));
    }
    let now = Utc::now();
    let (id,): (i64,) = tx
        .fetch_one(
            query(
                "INSERT INTO campaign_pledges (project_id, backer, name, email, phone, tax_number, kind, amount, \
                 help, comment, lang, disclosure_at, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $12) RETURNING id",
            )
            .bind(p.id)
            .bind(&who.key)
            .bind(&name)
            .bind(&email)
            .bind(phone.e164())
            .bind(&tax_number)
            .bind(kind.as_str())
            .bind(amount)
            .bind(&help)
            .bind(&comment)
            .bind(lang.code())
            .bind(now),
        )
        .await?;
    impact::record(
        &mut tx,
        &impact::Event {
            service: "campaigns",
            kind: "pledge",
            code: Some(&p.category),
            channel: "web",
            district: Some(&p.district),
            department_id: None,
            minutes_saved: 0,
            citizen: Some(impact::Citizen::known(&who.key)),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn refuse_over_goal(p: &Project, amount: i64, lang: Lang) -> Result<()> {
    if !p.over_goal && amount > p.remaining() {
        return Err(Error::Conflict(t!(
            lang,
            "campaign-err-over-goal",
            remaining = p.amount(p.remaining())
        )));
    }
    Ok(())
}

/// The organisation (`who` acts for it) accepts or declines a pending pledge to one of its
/// projects. On acceptance, each side gets the other's contact by e-mail and SMS, in the same
/// transaction as the decision.
pub async fn decide(
    state: &AppState,
    who: &SignedIn,
    pledge_id: i64,
    accept: bool,
    lang: Lang,
) -> Result<()> {
    let row: Option<Row> = state
        .db
        .fetch_optional(query(format!("{SELECT} WHERE id = $1")).bind(pledge_id))
        .await?;
    let Some(pl) = row.map(pledge) else {
        return Err(Error::NotFound(lang.t("campaign-err-not-yours")));
    };
    // Another organisation's pledge answers as if it did not exist.
    let (project, org) = projects::owned(&state.db, who, pl.project_id, lang).await?;
    if pl.status != "pending" {
        return Err(Error::Conflict(lang.t("campaign-err-decided")));
    }
    if accept {
        refuse_over_goal(&project, pl.amount, lang)?;
    }
    let status = if accept { "accepted" } else { "declined" };
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            query(
                "UPDATE campaign_pledges SET status = $1, decided_at = $2 WHERE id = $3 AND status = 'pending'",
            )
            .bind(status)
            .bind(Utc::now())
            .bind(pl.id),
        )
        .await?;
    if n != 1 {
        return Err(Error::Conflict(lang.t("campaign-err-decided")));
    }
    if accept {
        let backer_lang = pl.lang;
        let org_lang = Lang::parse(&org.lang).unwrap_or(Lang::Ur);
        let title_b = project.title.get(backer_lang).to_owned();
        let title_o = project.title.get(org_lang).to_owned();
        // To the backer: the organisation's contact.
        let to_backer = t!(
            backer_lang,
            "campaign-contact-backer",
            project = title_b.clone(),
            org = org.name.clone(),
            contact = org.contact_name.clone(),
            phone = org.phone.clone(),
            email = org.email.clone()
        );
        // To the organisation: the backer's.
        let to_org = t!(
            org_lang,
            "campaign-contact-org",
            project = title_o.clone(),
            name = pl.name.clone(),
            phone = pl.phone.clone(),
            email = pl.email.clone()
        );
        let subject_b = t!(backer_lang, "campaign-mail-accepted", project = title_b);
        let subject_o = t!(org_lang, "campaign-mail-accepted", project = title_o);
        mail::queue(&mut tx, &state.config, &pl.email, &subject_b, &to_backer).await?;
        mail::queue(&mut tx, &state.config, &org.email, &subject_o, &to_org).await?;
        if let Some(phone) = Phone::parse(&pl.phone) {
            outbound::queue(
                &mut tx,
                &state.config,
                &phone,
                &to_backer,
                backer_lang,
                None,
            )
            .await?;
        }
        if let Some(phone) = Phone::parse(&org.phone) {
            outbound::queue(&mut tx, &state.config, &phone, &to_org, org_lang, None).await?;
        }
    }
    audit::record(
        &mut tx,
        &format!("citizen:{}", who.phone_masked),
        "campaigns.pledge.decide",
        "campaign_pledge",
        &pl.id.to_string(),
        serde_json::json!({ "before": "pending", "after": status }),
    )
    .await?;
    tx.commit().await?;
    state.job_wake.notify_one();
    Ok(())
}
