//! The programme's impact in public: `/impact` (figures, weekly trend, by department, channel,
//! service and district, each chart with its table), `/impact/report` (a printable annual
//! report) and `/impact.csv` (the detailed table). Every figure comes from
//! `programme::figures`, the same function as `GET /api/v1/impact`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Datelike;
use serde::Deserialize;

use super::{charts, render, Here, OrPage, Page, PageError};
use crate::platform::i18n::Lang;
use crate::platform::org;
use crate::platform::state::AppState;
use crate::programme::figures::{self, Figures, Group, OutcomeGroup, Range};
use crate::programme::projects;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/impact", get(impact))
        .route("/impact/report", get(report))
        .route("/impact.csv", get(csv))
}

/// A service's or channel's name in the reader's language (its key if there is none).
pub fn label(lang: Lang, kind: &str, key: &str) -> String {
    const KNOWN: [&str; 12] = [
        "service-reports",
        "service-directory",
        "service-benefits",
        "service-cases",
        "channel-open311",
        "channel-web",
        "channel-sms",
        "channel-ussd",
        "channel-whatsapp",
        "channel-voice",
        "channel-staff",
        "channel-api",
    ];
    let id = format!("{kind}-{key}");
    if KNOWN.contains(&id.as_str()) {
        lang.t(&format!("impact-{id}"))
    } else if key.is_empty() {
        lang.t("impact-none")
    } else {
        key.to_owned()
    }
}

pub struct Row {
    pub key: String,
    pub name: String,
    pub queries: i64,
    pub hours: String,
}

/// Departments' and districts' names in the reader's language, by slug.
pub type Names = HashMap<String, String>;

async fn names(state: &AppState, lang: Lang) -> Result<Names, sqlx::Error> {
    let mut out = Names::new();
    for d in org::departments(&state.db).await? {
        out.insert(
            format!("department:{}", d.slug),
            d.name().get(lang).to_owned(),
        );
    }
    for d in state.districts().await?.iter() {
        out.insert(format!("district:{}", d.slug), d.name(lang).to_owned());
    }
    for s in crate::reports::all_services(&state.db).await? {
        out.insert(
            format!("report-service:{}", s.code),
            s.name.get(lang).to_owned(),
        );
    }
    Ok(out)
}

fn rows(lang: Lang, kind: &str, groups: &[Group], names: &Names) -> Vec<Row> {
    groups
        .iter()
        .map(|g| Row {
            key: g.key.clone(),
            name: match kind {
                "service" | "channel" => label(lang, kind, &g.key),
                _ if g.key.is_empty() => lang.t("impact-none"),
                _ => names
                    .get(&format!("{kind}:{}", g.key))
                    .cloned()
                    .unwrap_or_else(|| g.name.clone()),
            },
            queries: g.queries,
            hours: format!("{:.1}", g.hours_saved),
        })
        .collect()
}

fn bars(lang: Lang, rows: &[Row], title: &str) -> String {
    let items: Vec<(String, i64)> = rows.iter().map(|r| (r.name.clone(), r.queries)).collect();
    charts::bars(&items, lang.is_rtl(), title)
}

/// One breakdown: its title, its chart (if drawn) and its table.
pub struct Section {
    pub title: String,
    pub kind: &'static str,
    pub chart: String,
    pub rows: Vec<Row>,
}

/// One row of "is it fixed?": answers, the share reopened, the mean rating.
pub struct OutcomeRow {
    pub key: String,
    pub name: String,
    pub answered: i64,
    /// `25%`, or a dash.
    pub reopened: String,
    /// `4.2`, or a dash.
    pub rating: String,
}

pub struct OutcomeSection {
    pub title: String,
    pub kind: &'static str,
    pub rows: Vec<OutcomeRow>,
}

/// A share as people read it: `25%`, or a dash.
pub fn percent(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

/// A mean rating: `4.2`, or a dash.
pub fn stars(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{r:.1}"))
}

fn outcome_sections(lang: Lang, f: &Figures, names: &Names) -> Vec<OutcomeSection> {
    let section = |kind: &'static str, title: &str, groups: &[OutcomeGroup]| OutcomeSection {
        title: lang.t(title),
        kind,
        rows: groups
            .iter()
            .map(|g| OutcomeRow {
                key: g.key.clone(),
                name: if g.key.is_empty() {
                    lang.t("impact-none")
                } else {
                    names
                        .get(&format!("{kind}:{}", g.key))
                        .cloned()
                        .unwrap_or_else(|| g.name.clone())
                },
                answered: g.answered,
                reopened: percent(g.reopen_rate),
                rating: stars(g.mean_rating),
            })
            .collect(),
    };
    vec![
        section(
            "report-service",
            "impact-by-service",
            &f.outcomes.by_service,
        ),
        section(
            "department",
            "impact-by-department",
            &f.outcomes.by_department,
        ),
        section("district", "impact-by-district", &f.outcomes.by_district),
    ]
}

/// What both pages show.
pub struct View {
    pub f: Figures,
    /// "Is it fixed?": the share reopened and the mean rating, overall and by group.
    pub reopened: String,
    pub rating: String,
    pub outcomes: Vec<OutcomeSection>,
    pub hours: String,
    /// (week, citizens, queries)
    pub weeks: Vec<(String, i64, i64)>,
    pub weekly_chart: String,
    pub sections: Vec<Section>,
}

fn view(lang: Lang, f: Figures, names: &Names) -> View {
    let weeks: Vec<(String, i64, i64)> = f
        .citizens_facilitated_per_week
        .iter()
        .zip(&f.queries_per_week)
        .map(|(c, q)| (c.week.clone(), c.count, q.count))
        .collect();
    let short: Vec<(String, i64)> = weeks
        .iter()
        .map(|w| (w.0.rsplit('-').next().unwrap_or(&w.0).to_owned(), w.1))
        .collect();
    let section = |kind: &'static str, title: &str, groups: &[Group], chart: bool| {
        let title = lang.t(title);
        let rows = rows(lang, kind, groups, names);
        Section {
            chart: if chart {
                bars(lang, &rows, &title)
            } else {
                String::new()
            },
            title,
            kind,
            rows,
        }
    };
    let sections = vec![
        section("department", "impact-by-department", &f.by_department, true),
        section("channel", "impact-by-channel", &f.by_channel, true),
        section("service", "impact-by-service", &f.by_service, false),
        section("district", "impact-by-district", &f.by_district, false),
    ];
    View {
        reopened: percent(f.outcomes.reopen_rate),
        rating: stars(f.outcomes.mean_rating),
        outcomes: outcome_sections(lang, &f, names),
        hours: format!("{:.1}", f.hours_saved),
        weekly_chart: charts::columns(&short, lang.is_rtl(), &lang.t("impact-weekly")),
        weeks,
        sections,
        f,
    }
}

#[derive(Deserialize)]
pub struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

#[derive(Template)]
#[template(path = "impact.html")]
struct ImpactPage {
    p: Page,
    v: View,
    csv: String,
    json: String,
    year: i32,
}

async fn impact(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<RangeQuery>,
) -> Result<Response, PageError> {
    let r = Range::parse(q.from.as_deref(), q.to.as_deref()).or_page(lang)?;
    let f = figures::figures(&state.db, &r)
        .await
        .or_page(lang)?
        .published();
    let query =
        serde_urlencoded::to_string([("from", r.from.to_string()), ("to", r.to.to_string())])
            .unwrap_or_default();
    let page = ImpactPage {
        p: Page::new(lang, lang.t("impact-title"), &uri, &csrf),
        v: view(lang, f, &names(&state, lang).await.or_page(lang)?),
        csv: format!("/impact.csv?{query}"),
        json: format!("/api/v1/impact?{query}"),
        year: r.to.year(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<String>,
}

#[derive(Template)]
#[template(path = "impact_report.html")]
struct ReportPage {
    p: Page,
    v: View,
    year: i32,
    /// (code, title, department, state)
    projects: Vec<(String, String, String, String)>,
}

async fn report(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Query(q): Query<YearQuery>,
) -> Result<Response, PageError> {
    let bad = || PageError {
        error: crate::platform::error::Error::BadRequest(lang.t("impact-err-year")),
        lang,
    };
    let year = match q.year.as_deref().map(str::trim).filter(|y| !y.is_empty()) {
        Some(y) => y.parse::<i32>().map_err(|_| bad())?,
        None => crate::platform::clock::today().year(),
    };
    let r = Range::year(year).map_err(|_| bad())?;
    let f = figures::figures(&state.db, &r)
        .await
        .or_page(lang)?
        .published();
    let projects = projects::projects(&state.db)
        .await
        .or_page(lang)?
        .into_iter()
        .map(|p| {
            let st = lang.t(&format!("prog-state-{}", p.state));
            (p.code, p.title, p.department, st)
        })
        .collect();
    let page = ReportPage {
        p: Page::new(
            lang,
            crate::t!(lang, "impact-report-title", year = year.to_string()),
            &uri,
            &csrf,
        ),
        v: view(lang, f, &names(&state, lang).await.or_page(lang)?),
        year,
        projects,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn csv(
    State(state): State<AppState>,
    lang: Lang,
    Query(q): Query<RangeQuery>,
) -> Result<Response, PageError> {
    let r = Range::parse(q.from.as_deref(), q.to.as_deref()).or_page(lang)?;
    crate::programme::api::csv_download(&state, &r)
        .await
        .or_page(lang)
}
