//! The clock of the province: Pakistan Standard Time (UTC+5, no daylight saving), the start of
//! a day there, and today's date there. Every service and page asks here, so "today" is one
//! thing everywhere (deadlines, ballots, weeks of the impact figures, the weekly publication).

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

/// Pakistan Standard Time.
pub fn pkt() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600).expect("valid offset")
}

/// A day as people type it: `2026-11-27` (as a date picker sends it) or day first as
/// Pakistan writes it (`27-11-2026`, `27/11/2026`, `27.11.2026`), in Western, Urdu or
/// Arabic-Indic digits, with or without direction marks. The year has four digits; it says
/// which end the day is at.
pub fn typed_day(raw: &str) -> Option<NaiveDate> {
    let t = super::text::typed_number(raw);
    let parts: Vec<&str> = t.trim().split(['-', '/', '.']).collect();
    let digits = |p: &&str| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3 || !parts.iter().all(digits) {
        return None;
    }
    let (y, m, d) = match (parts[0].len(), parts[2].len()) {
        (4, 1..=2) if parts[1].len() <= 2 => (parts[0], parts[1], parts[2]),
        (1..=2, 4) if parts[1].len() <= 2 => (parts[2], parts[1], parts[0]),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// The start of a day (as [`typed_day`] reads it) in Pakistan, in UTC.
pub fn day_start(day: &str) -> Option<DateTime<Utc>> {
    let d = typed_day(day)?;
    pkt()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// Today in Pakistan.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&pkt()).date_naive()
}

/// The next moment after `now` that is `hour`:00 in Pakistan — on `weekday` if one is given,
/// else on any day. The one calculation behind every recurring job (the weekly open-data
/// publication on Mondays at 03:00, the daily deadline check at 06:00).
pub fn next_at(now: DateTime<Utc>, weekday: Option<Weekday>, hour: u32) -> DateTime<Utc> {
    let mut day = now.with_timezone(&pkt()).date_naive();
    loop {
        let at = pkt()
            .from_local_datetime(&day.and_hms_opt(hour, 0, 0).expect("an hour of the day"))
            .single()
            .expect("Pakistan time has no gaps")
            .with_timezone(&Utc);
        if at > now && weekday.is_none_or(|w| day.weekday() == w) {
            return at;
        }
        day += Duration::days(1);
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn days_are_read_as_people_type_them() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 27).unwrap();
        for typed in [
            "2026-11-27",
            " 27-11-2026 ",
            "27/11/2026",
            "27.11.2026",
            "۲۷-۱۱-۲۰۲۶",
            "\u{200E}٢٠٢٦-١١-٢٧\u{200E}",
        ] {
            assert_eq!(typed_day(typed), Some(day), "{typed}");
        }
        assert_eq!(typed_day("2026-1-5"), NaiveDate::from_ymd_opt(2026, 1, 5));
        for bad in [
            "",
            "27-11-26",
            "11/27/2026",
            "2026-13-01",
            "2026-11",
            "2026-11-27-1",
            "20261127",
            "2026-+1-27",
        ] {
            assert_eq!(typed_day(bad), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn a_day_in_pakistan_starts_at_19_00_utc_the_day_before() {
        assert_eq!(
            day_start("2026-12-05").unwrap().to_rfc3339(),
            "2026-12-04T19:00:00+00:00"
        );
        // Day first, as Pakistan writes it: the same day.
        assert_eq!(day_start("5/12/2026"), day_start("2026-12-05"));
        assert!(day_start("12/5/26").is_none());
    }

    #[test]
    fn the_next_run_is_the_next_such_hour_in_pakistan() {
        let utc = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        // Thursday 26 November, 12:00 UTC: Monday 03:00 in Pakistan is Sunday 22:00 UTC.
        assert_eq!(next_at(utc(26, 12), Some(Weekday::Mon), 3), utc(29, 22));
        // Monday 02:00 in Pakistan (Sunday 21:00 UTC): an hour later, the same day.
        assert_eq!(next_at(utc(29, 21), Some(Weekday::Mon), 3), utc(29, 22));
        // At the moment itself: the next one, a week on.
        assert_eq!(next_at(utc(29, 22), Some(Weekday::Mon), 3).day(), 6);
        // Daily at 06:00 (01:00 UTC): after 01:00 UTC, tomorrow's.
        assert_eq!(next_at(utc(26, 2), None, 6), utc(27, 1));
        assert_eq!(next_at(utc(26, 0), None, 6), utc(26, 1));
    }
}
