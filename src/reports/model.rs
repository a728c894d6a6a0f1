//! Reports: the types. A service's definition (what a citizen may report, asking the questions
//! of `platform::questions`) and the statuses a report moves through.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::i18n::{Lang, Text3};
use crate::platform::questions::{Attribute, SmsKeywords};

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
    /// How many photos a report may carry (the first with the report, the rest with updates).
    pub max_photos: i64,
    /// How long after "fixed" the reporter is asked whether it is.
    pub ask_fixed_after_hours: i64,
    pub public: bool,
    pub active: bool,
}

impl Service {
    /// Open311 `metadata`: does the service ask for attributes?
    pub fn has_metadata(&self) -> bool {
        !self.attributes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
