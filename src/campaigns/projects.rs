//! Projects: written by a verified organisation (title, summary and story in any of the three
//! languages, a category, a goal in rupees or a count of volunteers or items, a deadline, a
//! district, photos and a video link), reviewed by staff before publication, then followed by
//! the organisation's updates. Progress counts accepted pledges only.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::orgs::{self, Org};
use super::{access, GoalKind, Policies};
use crate::platform::citizen::SignedIn;
use crate::platform::db::{query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::form;
use crate::platform::i18n::{Lang, Text3};
use crate::platform::identity::Staff;
use crate::platform::money::{parse_rupees, rupees};
use crate::platform::state::AppState;
use crate::platform::{audit, files};
use crate::t;

/// At most this many photos per project.
pub const MAX_PHOTOS: usize = 6;

/// What the project form sends.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ProjectIn {
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub title_ur: String,
    #[serde(default)]
    pub title_ps: String,
    #[serde(default)]
    pub summary_en: String,
    #[serde(default)]
    pub summary_ur: String,
    #[serde(default)]
    pub summary_ps: String,
    #[serde(default)]
    pub story_en: String,
    #[serde(default)]
    pub story_ur: String,
    #[serde(default)]
    pub story_ps: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub goal_kind: String,
    /// Rupees for money, else a count.
    #[serde(default)]
    pub goal: String,
    /// "on": pledges may go past the goal.
    #[serde(default)]
    pub over_goal: Option<String>,
    #[serde(default)]
    pub deadline: String,
    #[serde(default)]
    pub district: String,
    #[serde(default)]
    pub video_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Project {
    pub id: i64,
    pub org_id: i64,
    pub org_name: String,
    pub org_verified: bool,
    pub title: Text3,
    pub summary: Text3,
    pub story: Text3,
    pub category: String,
    /// The category's name, as its pack gives it (its code if the pack no longer has it).
    pub category_name: Text3,
    pub goal_kind: GoalKind,
    pub goal: i64,
    pub over_goal: bool,
    pub deadline: String,
    pub district: String,
    pub photos: Vec<String>,
    pub video_url: String,
    pub status: String,
    pub review_notes: String,
    pub featured: bool,
    pub published_at: Option<DateTime<Utc>>,
    /// The sum of accepted pledges (paisa, or a count).
    pub pledged: i64,
    pub backers: i64,
}

impl Project {
    /// The goal or an amount as people read it: rupees, or a count.
    pub fn amount(&self, v: i64) -> String {
        match self.goal_kind {
            GoalKind::Money => format!("Rs {}", rupees(v)),
            _ => v.to_string(),
        }
    }
    pub fn percent(&self) -> i64 {
        if self.goal <= 0 {
            0
        } else {
            (self.pledged * 100 / self.goal).min(100)
        }
    }
    /// What is left to reach the goal.
    pub fn remaining(&self) -> i64 {
        (self.goal - self.pledged).max(0)
    }
    pub fn open(&self, today: NaiveDate) -> bool {
        self.status == "published" && self.deadline.as_str() >= today.to_string().as_str()
    }
    /// A success story: published and its goal reached.
    pub fn succeeded(&self) -> bool {
        self.status == "published" && self.pledged >= self.goal
    }
}

#[derive(sqlx::FromRow, khidmat_derive::FromRaw)]
struct Row {
    id: i64,
    org_id: i64,
    org_name: String,
    org_status: String,
    title: String,
    summary: String,
    story: String,
    category: String,
    category_en: Option<String>,
    category_ur: Option<String>,
    category_ps: Option<String>,
    goal_kind: String,
    goal: i64,
    over_goal: bool,
    deadline: String,
    district: String,
    photos: String,
    video_url: String,
    status: String,
    review_notes: String,
    featured: bool,
    published_at: Option<DateTime<Utc>>,
    pledged: i64,
    backers: i64,
}

const SELECT: &str = "SELECT p.id, p.org_id, o.name AS org_name, o.status AS org_status, p.title, p.summary, \
     p.story, p.category, c.name_en AS category_en, c.name_ur AS category_ur, \
     c.name_ps AS category_ps, p.goal_kind, p.goal, p.over_goal, p.deadline, p.district, p.photos, p.video_url, \
     p.status, p.review_notes, p.featured, p.published_at, \
     CAST(COALESCE((SELECT SUM(amount) FROM campaign_pledges WHERE project_id = p.id AND status = 'accepted'), 0) AS BIGINT) AS pledged, \
     (SELECT COUNT(*) FROM campaign_pledges WHERE project_id = p.id AND status = 'accepted') AS backers \
     FROM campaign_projects p JOIN campaign_orgs o ON o.id = p.org_id \
     LEFT JOIN campaign_categories c ON c.code = p.category";

fn project(r: Row) -> Project {
    let text3 = |s: &str| serde_json::from_str::<Text3>(s).unwrap_or_default();
    Project {
        id: r.id,
        org_id: r.org_id,
        org_name: r.org_name,
        org_verified: r.org_status == "verified",
        title: text3(&r.title),
        summary: text3(&r.summary),
        story: text3(&r.story),
        category_name: Text3 {
            en: r.category_en.unwrap_or_else(|| r.category.clone()),
            ur: r.category_ur.unwrap_or_default(),
            ps: r.category_ps.unwrap_or_default(),
        },
        category: r.category,
        goal_kind: GoalKind::parse(&r.goal_kind).unwrap_or(GoalKind::Items),
        goal: r.goal,
        over_goal: r.over_goal,
        deadline: r.deadline,
        district: r.district,
        photos: serde_json::from_str(&r.photos).unwrap_or_default(),
        video_url: r.video_url,
        status: r.status,
        review_notes: r.review_notes,
        featured: r.featured,
        published_at: r.published_at,
        pledged: r.pledged,
        backers: r.backers,
    }
}

pub async fn project_by_id(db: &Db, id: i64) -> Result<Option<Project>> {
    let row: Option<Row> = db
        .fetch_optional(query(format!("{SELECT} WHERE p.id = $1")).bind(id))
        .await?;
    Ok(row.map(project))
}

/// An organisation's projects, newest first.
pub async fn of_org(db: &Db, org_id: i64) -> Result<Vec<Project>> {
    let rows: Vec<Row> = db
        .fetch_all(query(format!("{SELECT} WHERE p.org_id = $1 ORDER BY p.id DESC")).bind(org_id))
        .await?;
    Ok(rows.into_iter().map(project).collect())
}

/// Projects waiting for review, oldest first.
pub async fn in_review(db: &Db) -> Result<Vec<Project>> {
    let rows: Vec<Row> = db
        .fetch_all(query(format!(
            "{SELECT} WHERE p.status = 'review' ORDER BY p.id"
        )))
        .await?;
    Ok(rows.into_iter().map(project).collect())
}

/// Every published project of a verified organisation, featured first, then newest; whatever
/// the policy (staff see what it hides).
pub async fn published_all(db: &Db) -> Result<Vec<Project>> {
    let rows: Vec<Row> = db
        .fetch_all(query(format!(
            "{SELECT} WHERE p.status = 'published' AND o.status = 'verified' \
             ORDER BY p.featured DESC, p.published_at DESC, p.id DESC"
        )))
        .await?;
    Ok(rows.into_iter().map(project).collect())
}

/// Published projects: those the policies allow, and how many they hide.
pub async fn published(db: &Db, policies: &Policies) -> Result<(Vec<Project>, usize)> {
    let all = published_all(db).await?;
    let total = all.len();
    let shown: Vec<Project> = all
        .into_iter()
        .filter(|p| policies.mode(&p.district).pledge_for(p.goal_kind).is_some())
        .collect();
    let hidden = total - shown.len();
    Ok((shown, hidden))
}

struct Checked {
    title: Text3,
    summary: Text3,
    story: Text3,
    category: String,
    goal_kind: GoalKind,
    goal: i64,
    over_goal: bool,
    deadline: NaiveDate,
    district: String,
    video_url: String,
}

async fn check(state: &AppState, p: &ProjectIn, lang: Lang) -> Result<Checked> {
    let f = |k: &str| lang.t(k);
    let three = |en: &str, ur: &str, ps: &str, name: &str, max: usize| -> Result<Text3> {
        let t = Text3 {
            en: form::optional_text(lang, name, en, max)?,
            ur: form::optional_text(lang, name, ur, max)?,
            ps: form::optional_text(lang, name, ps, max)?,
        };
        if t.en.is_empty() && t.ur.is_empty() && t.ps.is_empty() {
            return Err(Error::BadRequest(t!(
                lang,
                "err-field-required",
                name = name
            )));
        }
        Ok(t)
    };
    let title = three(
        &p.title_en,
        &p.title_ur,
        &p.title_ps,
        &f("campaign-title"),
        120,
    )?;
    let summary = three(
        &p.summary_en,
        &p.summary_ur,
        &p.summary_ps,
        &f("campaign-summary"),
        300,
    )?;
    let story = three(
        &p.story_en,
        &p.story_ur,
        &p.story_ps,
        &f("campaign-story"),
        10_000,
    )?;
    let category = p.category.trim().to_owned();
    if !super::categories(&state.db)
        .await?
        .iter()
        .any(|c| c.code == category)
    {
        return Err(Error::BadRequest(f("campaign-err-category")));
    }
    let goal_kind = GoalKind::parse(p.goal_kind.trim())
        .ok_or_else(|| Error::BadRequest(f("campaign-err-goal")))?;
    let goal = match goal_kind {
        GoalKind::Money => parse_rupees(&p.goal),
        _ => p.goal.trim().parse::<i64>().ok(),
    }
    .filter(|g| *g > 0)
    .ok_or_else(|| Error::BadRequest(f("campaign-err-goal")))?;
    let deadline = form::date(lang, &f("campaign-deadline"), &p.deadline)?;
    if deadline < crate::platform::clock::today() {
        return Err(Error::BadRequest(f("campaign-err-deadline")));
    }
    let district = p.district.trim().to_owned();
    if !state.districts().await?.iter().any(|d| d.slug == district) {
        return Err(Error::BadRequest(t!(
            lang,
            "err-unknown-district",
            district = district
        )));
    }
    let video_url = form::optional_url(lang, &f("campaign-video"), &p.video_url)?;
    Ok(Checked {
        title,
        summary,
        story,
        category,
        goal_kind,
        goal,
        over_goal: p.over_goal.is_some(),
        deadline,
        district,
        video_url,
    })
}

fn json3(t: &Text3) -> String {
    serde_json::to_string(t).expect("serialisable")
}

/// A new draft of the organisation `org_id`, which `who` acts for.
pub async fn create(
    state: &AppState,
    who: &SignedIn,
    org_id: i64,
    p: &ProjectIn,
    lang: Lang,
) -> Result<i64> {
    let org = orgs::owned(&state.db, who, org_id, lang).await?;
    let c = check(state, p, lang).await?;
    let mut tx = state.db.begin().await?;
    let (id,): (i64,) = tx
        .fetch_one(
            query(
                "INSERT INTO campaign_projects (org_id, title, summary, story, category, goal_kind, goal, \
                 over_goal, deadline, district, video_url, status, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'draft', $12) RETURNING id",
            )
            .bind(org.id)
            .bind(json3(&c.title))
            .bind(json3(&c.summary))
            .bind(json3(&c.story))
            .bind(&c.category)
            .bind(c.goal_kind.as_str())
            .bind(c.goal)
            .bind(c.over_goal)
            .bind(c.deadline.to_string())
            .bind(&c.district)
            .bind(&c.video_url)
            .bind(Utc::now()),
        )
        .await?;
    audit::record(
        &mut tx,
        &format!("citizen:{}", who.phone_masked),
        "campaigns.project.create",
        "campaign_project",
        &id.to_string(),
        serde_json::json!({ "org": org.id }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The project `id`, refused unless `who` acts for its organisation.
pub async fn owned(db: &Db, who: &SignedIn, id: i64, lang: Lang) -> Result<(Project, Org)> {
    let p = project_by_id(db, id)
        .await?
        .ok_or_else(|| Error::NotFound(lang.t("campaign-err-not-yours")))?;
    let org = orgs::owned(db, who, p.org_id, lang).await?;
    Ok((p, org))
}

/// Change a draft (or a project returned by review).
pub async fn update(
    state: &AppState,
    who: &SignedIn,
    id: i64,
    p: &ProjectIn,
    lang: Lang,
) -> Result<()> {
    let (old, _) = owned(&state.db, who, id, lang).await?;
    if !matches!(old.status.as_str(), "draft" | "returned") {
        return Err(Error::Conflict(lang.t("campaign-err-not-draft")));
    }
    let c = check(state, p, lang).await?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        query(
            "UPDATE campaign_projects SET title = $1, summary = $2, story = $3, category = $4, goal_kind = $5, \
             goal = $6, over_goal = $7, deadline = $8, district = $9, video_url = $10 WHERE id = $11",
        )
        .bind(json3(&c.title))
        .bind(json3(&c.summary))
        .bind(json3(&c.story))
        .bind(&c.category)
        .bind(c.goal_kind.as_str())
        .bind(c.goal)
        .bind(c.over_goal)
        .bind(c.deadline.to_string())
        .bind(&c.district)
        .bind(&c.video_url)
        .bind(id),
    )
    .await?;
    audit::record(
        &mut tx,
        &format!("citizen:{}", who.phone_masked),
        "campaigns.project.update",
        "campaign_project",
        &id.to_string(),
        serde_json::json!({ "before": { "title": old.title, "goal": old.goal, "goal_kind": old.goal_kind }, "after": { "title": c.title, "goal": c.goal, "goal_kind": c.goal_kind } }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Add a photo to a draft (decoded and re-encoded by the kernel's files: EXIF dropped).
pub async fn add_photo(
    state: &AppState,
    who: &SignedIn,
    id: i64,
    bytes: Vec<u8>,
    lang: Lang,
) -> Result<()> {
    let (p, _) = owned(&state.db, who, id, lang).await?;
    if !matches!(p.status.as_str(), "draft" | "returned") {
        return Err(Error::Conflict(lang.t("campaign-err-not-draft")));
    }
    if p.photos.len() >= MAX_PHOTOS {
        return Err(Error::BadRequest(t!(
            lang,
            "campaign-err-photos",
            max = MAX_PHOTOS
        )));
    }
    let photo = files::encode(bytes, state.config.photo_max_side)
        .await
        .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
    state
        .files
        .put(crate::platform::files::Area::Photos, &photo)
        .await
        .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
    let mut tx = state.db.begin().await?;
    let stored = files::record(&mut tx, &photo).await?;
    let mut photos = p.photos.clone();
    photos.push(stored.sha256);
    tx.execute(
        query("UPDATE campaign_projects SET photos = $1 WHERE id = $2")
            .bind(serde_json::to_string(&photos).expect("serialisable"))
            .bind(id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Send a draft for review: only a verified organisation's.
pub async fn submit(state: &AppState, who: &SignedIn, id: i64, lang: Lang) -> Result<()> {
    let (p, org) = owned(&state.db, who, id, lang).await?;
    if !org.verified() {
        return Err(Error::Conflict(lang.t("campaign-err-unverified")));
    }
    if !matches!(p.status.as_str(), "draft" | "returned") {
        return Err(Error::Conflict(lang.t("campaign-err-not-draft")));
    }
    set_status(
        state,
        &format!("citizen:{}", who.phone_masked),
        &p,
        "review",
        "",
    )
    .await
}

async fn set_status(
    state: &AppState,
    actor: &str,
    p: &Project,
    status: &str,
    notes: &str,
) -> Result<()> {
    let mut tx = state.db.begin().await?;
    let now = Utc::now();
    tx.execute(
        query(
            "UPDATE campaign_projects SET status = $1, review_notes = $2, \
             published_at = CASE WHEN $3 THEN $4 ELSE published_at END WHERE id = $5",
        )
        .bind(status)
        .bind(notes)
        .bind(status == "published")
        .bind(now)
        .bind(p.id),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        "campaigns.project.status",
        "campaign_project",
        &p.id.to_string(),
        serde_json::json!({ "before": p.status, "after": status, "notes": notes }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Staff publish a project in review, or return it with notes. Only a verified organisation's
/// project is published.
pub async fn review(
    state: &AppState,
    staff: &Staff,
    id: i64,
    publish: bool,
    notes: &str,
) -> Result<()> {
    access(state, staff)?;
    let p = project_by_id(&state.db, id)
        .await?
        .ok_or_else(|| Error::NotFound("no such project".into()))?;
    if p.status != "review" {
        return Err(Error::Conflict(format!(
            "this project is {}, not waiting for review",
            p.status
        )));
    }
    let notes = form::optional_text(Lang::En, "notes", notes, 2000)?;
    if publish && !p.org_verified {
        return Err(Error::Conflict(
            "its organisation is not verified: verify the organisation first".into(),
        ));
    }
    if !publish && notes.is_empty() {
        return Err(Error::BadRequest(
            "say what to change in the notes: the organisation sees them".into(),
        ));
    }
    let status = if publish { "published" } else { "returned" };
    set_status(state, &staff.actor(), &p, status, &notes).await
}

/// Staff feature a published project (shown first), or stop featuring it.
pub async fn feature(state: &AppState, staff: &Staff, id: i64, featured: bool) -> Result<()> {
    access(state, staff)?;
    let p = project_by_id(&state.db, id)
        .await?
        .ok_or_else(|| Error::NotFound("no such project".into()))?;
    if p.status != "published" {
        return Err(Error::Conflict(
            "only a published project is featured".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE campaign_projects SET featured = $1 WHERE id = $2")
            .bind(featured)
            .bind(id),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "campaigns.project.feature",
        "campaign_project",
        &id.to_string(),
        serde_json::json!({ "before": p.featured, "after": featured }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The organisation posts an update on a published project.
pub async fn post_update(
    state: &AppState,
    who: &SignedIn,
    id: i64,
    body: &str,
    lang: Lang,
) -> Result<()> {
    let (p, _) = owned(&state.db, who, id, lang).await?;
    if p.status != "published" {
        return Err(Error::Conflict(lang.t("campaign-err-not-published")));
    }
    let body = form::text(lang, &lang.t("campaign-update"), body, 4000)?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("INSERT INTO campaign_updates (project_id, body, posted_at) VALUES ($1, $2, $3)")
            .bind(id)
            .bind(&body)
            .bind(Utc::now()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A project's updates, newest first: `(when, text)`.
pub async fn updates(db: &Db, id: i64) -> Result<Vec<(DateTime<Utc>, String)>> {
    Ok(db
        .fetch_all(
            query(
                "SELECT posted_at, body FROM campaign_updates WHERE project_id = $1 ORDER BY id DESC",
            )
            .bind(id),
        )
        .await?)
}
