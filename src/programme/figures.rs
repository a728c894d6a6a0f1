//! The impact figures, each a direct count over the impact events of every service and channel
//! (and, for training and hand-over, over the programme's own records):
//!
//! - queries handled: events, in all and by service, department, channel and district;
//! - government hours saved: the sum of each event's configured minutes, over 60;
//! - citizens facilitated per ISO week (Pakistan time): distinct keyed hashes of the citizens'
//!   contacts among the week's events (events without a contact are queries, not citizens);
//! - officials trained: training records held within the dates;
//! - services handed over, sustained and abandoned: projects by their state today.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::platform::db::{query, Db};
use crate::platform::disclosure;
use crate::platform::error::{Error, Result};

/// Inclusive dates, Pakistan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The longest span asked for at once: ten years.
const MAX_DAYS: i64 = 3660;
/// Dates outside these years are typing mistakes.
const FIRST_YEAR: i32 = 2000;
const LAST_YEAR: i32 = 2100;

impl Range {
    /// `from` and `to` as `YYYY-MM-DD`; by default the twelve weeks up to today.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<Range> {
        let day = |field: &str, s: &str| {
            let d = super::date(field, s)?;
            if !(FIRST_YEAR..=LAST_YEAR).contains(&d.year()) {
                return Err(Error::BadRequest(format!(
                    "{field}: a date between {FIRST_YEAR} and {LAST_YEAR}"
                )));
            }
            Ok(d)
        };
        let to = match to.map(str::trim).filter(|s| !s.is_empty()) {
            Some(t) => day("to", t)?,
            None => crate::platform::clock::today(),
        };
        let from = match from.map(str::trim).filter(|s| !s.is_empty()) {
            Some(f) => day("from", f)?,
            None => to - Duration::days(83),
        };
        if from > to {
            return Err(Error::BadRequest("from is after to".into()));
        }
        if (to - from).num_days() > MAX_DAYS {
            return Err(Error::BadRequest(
                "ask for at most ten years at a time".into(),
            ));
        }
        Ok(Range { from, to })
    }

    /// A calendar year (up to today, for the current one).
    pub fn year(year: i32) -> Result<Range> {
        let bad = || Error::BadRequest("year: such as 2026".into());
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(bad());
        }
        let from = NaiveDate::from_ymd_opt(year, 1, 1).ok_or_else(bad)?;
        let end = NaiveDate::from_ymd_opt(year, 12, 31).ok_or_else(bad)?;
        let today = crate::platform::clock::today();
        if from > today {
            return Err(Error::BadRequest(format!("{year} has not begun")));
        }
        Ok(Range {
            from,
            to: end.min(today),
        })
    }

    /// The first instant (UTC) and the instant after the last.
    pub fn instants(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |d: NaiveDate| {
            crate::platform::clock::day_start(&d.to_string()).expect("a valid date has a start")
        };
        (start(self.from), start(self.to + Duration::days(1)))
    }

    /// Every ISO week the range touches, in order.
    pub fn weeks(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut d = self.from;
        while d <= self.to {
            let w = d.iso_week();
            let label = format!("{}-W{:02}", w.year(), w.week());
            if out.last() != Some(&label) {
                out.push(label);
            }
            d += Duration::days(1);
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct WeekCount {
    /// ISO week, `2026-W48`.
    pub week: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Group {
    /// The service (`reports`), department slug, channel (`sms`) or district slug; empty where
    /// the event had none.
    pub key: String,
    /// The department's or district's English name; the key otherwise.
    pub name: String,
    pub queries: i64,
    pub minutes_saved: i64,
    pub hours_saved: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    pub from: String,
    pub to: String,
    pub queries_handled: i64,
    pub minutes_saved: i64,
    pub hours_saved: f64,
    /// Distinct citizens over the whole range.
    pub citizens_facilitated: i64,
    /// Distinct citizens in each ISO week of the range (zero where none).
    pub citizens_facilitated_per_week: Vec<WeekCount>,
    pub queries_per_week: Vec<WeekCount>,
    pub by_service: Vec<Group>,
    pub by_department: Vec<Group>,
    pub by_channel: Vec<Group>,
    pub by_district: Vec<Group>,
    pub officials_trained: i64,
    /// Projects handed over at some time (whatever they are now).
    pub services_handed_over: i64,
    /// Projects sustained after hand-over, today.
    pub services_sustained: i64,
    /// Projects abandoned, today.
    pub services_abandoned: i64,
    /// Whether citizens were served: their answers to "is it fixed?" and their ratings.
    pub outcomes: Outcomes,
}

/// Citizens' answers to "is it fixed?" (asked a set time after a report is marked fixed) and
/// their 1–5 ratings of how the report was handled, in the range.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outcomes {
    pub answered: i64,
    /// Answered "not fixed": the report was reopened.
    pub reopened: i64,
    /// `reopened / answered`; none without answers.
    pub reopen_rate: Option<f64>,
    pub ratings: i64,
    /// The mean rating, 1 to 5 (one decimal); none without ratings.
    pub mean_rating: Option<f64>,
    pub by_service: Vec<OutcomeGroup>,
    pub by_department: Vec<OutcomeGroup>,
    pub by_district: Vec<OutcomeGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OutcomeGroup {
    /// The service code, department slug or district slug; empty where the report had none.
    pub key: String,
    /// The service's, department's or district's English name.
    pub name: String,
    pub answered: i64,
    pub reopened: i64,
    pub reopen_rate: Option<f64>,
    pub ratings: i64,
    pub mean_rating: Option<f64>,
}

/// `part / whole` to three decimals; none of nothing.
pub fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 1000.0)
}

/// A mean to one decimal; none of nothing.
pub fn mean(sum: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| (sum as f64 / n as f64 * 10.0).round() / 10.0)
}

impl OutcomeGroup {
    fn new(
        key: String,
        name: Option<String>,
        answered: i64,
        reopened: i64,
        ratings: i64,
        rating_sum: i64,
    ) -> Self {
        OutcomeGroup {
            name: name.unwrap_or_else(|| key.clone()),
            key,
            answered,
            reopened,
            reopen_rate: rate(reopened, answered),
            ratings,
            mean_rating: mean(rating_sum, ratings),
        }
    }

    /// As the public reads it: counts rounded, the rate of the rounded counts, a mean only of
    /// five ratings or more.
    fn published(self) -> OutcomeGroup {
        let answered = disclosure::count(self.answered);
        let reopened = disclosure::count(self.reopened);
        OutcomeGroup {
            answered,
            reopened,
            reopen_rate: rate(reopened, answered),
            ratings: disclosure::count(self.ratings),
            mean_rating: self.mean_rating.filter(|_| disclosure::shown(self.ratings)),
            ..self
        }
    }
}

impl Outcomes {
    fn published(self) -> Outcomes {
        let answered = disclosure::count(self.answered);
        let reopened = disclosure::count(self.reopened);
        let groups = |g: Vec<OutcomeGroup>| {
            g.into_iter()
                .filter(|g| disclosure::shown(g.answered))
                .map(OutcomeGroup::published)
                .collect()
        };
        Outcomes {
            answered,
            reopened,
            reopen_rate: rate(reopened, answered),
            ratings: disclosure::count(self.ratings),
            mean_rating: self.mean_rating.filter(|_| disclosure::shown(self.ratings)),
            by_service: groups(self.by_service),
            by_department: groups(self.by_department),
            by_district: groups(self.by_district),
        }
    }
}

/// The outcomes of reports answered in the range.
pub async fn outcomes(db: &Db, r: &Range) -> Result<Outcomes> {
    use crate::reports::OutcomeKey;
    let span = r.instants();
    let groups = |key| async move {
        Ok::<_, Error>(
            crate::reports::outcomes_in(db, span, key)
                .await?
                .into_iter()
                .map(|(k, n, a, re, rn, rs)| OutcomeGroup::new(k, n, a, re, rn, rs))
                .collect::<Vec<_>>(),
        )
    };
    let by_service = groups(OutcomeKey::Service).await?;
    let by_department = groups(OutcomeKey::Department).await?;
    let by_district = groups(OutcomeKey::District).await?;
    let (answered, reopened, ratings, sum) = crate::reports::outcome_totals(db, span).await?;
    Ok(Outcomes {
        answered,
        reopened,
        reopen_rate: rate(reopened, answered),
        ratings,
        mean_rating: mean(sum, ratings),
        by_service,
        by_department,
        by_district,
    })
}

pub fn hours(minutes: i64) -> f64 {
    minutes as f64 / 60.0
}

impl Group {
    fn published(self) -> Group {
        let minutes = disclosure::sum_with(self.minutes_saved, self.queries);
        Group {
            queries: disclosure::count(self.queries),
            minutes_saved: minutes,
            hours_saved: hours(minutes),
            ..self
        }
    }
}

/// A breakdown as the public reads it: rows under the threshold left out, the rest rounded.
fn published_groups(groups: Vec<Group>) -> Vec<Group> {
    groups
        .into_iter()
        .filter(|g| disclosure::shown(g.queries))
        .map(Group::published)
        .collect()
}

impl Figures {
    /// The figures as the public reads them (`platform::disclosure`): every count rounded to
    /// a multiple of 5, minutes scaled to the rounded counts, rows of fewer than 5 left out.
    /// The programme's own counts (training, projects) are not about citizens and stay exact.
    pub fn published(self) -> Figures {
        let minutes = disclosure::sum_with(self.minutes_saved, self.queries_handled);
        let weeks = |w: Vec<WeekCount>| {
            w.into_iter()
                .map(|w| WeekCount {
                    count: disclosure::count(w.count),
                    week: w.week,
                })
                .collect()
        };
        Figures {
            queries_handled: disclosure::count(self.queries_handled),
            minutes_saved: minutes,
            hours_saved: hours(minutes),
            citizens_facilitated: disclosure::count(self.citizens_facilitated),
            citizens_facilitated_per_week: weeks(self.citizens_facilitated_per_week),
            queries_per_week: weeks(self.queries_per_week),
            by_service: published_groups(self.by_service),
            by_department: published_groups(self.by_department),
            by_channel: published_groups(self.by_channel),
            by_district: published_groups(self.by_district),
            outcomes: self.outcomes.published(),
            ..self
        }
    }
}

async fn grouped(
    db: &Db,
    key: &str,
    join: &str,
    names: Option<&str>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<Group>> {
    let (name, group) = match names {
        Some(n) => (n.to_owned(), format!("{key}, {n}")),
        None => ("CAST(NULL AS TEXT)".to_owned(), key.to_owned()),
    };
    let rows: Vec<(String, Option<String>, i64, i64)> = db
        .fetch_all(
            query(format!(
                "SELECT {key}, {name}, COUNT(*), CAST(COALESCE(SUM(e.minutes_saved), 0) AS BIGINT) \
                 FROM impact_events e {join} WHERE e.at >= $1 AND e.at < $2 \
                 GROUP BY {group} ORDER BY COUNT(*) DESC, {key}"
            ))
            .bind(start)
            .bind(end),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(k, name, queries, minutes)| Group {
            name: name.unwrap_or_else(|| k.clone()),
            key: k,
            queries,
            minutes_saved: minutes,
            hours_saved: hours(minutes),
        })
        .collect())
}

async fn per_week(db: &Db, select: &str, extra: &str, r: &Range) -> Result<Vec<WeekCount>> {
    let (start, end) = r.instants();
    let rows: Vec<(String, i64)> = db
        .fetch_all(
            query(format!(
                "SELECT week, {select} FROM impact_events WHERE at >= $1 AND at < $2 {extra} GROUP BY week"
            ))
            .bind(start)
            .bind(end),
        )
        .await?;
    let counts: BTreeMap<String, i64> = rows.into_iter().collect();
    Ok(r.weeks()
        .into_iter()
        .map(|week| WeekCount {
            count: counts.get(&week).copied().unwrap_or(0),
            week,
        })
        .collect())
}

pub async fn figures(db: &Db, r: &Range) -> Result<Figures> {
    let span = r.instants();
    let (queries, minutes, citizens): (i64, i64, i64) = db
        .fetch_one(
            query(
                "SELECT COUNT(*), CAST(COALESCE(SUM(minutes_saved), 0) AS BIGINT), COUNT(DISTINCT citizen) \
                 FROM impact_events WHERE at >= $1 AND at < $2",
            )
            .bind(span.0)
            .bind(span.1),
        )
        .await?;
    let (trained,): (i64,) = db
        .fetch_one(
            query("SELECT COUNT(*) FROM prog_training WHERE held_on >= $1 AND held_on <= $2")
                .bind(r.from.to_string())
                .bind(r.to.to_string()),
        )
        .await?;
    let (handed_over, sustained, abandoned): (i64, i64, i64) = db
        .fetch_one(query(
            "SELECT (SELECT COUNT(DISTINCT project_id) FROM prog_project_events WHERE to_state = 'handed_over'), \
             (SELECT COUNT(*) FROM prog_projects WHERE state = 'sustained'), \
             (SELECT COUNT(*) FROM prog_projects WHERE state = 'abandoned')",
        ))
        .await?;
    Ok(Figures {
        from: r.from.to_string(),
        to: r.to.to_string(),
        queries_handled: queries,
        minutes_saved: minutes,
        hours_saved: hours(minutes),
        citizens_facilitated: citizens,
        citizens_facilitated_per_week: per_week(
            db,
            "COUNT(DISTINCT citizen)",
            "AND citizen IS NOT NULL",
            r,
        )
        .await?,
        queries_per_week: per_week(db, "COUNT(*)", "", r).await?,
        by_service: grouped(db, "e.service", "", None, span).await?,
        by_department: grouped(
            db,
            "COALESCE(d.slug, '')",
            "LEFT JOIN departments d ON d.id = e.department_id",
            Some("d.name_en"),
            span,
        )
        .await?,
        by_channel: grouped(db, "e.channel", "", None, span).await?,
        by_district: grouped(
            db,
            "COALESCE(e.district, '')",
            "LEFT JOIN districts s ON s.slug = e.district",
            Some("s.name_en"),
            span,
        )
        .await?,
        officials_trained: trained,
        services_handed_over: handed_over,
        services_sustained: sustained,
        services_abandoned: abandoned,
        outcomes: outcomes(db, r).await?,
    })
}

/// One cell of the detailed table: a week × service × channel × department × district.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cell {
    pub week: String,
    pub service: String,
    pub channel: String,
    pub department: String,
    pub district: String,
    pub queries: i64,
    pub minutes: i64,
    pub citizens: i64,
    /// Answers to "is it fixed?" given that week on that channel, about reports of the
    /// department and district; how many said "not fixed"; the ratings and their sum.
    pub answered: i64,
    pub reopened: i64,
    pub ratings: i64,
    pub rating_sum: i64,
}

pub const CELL_HEADER: [&str; 11] = [
    "week",
    "service",
    "channel",
    "department",
    "district",
    "queries_handled",
    "minutes_saved",
    "citizens_facilitated",
    "outcomes_answered",
    "outcomes_reopened",
    "mean_rating",
];

impl Cell {
    /// The row as the CSV has it (`CELL_HEADER`); a mean rating only where there are ratings.
    pub fn row(&self) -> Vec<String> {
        vec![
            self.week.clone(),
            self.service.clone(),
            self.channel.clone(),
            self.department.clone(),
            self.district.clone(),
            self.queries.to_string(),
            self.minutes.to_string(),
            self.citizens.to_string(),
            self.answered.to_string(),
            self.reopened.to_string(),
            mean(self.rating_sum, self.ratings).map_or_else(String::new, |m| format!("{m:.1}")),
        ]
    }
}

/// Week, service, channel, department, district; queries, minutes, citizens.
type UseRow = (String, String, String, String, String, i64, i64, i64);

/// The detailed table behind the figures: per week, service, channel, department and district,
/// the queries, minutes saved and distinct citizens (distinct within the cell: they do not add
/// up across cells, as one citizen may use two services), and the citizens' answers to "is it
/// fixed?" (under service `reports`, in the week and on the channel they answered).
pub async fn cells(db: &Db, r: &Range) -> Result<Vec<Cell>> {
    let (start, end) = r.instants();
    let used: Vec<UseRow> = db
        .fetch_all(
            query(
                "SELECT e.week, e.service, e.channel, COALESCE(d.slug, ''), COALESCE(e.district, ''), \
                 COUNT(*), CAST(COALESCE(SUM(e.minutes_saved), 0) AS BIGINT), COUNT(DISTINCT e.citizen) \
                 FROM impact_events e LEFT JOIN departments d ON d.id = e.department_id \
                 WHERE e.at >= $1 AND e.at < $2 \
                 GROUP BY e.week, e.service, e.channel, COALESCE(d.slug, ''), COALESCE(e.district, '')",
            )
            .bind(start)
            .bind(end),
        )
        .await?;
    let answers = crate::reports::outcome_cells(db, (start, end)).await?;
    let mut out: BTreeMap<(String, String, String, String, String), Cell> = BTreeMap::new();
    for (week, service, channel, department, district, q, m, c) in used {
        let key = (week, service, channel, department, district);
        out.insert(
            key.clone(),
            Cell {
                week: key.0,
                service: key.1,
                channel: key.2,
                department: key.3,
                district: key.4,
                queries: q,
                minutes: m,
                citizens: c,
                ..Default::default()
            },
        );
    }
    for (week, channel, department, district, a, re, rn, rs) in answers {
        let key = (week, "reports".to_owned(), channel, department, district);
        let cell = out.entry(key.clone()).or_insert_with(|| Cell {
            week: key.0,
            service: key.1,
            channel: key.2,
            department: key.3,
            district: key.4,
            ..Default::default()
        });
        cell.answered = a;
        cell.reopened = re;
        cell.ratings = rn;
        cell.rating_sum = rs;
    }
    Ok(out.into_values().collect())
}

/// The detailed table as the public reads it: cells of fewer than 5 queries and fewer than 5
/// answers left out, the rest rounded (`platform::disclosure`); a mean rating only of 5 or more.
pub fn published_cells(cells: Vec<Cell>) -> Vec<Cell> {
    cells
        .into_iter()
        .filter(|c| disclosure::shown(c.queries) || disclosure::shown(c.answered))
        .map(|c| {
            let (ratings, rating_sum) = if disclosure::shown(c.ratings) {
                (c.ratings, c.rating_sum)
            } else {
                (0, 0)
            };
            Cell {
                queries: disclosure::count(c.queries),
                minutes: disclosure::sum_with(c.minutes, c.queries),
                citizens: disclosure::count(c.citizens),
                answered: disclosure::count(c.answered),
                reopened: disclosure::count(c.reopened),
                ratings,
                rating_sum,
                ..c
            }
        })
        .collect()
}

/// Queries and minutes saved by each of a project's services (`kind:code`), since it began.
pub async fn of_services(db: &Db, services: &[String]) -> Result<Vec<(String, i64, i64)>> {
    let mut out = Vec::new();
    for s in services {
        let (kind, code) = s.split_once(':').unwrap_or((s, ""));
        let (n, m): (i64, i64) = db
            .fetch_one(
                query(
                    "SELECT COUNT(*), CAST(COALESCE(SUM(minutes_saved), 0) AS BIGINT) FROM impact_events \
                     WHERE service = $1 AND code = $2",
                )
                .bind(kind)
                .bind(code),
            )
            .await?;
        out.push((s.clone(), n, m));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_default_to_twelve_weeks_and_refuse_nonsense() {
        let r = Range::parse(None, Some("2026-11-29")).unwrap();
        assert_eq!(r.from.to_string(), "2026-09-07");
        assert_eq!(r.weeks().len(), 12);
        assert_eq!(r.weeks().last().unwrap(), "2026-W48");
        assert!(Range::parse(Some("2026-12-01"), Some("2026-11-01")).is_err());
        assert!(Range::parse(Some("2001-01-01"), Some("2026-11-01")).is_err());
        assert!(Range::parse(Some("yesterday"), None).is_err());
        assert!(Range::parse(Some("262142-12-31"), Some("262142-12-31")).is_err());
        assert!(Range::year(-5).is_err());
        let r = Range::parse(Some("2026-12-28"), Some("2027-01-04")).unwrap();
        assert_eq!(r.weeks(), vec!["2026-W53", "2027-W01"]);
    }

    #[test]
    fn a_range_is_whole_days_in_pakistan() {
        let r = Range::parse(Some("2026-11-27"), Some("2026-11-27")).unwrap();
        let (a, b) = r.instants();
        assert_eq!(a.to_rfc3339(), "2026-11-26T19:00:00+00:00");
        assert_eq!((b - a).num_hours(), 24);
    }
}
