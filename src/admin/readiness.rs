//! Hand-over readiness: could this department run its services alone? Each check says what it
//! found and, when it fails, what to do. The programme's fellows leave; these are the things
//! whose absence killed the earlier apps.

use chrono::{Duration, Utc};

use crate::platform::db::query;
use crate::platform::error::Result;
use crate::platform::i18n::Text3;
use crate::platform::org::Department;
use crate::platform::state::AppState;

pub struct Check {
    pub code: &'static str,
    pub ok: bool,
    /// What was found.
    pub found: String,
    /// What to do when it fails.
    pub fix: &'static str,
}

/// A backup at most this old counts.
const BACKUP_DAYS: i64 = 7;

pub async fn checks(state: &AppState, d: &Department) -> Result<Vec<Check>> {
    let db = &state.db;
    let now = Utc::now();
    let mut out = Vec::new();

    let (maintainer, contact) = super::maintainer(state, d.id).await?;
    out.push(Check {
        code: "maintainer",
        ok: !maintainer.is_empty() && !contact.is_empty(),
        found: if maintainer.is_empty() {
            "no maintainer named".into()
        } else {
            format!("{maintainer} ({contact})")
        },
        fix: "Name the person who answers for these services, with a phone or e-mail, below.",
    });

    let admins: i64 = db
        .scalar(
            query("SELECT COUNT(*) FROM users WHERE department_id = $1 AND role = 'manager' AND active = $2")
                .bind(d.id)
                .bind(true),
        )
        .await?;
    out.push(Check {
        code: "administrators",
        ok: admins >= 2,
        found: format!("{admins} active administrator(s)"),
        fix: "Invite a second manager, so the department is not locked out when one leaves.",
    });

    let last = crate::platform::backup::last_made(db).await?;
    out.push(Check {
        code: "backup",
        ok: last.is_some_and(|at| at > now - Duration::days(BACKUP_DAYS)),
        found: match last {
            Some(at) => format!("last backup {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => "no backup recorded".into(),
        },
        fix: "Run `khidmat backup FILE` every night (cron or a systemd timer) and keep copies on another machine.",
    });

    let settings = state.settings().await;
    let gateway = settings.sms_gateway(&state.config);
    let (sent, dead): (i64, i64) = db
        .fetch_one(
            query(
                "SELECT CAST(COALESCE(SUM(CASE WHEN status = 'sent' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END), 0) AS BIGINT) \
                 FROM sms_outbox WHERE created_at > $1",
            )
            .bind(now - Duration::days(7)),
        )
        .await?;
    out.push(Check {
        code: "gateway",
        ok: gateway != "log" && dead == 0,
        found: format!("SMS gateway {gateway}: {sent} sent, {dead} undeliverable in 7 days"),
        fix: "Choose the SMS gateway (smssync or http) on the site settings page or in the configuration (see OPERATIONS.md), send a test message, and retry or fix undeliverable ones.",
    });

    let staff: i64 = db
        .scalar(
            query("SELECT COUNT(*) FROM users WHERE department_id = $1 AND role IN ('manager', 'officer') AND active = $2")
                .bind(d.id)
                .bind(true),
        )
        .await?;
    let services = super::services::of_department(db, d.id).await?;
    let active: Vec<&str> = services
        .iter()
        .filter(|s| s.active)
        .map(|s| s.code.as_str())
        .collect();
    let unstaffed = if staff == 0 { active.clone() } else { vec![] };
    out.push(Check {
        code: "staffed",
        ok: unstaffed.is_empty(),
        found: if unstaffed.is_empty() {
            format!("{staff} staff for {} service(s)", active.len())
        } else {
            format!("nobody works: {}", unstaffed.join(", "))
        },
        fix: "Invite officers for these services (one per district where reports arrive).",
    });

    let overdue: i64 = db
        .scalar(
            query("SELECT COUNT(*) FROM reports WHERE department_id = $1 AND status = 'open' AND expected_at < $2")
                .bind(d.id)
                .bind(now),
        )
        .await?;
    let cases: i64 = db
        .scalar(
            query(
                "SELECT COUNT(*) FROM case_notices n JOIN cases c ON c.id = n.case_id \
                 WHERE n.department = $1 AND c.state = n.state",
            )
            .bind(&d.slug),
        )
        .await?;
    out.push(Check {
        code: "overdue",
        ok: overdue == 0 && cases == 0,
        found: format!("{overdue} report(s) past their response time, {cases} case(s) overdue"),
        fix: "Work the oldest first from the inbox and the cases page; if the promised times are unrealistic, change them.",
    });

    // Every word a citizen reads, in Urdu and Pashto as well as English: the department's
    // name, its services (names, questions, answers to choose from, status notes) and its
    // registers (labels, answers, values, next steps). A missing one shows English on an Urdu
    // page, which the citizens the programme is for may not read.
    let mut missing = Missing::default();
    missing.want("department name", &d.name());
    for s in services.iter().filter(|s| s.active) {
        let c = &s.code;
        missing.want(&format!("{c} name"), &s.name);
        missing.want(&format!("{c} description"), &s.description);
        for a in &s.attributes {
            missing.want(&format!("{c} question {}", a.code), &a.description);
            for v in &a.values {
                missing.want(&format!("{c} {} answer {}", a.code, v.key), &v.name);
            }
        }
        for (status, note) in &s.status_notes {
            missing.want(&format!("{c} note for {status}"), note);
        }
    }
    for r in crate::registers::registers(db)
        .await?
        .iter()
        .filter(|r| r.department_id == d.id)
    {
        let spec = &r.spec;
        let c = &spec.code;
        missing.want(&format!("register {c} name"), &spec.name);
        missing.want(&format!("register {c} description"), &spec.description);
        missing.want(&format!("register {c} answer"), &spec.answer);
        missing.want(&format!("register {c} not_found"), &spec.not_found);
        for f in &spec.field {
            missing.want(&format!("register {c} label {}", f.code), &f.label);
            for v in &f.values {
                missing.want(&format!("register {c} {} value {}", f.code, v.key), &v.name);
            }
        }
        for (i, step) in spec.next_step.iter().enumerate() {
            missing.want(&format!("register {c} next_step {}", i + 1), &step.text);
            missing.want(
                &format!("register {c} next_step {} link", i + 1),
                &step.link_text,
            );
        }
    }
    // Places (of the kinds the department owns): their names and addresses.
    for (name, address) in crate::directory::place_words(db, d.id).await? {
        missing.want(&format!("place {}", name.en), &name);
        missing.want(&format!("place {} address", name.en), &address);
    }
    out.push(Check {
        code: "translations",
        ok: missing.ur.is_empty() && missing.ps.is_empty(),
        found: missing.found(),
        fix: "Add the Urdu and Pashto words (the pack's ur and ps, or the service's page) and load the pack again; until then those citizens read English there.",
    });

    let trained: i64 = db
        .scalar(query("SELECT COUNT(*) FROM prog_training WHERE department_id = $1").bind(d.id))
        .await?;
    out.push(Check {
        code: "trained",
        ok: trained >= 2,
        found: format!("{trained} official(s) trained"),
        fix: "Train at least two officials and record it on the programme's partner page.",
    });
    Ok(out)
}

/// Texts written in English and not in Urdu or Pashto.
#[derive(Default)]
struct Missing {
    ur: Vec<String>,
    ps: Vec<String>,
}

impl Missing {
    /// Names the longest list shows before it says how many more.
    const SHOWN: usize = 12;

    fn want(&mut self, what: &str, text: &Text3) {
        if text.en.trim().is_empty() {
            return;
        }
        if text.ur.trim().is_empty() {
            self.ur.push(what.to_owned());
        }
        if text.ps.trim().is_empty() {
            self.ps.push(what.to_owned());
        }
    }

    fn found(&self) -> String {
        if self.ur.is_empty() && self.ps.is_empty() {
            return "every text a citizen reads is in Urdu and Pashto".into();
        }
        let list = |language: &str, what: &[String]| {
            let mut shown = what
                .iter()
                .take(Self::SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if what.len() > Self::SHOWN {
                shown.push_str(&format!(" and {} more", what.len() - Self::SHOWN));
            }
            format!("{} without {language}: {shown}", what.len())
        };
        let mut parts = Vec::new();
        if !self.ur.is_empty() {
            parts.push(list("Urdu", &self.ur));
        }
        if !self.ps.is_empty() {
            parts.push(list("Pashto", &self.ps));
        }
        parts.join("; ")
    }
}
