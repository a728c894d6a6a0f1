//! `datastore_search_sql`: the one place where a stranger's SQL runs. Three walls:
//! 1. this parser: exactly one SELECT (no `INTO`, no locks), reading only DataStore tables (by
//!    their resource ids) and the query's own `WITH` names, calling only the functions listed
//!    here;
//! 2. the connection: read-only (SQLite `query_only`, PostgreSQL `READ ONLY` transaction);
//! 3. limits: a time limit (the query is interrupted) and a row cap.

use std::collections::HashSet;
use std::ops::ControlFlow;

use sqlparser::ast::{Expr, ObjectName, ObjectNamePart, Query, SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::platform::db::Backend;

/// Functions a query may call: reading and computing, nothing that sleeps, reads files or
/// changes settings.
const FUNCTIONS: &[&str] = &[
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "total",
    "group_concat",
    "string_agg",
    "lower",
    "upper",
    "length",
    "char_length",
    "round",
    "abs",
    "coalesce",
    "nullif",
    "ifnull",
    "substr",
    "substring",
    "trim",
    "ltrim",
    "rtrim",
    "replace",
    "instr",
    "position",
    "concat",
    "date",
    "datetime",
    "strftime",
    "date_trunc",
    "date_part",
    "extract",
    "to_char",
    "cast",
    "percentile_cont",
    "floor",
    "ceil",
    "ceiling",
    "sqrt",
    "stddev",
    "variance",
    "median",
];

/// Why a query is refused.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// Not SQL, or not one statement.
    Syntax(String),
    /// Something other than reading DataStore tables.
    Forbidden(String),
}

fn name_of(n: &ObjectName) -> String {
    n.0.iter()
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => i.value.clone(),
            ObjectNamePart::Function(f) => f.name.value.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

struct Check<'a> {
    allowed_tables: &'a dyn Fn(&str) -> bool,
    ctes: HashSet<String>,
    tables: Vec<String>,
    problem: Option<String>,
}

fn select_into(body: &SetExpr) -> bool {
    match body {
        SetExpr::Select(s) => s.into.is_some(),
        SetExpr::SetOperation { left, right, .. } => select_into(left) || select_into(right),
        SetExpr::Query(q) => select_into(&q.body),
        _ => false,
    }
}

impl Visitor for Check<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes.insert(cte.alias.name.value.to_lowercase());
            }
        }
        if !q.locks.is_empty() || q.for_clause.is_some() {
            self.problem = Some("locking clauses are not allowed".into());
            return ControlFlow::Break(());
        }
        if select_into(&q.body) {
            self.problem = Some("SELECT INTO writes a table: not allowed".into());
            return ControlFlow::Break(());
        }
        if !matches!(
            *q.body,
            SetExpr::Select(_)
                | SetExpr::SetOperation { .. }
                | SetExpr::Query(_)
                | SetExpr::Values(_)
        ) {
            self.problem = Some("only SELECT queries are allowed".into());
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        let name = name_of(relation);
        if self.ctes.contains(&name.to_lowercase()) {
            return ControlFlow::Continue(());
        }
        if !(self.allowed_tables)(&name) {
            self.problem = Some(format!(
                "{name:?} is not a DataStore resource: query resources by their id"
            ));
            return ControlFlow::Break(());
        }
        self.tables.push(name);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            let name = name_of(&f.name).to_lowercase();
            if !FUNCTIONS.contains(&name.as_str()) {
                self.problem = Some(format!("the function {name}() is not allowed"));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if !matches!(s, Statement::Query(_)) {
            self.problem = Some("only one SELECT is allowed".into());
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

/// Check a query; returns the resource ids it reads.
pub fn check(
    sql: &str,
    backend: Backend,
    is_resource: &dyn Fn(&str) -> bool,
) -> Result<Vec<String>, Refusal> {
    let dialect: Box<dyn Dialect> = match backend {
        Backend::Sqlite => Box::new(SQLiteDialect {}),
        Backend::Postgres => Box::new(PostgreSqlDialect {}),
    };
    let statements =
        Parser::parse_sql(dialect.as_ref(), sql).map_err(|e| Refusal::Syntax(e.to_string()))?;
    if statements.len() != 1 {
        return Err(Refusal::Syntax(format!(
            "send exactly one statement, not {}",
            statements.len()
        )));
    }
    let mut c = Check {
        allowed_tables: is_resource,
        ctes: HashSet::new(),
        tables: vec![],
        problem: None,
    };
    let _ = statements[0].visit(&mut c);
    match c.problem {
        Some(p) => Err(Refusal::Forbidden(p)),
        None if c.tables.is_empty() => Err(Refusal::Forbidden(
            "the query reads no DataStore resource".into(),
        )),
        None => Ok(c.tables),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "2f1c3d4e-0000-4000-8000-000000000001";

    fn run(sql: &str) -> Result<Vec<String>, Refusal> {
        let ok = |n: &str| n == R;
        check(sql, Backend::Sqlite, &ok).and(check(sql, Backend::Postgres, &ok))
    }

    #[test]
    fn reading_resources_passes() {
        assert!(run(&format!(
            r#"SELECT "District", COUNT(*) FROM "{R}" GROUP BY "District" ORDER BY 2 DESC"#
        ))
        .is_ok());
        assert!(run(&format!(
            r#"WITH w AS (SELECT * FROM "{R}") SELECT lower("Note") FROM w"#
        ))
        .is_ok());
    }

    #[test]
    fn everything_else_is_refused() {
        for sql in [
            format!(r#"DELETE FROM "{R}""#),
            format!(r#"SELECT * FROM "{R}"; DROP TABLE users"#),
            "SELECT * FROM users".to_string(),
            "SELECT * FROM sessions".to_string(),
            format!(r#"SELECT * FROM "{R}" JOIN users ON 1 = 1"#),
            format!(r#"SELECT * INTO copy FROM "{R}""#),
            format!(r#"SELECT pg_sleep(10) FROM "{R}""#),
            format!(r#"SELECT load_extension('x') FROM "{R}""#),
            format!(r#"SELECT * FROM "{R}" FOR UPDATE"#),
            "SELECT 1".to_string(),
            "not sql at all".to_string(),
            format!(r#"SELECT * FROM (SELECT * FROM pg_catalog.pg_user) x, "{R}""#),
        ] {
            assert!(run(&sql).is_err(), "{sql}");
        }
    }
}
