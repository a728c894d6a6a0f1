//! Reports: applications and money by fund, district, gender, month, or the answer to one of
//! the funds' single-choice questions (the Minority Affairs funds ask religion). The money
//! columns are sums over the ledger, so their totals are the ledger's own.

use std::collections::BTreeMap;

use serde::Serialize;

use super::store::Fund;
use crate::platform::db::{query, Backend, Db, Query};
use crate::platform::identity::Scope;
use crate::platform::questions::Datatype;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum By {
    Fund,
    District,
    Gender,
    Month,
    /// The answer to a fund's single-choice question, by its code (`religion`).
    Answer(String),
}

/// The questions a fund's figures may be broken down by: those with one answer from a list.
pub fn dimensions(f: &Fund) -> Vec<String> {
    f.questions
        .iter()
        .filter(|q| q.variable && q.datatype == Datatype::Singlevaluelist)
        .map(|q| q.code.clone())
        .collect()
}

impl By {
    /// `fund`, `district`, `gender`, `month`, or one of `questions` (see [`dimensions`]).
    pub fn parse(s: &str, questions: &[String]) -> Option<By> {
        Some(match s {
            "fund" => By::Fund,
            "district" => By::District,
            "gender" => By::Gender,
            "month" => By::Month,
            q if questions.iter().any(|c| c == q) => By::Answer(q.to_owned()),
            _ => return None,
        })
    }

    pub fn name(&self) -> &str {
        match self {
            By::Fund => "fund",
            By::District => "district",
            By::Gender => "gender",
            By::Month => "month",
            By::Answer(code) => code,
        }
    }

    /// `SELECT` and the grouping key over `a` (applications) and `f` (funds); for months, of the
    /// time `at`. A question's code is bound, never written into the SQL.
    fn select(&self, backend: Backend, at: &str) -> Query {
        let q = query("SELECT ");
        match self {
            By::Fund => q.push("f.code"),
            By::District => q.push("COALESCE(a.district, '')"),
            By::Gender => q.push("a.gender"),
            // Months in Pakistan time (UTC+5, no daylight saving).
            By::Month => match backend {
                Backend::Sqlite => q.push(&format!("strftime('%Y-%m', {at}, '+5 hours')")),
                Backend::Postgres => q.push(&format!(
                    "to_char({at} AT TIME ZONE 'Asia/Karachi', 'YYYY-MM')"
                )),
            },
            // The stored answers are a JSON object: code → the key chosen.
            By::Answer(code) => match backend {
                Backend::Sqlite => q
                    .push("COALESCE(json_extract(a.answers, '$.\"' || ")
                    .push_bind(code.clone())
                    .push(" || '\"'), '')"),
                Backend::Postgres => q
                    .push("COALESCE(CAST(a.answers AS jsonb) ->> CAST(")
                    .push_bind(code.clone())
                    .push(" AS TEXT), '')"),
            },
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = FundReportRow)]
pub struct Row {
    pub key: String,
    pub applications: i64,
    /// Passed the automatic rules (whatever happened next).
    pub eligible: i64,
    pub selected: i64,
    /// Paisa committed to applicants (net of withdrawals).
    pub committed: i64,
    /// Paisa paid (net of returns).
    pub disbursed: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub by: String,
    pub rows: Vec<Row>,
    pub total: Row,
}

/// The scope's restriction as SQL over `f` and `a`, appended to a query.
fn scoped(
    mut q: crate::platform::db::Query,
    scope: &Scope,
    fund_id: Option<i64>,
) -> crate::platform::db::Query {
    if let Scope::Department {
        department_id,
        district,
    } = scope
    {
        q = q.push(" AND f.department_id = ").push_bind(*department_id);
        if let Some(d) = district {
            q = q.push(" AND a.district = ").push_bind(d.clone());
        }
    }
    if let Some(f) = fund_id {
        q = q.push(" AND f.id = ").push_bind(f);
    }
    q
}

pub async fn report(
    db: &Db,
    scope: &Scope,
    fund_id: Option<i64>,
    by: &By,
) -> Result<Report, sqlx::Error> {
    let backend = db.backend();
    let counts = scoped(
        by.select(backend, "a.submitted_at").push(
            " AS k, COUNT(*) AS applications, \
             CAST(COALESCE(SUM(CASE WHEN a.status IN ('eligible', 'verified', 'rejected', 'selected', 'waitlisted') THEN 1 ELSE 0 END), 0) AS BIGINT) AS eligible, \
             CAST(COALESCE(SUM(CASE WHEN a.status = 'selected' THEN 1 ELSE 0 END), 0) AS BIGINT) AS selected \
             FROM benefit_applications a JOIN benefit_funds f ON f.id = a.fund_id WHERE 1 = 1",
        ),
        scope,
        fund_id,
    );
    let counts: Vec<(Option<String>, i64, i64, i64)> =
        db.fetch_all(counts.push(" GROUP BY 1")).await?;
    let bal = |acct: &str| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN l.debit = '{acct}' THEN l.amount \
             WHEN l.credit = '{acct}' THEN -l.amount ELSE 0 END), 0) AS BIGINT)"
        )
    };
    let money = scoped(
        by.select(backend, "l.at").push(&format!(
            " AS k, {} + {} AS committed, {} AS disbursed \
             FROM benefit_ledger l JOIN benefit_applications a ON a.id = l.application_id \
             JOIN benefit_funds f ON f.id = l.fund_id WHERE 1 = 1",
            bal("committed"),
            bal("disbursed"),
            bal("disbursed"),
        )),
        scope,
        fund_id,
    );
    let money: Vec<(Option<String>, i64, i64)> = db.fetch_all(money.push(" GROUP BY 1")).await?;
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (k, applications, eligible, selected) in counts {
        let k = k.unwrap_or_default();
        let r = rows.entry(k.clone()).or_insert_with(|| Row {
            key: k,
            ..Default::default()
        });
        r.applications += applications;
        r.eligible += eligible;
        r.selected += selected;
    }
    for (k, committed, disbursed) in money {
        let k = k.unwrap_or_default();
        let r = rows.entry(k.clone()).or_insert_with(|| Row {
            key: k,
            ..Default::default()
        });
        r.committed += committed;
        r.disbursed += disbursed;
    }
    let rows: Vec<Row> = rows.into_values().collect();
    let mut total = Row {
        key: "total".into(),
        ..Default::default()
    };
    for r in &rows {
        total.applications += r.applications;
        total.eligible += r.eligible;
        total.selected += r.selected;
        total.committed += r.committed;
        total.disbursed += r.disbursed;
    }
    Ok(Report {
        by: by.name().into(),
        rows,
        total,
    })
}

/// One cell of the published figures: applications to `fund` from one district and gender,
/// giving `answer` to `question`, with the money committed and paid to them (paisa).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct OpenCell {
    pub fund: String,
    pub financial_year: String,
    pub district: String,
    pub gender: String,
    /// A question the fund's rules restrict (`religion`), or empty for a fund without one.
    pub question: String,
    pub answer: String,
    pub applications: i64,
    pub selected: i64,
    pub committed: i64,
    pub disbursed: i64,
}

/// Every application counted once per question the fund's eligibility rules restrict (the
/// groups a fund is for: a Minority Affairs fund is reported by religion), or once with no
/// question; cells in order. The caller decides what is safe to publish.
pub async fn open_figures(db: &Db) -> Result<Vec<OpenCell>, sqlx::Error> {
    let funds = super::store::funds(db, None)
        .await?
        .into_iter()
        .map(|f| (f.code.clone(), f))
        .collect::<BTreeMap<_, _>>();
    type Sent = (String, String, String, String, String, i64, i64);
    let rows: Vec<Sent> = db
        .fetch_all(query(
            "SELECT f.code, COALESCE(a.district, ''), a.gender, a.answers, a.status, \
             CAST(COALESCE(m.committed, 0) AS BIGINT), CAST(COALESCE(m.disbursed, 0) AS BIGINT) \
             FROM benefit_applications a JOIN benefit_funds f ON f.id = a.fund_id \
             LEFT JOIN (SELECT l.application_id, \
               SUM(CASE WHEN l.debit IN ('committed', 'disbursed') AND l.credit = 'available' THEN l.amount \
                 WHEN l.credit IN ('committed', 'disbursed') AND l.debit = 'available' THEN -l.amount ELSE 0 END) AS committed, \
               SUM(CASE WHEN l.debit = 'disbursed' THEN l.amount WHEN l.credit = 'disbursed' THEN -l.amount ELSE 0 END) AS disbursed \
               FROM benefit_ledger l WHERE l.application_id IS NOT NULL GROUP BY l.application_id) m \
             ON m.application_id = a.id",
        ))
        .await?;
    let mut cells: BTreeMap<(String, String, String, String, String), OpenCell> = BTreeMap::new();
    for (fund, district, gender, answers, status, committed, disbursed) in rows {
        let Some(f) = funds.get(&fund) else { continue };
        let given = super::model::given(&serde_json::from_str(&answers).unwrap_or_default());
        let mut by: Vec<(String, String)> = f
            .eligibility
            .answers
            .keys()
            .map(|q| {
                let a = given.get(q).and_then(|v| v.first()).cloned();
                (q.clone(), a.unwrap_or_default())
            })
            .collect();
        if by.is_empty() {
            by.push(Default::default());
        }
        for (question, answer) in by {
            let key = (
                fund.clone(),
                district.clone(),
                gender.clone(),
                question.clone(),
                answer.clone(),
            );
            let c = cells.entry(key).or_insert_with(|| OpenCell {
                fund: fund.clone(),
                financial_year: f.financial_year.clone(),
                district: district.clone(),
                gender: gender.clone(),
                question,
                answer,
                ..Default::default()
            });
            c.applications += 1;
            c.selected += i64::from(status == "selected");
            c.committed += committed;
            c.disbursed += disbursed;
        }
    }
    Ok(cells.into_values().collect())
}

/// The report as CSV, amounts in rupees; the last line is the total.
pub fn csv(r: &Report) -> String {
    let mut sheet = crate::platform::sheet::Sheet::new();
    sheet.row([
        r.by.as_str(),
        "applications",
        "eligible",
        "selected",
        "committed",
        "disbursed",
    ]);
    for row in r.rows.iter().chain(std::iter::once(&r.total)) {
        sheet.row([
            row.key.clone(),
            row.applications.to_string(),
            row.eligible.to_string(),
            row.selected.to_string(),
            super::model::rupees(row.committed).replace(',', ""),
            super::model::rupees(row.disbursed).replace(',', ""),
        ]);
    }
    sheet.finish()
}
