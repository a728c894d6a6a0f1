//! Reports: applications and money by fund, district, religion, gender or month. The money
//! columns are sums over the ledger, so their totals are the ledger's own.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::platform::db::{query, Backend, Db};
use crate::platform::identity::Scope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Fund,
    District,
    Religion,
    Gender,
    Month,
}

impl By {
    pub fn parse(s: &str) -> Option<By> {
        Some(match s {
            "fund" => By::Fund,
            "district" => By::District,
            "religion" => By::Religion,
            "gender" => By::Gender,
            "month" => By::Month,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::Fund => "fund",
            By::District => "district",
            By::Religion => "religion",
            By::Gender => "gender",
            By::Month => "month",
        }
    }

    /// The grouping key over `a` (applications) and `f` (funds); for months, of the time `at`.
    fn key(self, backend: Backend, at: &str) -> String {
        match self {
            By::Fund => "f.code".into(),
            By::District => "COALESCE(a.district, '')".into(),
            By::Religion => "a.religion".into(),
            By::Gender => "a.gender".into(),
            // Months in Pakistan time (UTC+5, no daylight saving).
            By::Month => match backend {
                Backend::Sqlite => format!("strftime('%Y-%m', {at}, '+5 hours')"),
                Backend::Postgres => {
                    format!("to_char({at} AT TIME ZONE 'Asia/Karachi', 'YYYY-MM')")
                }
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
    by: By,
) -> Result<Report, sqlx::Error> {
    let backend = db.backend();
    let counts = scoped(
        query(format!(
            "SELECT {} AS k, COUNT(*) AS applications, \
             CAST(COALESCE(SUM(CASE WHEN a.status IN ('eligible', 'verified', 'rejected', 'selected', 'waitlisted') THEN 1 ELSE 0 END), 0) AS BIGINT) AS eligible, \
             CAST(COALESCE(SUM(CASE WHEN a.status = 'selected' THEN 1 ELSE 0 END), 0) AS BIGINT) AS selected \
             FROM benefit_applications a JOIN benefit_funds f ON f.id = a.fund_id WHERE 1 = 1",
            by.key(backend, "a.submitted_at")
        )),
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
        query(format!(
            "SELECT {} AS k, {} + {} AS committed, {} AS disbursed \
             FROM benefit_ledger l JOIN benefit_applications a ON a.id = l.application_id \
             JOIN benefit_funds f ON f.id = l.fund_id WHERE 1 = 1",
            by.key(backend, "l.at"),
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
        by: by.as_str().into(),
        rows,
        total,
    })
}

/// The report as CSV, amounts in rupees; the last line is the total.
pub fn csv(r: &Report) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        r.by.as_str(),
        "applications",
        "eligible",
        "selected",
        "committed",
        "disbursed",
    ]);
    for row in r.rows.iter().chain(std::iter::once(&r.total)) {
        let _ = w.write_record([
            crate::platform::text::spreadsheet_safe(&row.key).into_owned(),
            row.applications.to_string(),
            row.eligible.to_string(),
            row.selected.to_string(),
            super::model::rupees(row.committed).replace(',', ""),
            super::model::rupees(row.disbursed).replace(',', ""),
        ]);
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
