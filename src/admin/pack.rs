//! A department's configuration as a pack file: exported, edited anywhere (a text editor, a
//! spreadsheet turned to TOML), and imported back after a preview of what would change. The
//! import is `packs::load` itself, so a pack from the browser and one from `khidmat pack load`
//! are the same thing.
//!
//! What travels: the department, its reporting services, directory kinds, funds, the workflows
//! it leads (the first of their stakeholders), registers (their definitions; rows come by CSV),
//! question banks and information pages. Districts, places and campaign policy are the
//! deployment's, not a department's: they stay with `khidmat pack load` and the platform pages.
//!
//! An import never deletes, and refuses, naming what depends on it, to take away what data
//! uses: a list choice reports answered, a place attribute places have, a fund question
//! applicants answered, a workflow state cases are in, a question a theory test asked, a
//! register's keys or fields while it holds rows, a budget below what is committed. A workflow
//! must pass `workflow check`. Nothing is half-saved: the import is one transaction.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::services::in_use;
use super::Power;
use crate::packs::{DepartmentSpec, KindSpec, Pack, PackInfo, ReportServiceSpec};
use crate::platform::db::query;
use crate::platform::error::{Error, Result};
use crate::platform::identity::Staff;
use crate::platform::org::Department;
use crate::platform::state::AppState;
use crate::reports::model::{Service, ServiceCode};

/// The kinds of item a department's pack holds, as `(section, list)`: `[[reports.service]]`.
pub const SECTIONS: &[(&str, &str)] = &[
    ("reports", "service"),
    ("directory", "kind"),
    ("benefits", "fund"),
    ("cases", "workflow"),
    ("registers", "register"),
    ("theory", "bank"),
    ("content", "page"),
];

/// One item of configuration: a service, a kind, a fund, …, as the pack writes it.
#[derive(Debug, Clone)]
struct Item {
    /// `service`, `kind`, `fund`, `workflow`, `register`, `bank` or `page`.
    what: &'static str,
    code: String,
    /// The slug of the department it belongs to (a workflow: the one that leads it).
    department: Option<String>,
    value: Value,
}

fn to_value(v: &impl Serialize) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| Error::Internal(e.into()))
}

fn service_spec(s: &Service) -> ReportServiceSpec {
    ReportServiceSpec {
        code: ServiceCode::parse(&s.code).expect("stored codes are valid"),
        department: s.department_slug.clone(),
        name: s.name.clone(),
        description: s.description.clone(),
        group: s.group.clone(),
        keywords: s
            .keywords
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        icon: s.icon.clone(),
        sms: s.sms_keywords.clone(),
        minutes_saved: s.minutes_saved,
        response_hours: s.response_hours,
        max_photos: s.max_photos,
        ask_fixed_after_hours: s.ask_fixed_after_hours,
        public: s.public,
        active: s.active,
        status_notes: s.status_notes.clone(),
        attribute: s.attributes.clone(),
    }
}

/// A register's definition without its demo rows: rows are data, and come by CSV.
fn register_value(r: &crate::registers::model::RegisterSpec) -> Result<Value> {
    let mut v = to_value(r)?;
    if let Value::Object(m) = &mut v {
        m.remove("row");
    }
    Ok(v)
}

/// Everything in the deployment that a department's pack can hold (`services`: every reporting
/// service, read once by the caller).
async fn stored(state: &AppState, services: &[Service]) -> Result<Vec<Item>> {
    let db = &state.db;
    let slugs: BTreeMap<i64, String> = crate::platform::org::departments(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.slug))
        .collect();
    let mut out = Vec::new();
    for s in services {
        out.push(Item {
            what: "service",
            code: s.code.clone(),
            department: Some(s.department_slug.clone()),
            value: to_value(&service_spec(s))?,
        });
    }
    for k in crate::directory::kinds(db).await? {
        let department = k.department_id.and_then(|id| slugs.get(&id).cloned());
        let spec = KindSpec {
            code: k.code,
            department: department.clone(),
            name: k.name,
            icon: k.icon,
            attribute: k.attributes,
            provider_attribute: k.provider_attributes,
            sms: k.sms_keywords,
        };
        out.push(Item {
            what: "kind",
            code: spec.code.clone(),
            department,
            value: to_value(&spec)?,
        });
    }
    for f in crate::benefits::funds(db, None).await? {
        let budget = crate::benefits::ledger::balances(db, f.id).await?.budget;
        let department = slugs.get(&f.department_id).cloned().unwrap_or_default();
        let spec = crate::benefits::model::FundSpec {
            code: f.code,
            department: department.clone(),
            name: f.name,
            description: f.description,
            category: f.category,
            subcategory: f.subcategory,
            financial_year: f.financial_year,
            budget,
            opens_on: f.opens_on,
            closes_on: f.closes_on,
            eligibility: f.eligibility,
            entitlement: f.entitlement,
            selection: f.selection,
            document: f.documents,
            question: f.questions,
            minutes_saved: f.minutes_saved,
            active: f.active,
        };
        out.push(Item {
            what: "fund",
            code: spec.code.clone(),
            department: Some(department),
            value: to_value(&spec)?,
        });
    }
    let mut tx = db.begin().await?;
    let workflows = crate::cases::stored(&mut tx).await?;
    tx.commit().await?;
    for w in workflows {
        out.push(Item {
            what: "workflow",
            code: w.code.clone(),
            department: w.stakeholders.first().cloned(),
            value: to_value(&w)?,
        });
    }
    for r in crate::registers::registers(db).await? {
        out.push(Item {
            what: "register",
            code: r.spec.code.clone(),
            department: Some(r.spec.department.clone()),
            value: register_value(&r.spec)?,
        });
    }
    for (b, _) in crate::quiz::banks(db).await? {
        out.push(Item {
            what: "bank",
            code: b.code.clone(),
            department: Some(b.department.clone()),
            value: to_value(&b)?,
        });
    }
    for p in crate::content::pages(db).await? {
        out.push(Item {
            what: "page",
            code: p.code.clone(),
            department: Some(p.department.clone()),
            value: to_value(&p)?,
        });
    }
    Ok(out)
}

/// The items of a pack, in the same form as the stored ones.
fn of_pack(pack: &Pack) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut push = |what, code: &str, department: Option<&str>, value| {
        out.push(Item {
            what,
            code: code.to_owned(),
            department: department.map(str::to_owned),
            value,
        })
    };
    for s in &pack.reports.service {
        push(
            "service",
            s.code.as_str(),
            Some(&s.department),
            to_value(s)?,
        );
    }
    for k in &pack.directory.kind {
        push("kind", &k.code, k.department.as_deref(), to_value(k)?);
    }
    for f in &pack.benefits.fund {
        push("fund", &f.code, Some(&f.department), to_value(f)?);
    }
    for w in &pack.cases.workflow {
        push(
            "workflow",
            &w.code,
            w.stakeholders.first().map(String::as_str),
            to_value(w)?,
        );
    }
    for r in &pack.registers.register {
        push("register", &r.code, Some(&r.department), register_value(r)?);
    }
    for b in &pack.theory.bank {
        push("bank", &b.code, Some(&b.department), to_value(b)?);
    }
    for p in &pack.content.page {
        push("page", &p.code, Some(&p.department), to_value(p)?);
    }
    Ok(out)
}

/// TOML has no null: an absent optional field is left out.
fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        v => v,
    }
}

fn section_of(what: &str) -> (&'static str, &'static str) {
    *SECTIONS
        .iter()
        .find(|(_, list)| *list == what)
        .expect("every item's kind is a section")
}

/// The department's configuration as pack text.
pub async fn export(state: &AppState, power: Power, d: &Department) -> Result<String> {
    power.over(d.id)?;
    let mut root = serde_json::Map::new();
    root.insert(
        "pack".into(),
        to_value(&PackInfo {
            name: format!("{}-config", d.slug),
            version: chrono::Utc::now().timestamp(),
            description: format!("{}: its configuration, exported from Khidmat", d.name_en),
        })?,
    );
    root.insert(
        "department".into(),
        to_value(&[DepartmentSpec {
            slug: d.slug.clone(),
            name: d.name(),
        }])?,
    );
    let services = crate::reports::all_services(&state.db).await?;
    for item in stored(state, &services).await? {
        if item.department.as_deref() != Some(d.slug.as_str()) {
            continue;
        }
        let (section, list) = section_of(item.what);
        let s = root
            .entry(section)
            .or_insert_with(|| Value::Object(Default::default()));
        let l = s
            .as_object_mut()
            .expect("a section is a table")
            .entry(list)
            .or_insert_with(|| Value::Array(vec![]));
        l.as_array_mut()
            .expect("a list is an array")
            .push(without_nulls(item.value));
    }
    let body = toml::to_string_pretty(&Value::Object(root))
        .map_err(|e| Error::Internal(anyhow::anyhow!("the export is not TOML: {e}")))?;
    Ok(format!(
        "# {} — its configuration. Edit, then import on the administration page: a preview shows\n# what changes before anything does.\n{body}",
        d.name_en
    ))
}

/// What an import would do. Each item is `(kind, code)`: `("fund", "minority-scholarship")`.
#[derive(Debug, Default)]
pub struct Preview {
    pub added: Vec<(String, String)>,
    /// Items it changes, each with what changes.
    pub changed: Vec<(String, String, Vec<String>)>,
    pub unchanged: Vec<(String, String)>,
    /// Why it cannot be imported; empty if it can.
    pub refused: Vec<String>,
}

fn differences(old: &ReportServiceSpec, new: &ReportServiceSpec) -> Vec<String> {
    let mut d = Vec::new();
    if old.name != new.name {
        d.push(format!("name: {} → {}", old.name.en, new.name.en));
    }
    if old.description != new.description {
        d.push("description".into());
    }
    if old.group != new.group {
        d.push("group".into());
    }
    if old.keywords != new.keywords || old.sms != new.sms {
        d.push("keywords".into());
    }
    if old.minutes_saved != new.minutes_saved {
        d.push(format!(
            "minutes saved: {} → {}",
            old.minutes_saved, new.minutes_saved
        ));
    }
    if old.response_hours != new.response_hours {
        d.push(format!(
            "response hours: {} → {}",
            old.response_hours, new.response_hours
        ));
    }
    if old.max_photos != new.max_photos {
        d.push(format!("photos: {} → {}", old.max_photos, new.max_photos));
    }
    if old.ask_fixed_after_hours != new.ask_fixed_after_hours {
        d.push(format!(
            "asked whether fixed after: {} → {} hours",
            old.ask_fixed_after_hours, new.ask_fixed_after_hours
        ));
    }
    if old.public != new.public || old.active != new.active {
        d.push("public or active".into());
    }
    for a in &new.attribute {
        match old.attribute.iter().find(|o| o.code == a.code) {
            None => d.push(format!("new question {}", a.code)),
            Some(o) if o != a => {
                let added: Vec<&str> = a
                    .values
                    .iter()
                    .filter(|v| !o.values.iter().any(|x| x.key == v.key))
                    .map(|v| v.key.as_str())
                    .collect();
                let removed: Vec<&str> = o
                    .values
                    .iter()
                    .filter(|v| !a.values.iter().any(|x| x.key == v.key))
                    .map(|v| v.key.as_str())
                    .collect();
                let mut what = format!("question {}", a.code);
                if !added.is_empty() {
                    what.push_str(&format!(", choices added: {}", added.join(", ")));
                }
                if !removed.is_empty() {
                    what.push_str(&format!(", choices removed: {}", removed.join(", ")));
                }
                d.push(what);
            }
            Some(_) => {}
        }
    }
    for o in &old.attribute {
        if !new.attribute.iter().any(|a| a.code == o.code) {
            d.push(format!("question {} removed", o.code));
        }
    }
    d
}

/// The codes of the entries of list `key` (`question`, `state`, …) in `v`.
fn codes(v: &Value, key: &str) -> BTreeSet<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.get("code").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// What changed between two versions of an item, field by field: a value with its old and new,
/// a list of coded entries with those added, removed and changed.
fn field_differences(old: &Value, new: &Value) -> Vec<String> {
    let (Some(o), Some(n)) = (old.as_object(), new.as_object()) else {
        return vec![];
    };
    let keys: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        let (a, b) = (
            o.get(k).unwrap_or(&Value::Null),
            n.get(k).unwrap_or(&Value::Null),
        );
        if a == b {
            continue;
        }
        let scalar = |v: &Value| !(v.is_object() || v.is_array());
        if scalar(a) && scalar(b) {
            out.push(format!("{k}: {a} → {b}"));
            continue;
        }
        let (ca, cb) = (codes(old, k), codes(new, k));
        if ca.is_empty() && cb.is_empty() {
            out.push(k.clone());
            continue;
        }
        let mut what = k.clone();
        let added: Vec<&str> = cb.difference(&ca).map(String::as_str).collect();
        let removed: Vec<&str> = ca.difference(&cb).map(String::as_str).collect();
        if !added.is_empty() {
            what.push_str(&format!(", added: {}", added.join(", ")));
        }
        if !removed.is_empty() {
            what.push_str(&format!(", removed: {}", removed.join(", ")));
        }
        out.push(what);
    }
    out
}

/// How many rows of `sql` (a `SELECT COUNT(*)` with `$1`, `$2`) there are.
async fn count(state: &AppState, sql: &'static str, a: &str, b: &str) -> Result<i64> {
    let (n,): (i64,) = state.db.fetch_one(query(sql).bind(a).bind(b)).await?;
    Ok(n)
}

/// What in the data depends on something this change takes away.
async fn dependents(
    state: &AppState,
    services: &[Service],
    old: &Item,
    new: &Item,
) -> Result<Vec<String>> {
    let removed = |list: &str| -> Vec<String> {
        codes(&old.value, list)
            .difference(&codes(&new.value, list))
            .cloned()
            .collect()
    };
    let code = old.code.as_str();
    let mut out = Vec::new();
    match old.what {
        "service" => {
            let spec: ReportServiceSpec =
                serde_json::from_value(new.value.clone()).map_err(|e| Error::Internal(e.into()))?;
            if let Some(s) = services.iter().find(|s| s.code == code) {
                out.extend(in_use(&state.db, s, &spec.attribute).await?);
            }
        }
        "kind" => {
            for a in removed("attribute") {
                let n = count(
                    state,
                    "SELECT COUNT(*) FROM dir_places WHERE kind = $1 AND attributes LIKE $2",
                    code,
                    &format!("%\"{a}\":%"),
                )
                .await?;
                if n > 0 {
                    out.push(format!(
                        "kind {code}: {n} place(s) have the attribute “{a}”; keep it"
                    ));
                }
            }
        }
        "fund" => {
            for q in removed("question") {
                let n = count(
                    state,
                    "SELECT COUNT(*) FROM benefit_applications a JOIN benefit_funds f ON f.id = a.fund_id \
                     WHERE f.code = $1 AND a.answers LIKE $2",
                    code,
                    &format!("%\"{q}\":%"),
                )
                .await?;
                if n > 0 {
                    out.push(format!(
                        "fund {code}: {n} application(s) answered the question “{q}”; keep it"
                    ));
                }
            }
            if let Some(f) = crate::benefits::fund(&state.db, code).await? {
                let b = crate::benefits::ledger::balances(&state.db, f.id).await?;
                let budget = new.value.get("budget").and_then(Value::as_i64).unwrap_or(0);
                if budget < b.committed() {
                    out.push(format!(
                        "fund {code}: the budget cannot go below the {} rupees committed to applicants",
                        b.committed() / 100
                    ));
                }
            }
        }
        "workflow" => {
            for s in removed("state") {
                let n = count(
                    state,
                    "SELECT COUNT(*) FROM cases WHERE workflow = $1 AND state = $2",
                    code,
                    &s,
                )
                .await?;
                if n > 0 {
                    out.push(format!(
                        "workflow {code}: {n} case(s) are in the state “{s}”; keep it"
                    ));
                }
            }
        }
        "bank" => {
            for q in removed("question") {
                let n = count(
                    state,
                    "SELECT COUNT(*) FROM theory_answers WHERE bank = $1 AND question = $2",
                    code,
                    &q,
                )
                .await?;
                if n > 0 {
                    out.push(format!(
                        "bank {code}: question “{q}” was answered {n} time(s) and its reviews show it; keep it"
                    ));
                }
            }
        }
        "register" => {
            let rows = crate::registers::register(&state.db, code)
                .await?
                .map_or(0, |r| r.rows);
            let gone = removed("field");
            if rows > 0 && (old.value.get("keys") != new.value.get("keys") || !gone.is_empty()) {
                out.push(format!(
                    "register {code}: it holds {rows} row(s); its keys and fields stay as they are until a new CSV replaces them"
                ));
            }
        }
        _ => {}
    }
    Ok(out)
}

/// Read `text` as a pack for the department `d`, and say what importing it would do.
pub async fn preview(
    state: &AppState,
    power: Power,
    d: &Department,
    text: &str,
) -> Result<Preview> {
    power.over(d.id)?;
    let pack = Pack::parse(text).map_err(|e| Error::BadRequest(format!("{e:#}")))?;
    let mut p = Preview::default();
    if !pack.district.is_empty()
        || !pack.directory.organization.is_empty()
        || !pack.directory.place.is_empty()
        || !pack.campaigns.category.is_empty()
        || !pack.campaigns.policy.is_empty()
        || !pack.campaigns.organisation.is_empty()
    {
        p.refused.push(
            "districts, places, organisations, campaign categories and campaign policy are the deployment's: load them with khidmat pack load".into(),
        );
    }
    let mut foreign = pack.department.iter().any(|x| x.slug != d.slug);
    let services = crate::reports::all_services(&state.db).await?;
    let stored = stored(state, &services).await?;
    for new in of_pack(&pack)? {
        if new.department.as_deref() != Some(d.slug.as_str()) {
            foreign = true;
            continue;
        }
        let label = (new.what.to_owned(), new.code.clone());
        match stored
            .iter()
            .find(|o| o.what == new.what && o.code == new.code)
        {
            None => p.added.push(label),
            Some(o) if o.department != new.department => p.refused.push(format!(
                "{} {}: another department's {} has this code",
                new.what, new.code, new.what
            )),
            Some(o) => {
                p.refused
                    .extend(dependents(state, &services, o, &new).await?);
                let diff = if new.what == "service" {
                    let spec = |v: &Value| serde_json::from_value::<ReportServiceSpec>(v.clone());
                    match (spec(&o.value), spec(&new.value)) {
                        (Ok(a), Ok(b)) => differences(&a, &b),
                        _ => field_differences(&o.value, &new.value),
                    }
                } else {
                    field_differences(&o.value, &new.value)
                };
                if diff.is_empty() {
                    p.unchanged.push(label);
                } else {
                    p.changed.push((label.0, label.1, diff));
                }
            }
        }
    }
    if foreign {
        p.refused.push(format!(
            "this pack is for another department: here only {} may be imported (a workflow belongs to its first stakeholder)",
            d.slug
        ));
    }
    if !pack.cases.workflow.is_empty() {
        let mut known: BTreeSet<String> = crate::platform::org::departments(&state.db)
            .await?
            .into_iter()
            .map(|d| d.slug)
            .collect();
        known.extend(pack.department.iter().map(|d| d.slug.clone()));
        let others: Vec<crate::cases::workflow::Workflow> = stored
            .iter()
            .filter(|i| i.what == "workflow")
            .filter(|i| !pack.cases.workflow.iter().any(|w| w.code == i.code))
            .filter_map(|i| serde_json::from_value(i.value.clone()).ok())
            .collect();
        let known = known.into_iter().collect();
        for problem in crate::cases::check_all(&pack.cases.workflow, &known, &others) {
            p.refused.push(format!("workflow check: {problem}"));
        }
    }
    Ok(p)
}

/// Import after a preview that refused nothing.
pub async fn import(
    state: &AppState,
    staff: &Staff,
    d: &Department,
    text: &str,
) -> Result<Preview> {
    let p = preview(state, Power::of(staff)?, d, text).await?;
    if !p.refused.is_empty() {
        return Err(Error::Conflict(p.refused.join("; ")));
    }
    crate::packs::load(&state.db, text, &staff.actor())
        .await
        .map_err(|e| Error::BadRequest(format!("{e:#}")))?;
    crate::reports::forget_services(state).await;
    Ok(p)
}
