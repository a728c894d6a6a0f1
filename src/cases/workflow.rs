//! A case workflow as a pack declares it, the checks it must pass before anyone depends on it,
//! and its drawing (Graphviz DOT, or SVG with no tool needed) for the departments to review.
//!
//! ```toml
//! [[cases.workflow]]
//! code = "vehicle-seizure"
//! name = { en = "Vehicle seizure and confiscation", ur = "…", ps = "…" }
//! stakeholders = ["excise", "warehouse", "forensic-lab"]   # each must have a step
//! start = "seized"
//!
//! [[cases.workflow.role]]
//! code = "inspector"
//! department = "excise"
//! name = { en = "Excise inspector" }
//!
//! [[cases.workflow.field]]
//! code = "owner_cnic"
//! datatype = "cnic"                 # string, text, number, date, list, cnic, phone
//! label = { en = "Owner's CNIC" }
//!
//! [[cases.workflow.state]]
//! code = "seized"
//! name = { en = "Seized" }
//! deadline_days = 2                 # overdue after this long in the state
//!
//! [[cases.workflow.transition]]
//! code = "receive"
//! from = ["seized"]
//! to = "received"
//! roles = ["eto"]
//! fields = ["chassis_number"]       # must have a value before this step
//! attachments = ["seizure_memo"]    # must be attached at this step
//! approval = false                  # true: an approval gate; the case's fields lock after it
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::platform::i18n::Text3;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    pub code: String,
    pub name: Text3,
    #[serde(default)]
    pub description: Text3,
    /// Departments (slugs) that take part: each must act in at least one step.
    pub stakeholders: Vec<String>,
    pub start: String,
    /// May citizens open a case themselves (an application)?
    #[serde(default)]
    pub citizen_can_create: bool,
    /// Roles whose holders open cases (an inspector who seizes a vehicle).
    #[serde(default)]
    pub creators: Vec<String>,
    /// Roles whose holders see every case of the workflow and act on none (a Director General,
    /// a Secretary).
    #[serde(default)]
    pub oversight: Vec<String>,
    #[serde(default)]
    pub role: Vec<Role>,
    #[serde(default)]
    pub field: Vec<Field>,
    #[serde(default)]
    pub state: Vec<State>,
    #[serde(default)]
    pub transition: Vec<Transition>,
    /// Letters and certificates issued by a step.
    #[serde(default)]
    pub document: Vec<DocumentSpec>,
    /// What case references start with: `VS` makes `VS-2026-000123`.
    #[serde(default)]
    pub reference_prefix: String,
    /// Government time a citizen's application saves (a visit to an office avoided), for the
    /// impact figures.
    #[serde(default)]
    pub minutes_saved: i64,
}

/// A document a step issues: a unique number, a text from the case's fields, and a QR code to
/// the public verification page.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentSpec {
    pub code: String,
    pub title: Text3,
    /// The transition that issues it.
    pub on: String,
    /// Its number's prefix: `NGO` makes `NGO-2026-000001`.
    pub prefix: String,
    /// The text, with `{field_code}` for a field's value.
    pub body: Text3,
    /// Roles that may cancel it.
    #[serde(default)]
    pub cancel_roles: Vec<String>,
}

impl DocumentSpec {
    /// The `{placeholders}` in the body.
    pub fn placeholders(&self) -> Vec<String> {
        let mut out = Vec::new();
        for text in [&self.body.en, &self.body.ur, &self.body.ps] {
            let mut rest = text.as_str();
            while let Some(start) = rest.find('{') {
                let Some(len) = rest[start..].find('}') else {
                    break;
                };
                out.push(rest[start + 1..start + len].to_owned());
                rest = &rest[start + len + 1..];
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    pub code: String,
    pub department: String,
    pub name: Text3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Text,
    Number,
    Date,
    List,
    /// Personal data: masked wherever it is shown publicly.
    Cnic,
    /// Personal data: masked wherever it is shown publicly.
    Phone,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub code: String,
    pub datatype: Datatype,
    pub label: Text3,
    #[serde(default)]
    pub required: bool,
    /// Shown on the public lookup (never a CNIC or phone).
    #[serde(default)]
    pub public: bool,
    /// For `list`: the allowed keys.
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub code: String,
    pub name: Text3,
    #[serde(default)]
    pub terminal: bool,
    /// A case in this state longer than this is overdue.
    pub deadline_days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub code: String,
    #[serde(default)]
    pub label: Text3,
    pub from: Vec<String>,
    pub to: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub attachments: Vec<String>,
    #[serde(default)]
    pub approval: bool,
}

/// One thing wrong with a definition, and where.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub workflow: String,
    /// Which rule: `unreachable`, `dead-end`, `unknown-role`, `unknown-department`,
    /// `stakeholder-without-step`, `unknown-field`, `unknown-state`, `duplicate`, `shape`.
    pub rule: &'static str,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.workflow, self.message, self.rule)
    }
}

fn code_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl Workflow {
    fn state(&self, code: &str) -> Option<&State> {
        self.state.iter().find(|s| s.code == code)
    }

    /// Every state reachable from `from` by following transitions (forwards).
    fn reachable(&self, from: &str) -> HashSet<String> {
        let mut seen = HashSet::from([from.to_owned()]);
        let mut queue = VecDeque::from([from.to_owned()]);
        while let Some(s) = queue.pop_front() {
            for t in self.transition.iter().filter(|t| t.from.contains(&s)) {
                if seen.insert(t.to.clone()) {
                    queue.push_back(t.to.clone());
                }
            }
        }
        seen
    }

    /// Every problem with this workflow, given the departments that exist. Empty: fit to use.
    pub fn check(&self, departments: &HashSet<String>) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut problem = |rule: &'static str, message: String| {
            out.push(Problem {
                workflow: self.code.clone(),
                rule,
                message,
            })
        };
        if !code_ok(&self.code) {
            problem(
                "shape",
                format!("the code {:?} must be 1-64 of a-z, 0-9, - and _", self.code),
            );
        }
        if self.name.en.trim().is_empty() {
            problem("shape", "name.en is required".into());
        }
        // Codes are unique within their kind.
        for (kind, codes) in [
            (
                "state",
                self.state.iter().map(|s| &s.code).collect::<Vec<_>>(),
            ),
            (
                "transition",
                self.transition.iter().map(|t| &t.code).collect(),
            ),
            ("role", self.role.iter().map(|r| &r.code).collect()),
            ("field", self.field.iter().map(|f| &f.code).collect()),
        ] {
            let mut seen = HashSet::new();
            for c in codes {
                if !code_ok(c) {
                    problem(
                        "shape",
                        format!("the {kind} code {c:?} must be 1-64 of a-z, 0-9, - and _"),
                    );
                }
                if !seen.insert(c) {
                    problem("duplicate", format!("two {kind}s are called {c:?}"));
                }
            }
        }
        let states: HashSet<&str> = self.state.iter().map(|s| s.code.as_str()).collect();
        let roles: HashMap<&str, &Role> = self.role.iter().map(|r| (r.code.as_str(), r)).collect();
        let fields: HashMap<&str, &Field> =
            self.field.iter().map(|f| (f.code.as_str(), f)).collect();
        if self.state(&self.start).is_none() {
            problem(
                "unknown-state",
                format!("the start state {:?} is not a state", self.start),
            );
        }
        if !self.state.iter().any(|s| s.terminal) {
            problem(
                "dead-end",
                "no state is terminal: a case could never end".into(),
            );
        }
        for s in &self.state {
            if s.deadline_days.is_some_and(|d| d <= 0) {
                problem(
                    "shape",
                    format!("state {}: deadline_days must be more than zero", s.code),
                );
            }
            if s.terminal && s.deadline_days.is_some() {
                problem(
                    "shape",
                    format!("state {} is terminal and cannot have a deadline", s.code),
                );
            }
        }
        for r in &self.role {
            if !departments.contains(&r.department) {
                problem(
                    "unknown-department",
                    format!(
                        "role {} belongs to department {:?}, which does not exist",
                        r.code, r.department
                    ),
                );
            }
        }
        for d in &self.stakeholders {
            if !departments.contains(d) {
                problem(
                    "unknown-department",
                    format!("stakeholder {d:?} is not a department"),
                );
            }
        }
        if self.creators.is_empty() && !self.citizen_can_create {
            problem(
                "unknown-role",
                "no role opens cases, and citizens may not: set creators".into(),
            );
        }
        for c in &self.creators {
            if !roles.contains_key(c.as_str()) {
                problem(
                    "unknown-role",
                    format!("creator role {c:?} is not a role of this workflow"),
                );
            }
        }
        for o in &self.oversight {
            if !roles.contains_key(o.as_str()) {
                problem(
                    "unknown-role",
                    format!("oversight role {o:?} is not a role of this workflow"),
                );
            }
        }
        for f in &self.field {
            if f.public && matches!(f.datatype, Datatype::Cnic | Datatype::Phone) {
                problem(
                    "shape",
                    format!("field {} is personal data and cannot be public", f.code),
                );
            }
            if f.datatype == Datatype::List && f.values.is_empty() {
                problem("shape", format!("list field {} has no values", f.code));
            }
        }
        for t in &self.transition {
            let at = format!("transition {}", t.code);
            if t.from.is_empty() {
                problem("shape", format!("{at} comes from no state"));
            }
            for f in &t.from {
                if !states.contains(f.as_str()) {
                    problem(
                        "unknown-state",
                        format!("{at} comes from {f:?}, which is not a state"),
                    );
                } else if self.state(f).is_some_and(|s| s.terminal) {
                    problem("shape", format!("{at} leaves {f:?}, which is terminal"));
                }
            }
            if !states.contains(t.to.as_str()) {
                problem(
                    "unknown-state",
                    format!("{at} goes to {:?}, which is not a state", t.to),
                );
            }
            if t.roles.is_empty() {
                problem(
                    "unknown-role",
                    format!("{at} names no role that may take it"),
                );
            }
            for r in &t.roles {
                if !roles.contains_key(r.as_str()) {
                    problem(
                        "unknown-role",
                        format!("{at} is for role {r:?}, which is not a role of this workflow"),
                    );
                } else if self.oversight.contains(r) {
                    problem(
                        "unknown-role",
                        format!("{at} is for role {r:?}, which only oversees"),
                    );
                }
            }
            for f in &t.fields {
                if !fields.contains_key(f.as_str()) {
                    problem(
                        "unknown-field",
                        format!("{at} requires field {f:?}, which does not exist"),
                    );
                }
            }
        }
        for d in &self.document {
            let at = format!("document {}", d.code);
            if !self.transition.iter().any(|t| t.code == d.on) {
                problem(
                    "unknown-state",
                    format!("{at} is issued by step {:?}, which does not exist", d.on),
                );
            }
            for r in &d.cancel_roles {
                if !roles.contains_key(r.as_str()) {
                    problem(
                        "unknown-role",
                        format!("{at} may be cancelled by role {r:?}, which is not a role"),
                    );
                }
            }
            for f in d.placeholders() {
                if !fields.contains_key(f.as_str())
                    && f != "number"
                    && f != "date"
                    && f != "reference"
                {
                    problem(
                        "unknown-field",
                        format!("{at} writes {{{f}}}, which is not a field"),
                    );
                }
            }
        }
        // Every department listed as a stakeholder acts somewhere.
        let acting: HashSet<&str> = self
            .transition
            .iter()
            .flat_map(|t| t.roles.iter())
            .filter_map(|r| roles.get(r.as_str()))
            .map(|r| r.department.as_str())
            .collect();
        for d in &self.stakeholders {
            if !acting.contains(d.as_str()) {
                problem(
                    "stakeholder-without-step",
                    format!("stakeholder {d:?} takes no step: every department listed must act, or be left out"),
                );
            }
        }
        if self.state(&self.start).is_some() {
            let reachable = self.reachable(&self.start);
            for s in &self.state {
                if !reachable.contains(&s.code) {
                    problem(
                        "unreachable",
                        format!("state {} cannot be reached from {}", s.code, self.start),
                    );
                }
            }
            for s in self
                .state
                .iter()
                .filter(|s| !s.terminal && reachable.contains(&s.code))
            {
                let ends = self
                    .reachable(&s.code)
                    .iter()
                    .any(|r| self.state(r).is_some_and(|x| x.terminal));
                if !ends {
                    problem(
                        "dead-end",
                        format!("state {} can never reach a terminal state", s.code),
                    );
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The layer of each state: its distance from the start (unreachable states last).
    fn layers(&self) -> BTreeMap<usize, Vec<&State>> {
        let mut depth: HashMap<&str, usize> = HashMap::new();
        let mut queue = VecDeque::new();
        if self.state(&self.start).is_some() {
            depth.insert(self.start.as_str(), 0);
            queue.push_back(self.start.as_str());
        }
        while let Some(s) = queue.pop_front() {
            let d = depth[s];
            for t in self
                .transition
                .iter()
                .filter(|t| t.from.iter().any(|f| f == s))
            {
                if !depth.contains_key(t.to.as_str()) && self.state(&t.to).is_some() {
                    depth.insert(t.to.as_str(), d + 1);
                    queue.push_back(t.to.as_str());
                }
            }
        }
        let last = depth.values().max().map_or(0, |m| m + 1);
        let mut layers: BTreeMap<usize, Vec<&State>> = BTreeMap::new();
        for s in &self.state {
            layers
                .entry(depth.get(s.code.as_str()).copied().unwrap_or(last))
                .or_default()
                .push(s);
        }
        layers
    }

    fn role_label(&self, t: &Transition) -> String {
        let who: BTreeSet<String> = t
            .roles
            .iter()
            .map(|r| {
                self.role
                    .iter()
                    .find(|x| &x.code == r)
                    .map(|x| format!("{} ({})", x.name.en, x.department))
                    .unwrap_or_else(|| r.clone())
            })
            .collect();
        who.into_iter().collect::<Vec<_>>().join(", ")
    }

    /// Graphviz DOT: `dot -Tsvg`.
    pub fn dot(&self) -> String {
        let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut out = format!(
            "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, style=rounded];\n",
            q(&self.code)
        );
        for s in &self.state {
            let shape = if s.terminal { ", peripheries=2" } else { "" };
            let start = if s.code == self.start {
                ", style=\"rounded,bold\""
            } else {
                ""
            };
            let deadline = s
                .deadline_days
                .map(|d| format!("\\n{d} days"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  \"{}\" [label=\"{}{}\"{shape}{start}];",
                q(&s.code),
                q(&s.name.en),
                deadline
            );
        }
        for t in &self.transition {
            for f in &t.from {
                let gate = if t.approval { " [approval]" } else { "" };
                let _ = writeln!(
                    out,
                    "  \"{}\" -> \"{}\" [label=\"{}{gate}\\n{}\"];",
                    q(f),
                    q(&t.to),
                    q(&if t.label.en.is_empty() {
                        t.code.clone()
                    } else {
                        t.label.en.clone()
                    }),
                    q(&self.role_label(t))
                );
            }
        }
        out.push_str("}\n");
        out
    }

    /// The workflow as an SVG: states in rows by their distance from the start, arrows labelled
    /// with the step and who takes it. Terminal states have a double border; the start is bold.
    pub fn svg(&self) -> String {
        const W: f64 = 200.0;
        const H: f64 = 44.0;
        const GAP_X: f64 = 60.0;
        const GAP_Y: f64 = 90.0;
        let esc = crate::platform::xml::escape;
        let layers = self.layers();
        let widest = layers.values().map(Vec::len).max().unwrap_or(1) as f64;
        // Room on the right for steps that bend back, and their labels.
        let width = widest * (W + GAP_X) + GAP_X + 420.0;
        let height = layers.len() as f64 * (H + GAP_Y) + GAP_Y;
        let mut pos: HashMap<&str, (f64, f64)> = HashMap::new();
        for (row, (_, states)) in layers.iter().enumerate() {
            let n = states.len() as f64;
            let left = (width - 420.0 - (n * W + (n - 1.0) * GAP_X)) / 2.0;
            for (i, s) in states.iter().enumerate() {
                pos.insert(
                    s.code.as_str(),
                    (
                        left + i as f64 * (W + GAP_X),
                        GAP_Y / 2.0 + row as f64 * (H + GAP_Y),
                    ),
                );
            }
        }
        let mut out = format!(
            r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12" role="img" aria-label="{}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#37474f"/></marker></defs>
"##,
            esc(&self.name.en)
        );
        for t in &self.transition {
            let Some(&(x2, y2)) = pos.get(t.to.as_str()) else {
                continue;
            };
            for f in &t.from {
                let Some(&(x1, y1)) = pos.get(f.as_str()) else {
                    continue;
                };
                let (sx, sy) = (x1 + W / 2.0, if y2 > y1 { y1 + H } else { y1 });
                let (ex, ey) = (x2 + W / 2.0, if y2 > y1 { y2 } else { y2 + H });
                let colour = if t.approval { "#b71c1c" } else { "#37474f" };
                // A step back or sideways bends out to the right, so it does not hide the
                // steps forward; its label sits at the bend. A label of a step to the left is
                // written leftwards from the middle.
                let (path, lx, ly, anchor) = if y2 > y1 {
                    let (anchor, lx) = if ex < sx - 1.0 {
                        ("end", (sx + ex) / 2.0 - 6.0)
                    } else {
                        ("start", (sx + ex) / 2.0 + 6.0)
                    };
                    (
                        format!("M{sx:.0} {sy:.0}L{ex:.0} {ey:.0}"),
                        lx,
                        (sy + ey) / 2.0,
                        anchor,
                    )
                } else {
                    let bend = (x1 + W).max(x2 + W) + 200.0;
                    let (a, b) = (y1 + H / 2.0, y2 + H / 2.0);
                    (
                        format!(
                            "M{:.0} {a:.0}C{bend:.0} {a:.0} {bend:.0} {b:.0} {:.0} {b:.0}",
                            x1 + W,
                            x2 + W
                        ),
                        bend - 40.0,
                        (a + b) / 2.0,
                        "start",
                    )
                };
                let label = if t.label.en.is_empty() {
                    &t.code
                } else {
                    &t.label.en
                };
                let gate = if t.approval { " ✓ approval" } else { "" };
                let _ = writeln!(
                    out,
                    r##"<path d="{path}" fill="none" stroke="{colour}" stroke-width="1.5" marker-end="url(#arrow)"/><text x="{lx:.0}" y="{ly:.0}" fill="{colour}" text-anchor="{anchor}">{}{gate}</text><text x="{lx:.0}" y="{:.0}" fill="#546e7a" font-size="10" text-anchor="{anchor}">{}</text>"##,
                    esc(label),
                    ly + 13.0,
                    esc(&self.role_label(t))
                );
            }
        }
        for s in &self.state {
            let (x, y) = pos[s.code.as_str()];
            let stroke = if s.code == self.start { 3 } else { 1 };
            let fill = if s.terminal { "#e8f5e9" } else { "#ffffff" };
            let _ = write!(
                out,
                r##"<rect x="{x:.0}" y="{y:.0}" width="{W}" height="{H}" rx="8" fill="{fill}" stroke="#0d47a1" stroke-width="{stroke}"/>"##
            );
            if s.terminal {
                let _ = write!(
                    out,
                    r##"<rect x="{:.0}" y="{:.0}" width="{}" height="{}" rx="6" fill="none" stroke="#0d47a1"/>"##,
                    x + 3.0,
                    y + 3.0,
                    W - 6.0,
                    H - 6.0
                );
            }
            let deadline = s
                .deadline_days
                .map(|d| format!(" · {d} d"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                r##"<text x="{:.0}" y="{:.0}" text-anchor="middle">{}{}</text>"##,
                x + W / 2.0,
                y + H / 2.0 + 4.0,
                esc(&s.name.en),
                deadline
            );
        }
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t3(en: &str) -> Text3 {
        Text3 {
            en: en.into(),
            ..Default::default()
        }
    }

    /// A small sound workflow: two departments, a loop back, two ends.
    fn sound() -> Workflow {
        toml::from_str(
            r#"
code = "ngo"
name = { en = "NGO registration" }
stakeholders = ["social-welfare", "home"]
start = "submitted"
oversight = ["dg"]
citizen_can_create = true
[[role]]
code = "district-officer"
department = "social-welfare"
name = { en = "District officer" }
[[role]]
code = "vetting"
department = "home"
name = { en = "Vetting officer" }
[[role]]
code = "dg"
department = "social-welfare"
name = { en = "Director General" }
[[field]]
code = "registration_number"
datatype = "string"
label = { en = "Registration number" }
[[state]]
code = "submitted"
name = { en = "Submitted" }
deadline_days = 7
[[state]]
code = "vetted"
name = { en = "Vetted" }
[[state]]
code = "registered"
name = { en = "Registered" }
terminal = true
[[state]]
code = "refused"
name = { en = "Refused" }
terminal = true
[[transition]]
code = "vet"
from = ["submitted"]
to = "vetted"
roles = ["vetting"]
[[transition]]
code = "return"
from = ["vetted"]
to = "submitted"
roles = ["district-officer"]
[[transition]]
code = "register"
from = ["vetted"]
to = "registered"
roles = ["district-officer"]
fields = ["registration_number"]
approval = true
[[transition]]
code = "refuse"
from = ["submitted", "vetted"]
to = "refused"
roles = ["district-officer"]
"#,
        )
        .unwrap()
    }

    fn departments() -> HashSet<String> {
        ["social-welfare", "home", "excise"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn rules(w: &Workflow) -> Vec<&'static str> {
        w.check(&departments()).iter().map(|p| p.rule).collect()
    }

    #[test]
    fn a_sound_workflow_passes_and_draws() {
        let w = sound();
        assert_eq!(w.check(&departments()), vec![]);
        let dot = w.dot();
        assert!(dot.contains("\"vetted\" -> \"registered\"") && dot.contains("[approval]"));
        let svg = w.svg();
        assert!(
            svg.starts_with("<svg")
                && svg.contains("Registered")
                && svg.contains("Vetting officer (home)")
        );
    }

    #[test]
    fn an_unreachable_state_is_found() {
        let mut w = sound();
        w.state.push(State {
            code: "archived".into(),
            name: t3("Archived"),
            terminal: true,
            deadline_days: None,
        });
        assert_eq!(rules(&w), vec!["unreachable"]);
    }

    #[test]
    fn a_state_that_cannot_end_is_found() {
        let mut w = sound();
        w.state.push(State {
            code: "limbo".into(),
            name: t3("Limbo"),
            terminal: false,
            deadline_days: None,
        });
        w.transition.push(Transition {
            code: "park".into(),
            label: Text3::default(),
            from: vec!["vetted".into()],
            to: "limbo".into(),
            roles: vec!["vetting".into()],
            fields: vec![],
            attachments: vec![],
            approval: false,
        });
        let found = w.check(&departments());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "dead-end");
        assert!(found[0].message.contains("limbo"));
    }

    #[test]
    fn unknown_roles_and_departments_are_found() {
        let mut w = sound();
        w.transition[0].roles = vec!["clerk".into()];
        w.role[1].department = "nowhere".into();
        let found = rules(&w);
        assert!(found.contains(&"unknown-role"), "{found:?}");
        assert!(found.contains(&"unknown-department"), "{found:?}");
    }

    #[test]
    fn a_stakeholder_without_a_step_is_found() {
        let mut w = sound();
        w.stakeholders.push("excise".into());
        assert_eq!(rules(&w), vec!["stakeholder-without-step"]);
    }

    #[test]
    fn a_required_field_that_does_not_exist_is_found() {
        let mut w = sound();
        w.transition[2].fields.push("certificate_no".into());
        assert_eq!(rules(&w), vec!["unknown-field"]);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut w = sound();
        w.transition[2].fields.push("certificate_no".into());
        w.stakeholders.push("excise".into());
        w.transition[0].roles = vec!["clerk".into()];
        w.field.push(Field {
            code: "owner_cnic".into(),
            datatype: Datatype::Cnic,
            label: t3("Owner's CNIC"),
            required: false,
            public: true,
            values: vec![],
        });
        let found = rules(&w);
        for rule in [
            "unknown-field",
            "stakeholder-without-step",
            "unknown-role",
            "shape",
        ] {
            assert!(found.contains(&rule), "{rule} in {found:?}");
        }
    }
}
