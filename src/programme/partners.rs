//! Partner departments: their focal person and liaison officer, MoUs (status, dates, the signed
//! document, commitments), and the officials trained.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{date, optional_date, optional_text, require, text, Access};
use crate::platform::audit;
use crate::platform::clock::today;
use crate::platform::db::{query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::files::{self, Encoded};
use crate::platform::identity::Staff;
use crate::platform::org::Department;
use crate::platform::state::AppState;

#[derive(Debug, Clone, Serialize)]
pub struct Partner {
    pub department: Department,
    pub focal_person: String,
    pub liaison_officer: String,
    pub mous_signed: i64,
    pub officials_trained: i64,
}

/// (id, slug, names ×3, focal person, liaison officer, MoUs signed, officials trained)
type PartnerRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
);

pub async fn partners(db: &Db) -> Result<Vec<Partner>> {
    let rows: Vec<PartnerRow> = db
        .fetch_all(query(
            "SELECT d.id, d.slug, d.name_en, d.name_ur, d.name_ps, d.focal_person, d.liaison_officer, \
             (SELECT COUNT(*) FROM prog_mous m WHERE m.department_id = d.id AND m.status = 'signed'), \
             (SELECT COUNT(*) FROM prog_training t WHERE t.department_id = d.id) \
             FROM departments d ORDER BY d.name_en",
        ))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Partner {
            department: Department {
                id: r.0,
                slug: r.1,
                name_en: r.2,
                name_ur: r.3,
                name_ps: r.4,
            },
            focal_person: r.5.unwrap_or_default(),
            liaison_officer: r.6.unwrap_or_default(),
            mous_signed: r.7,
            officials_trained: r.8,
        })
        .collect())
}

pub async fn partner(db: &Db, department_id: i64) -> Result<Partner> {
    partners(db)
        .await?
        .into_iter()
        .find(|p| p.department.id == department_id)
        .ok_or_else(|| Error::NotFound(format!("there is no department {department_id}")))
}

/// Name the department's focal person and the programme's liaison officer with it.
pub async fn set_people(
    state: &AppState,
    staff: &Staff,
    department_id: i64,
    focal_person: &str,
    liaison_officer: &str,
) -> Result<()> {
    require(state, staff, Access::Manager).await?;
    let before = partner(&state.db, department_id).await?;
    let focal = optional_text("focal person", focal_person, 200)?;
    let liaison = optional_text("liaison officer", liaison_officer, 200)?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE departments SET focal_person = $1, liaison_officer = $2, updated_at = $3 WHERE id = $4")
            .bind(&focal)
            .bind(&liaison)
            .bind(Utc::now())
            .bind(department_id),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.partner_people",
        "department",
        &before.department.slug,
        serde_json::json!({
            "before": {"focal_person": before.focal_person, "liaison_officer": before.liaison_officer},
            "after": {"focal_person": focal, "liaison_officer": liaison},
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub const MOU_STATUSES: [&str; 4] = ["draft", "signed", "expired", "terminated"];
pub const COMMITMENT_KINDS: [&str; 4] = ["data", "staff", "access", "other"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    pub kind: String,
    pub text: String,
}

/// Commitments from lines `kind: what` (`data: Complaint records since 2015`).
pub fn parse_commitments(raw: &str) -> Result<Vec<Commitment>> {
    raw.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let (kind, what) = line
                .split_once(':')
                .map(|(k, w)| (k.trim().to_lowercase(), w.trim()))
                .filter(|(k, w)| COMMITMENT_KINDS.contains(&k.as_str()) && !w.is_empty())
                .ok_or_else(|| {
                    Error::BadRequest(format!(
                        "commitment line {}: write `kind: what`, kind one of {} (for example `data: Complaint records since 2015`)",
                        n + 1,
                        COMMITMENT_KINDS.join(", ")
                    ))
                })?;
            Ok(Commitment {
                kind,
                text: optional_text("commitment", what, 300)?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Mou {
    pub id: i64,
    pub department_id: i64,
    pub title: String,
    pub status: String,
    pub signed_on: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    /// The signed document's digest and type.
    pub document: Option<(String, String)>,
    pub commitments: Vec<Commitment>,
}

impl Mou {
    /// Signed and not past its end.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        self.status == "signed"
            && self
                .ends_on
                .as_deref()
                .is_none_or(|e| e >= on.to_string().as_str())
    }
}

type MouRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

pub async fn mous(db: &Db, department_id: Option<i64>) -> Result<Vec<Mou>> {
    let rows: Vec<MouRow> = db
        .fetch_all(
            query(
                "SELECT m.id, m.department_id, m.title, m.status, m.signed_on, m.starts_on, m.ends_on, \
                 p.sha256, p.content_type, m.commitments FROM prog_mous m \
                 LEFT JOIN photos p ON p.id = m.document_file_id \
                 WHERE $1 IS NULL OR m.department_id = $1 ORDER BY m.id DESC",
            )
            .bind(department_id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Mou {
            id: r.0,
            department_id: r.1,
            title: r.2,
            status: r.3,
            signed_on: r.4,
            starts_on: r.5,
            ends_on: r.6,
            document: r.7.zip(r.8),
            commitments: serde_json::from_str(&r.9).unwrap_or_default(),
        })
        .collect())
}

/// The data a department has committed to share in MoUs in force today.
pub async fn data_in_force(db: &Db, department_id: i64) -> Result<Vec<String>> {
    let today = today();
    Ok(mous(db, Some(department_id))
        .await?
        .into_iter()
        .filter(|m| m.in_force(today))
        .flat_map(|m| m.commitments)
        .filter(|c| c.kind == "data")
        .map(|c| c.text)
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct MouForm {
    pub title: String,
    pub status: String,
    pub signed_on: String,
    pub starts_on: String,
    pub ends_on: String,
    pub commitments: String,
}

/// Add an MoU (`id` none) or change one. A signed MoU needs its signing date and the signed
/// document (sent now, or kept from before).
pub async fn save_mou(
    state: &AppState,
    staff: &Staff,
    department_id: i64,
    id: Option<i64>,
    f: &MouForm,
    document: Option<Encoded>,
) -> Result<i64> {
    require(state, staff, Access::Manager).await?;
    let dept = partner(&state.db, department_id).await?;
    let before = match id {
        Some(id) => Some(
            mous(&state.db, Some(department_id))
                .await?
                .into_iter()
                .find(|m| m.id == id)
                .ok_or_else(|| {
                    Error::NotFound(format!("there is no MoU {id} with this department"))
                })?,
        ),
        None => None,
    };
    let title = text("title", &f.title, 200)?;
    if !MOU_STATUSES.contains(&f.status.as_str()) {
        return Err(Error::BadRequest(format!(
            "status: one of {}",
            MOU_STATUSES.join(", ")
        )));
    }
    let signed_on = optional_date("signed_on", &f.signed_on)?;
    let starts_on = optional_date("starts_on", &f.starts_on)?;
    let ends_on = optional_date("ends_on", &f.ends_on)?;
    if let (Some(s), Some(e)) = (starts_on, ends_on) {
        if e < s {
            return Err(Error::BadRequest("ends_on is before starts_on".into()));
        }
    }
    let commitments = parse_commitments(&f.commitments)?;
    let has_document = document.is_some() || before.as_ref().is_some_and(|m| m.document.is_some());
    if f.status != "draft" && (signed_on.is_none() || !has_document) {
        return Err(Error::BadRequest(
            "an MoU that has been signed needs its signing date and the signed document (a PDF or a photo of it)".into(),
        ));
    }
    if let Some(d) = &document {
        state
            .files
            .put(crate::platform::files::Area::Documents, d)
            .await
            .map_err(|e| Error::BadRequest(format!("the document could not be kept: {e:?}")))?;
    }
    let mut tx = state.db.begin().await?;
    let file_id = match &document {
        Some(d) => Some(files::record(&mut tx, d).await?.id),
        None => None,
    };
    let now = Utc::now();
    let json = serde_json::to_string(&commitments).expect("serialisable");
    let id = match id {
        None => {
            tx.scalar::<i64>(
                query(
                    "INSERT INTO prog_mous (department_id, title, status, signed_on, starts_on, ends_on, \
                     document_file_id, commitments, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
                )
                .bind(department_id)
                .bind(&title)
                .bind(&f.status)
                .bind(signed_on.map(|d| d.to_string()))
                .bind(starts_on.map(|d| d.to_string()))
                .bind(ends_on.map(|d| d.to_string()))
                .bind(file_id)
                .bind(&json)
                .bind(now),
            )
            .await?
        }
        Some(id) => {
            tx.execute(
                query(
                    "UPDATE prog_mous SET title = $1, status = $2, signed_on = $3, starts_on = $4, \
                     ends_on = $5, document_file_id = COALESCE($6, document_file_id), commitments = $7, \
                     updated_at = $8 WHERE id = $9",
                )
                .bind(&title)
                .bind(&f.status)
                .bind(signed_on.map(|d| d.to_string()))
                .bind(starts_on.map(|d| d.to_string()))
                .bind(ends_on.map(|d| d.to_string()))
                .bind(file_id)
                .bind(&json)
                .bind(now)
                .bind(id),
            )
            .await?;
            id
        }
    };
    audit::record(
        &mut tx,
        &staff.actor(),
        if before.is_some() {
            "programme.mou_changed"
        } else {
            "programme.mou_added"
        },
        "mou",
        &id.to_string(),
        serde_json::json!({
            "department": dept.department.slug,
            "before": before.map(|m| serde_json::json!({"title": m.title, "status": m.status, "signed_on": m.signed_on, "commitments": m.commitments})),
            "after": {"title": title, "status": f.status, "signed_on": signed_on.map(|d| d.to_string()), "commitments": commitments, "new_document": document.is_some()},
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize)]
pub struct Training {
    pub id: i64,
    pub department: String,
    pub name: String,
    pub designation: String,
    pub course: String,
    pub held_on: String,
}

pub async fn training(db: &Db, department_id: Option<i64>) -> Result<Vec<Training>> {
    let rows: Vec<(i64, String, String, String, String, String)> = db
        .fetch_all(
            query(
                "SELECT t.id, d.name_en, t.name, t.designation, t.course, t.held_on FROM prog_training t \
                 JOIN departments d ON d.id = t.department_id \
                 WHERE $1 IS NULL OR t.department_id = $1 ORDER BY t.held_on DESC, t.id DESC",
            )
            .bind(department_id),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Training {
            id: r.0,
            department: r.1,
            name: r.2,
            designation: r.3,
            course: r.4,
            held_on: r.5,
        })
        .collect())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrainingForm {
    pub name: String,
    pub designation: String,
    pub course: String,
    pub held_on: String,
}

/// Record an official of the department trained on a course.
pub async fn add_training(
    state: &AppState,
    staff: &Staff,
    department_id: i64,
    f: &TrainingForm,
) -> Result<i64> {
    require(state, staff, Access::Manager).await?;
    let dept = partner(&state.db, department_id).await?;
    let name = text("name", &f.name, 100)?;
    let designation = optional_text("designation", &f.designation, 100)?;
    let course = text("course", &f.course, 200)?;
    let held_on = date("held_on", &f.held_on)?;
    if held_on > today() {
        return Err(Error::BadRequest(
            "held_on: record training once it has taken place".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    let id = tx
        .scalar::<i64>(
            query(
                "INSERT INTO prog_training (department_id, name, designation, course, held_on, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(department_id)
            .bind(&name)
            .bind(&designation)
            .bind(&course)
            .bind(held_on.to_string())
            .bind(Utc::now()),
        )
        .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "programme.training_recorded",
        "department",
        &dept.department.slug,
        serde_json::json!({"course": course, "held_on": held_on.to_string()}),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitments_are_read_from_lines() {
        let c = parse_commitments("data: Complaint records since 2015\n\nstaff: One focal person")
            .unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].kind, "data");
        assert_eq!(c[0].text, "Complaint records since 2015");
        assert!(parse_commitments("money: a lot").is_err());
        assert!(parse_commitments("data:").is_err());
    }

    #[test]
    fn an_mou_is_in_force_while_signed_and_not_ended() {
        let mut m = Mou {
            id: 1,
            department_id: 1,
            title: "t".into(),
            status: "signed".into(),
            signed_on: Some("2026-01-01".into()),
            starts_on: None,
            ends_on: Some("2026-12-31".into()),
            document: None,
            commitments: vec![],
        };
        let d = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        assert!(m.in_force(d));
        assert!(!m.in_force(d.succ_opt().unwrap()));
        m.status = "draft".into();
        assert!(!m.in_force(d));
    }
}
