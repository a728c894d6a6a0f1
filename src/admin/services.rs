//! Reporting services edited in the browser: the same content a pack holds (names, questions and
//! their list values in three languages, keywords, minutes saved, the promised response time),
//! checked by the same rules, saved by the same upsert; and nothing that reports already use is
//! taken away. A change shows at once on the home page, in Open311 and in the USSD menu: they
//! read the services from the store, and the per-code cache is cleared.

use std::collections::BTreeMap;

use super::Power;
use crate::packs::{Pack, ReportServiceSpec};
use crate::platform::db::{query, Db};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Text3;
use crate::platform::identity::Staff;
use crate::platform::questions::{Attribute, Datatype, ListValue, SmsKeywords};
use crate::platform::state::AppState;
use crate::reports::model::Service;
use crate::reports::{upsert_service, ServiceSpec};

/// Attribute rows the form offers (the existing ones, then empty rows to add).
pub const FORM_ROWS: usize = 6;

fn words(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(|w| w.trim().to_owned())
        .filter(|w| !w.is_empty())
        .collect()
}

fn datatype(s: &str) -> Option<Datatype> {
    Some(match s {
        "string" => Datatype::String,
        "number" => Datatype::Number,
        "datetime" => Datatype::Datetime,
        "text" => Datatype::Text,
        "singlevaluelist" => Datatype::Singlevaluelist,
        "multivaluelist" => Datatype::Multivaluelist,
        _ => return None,
    })
}

/// A list value line: `key = English | اردو | پښتو`.
pub fn value_line(v: &ListValue) -> String {
    format!("{} = {} | {} | {}", v.key, v.name.en, v.name.ur, v.name.ps)
}

fn parse_values(raw: &str, code: &str) -> Result<Vec<ListValue>> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (key, names) = l.split_once('=').ok_or_else(|| {
                Error::BadRequest(format!(
                    "question {code}: write each choice as key = English | اردو | پښتو (“{l}”)"
                ))
            })?;
            let mut n = names.split('|').map(|s| s.trim().to_owned());
            Ok(ListValue {
                key: key.trim().to_owned(),
                name: Text3 {
                    en: n.next().unwrap_or_default(),
                    ur: n.next().unwrap_or_default(),
                    ps: n.next().unwrap_or_default(),
                },
            })
        })
        .collect()
}

/// The service form's fields, as sent.
pub struct Form<'a>(pub &'a [(String, String)]);

impl Form<'_> {
    fn get(&self, k: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    fn text3(&self, k: &str) -> Text3 {
        Text3 {
            en: self.get(&format!("{k}_en")).trim().to_owned(),
            ur: self.get(&format!("{k}_ur")).trim().to_owned(),
            ps: self.get(&format!("{k}_ps")).trim().to_owned(),
        }
    }
    fn number(&self, k: &str) -> Result<i64> {
        self.get(k)
            .trim()
            .parse()
            .ok()
            .filter(|n: &i64| (0..=100_000).contains(n))
            .ok_or_else(|| Error::BadRequest(format!("{k}: a whole number from 0")))
    }

    /// A whole number, or `default` when the form left it out.
    fn number_or(&self, k: &str, default: i64) -> Result<i64> {
        if self.get(k).trim().is_empty() {
            Ok(default)
        } else {
            self.number(k)
        }
    }

    /// The service this form describes, for the department `department`.
    pub fn spec(&self, department: &str) -> Result<ReportServiceSpec> {
        let mut attribute = Vec::new();
        for i in 0..FORM_ROWS * 4 {
            let code = self.get(&format!("a{i}_code")).trim().to_owned();
            if code.is_empty() {
                continue;
            }
            let dt = datatype(self.get(&format!("a{i}_type"))).ok_or_else(|| {
                Error::BadRequest(format!("question {code}: choose its kind of answer"))
            })?;
            let values = parse_values(self.get(&format!("a{i}_values")), &code)?;
            attribute.push(Attribute {
                code: code.clone(),
                datatype: dt,
                required: !self.get(&format!("a{i}_required")).is_empty(),
                variable: true,
                order: Some(i as i64 + 1),
                description: self.text3(&format!("a{i}_q")),
                datatype_description: None,
                values,
            });
        }
        let spec = ReportServiceSpec {
            code: crate::reports::model::ServiceCode::try_from(self.get("code").trim().to_owned())
                .map_err(|e| Error::BadRequest(format!("code: {e}")))?,
            department: department.to_owned(),
            name: self.text3("name"),
            description: self.text3("description"),
            group: self.text3("group"),
            keywords: words(self.get("keywords")),
            icon: self.get("icon").trim().to_owned(),
            sms: SmsKeywords {
                en: words(self.get("sms_en")),
                ur: words(self.get("sms_ur")),
                ps: words(self.get("sms_ps")),
            },
            minutes_saved: self.number("minutes_saved")?,
            response_hours: self.number("response_hours")?,
            max_photos: self.number_or("max_photos", 3)?,
            ask_fixed_after_hours: self.number_or("ask_fixed_after_hours", 24 * 28)?,
            public: !self.get("public").is_empty(),
            active: true,
            status_notes: BTreeMap::new(),
            attribute,
        };
        Pack::check_services(std::slice::from_ref(&spec))
            .map_err(|e| Error::BadRequest(format!("{e:#}")))?;
        Ok(spec)
    }
}

/// The department's services, retired ones included, by code.
pub async fn of_department(db: &Db, department_id: i64) -> Result<Vec<Service>> {
    Ok(crate::reports::all_services(db)
        .await?
        .into_iter()
        .filter(|s| s.department_id == department_id)
        .collect())
}

/// Why saving `new` over `old` would take away what reports use: each list value that is gone
/// but answered, with how many reports answered it.
pub async fn in_use(db: &Db, old: &Service, new: &[Attribute]) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = db
        .fetch_all(query("SELECT attributes FROM reports WHERE service_id = $1").bind(old.id))
        .await?;
    let mut used: BTreeMap<(String, String), usize> = BTreeMap::new();
    for (json,) in rows {
        let answers: BTreeMap<String, serde_json::Value> =
            serde_json::from_str(&json).unwrap_or_default();
        for (code, v) in answers {
            let keys: Vec<String> = match v {
                serde_json::Value::Array(a) => a
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect(),
                serde_json::Value::String(s) => vec![s],
                _ => vec![],
            };
            for k in keys {
                *used.entry((code.clone(), k)).or_default() += 1;
            }
        }
    }
    let mut problems = Vec::new();
    for a in old.attributes.iter().filter(|a| a.datatype.is_list()) {
        let kept = new.iter().find(|n| n.code == a.code);
        for v in &a.values {
            let still = kept.is_some_and(|n| n.values.iter().any(|x| x.key == v.key));
            if let (false, Some(n)) = (still, used.get(&(a.code.clone(), v.key.clone()))) {
                problems.push(format!(
                    "{}: the choice “{}” of “{}” is the answer of {n} report(s); keep it",
                    old.code, v.key, a.code
                ));
            }
        }
    }
    Ok(problems)
}

/// Create or change a service of the department. A code another department holds is refused,
/// and so is taking away a choice that reports answered.
pub async fn save(
    state: &AppState,
    staff: &Staff,
    department_id: i64,
    spec: &ReportServiceSpec,
    creating: bool,
) -> Result<()> {
    Power::of(staff)?.over(department_id)?;
    let existing = crate::reports::all_services(&state.db)
        .await?
        .into_iter()
        .find(|s| s.code == spec.code.as_str());
    match &existing {
        Some(_) if creating => {
            return Err(Error::Conflict(format!(
                "a service with code {} already exists: choose another code",
                spec.code.as_str()
            )))
        }
        Some(s) if s.department_id != department_id => {
            return Err(Error::NotFound("no such service of yours".into()))
        }
        Some(s) => {
            let problems = in_use(&state.db, s, &spec.attribute).await?;
            if !problems.is_empty() {
                return Err(Error::Conflict(problems.join("; ")));
            }
        }
        None => {}
    }
    let mut tx = state.db.begin().await?;
    upsert_service(
        &mut tx,
        &ServiceSpec {
            code: spec.code.as_str(),
            department_id,
            name: &spec.name,
            description: &spec.description,
            group: &spec.group,
            keywords: spec.keywords.join(","),
            sms_keywords: &spec.sms,
            icon: &spec.icon,
            attributes: &spec.attribute,
            status_notes: &existing
                .as_ref()
                .map(|s| s.status_notes.clone())
                .unwrap_or_default(),
            minutes_saved: spec.minutes_saved,
            response_hours: spec.response_hours,
            max_photos: spec.max_photos,
            ask_fixed_after_hours: spec.ask_fixed_after_hours,
            public: spec.public,
            active: true,
        },
    )
    .await?;
    crate::platform::audit::record(
        &mut tx,
        &staff.actor(),
        if creating { "service.create" } else { "service.update" },
        "report_service",
        spec.code.as_str(),
        serde_json::json!({
            "before": existing.as_ref().map(|s| serde_json::json!({"name": s.name, "attributes": s.attributes, "active": s.active})),
            "after": {"name": spec.name, "attributes": spec.attribute},
        }),
    )
    .await?;
    tx.commit().await?;
    crate::reports::forget_services(state).await;
    Ok(())
}

/// Retire a service (no new reports) or bring it back; its reports stay.
pub async fn set_active(state: &AppState, staff: &Staff, code: &str, active: bool) -> Result<()> {
    let power = Power::of(staff)?;
    let s = crate::reports::all_services(&state.db)
        .await?
        .into_iter()
        .find(|s| s.code == code)
        .ok_or_else(|| Error::NotFound("no such service".into()))?;
    power.over(s.department_id)?;
    let mut tx = state.db.begin().await?;
    tx.execute(
        query("UPDATE report_services SET active = $1, updated_at = $2 WHERE id = $3")
            .bind(active)
            .bind(chrono::Utc::now())
            .bind(s.id),
    )
    .await?;
    crate::platform::audit::record(
        &mut tx,
        &staff.actor(),
        "service.active",
        "report_service",
        code,
        serde_json::json!({"before": s.active, "after": active}),
    )
    .await?;
    tx.commit().await?;
    crate::reports::forget_services(state).await;
    Ok(())
}
