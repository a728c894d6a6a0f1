//! Cycles: the public call, applications with a CV, reviewers' rubric scores, the selection with
//! its women's quota, teams, and alumni free to volunteer.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{code, date, optional_text, require, text, Access};
use crate::platform::audit;
use crate::platform::clock::today;
use crate::platform::db::{is_unique_violation, query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::files::{self, Encoded};
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::personal::{valid_email, Phone};
use crate::platform::state::AppState;
use crate::t;

pub const GENDERS: [&str; 3] = ["female", "male", "transgender"];
pub const ROLES: [&str; 4] = ["developer", "designer", "researcher", "organiser"];
/// The rubric a cycle gets when none is given.
pub const DEFAULT_RUBRIC: &str =
    "skills: Skills for the role = 5\nmotivation: Motivation for public service = 5\ncommunity: Knowledge of the communities served = 5\nteamwork: Teamwork = 5";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub code: String,
    pub label: String,
    pub max: i64,
}

/// A rubric from lines `code: Label = max`.
pub fn parse_rubric(raw: &str) -> Result<Vec<Criterion>> {
    let mut out: Vec<Criterion> = Vec::new();
    for (n, line) in raw
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = || {
            Error::BadRequest(format!(
                "rubric line {}: write `code: Label = highest score` (for example `skills: Skills for the role = 5`)",
                n + 1
            ))
        };
        let (c, rest) = line.split_once(':').ok_or_else(bad)?;
        let (label, max) = rest.rsplit_once('=').ok_or_else(bad)?;
        let c = code("rubric code", c)?;
        let max: i64 = max.trim().parse().map_err(|_| bad())?;
        if !(1..=100).contains(&max) || label.trim().is_empty() {
            return Err(bad());
        }
        if out.iter().any(|x| x.code == c) {
            return Err(Error::BadRequest(format!("rubric: {c} is there twice")));
        }
        out.push(Criterion {
            code: c,
            label: label.trim().to_owned(),
            max,
        });
    }
    if out.is_empty() {
        return Err(Error::BadRequest(
            "the rubric needs at least one criterion".into(),
        ));
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct Cycle {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub opens_on: String,
    pub closes_on: String,
    pub starts_on: String,
    pub ends_on: String,
    pub women_quota: i64,
    pub rubric: Vec<Criterion>,
    pub finalised_at: Option<DateTime<Utc>>,
    pub quota_reason: Option<String>,
}

impl Cycle {
    /// Is the call open today?
    pub fn open(&self, on: NaiveDate) -> bool {
        let d = on.format("%Y-%m-%d").to_string();
        self.opens_on <= d && d <= self.closes_on
    }
    /// Has the fellowship ended (its fellows are alumni)?
    pub fn ended(&self, on: NaiveDate) -> bool {
        self.ends_on < on.format("%Y-%m-%d").to_string()
    }
}

type CycleRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<DateTime<Utc>>,
    Option<String>,
);

const CYCLE_SELECT: &str = "SELECT id, code, title, opens_on, closes_on, starts_on, ends_on, \
     women_quota, rubric, finalised_at, quota_reason FROM prog_cycles";

fn cycle_of(r: CycleRow) -> Cycle {
    Cycle {
        id: r.0,
        code: r.1,
        title: r.2,
        opens_on: r.3,
        closes_on: r.4,
        starts_on: r.5,
        ends_on: r.6,
        women_quota: r.7,
        rubric: serde_json::from_str(&r.8).unwrap_or_default(),
        finalised_at: r.9,
        quota_reason: r.10,
    }
}

pub async fn cycles(db: &Db) -> Result<Vec<Cycle>> {
    let rows: Vec<CycleRow> = db
        .fetch_all(query(format!(
            "{CYCLE_SELECT} ORDER BY opens_on DESC, id DESC"
        )))
        .await?;
    Ok(rows.into_iter().map(cycle_of).collect())
}

pub async fn cycle_by_code(db: &Db, code: &str) -> Result<Option<Cycle>> {
    let row: Option<CycleRow> = db
        .fetch_optional(query(format!("{CYCLE_SELECT} WHERE code = $1")).bind(code))
        .await?;
    Ok(row.map(cycle_of))
}

pub async fn cycle(db: &Db, id: i64) -> Result<Cycle> {
    let row: Option<CycleRow> = db
        .fetch_optional(query(format!("{CYCLE_SELECT} WHERE id = $1")).bind(id))
        .await?;
    row.map(cycle_of)
        .ok_or_else(|| Error::NotFound(format!("there is no cycle {id}")))
}

/// A new cycle as the staff form sends it (a field left out reads as empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NewCycle {
    pub code: String,
    pub title: String,
    pub opens_on: String,
    pub closes_on: String,
    pub starts_on: String,
    pub ends_on: String,
    pub women_quota: String,
    pub rubric: String,
}

pub async fn create_cycle(state: &AppState, staff: &Staff, n: &NewCycle) -> Result<i64> {
    require(state, staff, Access::Manager).await?;
    let code = code("code", &n.code)?;
    let title = text("title", &n.title, 200)?;
    let opens = date("opens_on", &n.opens_on)?;
    let closes = date("closes_on", &n.closes_on)?;
    let starts = date("starts_on", &n.starts_on)?;
    let ends = date("ends_on", &n.ends_on)?;
    if !(opens <= closes && closes <= starts && starts <= ends) {
        return Err(Error::BadRequest(
            "dates must follow each other: the call opens, closes, then the fellowship starts and ends".into(),
        ));
    }
    let quota: i64 = match n.women_quota.trim() {
        "" => 25,
        q => q
            .parse()
            .ok()
            .filter(|q| (0..=100).contains(q))
            .ok_or_else(|| Error::BadRequest("women_quota: a percentage from 0 to 100".into()))?,
    };
    let rubric = parse_rubric(if n.rubric.trim().is_empty() {
        DEFAULT_RUBRIC
    } else {
        &n.rubric
    })?;
    let mut tx = state.db.begin().await?;
    let id = tx
        .scalar::<i64>(
            query(
                "INSERT INTO prog_cycles (code, title, opens_on, closes_on, starts_on, ends_on, \
                 women_quota, rubric, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&code)
            .bind(&title)
            .bind(opens.to_string())
            .bind(closes.to_string())
            .bind(starts.to_string())
            .bind(ends.to_string())
            .bind(quota)
            .bind(serde_json::to_string(&rubric).expect("serialisable"))
            .bind(Utc::now()),
        )
        .await;
    let id = match id {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("there is already a cycle {code}")))
        }
        other => other?,
    };
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.cycle_created",
        "cycle",
        &code,
        serde_json::json!({"women_quota": quota, "rubric": rubric}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewApplication {
    pub name: String,
    pub gender: String,
    pub email: String,
    pub phone: String,
    pub role: String,
    pub skills: String,
    pub statement: String,
}

/// Is this call open for applications today? Otherwise, the applicant's reason why not.
pub fn check_open(c: &Cycle, lang: Lang) -> Result<()> {
    if c.open(today()) {
        Ok(())
    } else {
        Err(Error::Forbidden(t!(
            lang,
            "prog-err-closed",
            title = c.title.as_str(),
            opens = c.opens_on.as_str(),
            closes = c.closes_on.as_str()
        )))
    }
}

/// A fellow applies to an open call, with a CV (a PDF or a photo of one). Messages are in the
/// applicant's language.
pub async fn apply(
    state: &AppState,
    c: &Cycle,
    a: &NewApplication,
    cv: Option<Encoded>,
    lang: Lang,
) -> Result<i64> {
    check_open(c, lang)?;
    let bad = |key: &str| Error::BadRequest(lang.t(key));
    let name = a.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("prog-err-name"));
    }
    if !GENDERS.contains(&a.gender.as_str()) {
        return Err(bad("prog-err-gender"));
    }
    let email = a.email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(bad("prog-err-email"));
    }
    let phone = Phone::parse(&a.phone).ok_or_else(|| bad("prog-err-phone"))?;
    if !ROLES.contains(&a.role.as_str()) {
        return Err(bad("prog-err-role"));
    }
    let skills = a.skills.trim().to_owned();
    if skills.is_empty() || skills.chars().count() > 500 {
        return Err(bad("prog-err-skills"));
    }
    let statement = a.statement.trim().to_owned();
    if statement.chars().count() > 3000 {
        return Err(bad("prog-err-statement"));
    }
    let cv = cv.ok_or_else(|| bad("prog-err-cv"))?;
    state
        .files
        .put(crate::platform::files::Area::Documents, &cv)
        .await
        .map_err(|_| bad("prog-err-cv"))?;
    let mut tx = state.db.begin().await?;
    let file = files::record(&mut tx, &cv).await?;
    let id = tx
        .scalar::<i64>(
            query(
                "INSERT INTO prog_applications (cycle_id, name, gender, email, phone, role, skills, \
                 statement, cv_file_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(c.id)
            .bind(&name)
            .bind(&a.gender)
            .bind(&email)
            .bind(phone.e164())
            .bind(&a.role)
            .bind(&skills)
            .bind(&statement)
            .bind(file.id)
            .bind(Utc::now()),
        )
        .await;
    let id = match id {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(t!(
                lang,
                "prog-err-twice",
                title = c.title.as_str()
            )))
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize)]
pub struct Applicant {
    pub id: i64,
    pub name: String,
    pub gender: String,
    pub email: String,
    pub phone: String,
    pub role: String,
    pub skills: String,
    pub statement: String,
    pub cv: Option<String>,
    pub selected: bool,
    pub team_id: Option<i64>,
    pub team: Option<String>,
    /// The mean over reviewers of their total score.
    pub score: Option<f64>,
    pub reviewers: i64,
    /// The calling reviewer's own scores.
    pub mine: BTreeMap<String, i64>,
    pub volunteer: bool,
    pub availability: String,
}

type ApplicantRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    bool,
    Option<i64>,
    Option<String>,
    bool,
    String,
);

/// A cycle's applicants, best score first (unscored last).
pub async fn applicants(db: &Db, cycle_id: i64, reviewer: Option<i64>) -> Result<Vec<Applicant>> {
    let rows: Vec<ApplicantRow> = db
        .fetch_all(
            query(
                "SELECT a.id, a.name, a.gender, a.email, a.phone, a.role, a.skills, a.statement, \
                 p.sha256, a.selected, a.team_id, t.name, a.volunteer, a.availability \
                 FROM prog_applications a LEFT JOIN photos p ON p.id = a.cv_file_id \
                 LEFT JOIN prog_teams t ON t.id = a.team_id WHERE a.cycle_id = $1 ORDER BY a.id",
            )
            .bind(cycle_id),
        )
        .await?;
    let scores: Vec<(i64, i64, String, i64)> = db
        .fetch_all(
            query(
                "SELECT s.application_id, s.reviewer_id, s.criterion, s.score FROM prog_scores s \
                 JOIN prog_applications a ON a.id = s.application_id WHERE a.cycle_id = $1",
            )
            .bind(cycle_id),
        )
        .await?;
    let mut out: Vec<Applicant> = rows
        .into_iter()
        .map(|r| {
            let mine: BTreeMap<String, i64> = scores
                .iter()
                .filter(|s| s.0 == r.0 && Some(s.1) == reviewer)
                .map(|s| (s.2.clone(), s.3))
                .collect();
            let mut totals: BTreeMap<i64, i64> = BTreeMap::new();
            for s in scores.iter().filter(|s| s.0 == r.0) {
                *totals.entry(s.1).or_default() += s.3;
            }
            let score = (!totals.is_empty())
                .then(|| totals.values().sum::<i64>() as f64 / totals.len() as f64);
            Applicant {
                id: r.0,
                name: r.1,
                gender: r.2,
                email: r.3,
                phone: r.4,
                role: r.5,
                skills: r.6,
                statement: r.7,
                cv: r.8,
                selected: r.9,
                team_id: r.10,
                team: r.11,
                score,
                reviewers: totals.len() as i64,
                mine,
                volunteer: r.12,
                availability: r.13,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .unwrap_or(-1.0)
            .total_cmp(&a.score.unwrap_or(-1.0))
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}

async fn cycle_of_application(db: &Db, application_id: i64) -> Result<Cycle> {
    let row: Option<(i64,)> = db
        .fetch_optional(
            query("SELECT cycle_id FROM prog_applications WHERE id = $1").bind(application_id),
        )
        .await?;
    let (cycle_id,) =
        row.ok_or_else(|| Error::NotFound(format!("there is no application {application_id}")))?;
    cycle(db, cycle_id).await
}

/// A reviewer scores an application on every criterion of the rubric.
pub async fn score(
    state: &AppState,
    staff: &Staff,
    application_id: i64,
    scores: &BTreeMap<String, String>,
) -> Result<()> {
    require(state, staff, Access::Reviewer).await?;
    let reviewer = staff
        .user_id()
        .ok_or_else(|| Error::Forbidden("scores are given by people".into()))?;
    let c = cycle_of_application(&state.db, application_id).await?;
    if c.finalised_at.is_some() {
        return Err(Error::Conflict(
            "the selection is final: scores can no longer change".into(),
        ));
    }
    let mut values = Vec::new();
    for k in &c.rubric {
        let raw = scores.get(&k.code).map(|s| s.trim()).unwrap_or("");
        let v: i64 = raw
            .parse()
            .ok()
            .filter(|v| (0..=k.max).contains(v))
            .ok_or_else(|| {
                Error::BadRequest(format!("{}: a score from 0 to {}", k.label, k.max))
            })?;
        values.push((k.code.clone(), v));
    }
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("DELETE FROM prog_scores WHERE application_id = $1 AND reviewer_id = $2")
            .bind(application_id)
            .bind(reviewer),
    )
    .await?;
    for (criterion, v) in &values {
        tx.execute(
            query(
                "INSERT INTO prog_scores (application_id, reviewer_id, criterion, score, at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(application_id)
            .bind(reviewer)
            .bind(criterion)
            .bind(*v)
            .bind(Utc::now()),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The share of women among the selected, against the cycle's quota.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub selected: i64,
    pub women: i64,
    pub percent: f64,
    pub quota: i64,
    pub meets: bool,
}

pub async fn share(db: &Db, c: &Cycle) -> Result<Share> {
    let (selected, women): (i64, i64) = db
        .fetch_one(
            query(
                "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN gender = 'female' THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM prog_applications WHERE cycle_id = $1 AND selected = TRUE",
            )
            .bind(c.id),
        )
        .await?;
    let percent = if selected == 0 {
        0.0
    } else {
        women as f64 * 100.0 / selected as f64
    };
    Ok(Share {
        selected,
        women,
        percent,
        quota: c.women_quota,
        // Exact: women / selected >= quota / 100.
        meets: selected > 0 && women * 100 >= c.women_quota * selected,
    })
}

/// Mark who is selected (the rest are not), while the selection is open.
pub async fn select(state: &AppState, staff: &Staff, cycle_id: i64, ids: &[i64]) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let c = cycle(&state.db, cycle_id).await?;
    if c.finalised_at.is_some() {
        return Err(Error::Conflict("the selection is already final".into()));
    }
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE prog_applications SET selected = FALSE WHERE cycle_id = $1").bind(c.id),
    )
    .await?;
    for id in ids {
        let n = tx
            .execute(
                query(
                    "UPDATE prog_applications SET selected = TRUE WHERE id = $1 AND cycle_id = $2",
                )
                .bind(*id)
                .bind(c.id),
            )
            .await?;
        if n == 0 {
            return Err(Error::BadRequest(format!(
                "application {id} is not in this cycle"
            )));
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Make the selection final. Below the quota, only an administrator may, and only with a reason.
pub async fn finalise(
    state: &AppState,
    staff: &Staff,
    cycle_id: i64,
    reason: &str,
) -> Result<Share> {
    let access = require(state, staff, Access::Manager).await?;
    let c = cycle(&state.db, cycle_id).await?;
    if c.finalised_at.is_some() {
        return Err(Error::Conflict("the selection is already final".into()));
    }
    let s = share(&state.db, &c).await?;
    if s.selected == 0 {
        return Err(Error::BadRequest("select at least one fellow first".into()));
    }
    let reason = reason.trim();
    if !s.meets {
        if access < Access::Admin {
            return Err(Error::Forbidden(format!(
                "women are {:.0}% of the selected, below this cycle's quota of {}%: select more women, or ask an administrator to finalise with a recorded reason",
                s.percent, s.quota
            )));
        }
        if reason.chars().count() < 10 {
            return Err(Error::BadRequest(format!(
                "women are {:.0}% of the selected, below the quota of {}%: record why the selection is final anyway (at least 10 characters)",
                s.percent, s.quota
            )));
        }
    }
    let mut tx = state.db.begin().await?;
    let n = tx
        .execute(
            query(
                "UPDATE prog_cycles SET finalised_at = $1, finalised_by = $2, quota_reason = $3 \
                 WHERE id = $4 AND finalised_at IS NULL",
            )
            .bind(Utc::now())
            .bind(staff.actor())
            .bind((!s.meets).then_some(reason))
            .bind(c.id),
        )
        .await?;
    if n == 0 {
        return Err(Error::Conflict("the selection is already final".into()));
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.selection_finalised",
        "cycle",
        &c.code,
        serde_json::json!({"selected": s.selected, "women": s.women, "quota": s.quota,
            "below_quota_reason": (!s.meets).then_some(reason)}),
    )
    .await?;
    tx.commit().await?;
    Ok(s)
}

#[derive(Debug, Clone, Serialize)]
pub struct Team {
    pub id: i64,
    pub name: String,
}

pub async fn teams(db: &Db, cycle_id: Option<i64>) -> Result<Vec<Team>> {
    let rows: Vec<(i64, String)> = match cycle_id {
        Some(c) => {
            db.fetch_all(
                query("SELECT id, name FROM prog_teams WHERE cycle_id = $1 ORDER BY name").bind(c),
            )
            .await?
        }
        None => {
            db.fetch_all(query(
                "SELECT t.id, c.code || ': ' || t.name FROM prog_teams t \
                 JOIN prog_cycles c ON c.id = t.cycle_id ORDER BY c.code DESC, t.name",
            ))
            .await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(id, name)| Team { id, name })
        .collect())
}

/// Teams are made of selected fellows, once the selection is final.
pub async fn create_team(
    state: &AppState,
    staff: &Staff,
    cycle_id: i64,
    name: &str,
) -> Result<i64> {
    require(state, staff, Access::Manager).await?;
    let c = cycle(&state.db, cycle_id).await?;
    if c.finalised_at.is_none() {
        return Err(Error::Conflict(
            "make teams once the selection is final".into(),
        ));
    }
    let name = text("team name", name, 80)?;
    let mut tx = state.db.begin().await?;
    let id = tx
        .scalar::<i64>(
            query("INSERT INTO prog_teams (cycle_id, name) VALUES ($1, $2) RETURNING id")
                .bind(c.id)
                .bind(&name),
        )
        .await;
    let id = match id {
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict(format!("there is already a team {name}")))
        }
        other => other?,
    };
    tx.commit().await?;
    Ok(id)
}

/// Put a selected fellow in a team of their cycle (or in none).
pub async fn assign(
    state: &AppState,
    staff: &Staff,
    application_id: i64,
    team_id: Option<i64>,
) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let c = cycle_of_application(&state.db, application_id).await?;
    let (selected,): (bool,) = state
        .db
        .fetch_one(
            query("SELECT selected FROM prog_applications WHERE id = $1").bind(application_id),
        )
        .await?;
    if c.finalised_at.is_none() || !selected {
        return Err(Error::Conflict(
            "only fellows of a final selection join teams".into(),
        ));
    }
    if let Some(t) = team_id {
        if !teams(&state.db, Some(c.id))
            .await?
            .iter()
            .any(|x| x.id == t)
        {
            return Err(Error::BadRequest(format!(
                "team {t} is not a team of this cycle"
            )));
        }
    }
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE prog_applications SET team_id = $1 WHERE id = $2")
            .bind(team_id)
            .bind(application_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct Alumnus {
    pub id: i64,
    pub name: String,
    pub cycle: String,
    pub role: String,
    pub team: Option<String>,
    pub email: String,
    pub volunteer: bool,
    pub availability: String,
}

/// (id, name, cycle, role, team, email, volunteer, availability)
type AlumnusRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    bool,
    String,
);

/// Fellows of cycles that have ended.
pub async fn alumni(db: &Db) -> Result<Vec<Alumnus>> {
    let rows: Vec<AlumnusRow> = db
        .fetch_all(
            query(
                "SELECT a.id, a.name, c.title, a.role, t.name, a.email, a.volunteer, a.availability \
                 FROM prog_applications a JOIN prog_cycles c ON c.id = a.cycle_id \
                 LEFT JOIN prog_teams t ON t.id = a.team_id \
                 WHERE a.selected = TRUE AND c.finalised_at IS NOT NULL AND c.ends_on < $1 \
                 ORDER BY a.volunteer DESC, c.ends_on DESC, a.name",
            )
            .bind(today().to_string()),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Alumnus {
            id: r.0,
            name: r.1,
            cycle: r.2,
            role: r.3,
            team: r.4,
            email: r.5,
            volunteer: r.6,
            availability: r.7,
        })
        .collect())
}

/// Record whether an alumnus is free to volunteer (to relaunch an abandoned service), and when.
pub async fn set_availability(
    state: &AppState,
    staff: &Staff,
    application_id: i64,
    volunteer: bool,
    availability: &str,
) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let availability = optional_text("availability", availability, 200)?;
    if !alumni(&state.db)
        .await?
        .iter()
        .any(|a| a.id == application_id)
    {
        return Err(Error::NotFound(format!(
            "{application_id} is not an alumnus"
        )));
    }
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE prog_applications SET volunteer = $1, availability = $2 WHERE id = $3")
            .bind(volunteer)
            .bind(&availability)
            .bind(application_id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubrics_are_read_from_lines() {
        let r = parse_rubric(DEFAULT_RUBRIC).unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].code, "skills");
        assert_eq!(r[0].max, 5);
        assert!(parse_rubric("skills: Skills").is_err());
        assert!(parse_rubric("skills: A = 5\nskills: B = 3").is_err());
        assert!(parse_rubric("").is_err());
        assert!(parse_rubric("x: Y = 0").is_err());
    }
}
