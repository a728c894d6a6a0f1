//! Questions a form asks and the checking of their answers: a report service's attributes
//! (Open311's shape), a fund's questions, a case's or register's fields where they are lists.
//! Every service that asks a citizen something asks it with these types, so that the web form,
//! the USSD menu and the API check answers one way.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::platform::error::Error;
use crate::platform::i18n::{Lang, Text3};
use crate::t;

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
            // As typed on an Urdu keyboard too (۱۲), kept in Western digits.
            Datatype::Number => match super::text::typed_decimal(value) {
                Some(n) => Answer::One(n),
                None => return bad(t!(lang, "err-attribute-number", code = attr.code.as_str())),
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

/// Stored answers (a JSON object: code → [`Answer`]) as a reader sees them: each question's
/// text and the chosen values' names in `lang`, in the order the questions are asked; an answer
/// to a question no longer asked keeps its code and raw value.
pub fn labelled(questions: &[Attribute], stored: &str, lang: Lang) -> Vec<(String, String)> {
    let mut answers: BTreeMap<String, Answer> = serde_json::from_str(stored).unwrap_or_default();
    let mut out = Vec::new();
    for q in questions {
        let Some(a) = answers.remove(&q.code) else {
            continue;
        };
        let name = |key: &String| {
            q.values
                .iter()
                .find(|v| &v.key == key)
                .map(|v| v.name.get(lang).to_owned())
                .unwrap_or_else(|| key.clone())
        };
        let value = match &a {
            Answer::One(v) => name(v),
            Answer::Many(vs) => vs
                .iter()
                .map(name)
                .collect::<Vec<_>>()
                .join(if lang == Lang::En { ", " } else { "، " }),
        };
        out.push((q.description.get(lang).to_owned(), value));
    }
    for (code, a) in answers {
        let value = match a {
            Answer::One(v) => v,
            Answer::Many(vs) => vs.join(", "),
        };
        out.push((code, value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions() -> Vec<Attribute> {
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
        vec![
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
        ]
    }

    fn submit(pairs: &[(&str, &str)]) -> Result<BTreeMap<String, Answer>, Error> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in pairs {
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        check_answers(&questions(), "kunda", &m, Lang::En, true)
    }

    #[test]
    fn valid_answers_are_normalised() {
        let a = submit(&[
            ("premises", "shop"),
            ("seen", "night"),
            ("seen", "day"),
            ("seen", "night"),
            ("when", "2026-11-01"),
            ("poles", "\u{200E}۱۲"),
        ])
        .unwrap();
        assert_eq!(a["premises"], Answer::One("shop".into()));
        assert_eq!(
            a["poles"],
            Answer::One("12".into()),
            "Urdu digits, kept in Western ones"
        );
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
    fn stored_answers_read_in_the_questions_words() {
        let stored = r#"{"premises":"shop","seen":["night","day"],"gone":"x"}"#;
        let l = labelled(&questions(), stored, Lang::Ur);
        assert_eq!(
            l,
            vec![
                ("premises".to_string(), "shop".to_string()),
                ("seen".to_string(), "night، day".to_string()),
                ("gone".to_string(), "x".to_string()),
            ]
        );
        assert!(labelled(&questions(), "not json", Lang::En).is_empty());
    }
}
