//! Reports: the types. A service's definition (what a citizen may report and which details it
//! asks for), the statuses a report moves through, and the checking of submitted attributes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::platform::error::Error;
use crate::platform::i18n::{Lang, Text3};
use crate::t;

/// An Open311 service code: 1–64 of `a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct ServiceCode(String);

impl ServiceCode {
    pub fn parse(s: &str) -> Option<ServiceCode> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        ok.then(|| ServiceCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ServiceCode {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        ServiceCode::parse(&s)
            .ok_or_else(|| format!("{s:?} is not a service code: use 1-64 of a-z, 0-9, _ and -"))
    }
}

/// Open311 attribute data types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    String,
    Number,
    Datetime,
    Text,
    Singlevaluelist,
    Multivaluelist,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::String => "string",
            Datatype::Number => "number",
            Datatype::Datetime => "datetime",
            Datatype::Text => "text",
            Datatype::Singlevaluelist => "singlevaluelist",
            Datatype::Multivaluelist => "multivaluelist",
        }
    }

    pub fn is_list(self) -> bool {
        matches!(self, Datatype::Singlevaluelist | Datatype::Multivaluelist)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListValue {
    pub key: String,
    pub name: Text3,
}

/// One question a service asks. `variable = false` marks an informational line with no answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    pub code: String,
    pub datatype: Datatype,
    #[serde(default)]
    pub required: bool,
    #[serde(default = "yes")]
    pub variable: bool,
    #[serde(default)]
    pub order: Option<i64>,
    pub description: Text3,
    #[serde(default)]
    pub datatype_description: Option<Text3>,
    #[serde(default)]
    pub values: Vec<ListValue>,
}

fn yes() -> bool {
    true
}

/// Longest answer to a `string` attribute; `text` answers may be as long as a description.
pub const MAX_STRING_ATTRIBUTE: usize = 255;
pub const MAX_DESCRIPTION: usize = 4000;

impl Attribute {
    /// Check an attribute definition from a pack.
    pub fn check(&self) -> Result<(), String> {
        if self.code.is_empty()
            || self.code.len() > 64
            || !self
                .code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(format!(
                "attribute code {:?}: use 1-64 of A-Z, a-z, 0-9, _ and -",
                self.code
            ));
        }
        if self.datatype.is_list() && self.values.is_empty() {
            return Err(format!(
                "attribute {}: a {} needs values",
                self.code,
                self.datatype.as_str()
            ));
        }
        if !self.datatype.is_list() && !self.values.is_empty() {
            return Err(format!(
                "attribute {}: only list attributes have values",
                self.code
            ));
        }
        let mut keys: Vec<&str> = self.values.iter().map(|v| v.key.as_str()).collect();
        keys.sort();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Err(format!("attribute {}: list keys must be unique", self.code));
        }
        if keys.iter().any(|k| k.is_empty()) {
            return Err(format!("attribute {}: a list key is empty", self.code));
        }
        Ok(())
    }
}

/// A report's status. Open311 knows only `open` and `closed`; FixMyStreet's richer statuses
/// say what is happening, and each maps to one of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RichStatus {
    Open,
    Investigating,
    ActionScheduled,
    InProgress,
    Fixed,
    Closed,
    Duplicate,
    NotCouncilsResponsibility,
    NoFurtherAction,
    InternalReferral,
}

pub const ALL_STATUSES: [RichStatus; 10] = [
    RichStatus::Open,
    RichStatus::Investigating,
    RichStatus::ActionScheduled,
    RichStatus::InProgress,
    RichStatus::Fixed,
    RichStatus::Closed,
    RichStatus::Duplicate,
    RichStatus::NotCouncilsResponsibility,
    RichStatus::NoFurtherAction,
    RichStatus::InternalReferral,
];

impl RichStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RichStatus::Open => "open",
            RichStatus::Investigating => "investigating",
            RichStatus::ActionScheduled => "action_scheduled",
            RichStatus::InProgress => "in_progress",
            RichStatus::Fixed => "fixed",
            RichStatus::Closed => "closed",
            RichStatus::Duplicate => "duplicate",
            RichStatus::NotCouncilsResponsibility => "not_councils_responsibility",
            RichStatus::NoFurtherAction => "no_further_action",
            RichStatus::InternalReferral => "internal_referral",
        }
    }

    pub fn parse(s: &str) -> Option<RichStatus> {
        ALL_STATUSES.into_iter().find(|st| st.as_str() == s)
    }

    pub fn is_open(self) -> bool {
        matches!(
            self,
            RichStatus::Open
                | RichStatus::Investigating
                | RichStatus::ActionScheduled
                | RichStatus::InProgress
        )
    }

    /// `open` or `closed`, for Open311.
    pub fn open311(self) -> &'static str {
        if self.is_open() {
            "open"
        } else {
            "closed"
        }
    }

    /// The status's name for people, in their language.
    pub fn label(self, lang: Lang) -> String {
        lang.t(&format!("status-{}", self.as_str().replace('_', "-")))
    }
}

/// The words that start an SMS report of a service, per language (`KUNDA`, `کنڈا`, `کونډه`).
/// Matched case-insensitively against the first word of a message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsKeywords {
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub ur: Vec<String>,
    #[serde(default)]
    pub ps: Vec<String>,
}

impl SmsKeywords {
    pub fn all(&self) -> impl Iterator<Item = (Lang, &str)> {
        self.en
            .iter()
            .map(|k| (Lang::En, k.as_str()))
            .chain(self.ur.iter().map(|k| (Lang::Ur, k.as_str())))
            .chain(self.ps.iter().map(|k| (Lang::Ps, k.as_str())))
    }

    /// The first keyword in `lang` (else English), to show in help messages.
    pub fn first(&self, lang: Lang) -> Option<&str> {
        let list = match lang {
            Lang::En => &self.en,
            Lang::Ur => &self.ur,
            Lang::Ps => &self.ps,
        };
        list.first().or(self.en.first()).map(String::as_str)
    }
}

/// A configured service, as stored.
#[derive(Debug, Clone)]
pub struct Service {
    pub id: i64,
    pub code: String,
    pub department_id: i64,
    pub department_slug: String,
    pub department_name: Text3,
    pub name: Text3,
    pub description: Text3,
    pub group: Text3,
    pub keywords: String,
    pub sms_keywords: SmsKeywords,
    pub icon: String,
    pub attributes: Vec<Attribute>,
    pub status_notes: BTreeMap<String, Text3>,
    pub minutes_saved: i64,
    pub response_hours: i64,
    pub public: bool,
    pub active: bool,
}

impl Service {
    /// Open311 `metadata`: does the service ask for attributes?
    pub fn has_metadata(&self) -> bool {
        !self.attributes.is_empty()
    }
}

/// One answered attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    One(String),
    Many(Vec<String>),
}

/// Check submitted attributes (`attribute[CODE]` → values, in the order sent) against the
/// definitions of a service (or of a fund's questions: `owner` names it in errors). Returns the answers to store, or a 400 that names the first problem.
///
/// `require_all = false` is for channels that cannot ask every question (an SMS keyword, a
/// USSD menu of list questions): required answers may then be missing, wrong ones may not.
pub fn check_answers(
    attributes: &[Attribute],
    owner: &str,
    submitted: &BTreeMap<String, Vec<String>>,
    lang: Lang,
    require_all: bool,
) -> Result<BTreeMap<String, Answer>, Error> {
    let bad = |msg: String| Err(Error::BadRequest(msg));
    for code in submitted.keys() {
        if !attributes.iter().any(|a| &a.code == code && a.variable) {
            return bad(t!(
                lang,
                "err-attribute-unknown",
                code = code.as_str(),
                service = owner
            ));
        }
    }
    let mut answers = BTreeMap::new();
    for attr in attributes.iter().filter(|a| a.variable) {
        let values: Vec<&str> = submitted
            .get(&attr.code)
            .map(|v| {
                v.iter()
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if values.is_empty() {
            if attr.required && require_all {
                return bad(t!(
                    lang,
                    "err-attribute-required",
                    code = attr.code.as_str()
                ));
            }
            continue;
        }
        if attr.datatype != Datatype::Multivaluelist && values.len() > 1 {
            return bad(t!(lang, "err-attribute-single", code = attr.code.as_str()));
        }
        let value = values[0];
        let answer = match attr.datatype {
            Datatype::String | Datatype::Text => {
                let max = if attr.datatype == Datatype::String {
                    MAX_STRING_ATTRIBUTE
                } else {
                    MAX_DESCRIPTION
                };
                if value.chars().count() > max {
                    return bad(t!(
                        lang,
                        "err-field-too-long",
                        name = attr.code.as_str(),
                        max = max
                    ));
                }
                Answer::One(value.to_owned())
            }
            Datatype::Number => match value.parse::<f64>() {
                Ok(n) if n.is_finite() => Answer::One(value.to_owned()),
                _ => return bad(t!(lang, "err-attribute-number", code = attr.code.as_str())),
            },
            Datatype::Datetime => match parse_datetime(value) {
                Some(d) => Answer::One(d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                None => {
                    return bad(t!(
                        lang,
                        "err-attribute-datetime",
                        code = attr.code.as_str()
                    ))
                }
            },
            Datatype::Singlevaluelist | Datatype::Multivaluelist => {
                let mut keys = Vec::new();
                for v in &values {
                    if !attr.values.iter().any(|lv| lv.key == *v) {
                        let allowed: Vec<&str> =
                            attr.values.iter().map(|lv| lv.key.as_str()).collect();
                        return bad(t!(
                            lang,
                            "err-attribute-not-in-list",
                            value = *v,
                            code = attr.code.as_str(),
                            allowed = allowed.join(", ")
                        ));
                    }
                    if !keys.contains(&v.to_string()) {
                        keys.push(v.to_string());
                    }
                }
                if attr.datatype == Datatype::Multivaluelist {
                    Answer::Many(keys)
                } else {
                    Answer::One(keys.remove(0))
                }
            }
        };
        answers.insert(attr.code.clone(), answer);
    }
    Ok(answers)
}

/// RFC 3339 (`2026-11-26T09:30:00Z`, any offset) or a plain date (midnight UTC).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

/// How times go on the wire: RFC 3339 in UTC, whole seconds.
pub fn wire_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Service {
        let list = |keys: &[&str]| {
            keys.iter()
                .map(|k| ListValue {
                    key: k.to_string(),
                    name: Text3 {
                        en: k.to_string(),
                        ..Default::default()
                    },
                })
                .collect()
        };
        let attr = |code: &str, datatype, required, values| Attribute {
            code: code.into(),
            datatype,
            required,
            variable: true,
            order: None,
            description: Text3 {
                en: code.into(),
                ..Default::default()
            },
            datatype_description: None,
            values,
        };
        Service {
            id: 1,
            code: "kunda".into(),
            department_id: 1,
            department_slug: "pesco".into(),
            department_name: Text3::default(),
            name: Text3::default(),
            description: Text3::default(),
            group: Text3::default(),
            keywords: String::new(),
            sms_keywords: SmsKeywords::default(),
            icon: String::new(),
            attributes: vec![
                attr(
                    "premises",
                    Datatype::Singlevaluelist,
                    true,
                    list(&["house", "shop"]),
                ),
                attr(
                    "seen",
                    Datatype::Multivaluelist,
                    false,
                    list(&["day", "night"]),
                ),
                attr("poles", Datatype::Number, false, vec![]),
                attr("when", Datatype::Datetime, false, vec![]),
            ],
            status_notes: BTreeMap::new(),
            minutes_saved: 30,
            response_hours: 72,
            public: true,
            active: true,
        }
    }

    fn submit(pairs: &[(&str, &str)]) -> Result<BTreeMap<String, Answer>, Error> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        {
            let s = service();
            check_answers(&s.attributes, s.code.as_str(), &m, Lang::En, true)
        }
    }

    #[test]
    fn valid_answers_are_normalised() {
        let a = submit(&[
            ("premises", "shop"),
            ("seen", "night"),
            ("seen", "day"),
            ("seen", "night"),
            ("when", "2026-11-01"),
        ])
        .unwrap();
        assert_eq!(a["premises"], Answer::One("shop".into()));
        assert_eq!(a["seen"], Answer::Many(vec!["night".into(), "day".into()]));
        assert_eq!(a["when"], Answer::One("2026-11-01T00:00:00Z".into()));
    }

    #[test]
    fn each_problem_is_named() {
        let msg = |r: Result<_, Error>| r.unwrap_err().to_string();
        assert!(msg(submit(&[])).contains("premises"));
        assert!(msg(submit(&[("premises", "castle")])).contains("house, shop"));
        assert!(msg(submit(&[("premises", "house"), ("premises", "shop")])).contains("one value"));
        assert!(msg(submit(&[("premises", "house"), ("poles", "many")])).contains("poles"));
        assert!(msg(submit(&[("premises", "house"), ("colour", "red")])).contains("colour"));
        assert!(msg(submit(&[("premises", "house"), ("when", "yesterday")])).contains("when"));
    }

    #[test]
    fn statuses_map_to_open_or_closed() {
        assert_eq!(RichStatus::InProgress.open311(), "open");
        assert_eq!(RichStatus::Duplicate.open311(), "closed");
        assert_eq!(
            RichStatus::parse("internal_referral"),
            Some(RichStatus::InternalReferral)
        );
        for s in ALL_STATUSES {
            assert_eq!(RichStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn service_codes() {
        assert!(ServiceCode::parse("illegal-parking").is_some());
        assert!(ServiceCode::parse("Illegal").is_none());
        assert!(ServiceCode::parse("").is_none());
        assert!(ServiceCode::parse("a.json").is_none());
    }
}
