//! What a fund is, as a pack declares it: who may apply (declarative rules), what a selected
//! applicant is entitled to, how applicants are selected, the documents and questions of the
//! form. And the checks on what an applicant sends: CNIC structure, IBAN, money.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::platform::i18n::{Lang, Text3};
use crate::platform::personal::Cnic;
use crate::platform::questions::{Answer, Attribute};
use crate::t;

pub const GENDERS: [&str; 3] = ["female", "male", "transgender"];

/// Who may apply. Every rule left out admits everyone.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    /// District slugs; empty: any district.
    #[serde(default)]
    pub districts: Vec<String>,
    /// Answers that admit, by question: `{ religion = ["christian", "hindu"] }` admits those
    /// whose answer to the fund's list question `religion` is one of these keys. Each question
    /// named must be a list question of the fund; an applicant who gives no answer to it, or
    /// another, is not eligible.
    #[serde(default)]
    pub answers: std::collections::BTreeMap<String, Vec<String>>,
    /// Of [`GENDERS`]; empty: any.
    #[serde(default)]
    pub genders: Vec<String>,
    pub min_age: Option<i64>,
    pub max_age: Option<i64>,
    /// Household income a month, in paisa.
    pub max_monthly_income: Option<i64>,
    pub min_dependants: Option<i64>,
}

/// What a selected applicant receives, in paisa.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Entitlement {
    /// The same amount for everyone.
    Fixed { amount: i64 },
    /// By the applicant's grade (a category or pay scale), as in force on the day they applied.
    Table { rows: Vec<TableRow> },
    /// The budget still available, split equally among those selected, at most `cap` each.
    EqualSplit { cap: i64 },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableRow {
    pub grade: String,
    pub amount: i64,
    /// In force from this day (`YYYY-MM-DD`) until a later row for the same grade.
    pub from: NaiveDate,
}

impl Entitlement {
    /// The amount for an applicant of `grade` who applied on `day`; `None` when the table has
    /// no row for them. `EqualSplit` is decided at selection: `None` here.
    pub fn amount(&self, grade: &str, day: NaiveDate) -> Option<i64> {
        match self {
            Entitlement::Fixed { amount } => Some(*amount),
            Entitlement::Table { rows } => rows
                .iter()
                .filter(|r| r.grade == grade && r.from <= day)
                .max_by_key(|r| r.from)
                .map(|r| r.amount),
            Entitlement::EqualSplit { .. } => None,
        }
    }

    /// The grades a table knows, for the form's choice.
    pub fn grades(&self) -> Vec<String> {
        let mut g: Vec<String> = match self {
            Entitlement::Table { rows } => rows.iter().map(|r| r.grade.clone()).collect(),
            _ => Vec::new(),
        };
        g.dedup();
        g.sort();
        g.dedup();
        g
    }

    fn check(&self) -> Result<(), String> {
        match self {
            Entitlement::Fixed { amount } | Entitlement::EqualSplit { cap: amount }
                if *amount <= 0 =>
            {
                Err("the entitlement amount must be more than zero paisa".into())
            }
            Entitlement::Table { rows } if rows.is_empty() => {
                Err("an entitlement table needs at least one row".into())
            }
            Entitlement::Table { rows } if rows.iter().any(|r| r.amount <= 0) => {
                Err("every amount in the entitlement table must be more than zero".into())
            }
            _ => Ok(()),
        }
    }
}

/// How applications that passed verification are chosen.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    pub method: Method,
    /// At most this many are selected, whatever the budget allows.
    pub places: Option<i64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Lowest monthly income first (then most dependants, then who applied first).
    LowestIncome,
    /// Most dependants first (then lowest income, then who applied first).
    MostDependants,
    /// A verifiable random ballot (`draw.rs`).
    Ballot,
}

/// A document the form asks for (a photo of it, taken with the phone).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub code: String,
    pub name: Text3,
    #[serde(default)]
    pub required: bool,
}

/// A fund as a pack declares it (`[[benefits.fund]]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundSpec {
    pub code: String,
    pub department: String,
    pub name: Text3,
    #[serde(default)]
    pub description: Text3,
    /// `educational`, `scholarship`, `medical`, `marriage`, `funeral`, …
    pub category: String,
    #[serde(default)]
    pub subcategory: String,
    /// `2026-27`
    pub financial_year: String,
    /// In paisa.
    pub budget: i64,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    #[serde(default)]
    pub eligibility: Eligibility,
    pub entitlement: Entitlement,
    pub selection: Selection,
    #[serde(default)]
    pub document: Vec<Document>,
    #[serde(default)]
    pub question: Vec<Attribute>,
    /// Government time one application saves (an office visit and a paper file).
    #[serde(default)]
    pub minutes_saved: i64,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

impl FundSpec {
    pub fn check(&self) -> Result<(), String> {
        let code_ok = !self.code.is_empty()
            && self.code.len() <= 40
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !code_ok {
            return Err(format!(
                "fund code {:?}: use 1-40 lowercase letters, digits and dashes",
                self.code
            ));
        }
        let fail = |m: String| Err(format!("fund {}: {m}", self.code));
        if self.budget < 0 {
            return fail("the budget cannot be negative".into());
        }
        if self.opens_on > self.closes_on {
            return fail("the application window closes before it opens".into());
        }
        if let Err(m) = self.entitlement.check() {
            return fail(m);
        }
        if self.selection.places.is_some_and(|p| p <= 0) {
            return fail("places must be more than zero".into());
        }
        if let Some(g) = self
            .eligibility
            .genders
            .iter()
            .find(|g| !GENDERS.contains(&g.as_str()))
        {
            return fail(format!(
                "unknown gender {g:?}: use female, male or transgender"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for d in &self.document {
            if d.code.is_empty() || !seen.insert(&d.code) {
                return fail(format!("document code {:?} is empty or repeated", d.code));
            }
        }
        for q in &self.question {
            q.check().map_err(|m| format!("fund {}: {m}", self.code))?;
        }
        for (code, admit) in &self.eligibility.answers {
            let Some(q) = self
                .question
                .iter()
                .find(|q| &q.code == code && q.variable && q.datatype.is_list())
            else {
                return fail(format!(
                    "the eligibility rule on answers names {code:?}, which is not a list question of the fund"
                ));
            };
            if admit.is_empty() {
                return fail(format!(
                    "the eligibility rule on {code:?} admits no answer: leave it out to admit all"
                ));
            }
            if let Some(k) = admit
                .iter()
                .find(|k| !q.values.iter().any(|v| &v.key == *k))
            {
                return fail(format!(
                    "the eligibility rule on {code:?} names {k:?}, which is not one of its answers"
                ));
            }
        }
        Ok(())
    }
}

/// What an applicant tells us, checked: the facts the rules read.
#[derive(Debug, Clone)]
pub struct Circumstances {
    pub district: Option<String>,
    pub gender: String,
    /// The answers to the fund's list questions: code → keys given.
    pub answers: std::collections::BTreeMap<String, Vec<String>>,
    pub birth_date: NaiveDate,
    pub monthly_income: i64,
    pub dependants: i64,
    pub grade: String,
    /// Document codes supplied.
    pub documents: Vec<String>,
}

/// One rule an application failed, with what it found: stored with the application and shown
/// to the applicant and staff in their language.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Failure {
    District {
        district: Option<String>,
    },
    /// The answer to a question the rules restrict (in the words the applicant saw), or none.
    Answer {
        question: Text3,
        answer: Option<Text3>,
    },
    Gender {
        gender: String,
    },
    TooYoung {
        age: i64,
        min: i64,
    },
    TooOld {
        age: i64,
        max: i64,
    },
    Income {
        income: i64,
        max: i64,
    },
    Dependants {
        dependants: i64,
        min: i64,
    },
    Document {
        code: String,
    },
    Grade {
        grade: String,
    },
}

impl Failure {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            Failure::District { district } => t!(
                lang,
                "benefit-fail-district",
                district = district.clone().unwrap_or_default()
            ),
            Failure::Answer {
                question,
                answer: Some(answer),
            } => t!(
                lang,
                "benefit-fail-answer",
                question = question.get(lang),
                answer = answer.get(lang)
            ),
            Failure::Answer {
                question,
                answer: None,
            } => t!(
                lang,
                "benefit-fail-unanswered",
                question = question.get(lang)
            ),
            Failure::Gender { .. } => lang.t("benefit-fail-gender"),
            Failure::TooYoung { age, min } => {
                t!(lang, "benefit-fail-young", age = *age, min = *min)
            }
            Failure::TooOld { age, max } => t!(lang, "benefit-fail-old", age = *age, max = *max),
            Failure::Income { income, max } => t!(
                lang,
                "benefit-fail-income",
                income = rupees(*income),
                max = rupees(*max)
            ),
            Failure::Dependants { dependants, min } => t!(
                lang,
                "benefit-fail-dependants",
                dependants = *dependants,
                min = *min
            ),
            Failure::Document { code } => {
                t!(lang, "benefit-fail-document", document = code.as_str())
            }
            Failure::Grade { grade } => t!(lang, "benefit-fail-grade", grade = grade.as_str()),
        }
    }
}

/// The keys an applicant gave, by question, as the rules read them.
pub fn given(
    answers: &std::collections::BTreeMap<String, Answer>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    answers
        .iter()
        .map(|(code, a)| {
            let keys = match a {
                Answer::One(k) => vec![k.clone()],
                Answer::Many(ks) => ks.clone(),
            };
            (code.clone(), keys)
        })
        .collect()
}

/// Whole years from `born` to `on`.
pub fn age_on(born: NaiveDate, on: NaiveDate) -> i64 {
    let mut years = (on.year() - born.year()) as i64;
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years
}

/// Every rule the applicant fails, in the order the rules are listed; empty: eligible.
pub fn assess(
    rules: &Eligibility,
    entitlement: &Entitlement,
    documents: &[Document],
    questions: &[Attribute],
    who: &Circumstances,
    on: NaiveDate,
) -> Vec<Failure> {
    let mut fails = Vec::new();
    if !rules.districts.is_empty()
        && !who
            .district
            .as_ref()
            .is_some_and(|d| rules.districts.contains(d))
    {
        fails.push(Failure::District {
            district: who.district.clone(),
        });
    }
    for (code, admit) in &rules.answers {
        let given = who.answers.get(code).map(Vec::as_slice).unwrap_or_default();
        if given.iter().any(|k| admit.contains(k)) {
            continue;
        }
        let q = questions.iter().find(|q| &q.code == code);
        let name = |key: &str| {
            q.and_then(|q| q.values.iter().find(|v| v.key == key))
                .map(|v| v.name.clone())
                .unwrap_or_else(|| Text3 {
                    en: key.to_owned(),
                    ..Default::default()
                })
        };
        fails.push(Failure::Answer {
            question: q.map(|q| q.description.clone()).unwrap_or_else(|| Text3 {
                en: code.clone(),
                ..Default::default()
            }),
            answer: given.first().map(|k| name(k)),
        });
    }
    if !rules.genders.is_empty() && !rules.genders.contains(&who.gender) {
        fails.push(Failure::Gender {
            gender: who.gender.clone(),
        });
    }
    let age = age_on(who.birth_date, on);
    if let Some(min) = rules.min_age.filter(|m| age < *m) {
        fails.push(Failure::TooYoung { age, min });
    }
    if let Some(max) = rules.max_age.filter(|m| age > *m) {
        fails.push(Failure::TooOld { age, max });
    }
    if let Some(max) = rules.max_monthly_income.filter(|m| who.monthly_income > *m) {
        fails.push(Failure::Income {
            income: who.monthly_income,
            max,
        });
    }
    if let Some(min) = rules.min_dependants.filter(|m| who.dependants < *m) {
        fails.push(Failure::Dependants {
            dependants: who.dependants,
            min,
        });
    }
    if matches!(entitlement, Entitlement::Table { .. })
        && entitlement.amount(&who.grade, on).is_none()
    {
        fails.push(Failure::Grade {
            grade: who.grade.clone(),
        });
    }
    for d in documents.iter().filter(|d| d.required) {
        if !who.documents.contains(&d.code) {
            fails.push(Failure::Document {
                code: d.code.clone(),
            });
        }
    }
    fails
}

/// The checks a CNIC number's structure allows. NADRA publishes no check digit; what every
/// number does obey is a first digit naming the province or territory of issue (1-7) and a
/// last digit that is odd for men and even for women.
pub fn check_cnic(lang: Lang, raw: &str, gender: Option<&str>) -> Result<Cnic, String> {
    let cnic = Cnic::parse(raw).ok_or_else(|| lang.t("benefit-err-cnic-format"))?;
    let digits = cnic.digits().as_bytes();
    if !(b'1'..=b'7').contains(&digits[0]) {
        return Err(lang.t("benefit-err-cnic-province"));
    }
    let odd = (digits[12] - b'0') % 2 == 1;
    match gender {
        Some("male") if !odd => Err(lang.t("benefit-err-cnic-gender")),
        Some("female") if odd => Err(lang.t("benefit-err-cnic-gender")),
        _ => Ok(cnic),
    }
}

/// A Pakistani IBAN (`PK36SCBL0000001123456702`): 24 characters whose ISO 13616 check digits
/// hold (mod 97). Returns it without spaces, in capitals.
pub fn check_iban(raw: &str) -> Option<String> {
    let iban: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    let b = iban.as_bytes();
    let shape = b.len() == 24
        && iban.starts_with("PK")
        && b[2..4].iter().all(u8::is_ascii_digit)
        && b[4..8].iter().all(u8::is_ascii_uppercase)
        && b[8..].iter().all(u8::is_ascii_alphanumeric);
    if !shape {
        return None;
    }
    let moved = iban[4..].bytes().chain(iban[..4].bytes());
    let mut rem: u32 = 0;
    for c in moved {
        let v = if c.is_ascii_digit() {
            (c - b'0') as u32
        } else {
            (c - b'A') as u32 + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    (rem == 1).then_some(iban)
}

// Money is the kernel's (`platform::money`); the benefits service speaks it most.
pub use crate::platform::money::{parse_rupees, rupees};

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn who() -> Circumstances {
        Circumstances {
            district: Some("peshawar".into()),
            gender: "female".into(),
            answers: [("religion".to_string(), vec!["christian".to_string()])].into(),
            birth_date: day("2000-06-15"),
            monthly_income: 2_000_000,
            dependants: 3,
            grade: "BPS-7".into(),
            documents: vec!["cnic".into()],
        }
    }

    #[test]
    fn every_failed_rule_is_named() {
        let rules = Eligibility {
            districts: vec!["swat".into()],
            answers: [("religion".to_string(), vec!["hindu".to_string()])].into(),
            genders: vec!["male".into()],
            min_age: Some(30),
            max_age: None,
            max_monthly_income: Some(1_000_000),
            min_dependants: Some(4),
        };
        let docs = vec![
            Document {
                code: "cnic".into(),
                name: Text3::default(),
                required: true,
            },
            Document {
                code: "income".into(),
                name: Text3::default(),
                required: true,
            },
        ];
        let fails = assess(
            &rules,
            &Entitlement::Fixed { amount: 1 },
            &docs,
            &[],
            &who(),
            day("2026-11-27"),
        );
        assert_eq!(fails.len(), 7, "{fails:?}");
        assert!(
            fails[1].message(Lang::En).contains("christian"),
            "{fails:?}"
        );
        assert_eq!(fails[3], Failure::TooYoung { age: 26, min: 30 });
        assert_eq!(
            fails[6],
            Failure::Document {
                code: "income".into()
            }
        );
        assert!(assess(
            &Eligibility::default(),
            &Entitlement::Fixed { amount: 1 },
            &docs[..1],
            &[],
            &who(),
            day("2026-11-27")
        )
        .is_empty());
        // The day before a birthday, a year younger.
        assert_eq!(age_on(day("2000-06-15"), day("2026-06-14")), 25);
        assert_eq!(age_on(day("2000-06-15"), day("2026-06-15")), 26);
    }

    #[test]
    fn tables_follow_their_effective_dates() {
        let t = Entitlement::Table {
            rows: vec![
                TableRow {
                    grade: "BPS-7".into(),
                    amount: 100,
                    from: day("2024-07-01"),
                },
                TableRow {
                    grade: "BPS-7".into(),
                    amount: 150,
                    from: day("2026-07-01"),
                },
            ],
        };
        assert_eq!(t.amount("BPS-7", day("2026-06-30")), Some(100));
        assert_eq!(t.amount("BPS-7", day("2026-07-01")), Some(150));
        assert_eq!(t.amount("BPS-7", day("2024-06-30")), None);
        assert_eq!(t.amount("BPS-8", day("2026-07-01")), None);
        let fails = assess(
            &Eligibility::default(),
            &t,
            &[],
            &[],
            &Circumstances {
                grade: "BPS-20".into(),
                ..who()
            },
            day("2026-11-27"),
        );
        assert_eq!(
            fails,
            vec![Failure::Grade {
                grade: "BPS-20".into()
            }]
        );
    }

    #[test]
    fn cnic_structure() {
        assert!(check_cnic(Lang::En, "17301-1234567-2", Some("female")).is_ok());
        assert!(check_cnic(Lang::En, "17301-1234567-1", Some("male")).is_ok());
        assert!(check_cnic(Lang::En, "17301-1234567-1", Some("female")).is_err());
        assert!(check_cnic(Lang::En, "17301-1234567-1", Some("transgender")).is_ok());
        assert!(check_cnic(Lang::En, "87301-1234567-1", None).is_err());
        assert!(check_cnic(Lang::En, "1730-1234567-1", None).is_err());
        // As typed on an Urdu keyboard.
        assert!(check_cnic(Lang::Ur, "۱۷۳۰۱-۱۲۳۴۵۶۷-۲", Some("female")).is_ok());
    }

    #[test]
    fn ibans_check_their_digits() {
        assert_eq!(
            check_iban("pk36 scbl 0000 0011 2345 6702").as_deref(),
            Some("PK36SCBL0000001123456702")
        );
        assert!(check_iban("PK37SCBL0000001123456702").is_none());
        assert!(check_iban("GB82WEST12345698765432").is_none());
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(rupees(1_234_567), "12,345.67");
        assert_eq!(rupees(5), "0.05");
        assert_eq!(rupees(100_000_000), "1,000,000.00");
        assert_eq!(parse_rupees("12,345.67"), Some(1_234_567));
        assert_eq!(parse_rupees("12345.6"), Some(1_234_560));
        assert_eq!(parse_rupees(" 25000 "), Some(2_500_000));
        for bad in ["", "-5", "1.234", "abc", "1e5", ".5", "99999999999999"] {
            assert_eq!(parse_rupees(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_rule_on_answers_names_a_list_question_and_its_answers() {
        let spec = |rule: &str| -> FundSpec {
            toml::from_str(&format!(
                r#"
code = "f"
department = "d"
name = {{ en = "F" }}
category = "educational"
financial_year = "2026-27"
budget = 1
opens_on = "2026-01-01"
closes_on = "2026-12-31"
entitlement = {{ rule = "fixed", amount = 1 }}
selection = {{ method = "ballot" }}
eligibility = {{ answers = {rule} }}
[[question]]
code = "religion"
datatype = "singlevaluelist"
description = {{ en = "Religion" }}
values = [{{ key = "hindu", name = {{ en = "Hindu" }} }}, {{ key = "sikh", name = {{ en = "Sikh" }} }}]
[[question]]
code = "school"
datatype = "string"
description = {{ en = "School" }}
"#
            ))
            .unwrap()
        };
        assert!(spec(r#"{ religion = ["hindu"] }"#).check().is_ok());
        for (rule, says) in [
            (r#"{ religion = ["jain"] }"#, "\"jain\""),
            (r#"{ religion = [] }"#, "admits no answer"),
            (r#"{ school = ["x"] }"#, "not a list question"),
            (r#"{ caste = ["x"] }"#, "not a list question"),
        ] {
            let e = spec(rule).check().unwrap_err();
            assert!(e.contains(says), "{rule}: {e}");
        }
        // Answered outside the rule, or not at all: the failure names the question and answer.
        let f = spec(r#"{ religion = ["hindu"] }"#);
        let assess_with = |answers: &[(&str, &str)]| {
            assess(
                &f.eligibility,
                &f.entitlement,
                &[],
                &f.question,
                &Circumstances {
                    answers: answers
                        .iter()
                        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                        .collect(),
                    ..who()
                },
                day("2026-11-27"),
            )
        };
        assert!(assess_with(&[("religion", "hindu")]).is_empty());
        let fails = assess_with(&[("religion", "sikh")]);
        assert_eq!(
            fails[0].message(Lang::En),
            "The fund is not for applicants who answered “Sikh” to “Religion”."
        );
        assert!(assess_with(&[])[0]
            .message(Lang::En)
            .contains("needs an answer"));
    }
}
