//! `datastore_search_sql`: the one place where a stranger's SQL runs. Four walls, each of which
//! holds on its own (see `docs/SECURITY.md`):
//! 1. this parser: exactly one SELECT (no `INTO`, no locks), reading only DataStore resources
//!    (by their ids) and the `WITH` names in scope where they are read, calling only the
//!    functions listed here; what runs is the statement as this parser printed it back, so
//!    what was checked is what runs;
//! 2. the connection: on SQLite a read-only connection to the DataStore's own file (it cannot
//!    see the application's database at all) with an authorizer that allows reading DataStore
//!    tables and the listed functions only; on PostgreSQL a read-only transaction under a role
//!    that may `SELECT` in the DataStore schema and nothing else;
//! 3. limits: a time limit (the query is interrupted), a row cap, a byte cap on the answer, and
//!    on SQLite a cap on the length of any one value (a string that doubles stops at 1 MB);
//! 4. visibility: only resources of active, public datasets are named to the parser, and a
//!    deleted dataset's tables are dropped.

use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Ident, InTarget, ObjectName, ObjectNamePart, Query, SetExpr, Statement, TableFactor,
    Visit, Visitor,
};
use sqlparser::dialect::{Dialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;

use crate::platform::db::Backend;

/// Functions a query may call: the kernel's list, which the SQLite authorizer also enforces.
pub use crate::platform::db::UNTRUSTED_FUNCTIONS as FUNCTIONS;

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

/// A name as the database resolves it: PostgreSQL folds unquoted names to lower case and keeps
/// quoted ones exact; SQLite compares every name without regard to (ASCII) case.
fn resolved(backend: Backend, i: &Ident) -> String {
    match (backend, i.quote_style) {
        (Backend::Postgres, Some(_)) => i.value.clone(),
        _ => i.value.to_ascii_lowercase(),
    }
}

/// The `WITH` names of one query level and how many of them are in scope at the point being
/// read: a CTE sees the ones before it (a recursive one also itself), the main body all.
struct Scope {
    /// Each CTE's body (by address, to know when the walk is inside it) and its name.
    ctes: Vec<(usize, String)>,
    recursive: bool,
    /// `ctes[..defined]` are in scope.
    defined: usize,
}

struct Check<'a> {
    backend: Backend,
    allowed_tables: &'a dyn Fn(&str) -> bool,
    /// One entry per query being visited, innermost last.
    scopes: Vec<Scope>,
    tables: Vec<String>,
    problem: Option<String>,
}

/// Is this set expression (or any part of it) something other than a SELECT or VALUES?
fn only_selects(body: &SetExpr) -> Result<(), &'static str> {
    match body {
        SetExpr::Select(s) if s.into.is_some() => Err("SELECT INTO writes a table: not allowed"),
        SetExpr::Select(_) | SetExpr::Values(_) => Ok(()),
        SetExpr::SetOperation { left, right, .. } => {
            only_selects(left)?;
            only_selects(right)
        }
        SetExpr::Query(q) => only_selects(&q.body),
        _ => Err("only SELECT queries are allowed"),
    }
}

fn address(q: &Query) -> usize {
    q as *const Query as usize
}

impl Check<'_> {
    fn refuse(&mut self, why: String) -> ControlFlow<()> {
        self.problem = Some(why);
        ControlFlow::Break(())
    }

    /// Is `name` (one part, as resolved) a `WITH` name in scope here?
    fn is_cte(&self, name: &str) -> bool {
        self.scopes
            .iter()
            .any(|s| s.ctes[..s.defined].iter().any(|(_, d)| d == name))
    }

    /// The query `q` starts. If it is the body of one of the enclosing level's CTEs, the names
    /// before that one are in scope (and, under `WITH RECURSIVE`, its own).
    fn enter(&mut self, q: &Query) {
        if let Some(parent) = self.scopes.last_mut() {
            if let Some(i) = parent.ctes.iter().position(|(a, _)| *a == address(q)) {
                parent.defined = if parent.recursive { i + 1 } else { i };
            }
        }
        let backend = self.backend;
        self.scopes.push(Scope {
            ctes: q
                .with
                .iter()
                .flat_map(|w| &w.cte_tables)
                .map(|c| (address(&c.query), resolved(backend, &c.alias.name)))
                .collect(),
            recursive: q.with.as_ref().is_some_and(|w| w.recursive),
            defined: 0,
        });
    }

    /// The query `q` ends. If it was a CTE body, its name and those before it are in scope for
    /// what follows (the next CTEs, then the main body).
    fn leave(&mut self, q: &Query) {
        self.scopes.pop();
        if let Some(parent) = self.scopes.last_mut() {
            if let Some(i) = parent.ctes.iter().position(|(a, _)| *a == address(q)) {
                parent.defined = i + 1;
            }
        }
    }
}

impl Visitor for Check<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        self.enter(q);
        if !q.locks.is_empty() || q.for_clause.is_some() {
            return self.refuse("locking clauses are not allowed".into());
        }
        if let Err(why) = only_selects(&q.body) {
            return self.refuse(why.into());
        }
        if !q.pipe_operators.is_empty() || q.settings.is_some() || q.format_clause.is_some() {
            return self.refuse("only plain SELECT queries are allowed".into());
        }
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        self.leave(q);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, t: &TableFactor) -> ControlFlow<()> {
        match t {
            TableFactor::Table {
                args: None,
                with_hints,
                version: None,
                partitions,
                json_path: None,
                sample: None,
                index_directives,
                with_ordinality: false,
                inheritance: None,
                ..
            } if with_hints.is_empty() && partitions.is_empty() && index_directives.is_empty() => {
                ControlFlow::Continue(())
            }
            TableFactor::Derived { .. } | TableFactor::NestedJoin { .. } => {
                ControlFlow::Continue(())
            }
            _ => self.refuse(
                "read resources by their id: table functions and hints are not allowed".into(),
            ),
        }
    }

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        if let [ObjectNamePart::Identifier(i)] = relation.0.as_slice() {
            if self.is_cte(&resolved(self.backend, i)) {
                return ControlFlow::Continue(());
            }
        }
        let name = name_of(relation);
        let single = relation.0.len() == 1;
        if !single || !(self.allowed_tables)(&name) {
            return self.refuse(format!(
                "{name:?} is not a DataStore resource: query resources by their id"
            ));
        }
        self.tables.push(name);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        match expr {
            Expr::Function(f) => {
                let name = name_of(&f.name).to_lowercase();
                if !FUNCTIONS.contains(&name.as_str()) {
                    return self.refuse(format!("the function {name}() is not allowed"));
                }
            }
            Expr::In {
                target: InTarget::Table { args: Some(_), .. } | InTarget::Unnest(_),
                ..
            } => {
                return self.refuse("IN takes a list or a sub-query here".into());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_statement(&mut self, s: &Statement) -> ControlFlow<()> {
        if !matches!(s, Statement::Query(_)) {
            return self.refuse("only one SELECT is allowed".into());
        }
        ControlFlow::Continue(())
    }
}

/// A query that passed: the statement as the parser printed it back (what is to run), and the
/// resource ids it reads.
#[derive(Debug)]
pub struct Checked {
    pub sql: String,
    pub resources: Vec<String>,
}

/// Check a query; returns what to run and the resource ids it reads.
pub fn check(
    sql: &str,
    backend: Backend,
    is_resource: &dyn Fn(&str) -> bool,
) -> Result<Checked, Refusal> {
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
    let statement = &statements[0];
    let mut c = Check {
        backend,
        allowed_tables: is_resource,
        scopes: vec![],
        tables: vec![],
        problem: None,
    };
    let _ = statement.visit(&mut c);
    match c.problem {
        Some(p) => Err(Refusal::Forbidden(p)),
        None if c.tables.is_empty() => Err(Refusal::Forbidden(
            "the query reads no DataStore resource".into(),
        )),
        None => {
            let sql = statement.to_string();
            // The printed statement must read the same: parse it again and compare.
            let again = Parser::parse_sql(dialect.as_ref(), &sql)
                .map_err(|e| Refusal::Syntax(e.to_string()))?;
            if again.len() != 1 || &again[0] != statement {
                return Err(Refusal::Syntax(
                    "the query could not be checked: write it more plainly".into(),
                ));
            }
            Ok(Checked {
                sql,
                resources: c.tables,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "2f1c3d4e-0000-4000-8000-000000000001";

    fn run(sql: &str) -> Result<Vec<String>, Refusal> {
        let ok = |n: &str| n == R;
        check(sql, Backend::Sqlite, &ok)
            .and(check(sql, Backend::Postgres, &ok))
            .map(|c| c.resources)
    }

    #[test]
    fn reading_resources_passes() {
        for sql in [
            format!(
                r#"SELECT "District", COUNT(*) FROM "{R}" GROUP BY "District" ORDER BY 2 DESC"#
            ),
            format!(r#"WITH w AS (SELECT * FROM "{R}") SELECT lower("Note") FROM w"#),
            format!(r#"WITH a AS (SELECT * FROM "{R}"), b AS (SELECT * FROM a) SELECT * FROM b"#),
            format!(
                r#"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT * FROM n, "{R}""#
            ),
            format!(r#"SELECT * FROM "{R}" WHERE "District" LIKE 'P%'"#),
        ] {
            let c = run(&sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
            assert_eq!(c, vec![R.to_string()], "{sql}");
        }
    }

    /// The attack corpus: each must be refused by the parser (the database walls are tested
    /// with the same corpus in `tests/it/security.rs`).
    pub fn escapes() -> Vec<String> {
        vec![
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
            // A WITH name declared in an inner query is not in scope outside it.
            format!(
                r#"SELECT * FROM (WITH users AS (SELECT 1) SELECT * FROM users) x, users, "{R}""#
            ),
            format!(
                r#"SELECT *, (SELECT password_hash FROM users) FROM "{R}" WHERE EXISTS (WITH users AS (SELECT 1) SELECT 1 FROM users)"#
            ),
            format!(
                r#"SELECT * FROM "{R}" WHERE 1 IN (WITH sqlite_master AS (SELECT 1) SELECT 1) UNION SELECT * FROM sqlite_master"#
            ),
            // A non-recursive CTE's body sees the real table of its own name.
            "WITH users AS (SELECT * FROM users) SELECT * FROM users".to_string(),
            format!(r#"WITH a AS (SELECT * FROM b), b AS (SELECT * FROM "{R}") SELECT * FROM a"#),
            format!(
                r#"WITH x AS (SELECT * FROM "{R}") SELECT * FROM (WITH y AS (SELECT 1) SELECT * FROM y) z, y"#
            ),
            // Quoting and case: a quoted CTE name is another name on PostgreSQL.
            format!(r#"WITH "USERS" AS (SELECT * FROM "{R}") SELECT * FROM users"#),
            format!(r#"SELECT * FROM "{R}" UNION SELECT * FROM "Users""#),
            format!(r#"SELECT * FROM main."{R}""#),
            format!(r#"SELECT * FROM datastore."{R}""#),
            format!(r#"SELECT * FROM public.users, "{R}""#),
            // Catalogues and table-valued functions.
            format!(r#"SELECT * FROM "{R}" UNION ALL SELECT name, sql FROM sqlite_master"#),
            format!(r#"SELECT * FROM "{R}", sqlite_schema"#),
            format!(r#"SELECT * FROM "{R}", pragma_table_info('users')"#),
            format!(r#"SELECT * FROM "{R}" WHERE 1 IN pragma_table_info('users')"#),
            format!(r#"SELECT * FROM "{R}", information_schema.tables"#),
            format!(r#"SELECT * FROM "{R}", pg_catalog.pg_authid"#),
            format!(r#"SELECT * FROM "{R}", pg_shadow"#),
            format!(r#"SELECT * FROM "{R}", generate_series(1, 10)"#),
            format!(r#"SELECT * FROM "{R}", LATERAL (SELECT * FROM users) u"#),
            format!(r#"SELECT (SELECT count(*) FROM users) FROM "{R}""#),
            format!(r#"SELECT * FROM "{R}" ORDER BY (SELECT 1 FROM users LIMIT 1)"#),
            format!(r#"SELECT * FROM "{R}" GROUP BY 1 HAVING (SELECT 1 FROM api_keys) > 0"#),
            format!(r#"SELECT * FROM "{R}" INTERSECT SELECT * FROM otp_codes"#),
            format!(r#"SELECT * FROM "{R}" EXCEPT SELECT * FROM sms_outbox"#),
            format!(r#"TABLE users"#),
            format!(r#"SELECT * FROM "{R}" UNION TABLE users"#),
            // Functions that are not listed, in every clause.
            format!(r#"SELECT pg_read_file('/etc/passwd') FROM "{R}""#),
            format!(r#"SELECT * FROM "{R}" WHERE current_setting('is_superuser') = 'on'"#),
            format!(r#"SELECT randomblob(1000000000) FROM "{R}""#),
            format!(r#"SELECT zeroblob(1000000000) FROM "{R}""#),
            format!(r#"SELECT printf('%.*c', 1000000000, 'x') FROM "{R}""#),
            format!(r#"SELECT sqlite_version() FROM "{R}""#),
            format!(r#"SELECT * FROM "{R}" ORDER BY random()"#),
            format!(r#"SELECT pg_catalog.lower('x') FROM "{R}""#),
            format!(r#"SELECT set_config('role', 'postgres', true) FROM "{R}""#),
            format!(r#"SELECT dblink('x', 'y') FROM "{R}""#),
            format!(r#"SELECT lo_import('/etc/passwd') FROM "{R}""#),
            format!(
                r#"SELECT * FROM "{R}" WHERE "a" = (SELECT query_to_xml('select * from users', true, true, ''))"#
            ),
        ]
    }

    #[test]
    fn everything_else_is_refused() {
        for sql in escapes() {
            assert!(run(&sql).is_err(), "{sql}");
        }
    }

    #[test]
    fn what_runs_is_what_was_checked() {
        let c = check(
            &format!("SELECT 1 AS x FROM \"{R}\" -- trailing comment\n"),
            Backend::Postgres,
            &|n: &str| n == R,
        )
        .unwrap();
        assert!(!c.sql.contains("--"), "{}", c.sql);
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        /// Places a table name can go in a query over the resource.
        fn positions() -> Vec<&'static str> {
            vec![
                "SELECT * FROM {T}",
                "SELECT * FROM \"{R}\", {T}",
                "SELECT * FROM \"{R}\" JOIN {T} ON 1 = 1",
                "SELECT * FROM \"{R}\" WHERE EXISTS (SELECT 1 FROM {T})",
                "SELECT (SELECT 1 FROM {T}) FROM \"{R}\"",
                "SELECT * FROM \"{R}\" UNION SELECT * FROM {T}",
                "SELECT * FROM \"{R}\" ORDER BY (SELECT 1 FROM {T})",
                "SELECT * FROM \"{R}\" GROUP BY 1 HAVING (SELECT 1 FROM {T}) = 1",
                "SELECT * FROM (SELECT * FROM {T}) s, \"{R}\"",
                "WITH q AS (SELECT * FROM {T}) SELECT * FROM q, \"{R}\"",
                "WITH {T} AS (SELECT * FROM {T}) SELECT * FROM {T}, \"{R}\"",
                "SELECT * FROM (WITH {T} AS (SELECT 1) SELECT * FROM {T}) s, {T}, \"{R}\"",
                "WITH a AS (SELECT * FROM \"{R}\") SELECT * FROM a WHERE 1 IN (WITH {T} AS (SELECT 1) SELECT 1) AND EXISTS (SELECT 1 FROM {T})",
                "SELECT * FROM \"{R}\" WHERE 1 IN (SELECT 1 FROM {T})",
            ]
        }

        fn spell(name: &str, how: u8) -> String {
            match how % 5 {
                0 => name.to_string(),
                1 => name.to_uppercase(),
                2 => format!("\"{name}\""),
                3 => format!("main.{name}"),
                _ => format!("public.\"{name}\""),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn no_other_table_passes(
                table in prop::sample::select(vec!["users", "sessions", "api_keys", "otp_codes", "sms_outbox", "mail_outbox", "sqlite_master", "pg_user", "platform_secrets", "reports"]),
                pos in 0usize..14,
                how in any::<u8>(),
            ) {
                let sql = positions()[pos].replace("{R}", R).replace("{T}", &spell(table, how));
                prop_assert!(run(&sql).is_err(), "{}", sql);
            }
        }
    }
}
