//! Dates and numbers as citizens read them. Times are shown in Pakistan Standard Time (UTC+5,
//! no daylight saving since 2009); the order of day, month and year and the month names are
//! Fluent messages, so each language writes a date its own way. Digits stay Western Arabic
//! (0-9), as Urdu and Pashto are written on Pakistani phones and forms; the templates isolate
//! them (`<bdi>`) so they keep their order inside right-to-left text.

use chrono::{DateTime, Datelike, Timelike, Utc};

use crate::platform::clock::pkt;
use crate::platform::i18n::Lang;
use crate::t;

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

/// A span of time in hours or days, for "median time to resolution".
pub fn duration(lang: Lang, seconds: i64) -> String {
    let hours = seconds as f64 / 3600.0;
    if hours < 48.0 {
        t!(lang, "duration-hours", hours = format!("{hours:.1}"))
    } else {
        t!(lang, "duration-days", days = format!("{:.1}", hours / 24.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn dates_are_in_pakistan_time_and_the_readers_language() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 20, 30, 0).unwrap();
        // A date does not wrap between its parts (no-break spaces), on a narrow phone either.
        assert_eq!(datetime(Lang::En, at), "27\u{a0}November\u{a0}2026, 01:30");
        let ur = datetime(Lang::Ur, at);
        assert!(ur.contains("نومبر"), "{ur}");
        assert!(ur.contains("2026") && ur.contains("01:30"), "{ur}");
        assert!(date(Lang::Ps, at).contains("نومبر"));
    }
}
