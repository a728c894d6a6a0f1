//! Automatic publication: the services' own figures as open data, every week (a scheduled job)
//! and on demand (`khidmat data publish`).
//!
//! - `reports-weekly`: reports of public services by week (Monday, Pakistan time) × service ×
//!   district: how many, and the median hours to the first closing status.
//! - `directory-places`: the verified directory, with ratings, and nothing about reviewers.
//! - `benefits-grants`: applications, selections and money by fund × district × gender × the
//!   answer to each question a fund's rules restrict (religion, for the Minority Affairs
//!   funds; money from the ledger). A cell of fewer than 5 applications is left out, so a
//!   small community in a district is not exposed; the funds' own totals are on their pages.
//!
//! - `impact-weekly`: the programme's impact figures by week × service × channel × department ×
//!   district (queries, minutes saved, distinct citizens within the cell), as `/impact.csv`.
//!
//! Personal data is never published: no names, phone numbers, e-mail, CNICs, descriptions or
//! coordinates of a reporter. Every table follows `platform::disclosure`: a row of fewer than 5
//! is left out, every count is rounded to a multiple of 5, and money and minutes are scaled to
//! the rounded counts, so one table cannot be differenced against another to find a person.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, Utc};

use crate::platform::db::{query, Db};
use crate::platform::disclosure;
use crate::platform::error::{Error, Result};
use crate::reports::model::ALL_STATUSES;

pub const JOB_KIND: &str = "opendata.publish";

/// Monday 00:00 Pakistan time of the week holding `at`, as `YYYY-MM-DD`.
fn week_of(at: DateTime<Utc>) -> String {
    let local = at
        .with_timezone(&crate::platform::clock::pkt())
        .date_naive();
    (local - Duration::days(local.weekday().num_days_from_monday() as i64))
        .format("%Y-%m-%d")
        .to_string()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn temp_csv(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "khidmat-{name}-{}.csv",
        uuid::Uuid::new_v4().simple()
    ))
}

/// A report's facts for the aggregates: submitted, service code and name, district, first closed.
type ReportFacts = (
    DateTime<Utc>,
    String,
    String,
    Option<String>,
    Option<DateTime<Utc>>,
);
/// (week, service, district)
type CellKey = (String, String, String);
/// (service name, reports, hours to resolution of the resolved ones)
type Cell = (String, usize, Vec<f64>);

/// The weekly aggregates of the last `weeks` weeks, as CSV rows (header first).
pub async fn reports_weekly(db: &Db, weeks: i64) -> Result<Vec<Vec<String>>> {
    let closing: Vec<&str> = ALL_STATUSES
        .iter()
        .filter(|s| !s.is_open())
        .map(|s| s.as_str())
        .collect();
    let mut q = query(
        "SELECT r.requested_at, r.service_code, s.name_en, r.district, \
         (SELECT MIN(u.at) FROM report_updates u WHERE u.report_id = r.id AND u.status IN (",
    );
    q = q.push_binds(&closing);
    q = q
        .push(")) FROM reports r JOIN report_services s ON s.id = r.service_id WHERE s.public = ")
        .push_bind(true)
        .push(" AND r.requested_at >= ")
        .push_bind(Utc::now() - Duration::weeks(weeks));
    let rows: Vec<ReportFacts> = db.fetch_all(q).await?;
    let mut cells: BTreeMap<CellKey, Cell> = BTreeMap::new();
    for (at, code, name, district, closed) in rows {
        let cell = cells
            .entry((week_of(at), code, district.unwrap_or_default()))
            .or_insert_with(|| (name, 0, vec![]));
        cell.1 += 1;
        if let Some(c) = closed {
            cell.2.push((c - at).num_seconds().max(0) as f64 / 3600.0);
        }
    }
    let mut out = vec![vec![
        "week".to_string(),
        "service".into(),
        "service_name".into(),
        "district".into(),
        "reports".into(),
        "resolved".into(),
        "median_hours_to_resolution".into(),
    ]];
    for ((week, code, district), (name, count, hours)) in cells {
        if !disclosure::shown(count as i64) {
            continue;
        }
        let resolved = hours.len() as i64;
        // A median of a few is nearly one person's own wait: only of 5 or more.
        let median = if disclosure::shown(resolved) {
            median(hours).map(|m| format!("{m:.1}")).unwrap_or_default()
        } else {
            String::new()
        };
        out.push(vec![
            week,
            code,
            name,
            district,
            disclosure::count(count as i64).to_string(),
            disclosure::count(resolved).to_string(),
            median,
        ]);
    }
    Ok(out)
}

/// The verified directory as CSV rows: the places, their public details and their ratings.
pub async fn directory_places(db: &Db) -> Result<Vec<Vec<String>>> {
    let f = crate::directory::PlaceFilter {
        status: Some("verified"),
        ..Default::default()
    };
    let mut out = vec![vec![
        "id".to_string(),
        "kind".into(),
        "name".into(),
        "latitude".into(),
        "longitude".into(),
        "address".into(),
        "district".into(),
        "phone".into(),
        "attributes".into(),
        "rating".into(),
        "reviews".into(),
    ]];
    let mut offset = 0;
    loop {
        let (rows, _) = crate::directory::places(db, &f, 1000, offset).await?;
        if rows.is_empty() {
            break;
        }
        let subjects: Vec<String> = rows.iter().map(|p| format!("place:{}", p.id)).collect();
        let ratings = crate::directory::ratings(db, &subjects).await?;
        for p in &rows {
            let (avg, n) = ratings
                .get(&format!("place:{}", p.id))
                .copied()
                .unwrap_or((0.0, 0));
            out.push(vec![
                p.uuid.clone(),
                p.kind.clone(),
                p.name.clone(),
                format!("{:.6}", p.lat),
                format!("{:.6}", p.long),
                p.address.clone(),
                p.district.clone().unwrap_or_default(),
                // A place's own switchboard, published by its department: not personal data.
                p.phone.clone().unwrap_or_default(),
                p.attributes.clone(),
                if n > 0 {
                    format!("{avg:.2}")
                } else {
                    String::new()
                },
                n.to_string(),
            ]);
        }
        offset += 1000;
    }
    Ok(out)
}

/// Applications and money by fund × district × gender × the answer to each question the fund's
/// rules restrict (religion, for the Minority Affairs funds), as CSV rows (header first).
pub async fn benefits_grants(db: &Db) -> Result<Vec<Vec<String>>> {
    let mut out = vec![vec![
        "fund".to_string(),
        "financial_year".into(),
        "district".into(),
        "gender".into(),
        "question".into(),
        "answer".into(),
        "applications".into(),
        "selected".into(),
        "committed_rupees".into(),
        "disbursed_rupees".into(),
    ]];
    let rupees = |p: i64| crate::platform::money::rupees(p).replace(',', "");
    for c in crate::benefits::report::open_figures(db).await? {
        if !disclosure::shown(c.applications) {
            continue;
        }
        out.push(vec![
            c.fund,
            c.financial_year,
            c.district,
            c.gender,
            c.question,
            c.answer,
            disclosure::count(c.applications).to_string(),
            disclosure::count(c.selected).to_string(),
            rupees(disclosure::sum_with(c.committed, c.selected)),
            rupees(disclosure::sum_with(c.disbursed, c.selected)),
        ]);
    }
    Ok(out)
}

/// One of the datasets the platform publishes about itself: its name, its title, what it says of
/// itself (what it holds, how often and how it is made, what is left out to protect people) and
/// its resource's name.
struct Publication {
    name: &'static str,
    title: &'static str,
    notes: &'static str,
    resource: &'static str,
    /// Its keywords (CKAN's tags, DCAT's `dcat:keyword`).
    keywords: &'static [&'static str],
    /// A table of counts about people, under `platform::disclosure`'s rule (said in its notes).
    counts: bool,
}

/// What every publication says of how often it changes and what it leaves out.
const EVERY_WEEK: &str = "Published by Khidmat itself every Monday at 03:00 Pakistan time (and whenever an administrator runs `khidmat data publish`); each publication replaces the last.";
const DISCLOSURE: &str = "To protect people, a row counting fewer than 5 is left out, every count is rounded to a multiple of 5, and money and minutes are scaled to the rounded counts, so that no table can be set against another to find a person. Nothing that names or reaches a citizen (names, phone numbers, e-mail addresses, CNICs, descriptions) is published.";

const REPORTS_WEEKLY: Publication = Publication {
    name: "reports-weekly",
    title: "Reports per week, service and district",
    notes: "Citizens' reports to the public services (electricity theft, traffic, water and sanitation, …) by week (from Monday, Pakistan time), service and district, over the last 52 weeks: how many were made, how many were resolved, and the median hours until a report was first closed. Reports to confidential services (complaints about people) are not counted.",
    resource: "Reports per week (CSV)",
    keywords: &["reports", "complaints", "service delivery", "Open311"],
    counts: true,
};
const DIRECTORY_PLACES: Publication = Publication {
    name: "directory-places",
    title: "Directory of public places",
    notes: "The verified places of the directory (public toilets, health facilities, emergency contacts, driving schools, …): kind, name, position, address, district, the place's public phone, its attributes, and the average rating with its number of reviews. Nothing about reviewers or about the citizens who suggested places is published; places awaiting verification are not included.",
    resource: "Directory of public places (CSV)",
    keywords: &["directory", "public places", "public toilets", "health facilities"],
    counts: false,
};
const BENEFITS_GRANTS: Publication = Publication {
    name: "benefits-grants",
    title: "Grant applications and payments by fund, district, gender and the answers a fund is restricted by",
    notes: "Applications to each fund by financial year, district, gender and the answer to each question the fund's rules restrict (religion, for the Minority Affairs funds): how many applied and were selected, and the rupees committed and paid (from the payment ledger). A fund's own totals are on its page.",
    resource: "Grants by fund, district and gender (CSV)",
    keywords: &["grants", "welfare", "minorities", "disbursement"],
    counts: true,
};
const IMPACT_WEEKLY: Publication = Publication {
    name: "impact-weekly",
    title: "Impact: queries handled, minutes saved and citizens facilitated per week, service, channel, department and district",
    notes: "The programme's impact figures, the same table as /impact.csv: per week, service, channel (web, SMS, USSD, …), department and district, the queries handled, the minutes they saved citizens and the distinct citizens facilitated (counted by a keyed hash of their contact, never the contact); and, under the service reports, the reporters' answers to \"is it fixed?\" (asked a set time after a report is marked fixed) that week on that channel: how many answered, how many said it was not fixed (the report reopened), and their mean rating of how it was handled (1 to 5).",
    resource: "Impact per week (CSV)",
    keywords: &["impact", "citizens facilitated", "time saved"],
    counts: true,
};
const CAMPAIGN_PLEDGES: Publication = Publication {
    name: "campaign-pledges",
    title: "Campaign pledges by category, district and kind",
    notes: "Pledges of support to campaign projects by the project's category, district and the kind of support pledged: how many were made, how many were accepted, and the accepted total in its unit. Who pledged is not published.",
    resource: "Campaign pledges (CSV)",
    keywords: &["campaigns", "pledges", "crowdfunding", "volunteering"],
    counts: true,
};

async fn publish_rows(
    db: &Db,
    p: &Publication,
    rows: Vec<Vec<String>>,
    publisher: Option<&str>,
) -> Result<u64> {
    let path = temp_csv(p.name);
    {
        let mut w = csv::Writer::from_writer(
            std::fs::File::create(&path).map_err(|e| Error::Internal(e.into()))?,
        );
        for r in &rows {
            w.write_record(r).map_err(|e| Error::Internal(e.into()))?;
        }
        w.flush().map_err(|e| Error::Internal(e.into()))?;
    }
    let notes = if p.counts {
        format!("{}\n\n{EVERY_WEEK} {DISCLOSURE}", p.notes)
    } else {
        format!("{}\n\n{EVERY_WEEK}", p.notes)
    };
    let tags: Vec<String> = p.keywords.iter().map(|k| (*k).to_owned()).collect();
    let about = super::About {
        title: Some(p.title),
        notes: Some(&notes),
        tags: &tags,
        department: publisher,
        resource_name: Some(p.resource),
        ..Default::default()
    };
    let done = super::import_into(db, &path, p.name, &about, true, |_, _| {}).await;
    let _ = std::fs::remove_file(&path);
    Ok(done?.rows)
}

/// The programme's impact over the last 52 weeks: the same table as `/impact.csv`. Counts of
/// interactions and of distinct (hashed) citizens hold nothing about any one person.
pub async fn impact_weekly(db: &Db) -> Result<Vec<Vec<String>>> {
    let r = crate::programme::figures::Range::parse(None, None)?;
    let r = crate::programme::figures::Range {
        from: r.to - Duration::days(7 * 52 - 1),
        to: r.to,
    };
    let mut rows = vec![crate::programme::figures::CELL_HEADER
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()];
    for c in
        crate::programme::figures::published_cells(crate::programme::figures::cells(db, &r).await?)
    {
        rows.push(c.row());
    }
    Ok(rows)
}

/// Campaign pledges by category × district × kind: pledges made, accepted, and the accepted
/// total (rupees for money and interest, a count of people or items for help). Cells of fewer
/// than 5 pledges are left out and counts are rounded (`platform::disclosure`), so no backer can be picked out.
pub async fn campaign_pledges(db: &Db) -> Result<Vec<Vec<String>>> {
    let rows: Vec<(String, String, String, i64, i64, i64)> = db
        .fetch_all(query(
            "SELECT p.category, p.district, g.kind, COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN g.status = 'accepted' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN g.status = 'accepted' THEN g.amount ELSE 0 END), 0) AS BIGINT) \
             FROM campaign_pledges g JOIN campaign_projects p ON p.id = g.project_id \
             GROUP BY p.category, p.district, g.kind ORDER BY p.category, p.district, g.kind",
        ))
        .await?;
    let mut out = vec![vec![
        "category".to_string(),
        "district".into(),
        "kind".into(),
        "pledges".into(),
        "accepted".into(),
        "accepted_total".into(),
        "unit".into(),
    ]];
    for (category, district, kind, n, accepted, total) in rows {
        if !disclosure::shown(n) {
            continue;
        }
        let total = disclosure::sum_with(total, accepted);
        let (total, unit) = if kind == "help" {
            (total.to_string(), "people or items")
        } else {
            (
                crate::platform::money::rupees(total).replace(',', ""),
                "rupees",
            )
        };
        out.push(vec![
            category,
            district,
            kind,
            disclosure::count(n).to_string(),
            disclosure::count(accepted).to_string(),
            total,
            unit.into(),
        ]);
    }
    Ok(out)
}

/// Publish every aggregate now. Returns `(dataset, rows)`.
///
/// `publisher`: the department (slug) that publishes them, when it exists.
pub async fn run(db: &Db, publisher: &str) -> Result<Vec<(String, u64)>> {
    let publisher = match crate::platform::org::department_by_slug(db, publisher).await? {
        Some(_) => Some(publisher),
        None => {
            tracing::warn!(
                publisher,
                "the open-data publisher (opendata_publisher) is no department: the platform's datasets have no organization"
            );
            None
        }
    };
    let mut done = Vec::new();
    let weekly = reports_weekly(db, 52).await?;
    done.push((
        REPORTS_WEEKLY,
        publish_rows(db, &REPORTS_WEEKLY, weekly, publisher).await?,
    ));
    let places = directory_places(db).await?;
    done.push((
        DIRECTORY_PLACES,
        publish_rows(db, &DIRECTORY_PLACES, places, publisher).await?,
    ));
    let grants = benefits_grants(db).await?;
    done.push((
        BENEFITS_GRANTS,
        publish_rows(db, &BENEFITS_GRANTS, grants, publisher).await?,
    ));
    let impact = impact_weekly(db).await?;
    done.push((
        IMPACT_WEEKLY,
        publish_rows(db, &IMPACT_WEEKLY, impact, publisher).await?,
    ));
    let pledges = campaign_pledges(db).await?;
    done.push((
        CAMPAIGN_PLEDGES,
        publish_rows(db, &CAMPAIGN_PLEDGES, pledges, publisher).await?,
    ));
    Ok(done
        .into_iter()
        .map(|(p, rows)| (p.name.to_owned(), rows))
        .collect())
}

/// Publish now if the platform has never published (a demo's first start shows a portal with
/// its own figures rather than an empty one until Monday). `true` when it published.
pub async fn first(db: &Db, publisher: &str) -> Result<bool> {
    if super::store::dataset(db, REPORTS_WEEKLY.name)
        .await?
        .is_some()
    {
        return Ok(false);
    }
    run(db, publisher).await?;
    Ok(true)
}

/// The next Monday, 03:00 Pakistan time.
pub fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    crate::platform::clock::next_at(now, Some(chrono::Weekday::Mon), 3)
}

/// The scheduled job: publish, then book the next run.
pub async fn job(db: Db, publisher: &str) -> anyhow::Result<()> {
    run(&db, publisher)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.message()))?;
    schedule(&db).await?;
    Ok(())
}

/// Book the next weekly run, unless one is booked.
pub async fn schedule(db: &Db) -> anyhow::Result<()> {
    crate::platform::jobs::schedule_once(db, JOB_KIND, next_run(Utc::now())).await?;
    Ok(())
}

/// Register the weekly publication.
pub fn register_jobs(
    registry: &mut crate::platform::jobs::Registry,
    config: &crate::platform::config::Config,
) {
    let publisher = config.opendata_publisher.clone();
    registry.register(JOB_KIND, move |db, _| {
        let publisher = publisher.clone();
        async move { job(db, &publisher).await }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn weeks_and_the_next_run_are_in_pakistan_time() {
        // Sunday 2026-11-29 20:00 UTC is Monday 01:00 in Pakistan.
        assert_eq!(
            week_of(Utc.with_ymd_and_hms(2026, 11, 29, 20, 0, 0).unwrap()),
            "2026-11-30"
        );
        assert_eq!(
            next_run(Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap()),
            Utc.with_ymd_and_hms(2026, 11, 29, 22, 0, 0).unwrap()
        );
    }
}
