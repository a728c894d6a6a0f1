//! Cases at work: who holds which role, opening a case, taking a step (every rule checked, the
//! timeline appended, a document issued), what each caller may see, the public lookup and the
//! documents' verification.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::Serialize;

use super::workflow::{Datatype, Workflow};
use crate::platform::db::{is_unique_violation, query, Db, Tx};
use crate::platform::error::{Error, Result};
use crate::platform::files::{self, Encoded};
use crate::platform::identity::{Scope, Staff, StaffKind};
use crate::platform::personal::{Cnic, Phone};
use crate::platform::state::AppState;
use crate::platform::{audit, impact};

pub async fn workflow(db: &Db, code: &str) -> Result<Option<Workflow>> {
    Ok(super::WORKFLOWS.one(db, code).await?)
}

pub async fn workflow_or_404(db: &Db, code: &str) -> Result<Workflow> {
    workflow(db, code)
        .await?
        .ok_or_else(|| Error::NotFound(format!("no workflow {code:?}")))
}

/// Give a user a role of a workflow. The role's department must be the user's own.
pub async fn grant_role(
    db: &Db,
    actor: &str,
    user_id: i64,
    workflow_code: &str,
    role: &str,
) -> Result<()> {
    let w = workflow_or_404(db, workflow_code).await?;
    let r = w.role.iter().find(|r| r.code == role).ok_or_else(|| {
        Error::BadRequest(format!("workflow {workflow_code} has no role {role:?}"))
    })?;
    let department: Option<(Option<String>,)> = db
        .fetch_optional(
            query("SELECT d.slug FROM users u LEFT JOIN departments d ON d.id = u.department_id WHERE u.id = $1")
                .bind(user_id),
        )
        .await?;
    let Some((department,)) = department else {
        return Err(Error::NotFound(format!("no user {user_id}")));
    };
    if department.as_deref() != Some(r.department.as_str()) {
        return Err(Error::BadRequest(format!(
            "role {role} belongs to department {}; this user works for {}",
            r.department,
            department.as_deref().unwrap_or("no department")
        )));
    }
    let mut tx = db.begin().await?;
    tx.execute(
        query(
            "INSERT INTO case_role_holders (user_id, workflow, role, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, workflow, role) DO NOTHING",
        )
        .bind(user_id)
        .bind(workflow_code)
        .bind(role)
        .bind(actor)
        .bind(Utc::now()),
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        "case.role_granted",
        "user",
        &user_id.to_string(),
        serde_json::json!({"workflow": workflow_code, "role": role}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Who the caller is in a workflow: their roles, and the district they work in (if one).
pub struct Actor {
    pub actor: String,
    pub roles: Vec<String>,
    pub district: Option<String>,
    /// An administrator: sees everything, acts on nothing.
    pub everywhere: bool,
}

pub async fn actor_in(db: &Db, staff: &Staff, w: &Workflow) -> Result<Actor> {
    let (user_id, district, everywhere) = match (&staff.kind, &staff.scope) {
        (StaffKind::User { id, .. }, Scope::All) => (*id, None, true),
        (StaffKind::User { id, .. }, Scope::Department { district, .. }) => {
            (*id, district.clone(), false)
        }
        (StaffKind::Key { .. }, _) => {
            return Err(Error::Forbidden(
                "cases are worked by named staff users, not API keys".into(),
            ))
        }
    };
    // A role counts only while the user works for its department: one moved to another
    // department keeps no say in the old one's cases.
    let held: Vec<(String, Option<String>)> = db
        .fetch_all(
            query(
                "SELECT h.role, d.slug FROM case_role_holders h JOIN users u ON u.id = h.user_id \
                 LEFT JOIN departments d ON d.id = u.department_id \
                 WHERE h.user_id = $1 AND h.workflow = $2 ORDER BY h.role",
            )
            .bind(user_id)
            .bind(&w.code),
        )
        .await?;
    let roles = held
        .into_iter()
        .filter(|(role, department)| {
            w.role
                .iter()
                .any(|r| &r.code == role && Some(&r.department) == department.as_ref())
        })
        .map(|(role, _)| role)
        .collect();
    Ok(Actor {
        actor: staff.actor(),
        roles,
        district,
        everywhere,
    })
}

impl Actor {
    fn sees(&self, case_district: Option<&str>) -> bool {
        self.everywhere
            || (!self.roles.is_empty()
                && match &self.district {
                    None => true,
                    Some(d) => case_district == Some(d.as_str()),
                })
    }
}

/// A case of `w` that the caller may see, or 404 (whether it does not exist or is not theirs).
async fn visible_case(db: &Db, a: &Actor, w: &Workflow, reference: &str) -> Result<CaseRow> {
    case_row(db, w, reference)
        .await?
        .filter(|r| a.sees(r.district.as_deref()))
        .ok_or_else(|| Error::NotFound(format!("no case {reference}")))
}

async fn case_row(db: &Db, w: &Workflow, reference: &str) -> Result<Option<CaseRow>> {
    Ok(db
        .fetch_optional(
            query(format!(
                "{CASE_SELECT} WHERE reference = $1 AND workflow = $2"
            ))
            .bind(reference.trim())
            .bind(&w.code),
        )
        .await?)
}

/// Check and normalise a field's value by its type; CNICs and phones in their canonical form.
fn field_value(w: &Workflow, code: &str, raw: &str) -> Result<String> {
    let f =
        w.field.iter().find(|f| f.code == code).ok_or_else(|| {
            Error::BadRequest(format!("workflow {} has no field {code:?}", w.code))
        })?;
    let v = raw.trim();
    let bad = |why: &str| Err(Error::BadRequest(format!("field {code}: {why}")));
    match f.datatype {
        Datatype::String if v.chars().count() > 255 => bad("at most 255 characters"),
        Datatype::Text if v.chars().count() > 4000 => bad("at most 4000 characters"),
        // Numbers and dates as typed on an Urdu keyboard too, stored in Western digits.
        Datatype::Number => match crate::platform::text::typed_decimal(v) {
            Some(n) => Ok(n),
            None => bad("a number"),
        },
        Datatype::Date => match crate::platform::clock::typed_day(v) {
            Some(d) => Ok(d.to_string()),
            None => bad("a date, YYYY-MM-DD"),
        },
        Datatype::List if !f.values.iter().any(|x| x == v) => {
            bad(&format!("one of {}", f.values.join(", ")))
        }
        Datatype::Cnic => match Cnic::parse(v) {
            Some(c) => Ok(c.digits().to_owned()),
            None => bad("a CNIC of 13 digits"),
        },
        Datatype::Phone => match Phone::parse(v) {
            Some(p) => Ok(p.e164().to_owned()),
            None => bad("a Pakistani mobile number"),
        },
        _ => Ok(v.to_owned()),
    }
}

/// A case as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Case {
    pub reference: String,
    pub workflow: String,
    pub state: String,
    pub state_name: String,
    pub district: Option<String>,
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, String>,
    pub locked_fields: Vec<String>,
    pub version: i64,
    pub state_since: DateTime<Utc>,
    /// Past the state's deadline.
    pub overdue: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// What the case's owner gives, with the reference, to follow it in public (8 digits).
    pub check_code: String,
}

#[derive(sqlx::FromRow, khidmat_derive::FromRaw)]
struct CaseRow {
    id: i64,
    reference: String,
    workflow: String,
    state: String,
    district: Option<String>,
    fields: String,
    locked_fields: String,
    version: i64,
    state_since: DateTime<Utc>,
    created_by: String,
    created_at: DateTime<Utc>,
    check_code: String,
}

const CASE_SELECT: &str =
    "SELECT id, reference, workflow, state, district, fields, locked_fields, \
    version, state_since, created_by, created_at, check_code FROM cases";

impl CaseRow {
    fn view(&self, w: &Workflow) -> Case {
        let state = w.state.iter().find(|s| s.code == self.state);
        Case {
            reference: self.reference.clone(),
            workflow: self.workflow.clone(),
            state: self.state.clone(),
            state_name: state.map(|s| s.name.en.clone()).unwrap_or_default(),
            district: self.district.clone(),
            fields: serde_json::from_str(&self.fields).unwrap_or_default(),
            locked_fields: serde_json::from_str(&self.locked_fields).unwrap_or_default(),
            version: self.version,
            state_since: self.state_since,
            overdue: state
                .and_then(|s| s.deadline_days)
                .is_some_and(|d| Utc::now() - self.state_since > Duration::days(d)),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            check_code: self.check_code.clone(),
        }
    }
}

/// A new case's check code: 8 random digits.
fn new_check_code() -> String {
    use rand::Rng;
    format!("{:08}", rand::rng().random_range(0..100_000_000u32))
}

/// A check code as a person types it: Urdu or Arabic digits, spaces and dashes allowed.
fn typed_code(s: &str) -> String {
    crate::platform::text::typed_number(s)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// Hold the workflow's row until the transaction ends: numbering (case references, document
/// numbers) counts what exists, so two numberings of one workflow must not interleave.
async fn lock_numbering(tx: &mut Tx, w: &Workflow) -> Result<()> {
    tx.execute(
        query("UPDATE case_workflows SET updated_at = updated_at WHERE code = $1").bind(&w.code),
    )
    .await?;
    Ok(())
}

async fn next_reference(tx: &mut Tx, w: &Workflow, attempt: i64) -> Result<String> {
    lock_numbering(tx, w).await?;
    let n: i64 = tx
        .scalar(query("SELECT COUNT(*) FROM cases WHERE workflow = $1").bind(&w.code))
        .await?;
    let prefix = if w.reference_prefix.is_empty() {
        w.code.to_ascii_uppercase()
    } else {
        w.reference_prefix.clone()
    };
    Ok(format!(
        "{prefix}-{}-{:06}",
        Utc::now().year(),
        n + 1 + attempt
    ))
}

/// Open a case for a citizen, where the workflow allows it (an NGO applies for registration).
/// The public fields of the case are what they will use to look it up.
pub async fn create_by_citizen(
    state: &AppState,
    workflow_code: &str,
    district: Option<&str>,
    fields: &BTreeMap<String, String>,
) -> Result<Case> {
    let w = workflow_or_404(&state.db, workflow_code).await?;
    if !w.citizen_can_create {
        return Err(Error::Forbidden(format!(
            "{} cases are opened by staff only",
            w.code
        )));
    }
    let a = Actor {
        actor: "citizen:web".into(),
        roles: vec![],
        district: None,
        everywhere: false,
    };
    insert_case(state, &w, &a, ("citizen", "public"), district, fields).await
}

/// Open a case: by a holder of one of the workflow's creator roles, in their district.
pub async fn create(
    state: &AppState,
    staff: &Staff,
    workflow_code: &str,
    district: Option<&str>,
    fields: &BTreeMap<String, String>,
) -> Result<Case> {
    let w = workflow_or_404(&state.db, workflow_code).await?;
    let a = actor_in(&state.db, staff, &w).await?;
    let Some(role) = a.roles.iter().find(|r| w.creators.contains(r)) else {
        return Err(Error::Forbidden(format!(
            "opening a {} case needs the role {}",
            w.code,
            w.creators.join(" or ")
        )));
    };
    let district = match (
        &a.district,
        district.map(str::trim).filter(|d| !d.is_empty()),
    ) {
        (Some(mine), Some(d)) if mine != d => {
            return Err(Error::Forbidden(format!("you open cases in {mine} only")))
        }
        (Some(mine), _) => Some(mine.clone()),
        (None, d) => d.map(str::to_owned),
    };
    let role_department = w
        .role
        .iter()
        .find(|r| &r.code == role)
        .map(|r| r.department.clone())
        .unwrap_or_default();
    let case = insert_case(
        state,
        &w,
        &a,
        (role, &role_department),
        district.as_deref(),
        fields,
    )
    .await?;
    show(state, staff, &w.code, &case.reference)
        .await
        .map(|(c, ..)| c)
}

async fn insert_case(
    state: &AppState,
    w: &Workflow,
    a: &Actor,
    (role, role_department): (&str, &str),
    district: Option<&str>,
    fields: &BTreeMap<String, String>,
) -> Result<Case> {
    let district = district
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    if let Some(d) = &district {
        if !state.districts().await?.iter().any(|x| &x.slug == d) {
            return Err(Error::BadRequest(format!("there is no district {d:?}")));
        }
    }
    let mut values = BTreeMap::new();
    for (k, v) in fields {
        if !v.trim().is_empty() {
            values.insert(k.clone(), field_value(w, k, v)?);
        }
    }
    let missing: Vec<&str> = w
        .field
        .iter()
        .filter(|f| f.required && !values.contains_key(&f.code))
        .map(|f| f.code.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::BadRequest(format!(
            "required fields are missing: {}",
            missing.join(", ")
        )));
    }
    for attempt in 0..5 {
        let mut tx = state.db.begin().await?;
        let reference = next_reference(&mut tx, w, attempt).await?;
        let now = Utc::now();
        let inserted = tx
            .scalar::<i64>(
                query(
                    "INSERT INTO cases (reference, workflow, state, district, fields, state_since, \
                     created_by, created_at, updated_at, check_code) VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $6, $8) RETURNING id",
                )
                .bind(&reference)
                .bind(&w.code)
                .bind(&w.start)
                .bind(district.clone())
                .bind(serde_json::to_string(&values).expect("serialisable"))
                .bind(now)
                .bind(&a.actor)
                .bind(new_check_code()),
            )
            .await;
        let id = match inserted {
            Err(e) if is_unique_violation(&e) => continue,
            other => other?,
        };
        event(
            &mut tx,
            id,
            a,
            role,
            role_department,
            "open",
            None,
            &w.start,
            "",
            &values,
        )
        .await?;
        audit::record(
            &mut tx,
            &a.actor,
            "case.opened",
            "case",
            &reference,
            serde_json::json!({"workflow": w.code}),
        )
        .await?;
        if role == "citizen" {
            let department_id: Option<i64> = match w.stakeholders.first() {
                Some(slug) => tx
                    .fetch_optional::<(i64,)>(
                        query("SELECT id FROM departments WHERE slug = $1").bind(slug),
                    )
                    .await?
                    .map(|(id,)| id),
                None => None,
            };
            // The applicant, by the first phone or CNIC they gave.
            let citizen = w.field.iter().find_map(|f| {
                let v = values.get(&f.code)?;
                match f.datatype {
                    Datatype::Phone => Phone::parse(v).map(|p| impact::Citizen::phone(&p)),
                    Datatype::Cnic => Cnic::parse(v).map(|c| impact::Citizen::cnic(c.digits())),
                    _ => None,
                }
            });
            impact::record(
                &mut tx,
                &impact::Event {
                    service: "cases",
                    kind: "case_opened",
                    code: Some(&w.code),
                    channel: "web",
                    district: district.as_deref(),
                    department_id,
                    minutes_saved: w.minutes_saved,
                    citizen,
                },
            )
            .await?;
        }
        let row: CaseRow = tx
            .fetch_one(query(format!("{CASE_SELECT} WHERE id = $1")).bind(id))
            .await?;
        tx.commit().await?;
        return Ok(row.view(w));
    }
    Err(Error::Internal(anyhow::anyhow!(
        "no free case reference after five tries"
    )))
}

#[allow(clippy::too_many_arguments)]
async fn event(
    tx: &mut Tx,
    case_id: i64,
    a: &Actor,
    role: &str,
    department: &str,
    transition: &str,
    from: Option<&str>,
    to: &str,
    note: &str,
    changes: &BTreeMap<String, String>,
) -> Result<i64> {
    Ok(tx
        .scalar(
            query(
                "INSERT INTO case_events (case_id, at, actor, role, department, district, transition, \
                 from_state, to_state, note, changes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(case_id)
            .bind(Utc::now())
            .bind(&a.actor)
            .bind(role)
            .bind(department)
            .bind(a.district.clone())
            .bind(transition)
            .bind(from)
            .bind(to)
            .bind(note)
            .bind(serde_json::to_string(changes).expect("serialisable")),
        )
        .await?)
}

/// One photo attached at a step: the attachment's kind (as the step names it), the photo, and
/// where it was taken.
pub struct Attachment {
    pub kind: String,
    pub photo: Encoded,
    pub at: Option<(f64, f64)>,
}

/// A step, as a caller asks for it.
pub struct Step {
    pub transition: String,
    /// The version the caller saw: if the case changed since, the step is refused.
    pub version: i64,
    pub fields: BTreeMap<String, String>,
    pub note: String,
    pub attachments: Vec<Attachment>,
}

/// Take a step. Refused, with the rule that failed and nothing written: a step not allowed from
/// the case's state; a caller without one of its roles, or of another district; a required field
/// or attachment missing; a change to a field an approval fixed; a case changed since the caller
/// saw it.
pub async fn act(
    state: &AppState,
    staff: &Staff,
    workflow_code: &str,
    reference: &str,
    step: Step,
) -> Result<Case> {
    let w = workflow_or_404(&state.db, workflow_code).await?;
    let a = actor_in(&state.db, staff, &w).await?;
    let row = visible_case(&state.db, &a, &w, reference).await?;
    let t = w
        .transition
        .iter()
        .find(|t| t.code == step.transition)
        .ok_or_else(|| {
            Error::BadRequest(format!(
                "workflow {} has no step {:?}",
                w.code, step.transition
            ))
        })?;
    if !t.from.contains(&row.state) {
        return Err(Error::Conflict(format!(
            "step {} is not allowed from {} (it is taken from {})",
            t.code,
            row.state,
            t.from.join(", ")
        )));
    }
    let Some(role) = a.roles.iter().find(|r| t.roles.contains(r)) else {
        return Err(Error::Forbidden(format!(
            "step {} is for {}; you hold {}",
            t.code,
            t.roles.join(" or "),
            if a.roles.is_empty() {
                "no role in this workflow".to_owned()
            } else {
                a.roles.join(", ")
            }
        )));
    };
    let department = w
        .role
        .iter()
        .find(|r| &r.code == role)
        .map(|r| r.department.clone())
        .unwrap_or_default();
    let mut fields: BTreeMap<String, String> =
        serde_json::from_str(&row.fields).unwrap_or_default();
    let mut locked: Vec<String> = serde_json::from_str(&row.locked_fields).unwrap_or_default();
    let mut changes = BTreeMap::new();
    for (k, v) in &step.fields {
        if v.trim().is_empty() {
            continue;
        }
        let value = field_value(&w, k, v)?;
        if fields.get(k) == Some(&value) {
            continue;
        }
        if locked.contains(k) {
            return Err(Error::Conflict(format!(
                "field {k} was fixed by an approval and cannot change"
            )));
        }
        fields.insert(k.clone(), value.clone());
        changes.insert(k.clone(), value);
    }
    let missing: Vec<&str> = t
        .fields
        .iter()
        .filter(|f| !fields.contains_key(*f))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Error::BadRequest(format!(
            "step {} needs the fields {}",
            t.code,
            missing.join(", ")
        )));
    }
    let given: HashSet<&str> = step.attachments.iter().map(|x| x.kind.as_str()).collect();
    let absent: Vec<&str> = t
        .attachments
        .iter()
        .filter(|k| !given.contains(k.as_str()))
        .map(String::as_str)
        .collect();
    if !absent.is_empty() {
        return Err(Error::BadRequest(format!(
            "step {} needs the attachments {}",
            t.code,
            absent.join(", ")
        )));
    }
    if let Some(x) = step
        .attachments
        .iter()
        .find(|x| !t.attachments.contains(&x.kind))
    {
        return Err(Error::BadRequest(format!(
            "step {} takes no attachment {:?}",
            t.code, x.kind
        )));
    }
    if t.approval {
        // What was approved stays as it was.
        for k in fields.keys() {
            if !locked.contains(k) {
                locked.push(k.clone());
            }
        }
        locked.sort();
    }
    for x in &step.attachments {
        state
            .files
            .put(crate::platform::files::Area::Documents, &x.photo)
            .await
            .map_err(|e| Error::BadRequest(format!("attachment {}: {e:?}", x.kind)))?;
    }
    let now = Utc::now();
    let mut tx = state.db.begin().await?;
    let moved = tx
        .execute(
            query(
                "UPDATE cases SET state = $1, fields = $2, locked_fields = $3, state_since = $4, \
                 updated_at = $4, version = version + 1 WHERE id = $5 AND version = $6",
            )
            .bind(&t.to)
            .bind(serde_json::to_string(&fields).expect("serialisable"))
            .bind(serde_json::to_string(&locked).expect("serialisable"))
            .bind(now)
            .bind(row.id)
            .bind(step.version),
        )
        .await?;
    if moved == 0 {
        return Err(Error::Conflict(format!(
            "case {reference} changed since you saw it (version {} now, you had {}): reload it",
            row.version, step.version
        )));
    }
    let event_id = event(
        &mut tx,
        row.id,
        &a,
        role,
        &department,
        &t.code,
        Some(&row.state),
        &t.to,
        step.note.trim(),
        &changes,
    )
    .await?;
    for x in &step.attachments {
        let photo = files::record(&mut tx, &x.photo).await?;
        tx.execute(
            query(
                "INSERT INTO case_attachments (case_id, event_id, kind, photo_id, lat, long, added_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(row.id)
            .bind(event_id)
            .bind(&x.kind)
            .bind(photo.id)
            .bind(x.at.map(|p| p.0))
            .bind(x.at.map(|p| p.1))
            .bind(now),
        )
        .await?;
    }
    if w.document.iter().any(|d| d.on == t.code) {
        lock_numbering(&mut tx, &w).await?;
    }
    for d in w.document.iter().filter(|d| d.on == t.code) {
        issue(&mut tx, row.id, &w, d, &fields, &row.reference, &a.actor).await?;
    }
    audit::record(
        &mut tx,
        &a.actor,
        "case.step",
        "case",
        reference,
        serde_json::json!({"step": t.code, "from": row.state, "to": t.to, "role": role}),
    )
    .await?;
    tx.commit().await?;
    show(state, staff, &w.code, reference)
        .await
        .map(|(c, ..)| c)
}

async fn issue(
    tx: &mut Tx,
    case_id: i64,
    w: &Workflow,
    d: &super::workflow::DocumentSpec,
    fields: &BTreeMap<String, String>,
    reference: &str,
    actor: &str,
) -> Result<()> {
    let n: i64 = tx
        .scalar(query("SELECT COUNT(*) FROM case_documents WHERE kind = $1").bind(&d.code))
        .await?;
    let number = format!("{}-{}-{:06}", d.prefix, Utc::now().year(), n + 1);
    let mut body = d.body.en.clone();
    for f in d.placeholders() {
        let value = match f.as_str() {
            "number" => number.clone(),
            "reference" => reference.to_owned(),
            "date" => Utc::now().format("%Y-%m-%d").to_string(),
            code => {
                // A personal field is written masked: a certificate is shown to the public.
                let v = fields.get(code).cloned().unwrap_or_default();
                match w.field.iter().find(|x| x.code == code).map(|x| x.datatype) {
                    Some(Datatype::Cnic) => Cnic::parse(&v).map(|c| c.masked()).unwrap_or_default(),
                    Some(Datatype::Phone) => {
                        Phone::parse(&v).map(|p| p.masked()).unwrap_or_default()
                    }
                    _ => v,
                }
            }
        };
        body = body.replace(&format!("{{{f}}}"), &value);
    }
    tx.execute(
        query(
            "INSERT INTO case_documents (case_id, kind, number, token, body, issued_by, issued_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(case_id)
        .bind(&d.code)
        .bind(&number)
        .bind(uuid::Uuid::new_v4().simple().to_string())
        .bind(&body)
        .bind(actor)
        .bind(Utc::now()),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw, utoipa::ToSchema)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub role: String,
    pub department: String,
    pub district: Option<String>,
    pub transition: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub note: String,
    pub changes: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, khidmat_derive::FromRaw, utoipa::ToSchema)]
pub struct Document {
    pub kind: String,
    pub number: String,
    pub token: String,
    pub body: String,
    pub issued_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
}

/// A case, its timeline and its documents, for a caller who may see it.
pub async fn show(
    state: &AppState,
    staff: &Staff,
    workflow_code: &str,
    reference: &str,
) -> Result<(Case, Vec<Event>, Vec<Document>)> {
    let w = workflow_or_404(&state.db, workflow_code).await?;
    let a = actor_in(&state.db, staff, &w).await?;
    let row = visible_case(&state.db, &a, &w, reference).await?;
    let events = state
        .db
        .fetch_all(
            query(
                "SELECT at, actor, role, department, district, transition, from_state, to_state, note, changes \
                 FROM case_events WHERE case_id = $1 ORDER BY id",
            )
            .bind(row.id),
        )
        .await?;
    let documents = state
        .db
        .fetch_all(
            query(
                "SELECT kind, number, token, body, issued_at, cancelled_at, cancel_reason \
                 FROM case_documents WHERE case_id = $1 ORDER BY id",
            )
            .bind(row.id),
        )
        .await?;
    Ok((row.view(&w), events, documents))
}

/// The cases of a workflow the caller may see (their district's, if they have one), oldest
/// first; of one state if given.
pub async fn list(
    state: &AppState,
    staff: &Staff,
    workflow_code: &str,
    in_state: Option<&str>,
) -> Result<Vec<Case>> {
    let w = workflow_or_404(&state.db, workflow_code).await?;
    let a = actor_in(&state.db, staff, &w).await?;
    if !a.everywhere && a.roles.is_empty() {
        return Err(Error::Forbidden(format!("you hold no role in {}", w.code)));
    }
    let mut q = query(format!("{CASE_SELECT} WHERE workflow = ")).push_bind(w.code.clone());
    if let Some(d) = &a.district {
        q = q.push(" AND district = ").push_bind(d.clone());
    }
    if let Some(s) = in_state {
        q = q.push(" AND state = ").push_bind(s.to_owned());
    }
    let rows: Vec<CaseRow> = state.db.fetch_all(q.push(" ORDER BY id")).await?;
    Ok(rows.iter().map(|r| r.view(&w)).collect())
}

/// What anyone may see of a case: its state and public fields, given its reference and its
/// check code — which only its owner is given. A wrong code and a reference that does not exist
/// answer alike, so references cannot be probed.
pub async fn public(
    db: &Db,
    workflow_code: &str,
    reference: &str,
    check: &str,
) -> Result<Option<BTreeMap<String, String>>> {
    let w = workflow_or_404(db, workflow_code).await?;
    let Some(row) = case_row(db, &w, reference).await? else {
        return Ok(None);
    };
    let given = typed_code(check);
    let matches = !row.check_code.is_empty()
        && given.len() == row.check_code.len()
        && given
            .bytes()
            .zip(row.check_code.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !matches {
        return Ok(None);
    }
    let fields: BTreeMap<String, String> = serde_json::from_str(&row.fields).unwrap_or_default();
    let mut out: BTreeMap<String, String> = w
        .field
        .iter()
        .filter(|f| f.public && !matches!(f.datatype, Datatype::Cnic | Datatype::Phone))
        .filter_map(|f| fields.get(&f.code).map(|v| (f.code.clone(), v.clone())))
        .collect();
    out.insert("reference".into(), row.reference.clone());
    out.insert("state".into(), row.view(&w).state_name);
    Ok(Some(out))
}

/// A document by its verification token, with the case's public fields.
pub async fn verify_document(db: &Db, token: &str) -> Result<Option<(Document, String)>> {
    let row: Option<(String,)> = db
        .fetch_optional(
            query("SELECT c.workflow FROM case_documents d JOIN cases c ON c.id = d.case_id WHERE d.token = $1").bind(token),
        )
        .await?;
    let Some((workflow_code,)) = row else {
        return Ok(None);
    };
    let w = workflow_or_404(db, &workflow_code).await?;
    let d: Document = db
        .fetch_one(
            query("SELECT kind, number, token, body, issued_at, cancelled_at, cancel_reason FROM case_documents WHERE token = $1")
                .bind(token),
        )
        .await?;
    let title = w
        .document
        .iter()
        .find(|x| x.code == d.kind)
        .map(|x| x.title.en.clone())
        .unwrap_or_default();
    Ok(Some((d, title)))
}

/// Cancel a document (by a holder of one of its cancel roles), with the reason. Once.
pub async fn cancel_document(
    state: &AppState,
    staff: &Staff,
    number: &str,
    reason: &str,
) -> Result<()> {
    let row: Option<(String, String)> = state
        .db
        .fetch_optional(
            query("SELECT c.workflow, d.kind FROM case_documents d JOIN cases c ON c.id = d.case_id WHERE d.number = $1")
                .bind(number),
        )
        .await?;
    let (workflow_code, kind) =
        row.ok_or_else(|| Error::NotFound(format!("no document {number}")))?;
    let w = workflow_or_404(&state.db, &workflow_code).await?;
    let a = actor_in(&state.db, staff, &w).await?;
    let spec = w
        .document
        .iter()
        .find(|d| d.code == kind)
        .ok_or_else(|| Error::NotFound(String::new()))?;
    if !a.roles.iter().any(|r| spec.cancel_roles.contains(r)) {
        return Err(Error::Forbidden(format!(
            "cancelling {} needs the role {}",
            kind,
            spec.cancel_roles.join(" or ")
        )));
    }
    if reason.trim().is_empty() {
        return Err(Error::BadRequest(
            "say why the document is cancelled".into(),
        ));
    }
    let mut tx = state.db.begin().await?;
    let done = tx
        .execute(
            query(
                "UPDATE case_documents SET cancelled_at = $1, cancelled_by = $2, cancel_reason = $3 \
                 WHERE number = $4 AND cancelled_at IS NULL",
            )
            .bind(Utc::now())
            .bind(&a.actor)
            .bind(reason.trim())
            .bind(number),
        )
        .await?;
    if done == 0 {
        return Err(Error::Conflict(format!(
            "document {number} is cancelled already"
        )));
    }
    audit::record(
        &mut tx,
        &a.actor,
        "case.document_cancelled",
        "case_document",
        number,
        serde_json::json!({"reason": reason.trim()}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
