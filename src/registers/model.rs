//! A register's declaration (in a pack): its fields, which of them are lookup keys, which the
//! public may see, and how the answer reads in each language. Values are checked and normalised
//! here, on import, on a staff update and on a lookup alike.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::platform::i18n::{Lang, Text3};
use crate::platform::org::District;
use crate::platform::personal::Cnic;
use crate::platform::questions::SmsKeywords;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    pub code: String,
    pub department: String,
    pub name: Text3,
    #[serde(default)]
    pub description: Text3,
    /// Fields that a lookup may be made by, in the order they are tried.
    pub keys: Vec<String>,
    pub field: Vec<FieldSpec>,
    /// The answer, with `{field}` for each public field's value.
    pub answer: Text3,
    /// What a lookup that finds nothing is told.
    pub not_found: Text3,
    #[serde(default)]
    pub sms: SmsKeywords,
    /// A visit to an office that a lookup saves, for the impact figures.
    #[serde(default)]
    pub minutes_saved: i64,
    /// What a citizen should do next, said under an answer when its row matches (how and where
    /// to pay an unpaid challan, with the fine schedule linked).
    #[serde(default)]
    pub next_step: Vec<NextStep>,
    /// Demo rows, loaded only into a register that has none.
    #[serde(default)]
    pub row: Vec<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Datatype {
    /// Text; as a key, `charset` and lengths apply.
    String,
    /// A CNIC: personal data, never returned, a key only.
    Cnic,
    /// `YYYY-MM-DD`.
    Date,
    /// Whole rupees.
    Money,
    /// One of `values`.
    Choice,
    /// A district's slug (`dera-ismail-khan`), shown by the district's name in the reader's
    /// language.
    District,
}

/// Words shown under a found row's answer when the row's fields hold the values in `when`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextStep {
    /// Field code → the value it must hold (normalised as the field normalises it).
    pub when: BTreeMap<String, String>,
    pub text: Text3,
    /// A page of this site (`/info/fine-schedule`) or an `https://` address, and its words.
    #[serde(default)]
    pub link: Option<String>,
    #[serde(default)]
    pub link_text: Text3,
}

/// How a public field is shown: its value, or something made from another field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Show {
    Value,
    /// `Ayesha Khan` → `A. K.` (from a name that is never shown).
    Initials,
    /// valid / expired, from a date.
    Validity,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub code: String,
    pub label: Text3,
    #[serde(default = "string")]
    pub datatype: Datatype,
    /// Returned to the public. Anything else is never returned, whoever asks.
    #[serde(default)]
    pub public: bool,
    /// A field shown from another one (`initials` of `name`, `validity` of `expiry_date`); it
    /// is not a column of the imported file.
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default = "value")]
    pub show: Show,
    /// For string keys: `digits` or `alnum` (letters, digits and hyphens).
    #[serde(default)]
    pub charset: Option<String>,
    #[serde(default)]
    pub min_len: Option<usize>,
    #[serde(default)]
    pub max_len: Option<usize>,
    /// An example of a valid value, for the message when one is not.
    #[serde(default)]
    pub example: String,
    /// For `choice`: each value and its label.
    #[serde(default)]
    pub values: Vec<ChoiceValue>,
}

fn string() -> Datatype {
    Datatype::String
}
fn value() -> Show {
    Show::Value
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceValue {
    pub key: String,
    pub name: Text3,
}

impl FieldSpec {
    /// The choice `raw` is: by key, or by its name in any of the three languages.
    pub fn choice(&self, raw: &str) -> Option<&ChoiceValue> {
        let raw = raw.trim();
        self.values
            .iter()
            .find(|v| v.key.eq_ignore_ascii_case(raw))
            .or_else(|| {
                self.values.iter().find(|v| {
                    [&v.name.en, &v.name.ur, &v.name.ps]
                        .iter()
                        .any(|n| !n.is_empty() && n.trim().eq_ignore_ascii_case(raw))
                })
            })
    }

    /// How a key's value is indexed and matched: for codes, without hyphens, so that
    /// `KHT-345354`, `kht 345354` and `KHT345354` are the same licence.
    pub fn key_form(&self, normalised: &str) -> String {
        match (self.datatype, self.charset.as_deref()) {
            (Datatype::String, Some(_)) => normalised.replace('-', ""),
            _ => normalised.to_owned(),
        }
    }

    /// A column of the imported file (not shown from another field).
    pub fn stored(&self) -> bool {
        self.from.is_none()
    }

    /// The normalised value, or what is wrong with it.
    pub fn normalise(&self, raw: &str) -> Result<String, String> {
        // Numbers, dates and codes as typed on an Urdu keyboard; free text as it is.
        let typed = crate::platform::text::typed_number(raw);
        let t = match (self.datatype, self.charset.as_deref()) {
            (Datatype::String, None) => raw.trim(),
            _ => typed.trim(),
        };
        match self.datatype {
            Datatype::Cnic => Cnic::parse(t)
                .map(|c| c.digits().to_owned())
                .ok_or_else(|| "a CNIC has 13 digits, as 17301-1234567-1".to_owned()),
            Datatype::Date => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map(|d| d.to_string())
                .map_err(|_| "a date is YYYY-MM-DD, as 2026-11-27".to_owned()),
            Datatype::Money => t
                .replace(',', "")
                .parse::<u64>()
                .map(|n| n.to_string())
                .map_err(|_| "an amount is whole rupees, as 1500".to_owned()),
            Datatype::District => {
                let slug = t
                    .to_lowercase()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join("-");
                if !slug.is_empty()
                    && slug
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                {
                    Ok(slug)
                } else {
                    Err("a district's short name, as dera-ismail-khan".to_owned())
                }
            }
            // By its key, or by its name in any language (a department's file says "Without
            // licence" where the pack's key is without-licence).
            Datatype::Choice => self.choice(t).map(|v| v.key.clone()).ok_or_else(|| {
                format!(
                    "one of {}",
                    self.values
                        .iter()
                        .map(|v| v.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
            Datatype::String => {
                let v: String = match self.charset.as_deref() {
                    Some(_) => t
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .collect::<String>()
                        .to_ascii_uppercase(),
                    None => t.to_owned(),
                };
                let n = v.chars().count();
                let fits = match self.charset.as_deref() {
                    Some("digits") => v.chars().all(|c| c.is_ascii_digit()),
                    Some(_) => v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    None => true,
                } && n >= self.min_len.unwrap_or(0)
                    && n <= self.max_len.unwrap_or(500)
                    && !(v.is_empty() && self.min_len.unwrap_or(0) > 0);
                if fits {
                    Ok(v)
                } else if self.example.is_empty() {
                    Err("not in the expected format".to_owned())
                } else {
                    Err(format!("the expected format is like {}", self.example))
                }
            }
        }
    }
}

impl RegisterSpec {
    pub fn field(&self, code: &str) -> Option<&FieldSpec> {
        self.field.iter().find(|f| f.code == code)
    }

    /// The columns an import file must have, in declaration order.
    pub fn columns(&self) -> Vec<&str> {
        self.field
            .iter()
            .filter(|f| f.stored())
            .map(|f| f.code.as_str())
            .collect()
    }

    pub fn key_fields(&self) -> Vec<&FieldSpec> {
        self.keys.iter().filter_map(|k| self.field(k)).collect()
    }

    /// A declaration that cannot work is refused when the pack is loaded.
    pub fn check(&self) -> Result<(), String> {
        let c = &self.code;
        let ok_code = !c.is_empty()
            && c.len() <= 40
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_code {
            return Err(format!(
                "register {c:?}: use lower-case letters, digits and hyphens"
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.field {
            if !seen.insert(f.code.as_str()) {
                return Err(format!("register {c}: field {} appears twice", f.code));
            }
            if f.datatype == Datatype::Cnic && f.public {
                return Err(format!(
                    "register {c}: field {} is a CNIC and cannot be public",
                    f.code
                ));
            }
            if f.datatype == Datatype::Choice && f.values.is_empty() {
                return Err(format!(
                    "register {c}: choice field {} has no values",
                    f.code
                ));
            }
            match (&f.from, f.show) {
                (None, Show::Value) => {}
                (Some(src), Show::Initials | Show::Validity) => {
                    let Some(s) = self.field(src).filter(|s| s.stored()) else {
                        return Err(format!(
                            "register {c}: field {} is shown from {src}, which is not a stored field",
                            f.code
                        ));
                    };
                    if f.show == Show::Validity && s.datatype != Datatype::Date {
                        return Err(format!(
                            "register {c}: validity of {src} needs a date field"
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "register {c}: field {} needs both `from` and `show` (initials or validity), or neither",
                        f.code
                    ))
                }
            }
        }
        if self.keys.is_empty() {
            return Err(format!("register {c}: name at least one key"));
        }
        for k in &self.keys {
            match self.field(k) {
                Some(f)
                    if f.stored() && matches!(f.datatype, Datatype::String | Datatype::Cnic) => {}
                _ => {
                    return Err(format!(
                        "register {c}: key {k} must be a stored string or CNIC field"
                    ))
                }
            }
        }
        for (lang, text) in [
            ("en", &self.answer.en),
            ("ur", &self.answer.ur),
            ("ps", &self.answer.ps),
        ] {
            for name in placeholders(text) {
                match self.field(&name) {
                    Some(f) if f.public => {}
                    _ => {
                        return Err(format!(
                        "register {c}: answer.{lang} uses {{{name}}}, which is not a public field"
                    ))
                    }
                }
            }
        }
        if self.answer.en.is_empty() || self.not_found.en.is_empty() {
            return Err(format!(
                "register {c}: answer.en and not_found.en are required"
            ));
        }
        if self.minutes_saved < 0 {
            return Err(format!("register {c}: minutes_saved cannot be negative"));
        }
        for (i, step) in self.next_step.iter().enumerate() {
            let n = i + 1;
            if step.when.is_empty() || step.text.en.is_empty() {
                return Err(format!(
                    "register {c}: next_step {n} needs `when` and text.en"
                ));
            }
            for (field, value) in &step.when {
                let Some(f) = self.field(field).filter(|f| f.stored()) else {
                    return Err(format!(
                        "register {c}: next_step {n} looks at {field}, which is not a stored field"
                    ));
                };
                if f.normalise(value).is_err() {
                    return Err(format!(
                        "register {c}: next_step {n}: {value:?} is not a value of {field}"
                    ));
                }
            }
            if let Some(link) = &step.link {
                let site = crate::platform::text::site_path(link);
                if !(site || link.starts_with("https://")) || step.link_text.en.is_empty() {
                    return Err(format!(
                        "register {c}: next_step {n}: a link is a path of this site or an https:// address, with link_text.en"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The next steps whose `when` the row matches.
    pub fn next_steps(&self, row: &BTreeMap<String, String>) -> Vec<&NextStep> {
        self.next_step
            .iter()
            .filter(|s| {
                s.when.iter().all(|(field, want)| {
                    let (Some(f), Some(have)) = (self.field(field), row.get(field)) else {
                        return false;
                    };
                    match (f.normalise(want), f.normalise(have)) {
                        (Ok(w), Ok(h)) => w == h,
                        _ => false,
                    }
                })
            })
            .collect()
    }

    /// The public fields of a row, shown in `lang`: `(code, label, value)`; a district by its
    /// name in `lang` from `districts` (its slug where the platform does not know it).
    pub fn public(
        &self,
        row: &BTreeMap<String, String>,
        lang: Lang,
        today: NaiveDate,
        districts: &[District],
    ) -> Vec<(String, String, String)> {
        self.field
            .iter()
            .filter(|f| f.public)
            .map(|f| {
                let source = f.from.as_deref().unwrap_or(&f.code);
                let raw = row.get(source).map(String::as_str).unwrap_or("");
                let shown = match f.show {
                    Show::Initials => initials(raw),
                    Show::Validity => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                        Ok(d) if d >= today => lang.t("register-valid"),
                        Ok(_) => lang.t("register-expired"),
                        Err(_) => String::new(),
                    },
                    Show::Value => match f.datatype {
                        Datatype::Choice => f
                            .choice(raw)
                            .map(|v| v.name.get(lang).to_owned())
                            .unwrap_or_else(|| raw.to_owned()),
                        Datatype::District => districts
                            .iter()
                            .find(|d| d.slug == raw)
                            .map(|d| d.name(lang).to_owned())
                            .unwrap_or_else(|| raw.to_owned()),
                        Datatype::Money if !raw.is_empty() => {
                            crate::t!(lang, "register-rupees", amount = grouped(raw))
                        }
                        _ => raw.to_owned(),
                    },
                };
                (f.code.clone(), f.label.get(lang).to_owned(), shown)
            })
            .collect()
    }

    /// The answer in `lang`, its placeholders filled from the public fields.
    pub fn answer(&self, public: &[(String, String, String)], lang: Lang) -> String {
        let mut text = self.answer.get(lang).to_owned();
        for (code, _, value) in public {
            text = text.replace(&format!("{{{code}}}"), value);
        }
        text
    }
}

/// `{name}` placeholders in a template.
fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].to_owned());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// `Ayesha Khan` → `A. K.`
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `1500000` → `1,500,000`.
fn grouped(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn licence() -> RegisterSpec {
        toml::from_str(
            r#"
code = "licence"
department = "traffic-police"
name = { en = "Driving licence" }
keys = ["cnic", "licence_no"]
answer = { en = "{licence_no}, {initials}: {validity} until {expiry_date}. Fee {fee}." }
not_found = { en = "No licence." }
[[field]]
code = "cnic"
label = { en = "CNIC" }
datatype = "cnic"
[[field]]
code = "licence_no"
label = { en = "Licence number" }
public = true
charset = "alnum"
min_len = 5
max_len = 20
example = "PSH-123456"
[[field]]
code = "name"
label = { en = "Name" }
[[field]]
code = "initials"
label = { en = "Holder" }
public = true
from = "name"
show = "initials"
[[field]]
code = "expiry_date"
label = { en = "Expires" }
datatype = "date"
public = true
[[field]]
code = "validity"
label = { en = "Validity" }
public = true
from = "expiry_date"
show = "validity"
[[field]]
code = "fee"
label = { en = "Fee" }
datatype = "money"
public = true
"#,
        )
        .unwrap()
    }

    #[test]
    fn a_good_declaration_passes_and_bad_ones_say_why() {
        let r = licence();
        r.check().unwrap();
        assert_eq!(
            r.columns(),
            vec!["cnic", "licence_no", "name", "expiry_date", "fee"]
        );
        let mut bad = r.clone();
        bad.answer.en = "{name}".into();
        assert!(bad.check().unwrap_err().contains("not a public field"));
        let mut bad = r.clone();
        bad.field[0].public = true;
        assert!(bad.check().unwrap_err().contains("cannot be public"));
        let mut bad = r.clone();
        bad.keys = vec!["initials".into()];
        assert!(bad.check().unwrap_err().contains("stored string or CNIC"));
    }

    #[test]
    fn values_are_normalised_or_refused_with_the_format() {
        let r = licence();
        assert_eq!(
            r.field("cnic")
                .unwrap()
                .normalise("17301-1234567-1")
                .unwrap(),
            "1730112345671"
        );
        assert!(r.field("cnic").unwrap().normalise("1730").is_err());
        assert_eq!(
            r.field("licence_no")
                .unwrap()
                .normalise(" psh-123456 ")
                .unwrap(),
            "PSH-123456"
        );
        assert!(r
            .field("licence_no")
            .unwrap()
            .normalise("P!")
            .unwrap_err()
            .contains("PSH-123456"));
        assert!(r
            .field("expiry_date")
            .unwrap()
            .normalise("27/11/2026")
            .is_err());
        assert_eq!(r.field("fee").unwrap().normalise("1,500").unwrap(), "1500");
    }

    #[test]
    fn choices_are_read_by_key_or_name_districts_by_slug_and_next_steps_by_row() {
        let r: RegisterSpec = toml::from_str(
            r#"
code = "challan"
department = "traffic-police"
name = { en = "E-challan" }
keys = ["no"]
answer = { en = "{no}: {offence}, {district}, {status}." }
not_found = { en = "No challan." }
[[next_step]]
when = { status = "unpaid" }
text = { en = "Pay at a bank.", ur = "بینک میں ادا کریں۔" }
link = "/info/fine-schedule"
link_text = { en = "Fines" }
[[field]]
code = "no"
label = { en = "Number" }
public = true
charset = "digits"
[[field]]
code = "offence"
label = { en = "Offence" }
datatype = "choice"
public = true
values = [{ key = "without-licence", name = { en = "Without licence", ur = "بغیر لائسنس" } }]
[[field]]
code = "district"
label = { en = "District" }
datatype = "district"
public = true
[[field]]
code = "status"
label = { en = "Status" }
datatype = "choice"
public = true
values = [{ key = "paid", name = { en = "paid" } }, { key = "unpaid", name = { en = "unpaid" } }]
"#,
        )
        .unwrap();
        r.check().unwrap();
        let offence = r.field("offence").unwrap();
        for typed in [
            "without-licence",
            "WITHOUT-LICENCE",
            " Without licence ",
            "بغیر لائسنس",
        ] {
            assert_eq!(
                offence.normalise(typed).unwrap(),
                "without-licence",
                "{typed}"
            );
        }
        assert!(offence.normalise("Speeding").is_err());
        let district = r.field("district").unwrap();
        assert_eq!(
            district.normalise(" Dera Ismail Khan ").unwrap(),
            "dera-ismail-khan"
        );
        assert!(district.normalise("Kohat; DROP").is_err());

        let row = |status: &str| -> BTreeMap<String, String> {
            [
                ("no", "123456"),
                ("offence", "without-licence"),
                ("district", "kohat"),
                ("status", status),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        };
        let kohat = District {
            slug: "kohat".into(),
            name_en: "Kohat".into(),
            name_ur: "کوہاٹ".into(),
            name_ps: String::new(),
            division: "kohat".into(),
            hq_lat: 33.58,
            hq_long: 71.44,
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let ur = r.public(
            &row("unpaid"),
            Lang::Ur,
            today,
            std::slice::from_ref(&kohat),
        );
        assert_eq!(ur[1].2, "بغیر لائسنس");
        assert_eq!(ur[2].2, "کوہاٹ");
        // A language the platform lacks a name in falls back to English; an unknown district
        // shows its slug.
        assert_eq!(
            r.public(&row("unpaid"), Lang::Ps, today, &[kohat])[2].2,
            "Kohat"
        );
        assert_eq!(r.public(&row("unpaid"), Lang::En, today, &[])[2].2, "kohat");
        // A value stored before the field was a choice (its English name) still reads right.
        let mut old = row("unpaid");
        old.insert("offence".into(), "Without licence".into());
        assert_eq!(r.public(&old, Lang::Ur, today, &[])[1].2, "بغیر لائسنس");

        assert_eq!(r.next_steps(&row("unpaid")).len(), 1);
        assert!(r.next_steps(&row("paid")).is_empty());

        // Steps that cannot work are refused when the pack is loaded.
        let mut bad = r.clone();
        bad.next_step[0].when = [("colour".to_owned(), "red".to_owned())].into();
        assert!(bad.check().unwrap_err().contains("not a stored field"));
        let mut bad = r.clone();
        bad.next_step[0].when = [("status".to_owned(), "lost".to_owned())].into();
        assert!(bad.check().unwrap_err().contains("not a value of status"));
        for link in [
            "//evil.example/x",
            "http://bank.example",
            "javascript:alert(1)",
            "/\\evil",
        ] {
            let mut bad = r.clone();
            bad.next_step[0].link = Some(link.into());
            assert!(bad.check().unwrap_err().contains("a link is"), "{link}");
        }
    }

    #[test]
    fn only_public_fields_reach_the_answer() {
        let r = licence();
        let row: BTreeMap<String, String> = [
            ("cnic", "1730112345671"),
            ("licence_no", "PSH-123456"),
            ("name", "Ayesha Khan"),
            ("expiry_date", "2030-01-01"),
            ("fee", "1500"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let today = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        let public = r.public(&row, Lang::En, today, &[]);
        let answer = r.answer(&public, Lang::En);
        assert!(
            answer.starts_with("PSH-123456, A. K.: valid until 2030-01-01. Fee Rs 1,500."),
            "{answer}"
        );
        assert!(!answer.contains("Ayesha") && !answer.contains("1730112345671"));
        let later = NaiveDate::from_ymd_opt(2031, 1, 1).unwrap();
        assert!(r
            .answer(&r.public(&row, Lang::En, later, &[]), Lang::En)
            .contains("expired"));
    }
}
