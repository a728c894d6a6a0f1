//! A department's configuration as a pack file: exported, edited anywhere (a text editor, a
//! spreadsheet turned to TOML), and imported back after a preview of what would change. The
//! import is `packs::load` itself, so a pack from the browser and one from `khidmat pack load`
//! are the same thing. An import never deletes; one that would take away a list choice that
//! reports answered is refused, naming how many reports depend on it.
//!
//! What travels: the department and its reporting services. Directory kinds, funds, workflows,
//! registers and question banks still load through `khidmat pack load`.

use serde::Serialize;

use super::services::{in_use, of_department};
use super::Power;
use crate::app::AppState;
use crate::packs::{DepartmentSpec, Pack, PackInfo, ReportServiceSpec};
use crate::platform::error::{Error, Result};
use crate::platform::i18n::Text3;
use crate::platform::identity::Staff;
use crate::platform::org::Department;
use crate::reports::model::{Service, ServiceCode};

#[derive(Serialize)]
struct Export<'a> {
    pack: PackInfo,
    department: Vec<DepartmentSpec>,
    reports: Reports<'a>,
}

#[derive(Serialize)]
struct Reports<'a> {
    service: &'a [ReportServiceSpec],
}

fn spec_of(s: &Service) -> ReportServiceSpec {
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
        public: s.public,
        active: s.active,
        status_notes: s.status_notes.clone(),
        attribute: s.attributes.clone(),
    }
}

/// The department's configuration as pack text.
pub async fn export(state: &AppState, power: Power, d: &Department) -> Result<String> {
    power.over(d.id)?;
    let services: Vec<ReportServiceSpec> = of_department(&state.db, d.id)
        .await?
        .iter()
        .map(spec_of)
        .collect();
    let e = Export {
        pack: PackInfo {
            name: format!("{}-config", d.slug),
            version: chrono::Utc::now().timestamp(),
            description: format!("{}: its configuration, exported from Khidmat", d.name_en),
        },
        department: vec![DepartmentSpec {
            slug: d.slug.clone(),
            name: Text3 {
                en: d.name_en.clone(),
                ur: d.name_ur.clone(),
                ps: d.name_ps.clone(),
            },
        }],
        reports: Reports { service: &services },
    };
    let body = toml::to_string_pretty(&e).map_err(|e| Error::Internal(e.into()))?;
    Ok(format!(
        "# {} — reporting services. Edit, then import on the administration page: a preview shows\n# what changes before anything does.\n{body}",
        d.name_en
    ))
}

/// What an import would do.
#[derive(Debug, Default)]
pub struct Preview {
    /// Services it adds.
    pub added: Vec<String>,
    /// Services it changes, each with what changes.
    pub changed: Vec<(String, Vec<String>)>,
    pub unchanged: Vec<String>,
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
    if pack.department.iter().any(|x| x.slug != d.slug)
        || pack.reports.service.iter().any(|s| s.department != d.slug)
    {
        p.refused.push(format!(
            "this pack is for another department: here only {} may be imported",
            d.slug
        ));
    }
    if !pack.district.is_empty()
        || !pack.directory.kind.is_empty()
        || !pack.benefits.fund.is_empty()
        || !pack.cases.workflow.is_empty()
        || !pack.registers.register.is_empty()
        || !pack.theory.bank.is_empty()
        || !pack.content.page.is_empty()
        || !pack.campaigns.policy.is_empty()
        || !pack.campaigns.organisation.is_empty()
    {
        p.refused.push(
            "this page imports a department and its reporting services; load other sections with khidmat pack load".into(),
        );
    }
    let all = crate::reports::store::all_services(&state.db).await?;
    for s in &pack.reports.service {
        match all.iter().find(|x| x.code == s.code.as_str()) {
            None => p.added.push(s.code.as_str().to_owned()),
            Some(x) if x.department_id != d.id => p.refused.push(format!(
                "{}: another department's service has this code",
                s.code.as_str()
            )),
            Some(x) => {
                p.refused.extend(in_use(&state.db, x, &s.attribute).await?);
                let diff = differences(&spec_of(x), s);
                if diff.is_empty() {
                    p.unchanged.push(x.code.clone());
                } else {
                    p.changed.push((x.code.clone(), diff));
                }
            }
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
    state.caches.services.clear().await;
    Ok(p)
}
