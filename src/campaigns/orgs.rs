//! Organisations: registered by a citizen signed in with the organisation's contact phone (who may
//! then act for it), with the details CrowdDurshal collected; the e-mail address proved by a link;
//! verified by staff with notes. Only a verified organisation's projects are published.

use chrono::{DateTime, Utc};

use super::access;
use crate::platform::citizen::SignedIn;
use crate::platform::db::{is_unique_violation, query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::form;
use crate::platform::i18n::Lang;
use crate::platform::identity::{digest, random_token, Staff};
use crate::platform::personal::{valid_email, Phone};
use crate::platform::state::AppState;
use crate::platform::{audit, impact, mail};
use crate::t;

/// What the registration form sends.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct OrgIn {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub registration_number: String,
    #[serde(default)]
    pub tax_number: String,
    #[serde(default)]
    pub contact_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub website: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub about: String,
}

#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Org {
    pub id: i64,
    pub name: String,
    pub registration_number: String,
    pub tax_number: String,
    pub contact_name: String,
    pub email: String,
    pub phone: String,
    pub website: String,
    pub district: String,
    pub about: String,
    pub owner: String,
    pub lang: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub status: String,
    pub notes: String,
    pub created_at: DateTime<Utc>,
}

impl Org {
    pub fn verified(&self) -> bool {
        self.status == "verified"
    }
    pub fn phone_masked(&self) -> String {
        Phone::parse(&self.phone)
            .map(|p| p.masked())
            .unwrap_or_default()
    }
}

const COLUMNS: &str =
    "id, name, registration_number, tax_number, contact_name, email, phone, website, \
     district, about, owner, lang, email_verified_at, status, notes, created_at";

pub async fn org(db: &Db, id: i64) -> Result<Option<Org>> {
    Ok(db
        .fetch_optional(
            query(format!("SELECT {COLUMNS} FROM campaign_orgs WHERE id = $1")).bind(id),
        )
        .await?)
}

/// The organisations a signed-in citizen acts for.
pub async fn orgs_of(db: &Db, owner: &str) -> Result<Vec<Org>> {
    Ok(db
        .fetch_all(
            query(format!(
                "SELECT {COLUMNS} FROM campaign_orgs WHERE owner = $1 ORDER BY id"
            ))
            .bind(owner),
        )
        .await?)
}

/// Organisations waiting for staff, oldest first.
pub async fn pending(db: &Db) -> Result<Vec<Org>> {
    Ok(db
        .fetch_all(query(format!(
            "SELECT {COLUMNS} FROM campaign_orgs WHERE status = 'pending' ORDER BY id"
        )))
        .await?)
}

/// Register an organisation for the signed-in citizen `who`, whose phone must be the
/// organisation's contact phone; a link to prove the e-mail address goes to it (`base`: this
/// site's address). Returns the organisation's id.
pub async fn register(
    state: &AppState,
    who: &SignedIn,
    input: &OrgIn,
    base: &str,
    lang: Lang,
) -> Result<i64> {
    let f = |key: &str| lang.t(key);
    let name = form::text(lang, &f("campaign-org-name"), &input.name, 200)?;
    let registration_number = form::text(
        lang,
        &f("campaign-org-registration"),
        &input.registration_number,
        60,
    )?;
    let tax_number = form::optional_text(lang, &f("campaign-org-ntn"), &input.tax_number, 30)?;
    let contact_name = form::text(lang, &f("campaign-org-contact"), &input.contact_name, 100)?;
    let website = form::optional_url(lang, &f("campaign-org-website"), &input.website)?;
    let about = form::optional_text(lang, &f("campaign-org-about"), &input.about, 2000)?;
    let email = input.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(Error::BadRequest(f("err-email")));
    }
    let phone = Phone::parse(&input.phone).ok_or_else(|| Error::BadRequest(f("err-phone")))?;
    let district = input.district.trim();
    if !state.districts().await?.iter().any(|d| d.slug == district) {
        return Err(Error::BadRequest(t!(
            lang,
            "err-unknown-district",
            district = district
        )));
    }
    let token = random_token();
    let mut tx = state.db.begin().await?;
    if impact::key(&impact::Citizen::phone(&phone)) != who.key {
        return Err(Error::BadRequest(f("campaign-err-own-phone")));
    }
    let inserted = tx
        .fetch_one::<(i64,)>(
            query(
                "INSERT INTO campaign_orgs (name, registration_number, tax_number, contact_name, email, phone, \
                 website, district, about, owner, lang, email_token, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13) RETURNING id",
            )
            .bind(&name)
            .bind(&registration_number)
            .bind(&tax_number)
            .bind(&contact_name)
            .bind(&email)
            .bind(phone.e164())
            .bind(&website)
            .bind(district)
            .bind(&about)
            .bind(&who.key)
            .bind(lang.code())
            .bind(digest(&token))
            .bind(Utc::now()),
        )
        .await;
    let (id,) = match inserted {
        Ok(r) => r,
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(f("campaign-err-registered")))
        }
        Err(e) => return Err(e.into()),
    };
    let link = format!(
        "{}/campaigns/verify-email?token={token}",
        base.trim_end_matches('/')
    );
    mail::queue_secret(
        &mut tx,
        &state.config,
        &email,
        &f("campaign-mail-verify-subject"),
        &t!(
            lang,
            "campaign-mail-verify",
            name = name.clone(),
            link = link
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        &format!("citizen:{}", who.phone_masked),
        "campaigns.org.register",
        "campaign_org",
        &id.to_string(),
        serde_json::json!({ "name": name, "registration_number": registration_number }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Use an e-mail verification link: `Some(name)` of the organisation whose address it proves.
pub async fn verify_email(db: &Db, token: &str) -> Result<Option<String>> {
    let mut tx = db.begin().await?;
    let found: Option<(i64, String)> = tx
        .fetch_optional(
            query("SELECT id, name FROM campaign_orgs WHERE email_token = $1")
                .bind(digest(token.trim())),
        )
        .await?;
    let Some((id, name)) = found else {
        return Ok(None);
    };
    tx.execute(
        query("UPDATE campaign_orgs SET email_verified_at = $1, email_token = NULL WHERE id = $2")
            .bind(Utc::now())
            .bind(id),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(name))
}

/// Staff verify (or reject) an organisation, with notes. Verifying needs its e-mail proved.
pub async fn review(
    state: &AppState,
    staff: &Staff,
    id: i64,
    verify: bool,
    notes: &str,
) -> Result<()> {
    access(state, staff)?;
    let o = org(&state.db, id)
        .await?
        .ok_or_else(|| Error::NotFound("no such organisation".into()))?;
    let notes = form::optional_text(Lang::En, "notes", notes, 2000)?;
    if verify && o.email_verified_at.is_none() {
        return Err(Error::Conflict(
            "its e-mail address is not verified yet: the organisation must open the link sent to it"
                .into(),
        ));
    }
    if !verify && notes.is_empty() {
        return Err(Error::BadRequest(
            "say why in the notes: the organisation sees them".into(),
        ));
    }
    let status = if verify { "verified" } else { "rejected" };
    let mut tx = state.db.begin().await?;
    tx.execute(
        query(
            "UPDATE campaign_orgs SET status = $1, notes = $2, reviewed_by = $3, reviewed_at = $4 WHERE id = $5",
        )
        .bind(status)
        .bind(&notes)
        .bind(staff.actor())
        .bind(Utc::now())
        .bind(id),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "campaigns.org.review",
        "campaign_org",
        &id.to_string(),
        serde_json::json!({ "before": o.status, "after": status, "notes": notes }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Refuse unless `who` acts for the organisation `id`.
pub async fn owned(db: &Db, who: &SignedIn, id: i64, lang: Lang) -> Result<Org> {
    match org(db, id).await? {
        Some(o) if o.owner == who.key => Ok(o),
        _ => Err(Error::NotFound(lang.t("campaign-err-not-yours"))),
    }
}
