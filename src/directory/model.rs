//! The directory's types: kinds of places with their typed attributes, places, opening hours.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::platform::i18n::{Lang, Text3};
use crate::platform::questions::{ListValue, SmsKeywords};

/// The type of a place attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttrType {
    /// yes / no (`wheelchair accessible`)
    Bool,
    /// one of `values` (`gender: men, women, both`)
    Enum,
    /// a number (`fee` in rupees)
    Number,
    /// free text
    Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindAttr {
    pub code: String,
    pub datatype: AttrType,
    pub label: Text3,
    #[serde(default)]
    pub values: Vec<ListValue>,
}

impl KindAttr {
    /// A value as given in a form, a CSV cell or a query, checked and typed; `None` if it is
    /// not a value of this attribute.
    pub fn parse(&self, raw: &str) -> Option<Value> {
        let raw = raw.trim();
        match self.datatype {
            AttrType::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "y" => Some(Value::Bool(true)),
                "false" | "no" | "0" | "n" => Some(Value::Bool(false)),
                _ => None,
            },
            AttrType::Enum => self
                .values
                .iter()
                .find(|v| v.key == raw)
                .map(|v| Value::String(v.key.clone())),
            AttrType::Number => raw
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            AttrType::Text => (!raw.is_empty() && raw.chars().count() <= 500)
                .then(|| Value::String(raw.to_owned())),
        }
    }

    /// A stored value for people.
    pub fn show(&self, v: &Value, lang: Lang) -> String {
        match (self.datatype, v) {
            (AttrType::Bool, Value::Bool(b)) => lang.t(if *b { "dir-yes" } else { "dir-no" }),
            (AttrType::Enum, Value::String(k)) => self
                .values
                .iter()
                .find(|x| &x.key == k)
                .map(|x| x.name.get(lang).to_owned())
                .unwrap_or_else(|| k.clone()),
            (_, Value::String(s)) => s.clone(),
            (_, other) => other.to_string(),
        }
    }
}

/// A kind of place: public toilet, health facility, …
#[derive(Debug, Clone)]
pub struct Kind {
    pub code: String,
    pub department_id: Option<i64>,
    pub name: Text3,
    pub icon: String,
    pub attributes: Vec<KindAttr>,
    pub provider_attributes: Vec<KindAttr>,
    pub sms_keywords: SmsKeywords,
}

impl Kind {
    pub fn attribute(&self, code: &str) -> Option<&KindAttr> {
        self.attributes.iter().find(|a| a.code == code)
    }
}

/// Opening hours on some days of the week (HSDS schedule, `freq = WEEKLY`). Times are
/// Pakistan time; `closes_at` before `opens_at` runs past midnight; `24:00` is the day's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// `MO,TU,WE` (iCal two-letter days)
    pub byday: String,
    pub opens_at: String,
    pub closes_at: String,
}

const DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn minutes(hhmm: &str) -> Option<u32> {
    let (h, m) = hhmm.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.get(..2)?.parse().ok()?);
    (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
}

impl Hours {
    pub fn check(&self) -> Result<(), String> {
        if self.byday.split(',').any(|d| !DAYS.contains(&d.trim())) || self.byday.trim().is_empty()
        {
            return Err(format!("byday {:?}: use MO,TU,WE,TH,FR,SA,SU", self.byday));
        }
        if minutes(&self.opens_at).is_none() || minutes(&self.closes_at).is_none() {
            return Err(format!(
                "hours {}-{}: use HH:MM",
                self.opens_at, self.closes_at
            ));
        }
        Ok(())
    }

    /// `MO-FR 09:00-17:00`, `SA,SU 10:00-14:00`, `daily 00:00-24:00` (as in CSV files).
    pub fn parse_line(s: &str) -> Result<Hours, String> {
        let (days, times) = s
            .trim()
            .split_once(' ')
            .ok_or_else(|| format!("{s:?}: write days and times, e.g. MO-FR 09:00-17:00"))?;
        let (opens, closes) = times
            .trim()
            .split_once('-')
            .ok_or_else(|| format!("{s:?}: times as 09:00-17:00"))?;
        let days = days.trim().to_ascii_uppercase();
        let byday = if days == "DAILY" {
            DAYS.join(",")
        } else if let Some((a, b)) = days.split_once('-') {
            let i = DAYS
                .iter()
                .position(|d| *d == a)
                .ok_or_else(|| format!("{a:?} is not a day"))?;
            let j = DAYS
                .iter()
                .position(|d| *d == b)
                .ok_or_else(|| format!("{b:?} is not a day"))?;
            if i > j {
                return Err(format!("{days}: the first day comes first"));
            }
            DAYS[i..=j].join(",")
        } else {
            days
        };
        let h = Hours {
            byday,
            opens_at: opens.trim().to_owned(),
            closes_at: closes.trim().to_owned(),
        };
        h.check()?;
        Ok(h)
    }

    /// Open at this moment?
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&crate::platform::clock::pkt());
        let day = local.weekday().num_days_from_monday() as usize;
        let now = local.hour() * 60 + local.minute();
        let (Some(o), Some(c)) = (minutes(&self.opens_at), minutes(&self.closes_at)) else {
            return false;
        };
        let on = |d: usize| self.byday.split(',').any(|x| x.trim() == DAYS[d]);
        if o < c {
            on(day) && o <= now && now < c
        } else {
            // Past midnight: open from `o` on a listed day until `c` the next morning.
            (on(day) && now >= o) || (on((day + 6) % 7) && now < c)
        }
    }
}

/// Open now by any of its hours (no hours: not known to be open).
pub fn open_at(hours: &[Hours], at: DateTime<Utc>) -> bool {
    hours.iter().any(|h| h.open_at(at))
}

/// A place, as the search index and the pages use it.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: i64,
    pub uuid: String,
    pub kind: String,
    /// The registered name (`en`, usually English) and its Urdu and Pashto, where known.
    pub name: Text3,
    pub lat: f64,
    pub long: f64,
    pub address: Text3,
    pub district: Option<String>,
    pub phone: Option<String>,
    pub attributes: BTreeMap<String, Value>,
    pub hours: Vec<Hours>,
    pub status: String,
}

impl Place {
    /// Does the place have every `(attribute, value)`?
    pub fn matches(&self, filters: &[(String, Value)]) -> bool {
        filters
            .iter()
            .all(|(k, v)| self.attributes.get(k) == Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn hours_read_and_answer_open_now() {
        let h = Hours::parse_line("MO-FR 09:00-17:00").unwrap();
        assert_eq!(h.byday, "MO,TU,WE,TH,FR");
        // Thursday 2026-11-26 05:00 UTC is 10:00 in Pakistan.
        let thu10 = Utc.with_ymd_and_hms(2026, 11, 26, 5, 0, 0).unwrap();
        assert!(h.open_at(thu10));
        assert!(!h.open_at(thu10 + chrono::Duration::hours(8)));
        let night = Hours::parse_line("daily 22:00-06:00").unwrap();
        assert!(night.open_at(Utc.with_ymd_and_hms(2026, 11, 26, 22, 0, 0).unwrap())); // 03:00 PKT
        assert!(!night.open_at(thu10));
        assert!(Hours::parse_line("daily 00:00-24:00")
            .unwrap()
            .open_at(thu10));
        assert!(Hours::parse_line("XX 09:00-10:00").is_err());
        assert!(Hours::parse_line("MO 9-10").is_err());
        assert!(Hours::parse_line("FR-MO 09:00-10:00").is_err());
    }

    #[test]
    fn attribute_values_are_typed() {
        let a = KindAttr {
            code: "wheelchair".into(),
            datatype: AttrType::Bool,
            label: Text3::default(),
            values: vec![],
        };
        assert_eq!(a.parse("Yes"), Some(Value::Bool(true)));
        assert_eq!(a.parse("maybe"), None);
    }
}
