//! Dates and numbers as citizens read them. Times are shown in Pakistan Standard Time (UTC+5,
//! no daylight saving since 2009); the order of day, month and year and the month names are
//! Fluent messages, so each language writes a date its own way. Digits stay Western Arabic
//! (0-9), as Urdu and Pashto are written on Pakistani phones and forms; the templates isolate
//! them (`<bdi>`) so they keep their order inside right-to-left text.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Timelike, Utc};

use crate::platform::i18n::Lang;
use crate::t;

/// Pakistan Standard Time.
pub fn pkt() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600).expect("valid offset")
}

/// `26 November 2026, 15:30` in the reader's language.
pub fn datetime(lang: Lang, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&pkt());
    t!(
        lang,
        "datetime",
        day = local.day().to_string(),
        month = lang.t(&format!("month-{}", local.month())),
        year = local.year().to_string(),
        time = format!("{:02}:{:02}", local.hour(), local.minute())
    )
}

/// `26 November 2026` in the reader's language.
pub fn date(lang: Lang, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&pkt());
    t!(
        lang,
        "date",
        day = local.day().to_string(),
        month = lang.t(&format!("month-{}", local.month())),
        year = local.year().to_string()
    )
}

/// The start of a day (`YYYY-MM-DD`, as a date input sends it) in Pakistan, in UTC.
pub fn day_start(day: &str) -> Option<DateTime<Utc>> {
    let d = NaiveDate::parse_from_str(day.trim(), "%Y-%m-%d").ok()?;
    pkt()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// A span of time in hours or days, for "median time to resolution".
pub fn duration(lang: Lang, seconds: i64) -> String {
    let hours = seconds as f64 / 3600.0;
    if hours < 48.0 {
        t!(lang, "duration-hours", hours = format!("{hours:.1}"))
    } else {
        t!(lang, "duration-days", days = format!("{:.1}", hours / 24.0))
    }
}

pub use crate::platform::text::spreadsheet_safe;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_in_pakistan_time_and_the_readers_language() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 20, 30, 0).unwrap();
        assert_eq!(datetime(Lang::En, at), "27 November 2026, 01:30");
        let ur = datetime(Lang::Ur, at);
        assert!(ur.contains("نومبر"), "{ur}");
        assert!(ur.contains("2026") && ur.contains("01:30"), "{ur}");
        assert!(date(Lang::Ps, at).contains("نومبر"));
    }

    #[test]
    fn a_day_starts_at_pakistan_midnight() {
        assert_eq!(
            day_start("2026-11-26").unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 25, 19, 0, 0).unwrap()
        );
        assert!(day_start("26/11/2026").is_none());
    }
}
