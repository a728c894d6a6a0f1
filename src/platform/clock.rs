//! The clock of the province: Pakistan Standard Time (UTC+5, no daylight saving), the start of
//! a day there, and today's date there. Every service and page asks here, so "today" is one
//! thing everywhere (deadlines, ballots, weeks of the impact figures, the weekly publication).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// Pakistan Standard Time.
pub fn pkt() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600).expect("valid offset")
}

/// The start of a day (`YYYY-MM-DD`, as a date input sends it) in Pakistan, in UTC.
pub fn day_start(day: &str) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    pkt()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Today in Pakistan.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&pkt()).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_in_pakistan_starts_at_19_00_utc_the_day_before() {
        assert_eq!(
            day_start("2026-12-05").unwrap().to_rfc3339(),
            "2026-12-04T19:00:00+00:00"
        );
        assert!(day_start("5/12/2026").is_none());
    }
}
