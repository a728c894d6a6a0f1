//! The SQLite writer's own connection, run on the task that holds it.
//!
//! sqlx's SQLite driver runs each connection on a thread of its own and hands every statement
//! and every row across to it. For the one writer connection that cost more than the writing:
//! a transaction held the writer while each of its statements waited for the thread, then for
//! a worker to take the answer (PERFORMANCE.md measured 0.74 ms held per report, of which the
//! SQLite work was a fraction, and 70 ms of queueing for the writer at 64 clients). Here the
//! writer is a plain SQLite connection behind an async lock: a statement runs inline, on the
//! thread of the task that holds the lock, with its prepared statement kept for the next time.
//!
//! Rows are read by [`FromRaw`] (derived with `#[derive(khidmat_derive::FromRaw)]` beside
//! `sqlx::FromRow`) through [`Column`], which decodes as sqlx's SQLite driver does, so a value
//! written by one connection reads the same through the other. Errors are `sqlx::Error`s
//! ([`SqliteError`] is a `DatabaseError`), so callers see one error type for both backends.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fmt;
use std::path::Path;
use std::ptr;

use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, Utc};
use libsqlite3_sys as ffi;

use super::db::{Query, Value};

/// Prepared statements kept per connection; past this the cache starts again (assembled
/// filters make many texts; the hot ones come straight back).
const KEPT_STATEMENTS: usize = 512;

/// An error SQLite returned, as sqlx's `DatabaseError`: the extended result code and message.
#[derive(Debug, Clone)]
pub struct SqliteError {
    code: c_int,
    message: String,
}

impl SqliteError {
    /// The extended result code (`SQLITE_FULL` is 13, `SQLITE_CONSTRAINT_UNIQUE` 2067, …).
    pub fn code(&self) -> c_int {
        self.code
    }

    /// An error with this code and message.
    pub fn new(code: c_int, message: impl Into<String>) -> SqliteError {
        SqliteError {
            code,
            message: message.into(),
        }
    }

    /// The SQLite error inside `e`, or one that says what `e` says.
    pub fn of(e: &sqlx::Error) -> SqliteError {
        match e {
            sqlx::Error::Database(d) => match d.try_downcast_ref::<SqliteError>() {
                Some(s) => s.clone(),
                None => SqliteError::new(ffi::SQLITE_ERROR, d.message()),
            },
            other => SqliteError::new(ffi::SQLITE_ERROR, other.to_string()),
        }
    }
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteError {}

impl sqlx::error::DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> sqlx::error::ErrorKind {
        use sqlx::error::ErrorKind;
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

fn error(code: c_int, message: impl Into<String>) -> sqlx::Error {
    sqlx::Error::Database(Box::new(SqliteError::new(code, message)))
}

/// What is done with each row a statement returns; `false` when no more rows are wanted.
type EachRow<'a> = dyn FnMut(&RawRow<'_>) -> Result<bool, sqlx::Error> + 'a;

/// One SQLite connection used from one task at a time (the caller's lock sees to that).
pub struct Conn {
    db: *mut ffi::sqlite3,
    /// Each SQL text's prepared statements (a text may hold several, run in order).
    kept: HashMap<String, Vec<Stmt>>,
    /// What runs after each commit in place of SQLite's own checkpoint ([`Conn::after_commit`]);
    /// freed after the connection closes.
    wal_hook: Option<Box<WalHook>>,
}

/// Told the pages the write-ahead log holds after a commit; true: checkpoint it now, here.
type WalHook = Box<dyn Fn(c_int) -> bool + Send>;

// SAFETY: the connection is opened with SQLITE_OPEN_FULLMUTEX and used by one task at a time
// (it lives behind a lock); SQLite connections may move between threads.
unsafe impl Send for Conn {}

struct Stmt {
    raw: *mut ffi::sqlite3_stmt,
    /// For each parameter slot (1-based, in order), the argument it takes (0-based).
    slots: Vec<usize>,
    names: Vec<String>,
}

impl Drop for Stmt {
    fn drop(&mut self) {
        // SAFETY: the statement was prepared on a connection that is still open (statements
        // are dropped before their connection closes).
        unsafe { ffi::sqlite3_finalize(self.raw) };
    }
}

impl Conn {
    /// Open (creating) the database file at `path` and run `setup` (PRAGMAs) on it.
    pub fn open(path: &Path, setup: &str) -> Result<Conn, sqlx::Error> {
        let name = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| sqlx::Error::Configuration("the database path holds a NUL".into()))?;
        let mut db = ptr::null_mut();
        let flags =
            ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE | ffi::SQLITE_OPEN_FULLMUTEX;
        // SAFETY: `name` is a valid C string; `db` receives the handle (closed below on error).
        let rc = unsafe { ffi::sqlite3_open_v2(name.as_ptr(), &mut db, flags, ptr::null()) };
        let mut conn = Conn {
            db,
            kept: HashMap::new(),
            wal_hook: None,
        };
        if rc != ffi::SQLITE_OK {
            return Err(conn.last_error(rc));
        }
        // SAFETY: an open handle. Extended codes: SQLITE_FULL tells from SQLITE_IOERR_WRITE.
        // The query planner's stability guarantee: a statement's plan does not depend on the
        // values bound to it, so a kept statement is not prepared again for each new value
        // (which, once ANALYZE had gathered sqlite_stat4, cost 6% of the server's time).
        unsafe {
            ffi::sqlite3_extended_result_codes(db, 1);
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
                1 as c_int,
                ptr::null_mut::<c_int>(),
            );
        }
        conn.batch(setup)?;
        Ok(conn)
    }

    fn last_error(&self, rc: c_int) -> sqlx::Error {
        // SAFETY: sqlite3_errmsg is valid for an open (or failed-to-open) handle until the
        // next call on it; it is copied at once.
        let (code, message) = unsafe {
            let code = if self.db.is_null() {
                rc
            } else {
                ffi::sqlite3_extended_errcode(self.db)
            };
            let msg = if self.db.is_null() {
                ffi::sqlite3_errstr(rc)
            } else {
                ffi::sqlite3_errmsg(self.db)
            };
            (code, CStr::from_ptr(msg).to_string_lossy().into_owned())
        };
        error(code, message)
    }

    /// Run SQL with no arguments and no rows wanted (PRAGMAs, `BEGIN`, `COMMIT`, DDL).
    pub fn batch(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        let text = CString::new(sql).map_err(|_| error(ffi::SQLITE_MISUSE, "SQL holds a NUL"))?;
        // SAFETY: an open handle and a valid C string; no callback.
        let rc = unsafe {
            ffi::sqlite3_exec(
                self.db,
                text.as_ptr(),
                None,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.last_error(rc))
        }
    }

    /// After each commit, call `hook` with the pages the write-ahead log then holds, in place
    /// of SQLite's own checkpoint every 1,000 pages on the committing connection; when `hook`
    /// returns true, the log is checkpointed at once on this connection (passive, as SQLite's
    /// own is). For every database of the connection alike (the writer attaches none). `hook`
    /// must not panic.
    pub fn after_commit(&mut self, hook: impl Fn(c_int) -> bool + Send + 'static) {
        let hook: Box<WalHook> = Box::new(Box::new(hook));
        let context = &*hook as *const WalHook as *mut c_void;
        // SAFETY: an open handle; `context` points into the box kept in `self.wal_hook`, which
        // is replaced only here (after the new hook is in place) and freed after the
        // connection closes, so SQLite never calls with a dangling pointer.
        unsafe { ffi::sqlite3_wal_hook(self.db, Some(after_commit), context) };
        self.wal_hook = Some(hook);
    }

    /// Is the connection outside any transaction? SQLite's own answer.
    pub fn autocommit(&self) -> bool {
        // SAFETY: an open handle.
        unsafe { ffi::sqlite3_get_autocommit(self.db) != 0 }
    }

    fn prepare(&self, sql: &str) -> Result<Vec<Stmt>, sqlx::Error> {
        let mut out = Vec::new();
        let bytes = sql.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let mut raw = ptr::null_mut();
            let mut tail = ptr::null();
            let rest = &bytes[at..];
            // SAFETY: `rest` is valid for its length; SQLite reads no further and points
            // `tail` inside it.
            let rc = unsafe {
                ffi::sqlite3_prepare_v3(
                    self.db,
                    rest.as_ptr().cast(),
                    rest.len() as c_int,
                    ffi::SQLITE_PREPARE_PERSISTENT,
                    &mut raw,
                    &mut tail,
                )
            };
            if rc != ffi::SQLITE_OK {
                return Err(self.last_error(rc));
            }
            // SAFETY: `tail` points into `rest` (or at its end).
            let used = unsafe { tail.cast::<u8>().offset_from(rest.as_ptr()) } as usize;
            at += used.max(1);
            if raw.is_null() {
                continue; // only whitespace or a comment
            }
            let mut stmt = Stmt {
                raw,
                slots: Vec::new(),
                names: Vec::new(),
            };
            // SAFETY: a prepared statement.
            let count = unsafe { ffi::sqlite3_bind_parameter_count(raw) };
            for i in 1..=count {
                // SAFETY: a prepared statement and a slot in range; the name is copied.
                let name = unsafe { ffi::sqlite3_bind_parameter_name(raw, i) };
                let arg = if name.is_null() {
                    i as usize - 1 // a bare `?`: the next argument
                } else {
                    // SAFETY: a NUL-terminated name owned by the statement.
                    let name = unsafe { CStr::from_ptr(name) }.to_string_lossy();
                    match name[1..].parse::<usize>() {
                        Ok(n) if n >= 1 => n - 1,
                        _ => {
                            return Err(error(
                                ffi::SQLITE_MISUSE,
                                format!("parameter {name} is not numbered ($1, $2, …)"),
                            ))
                        }
                    }
                };
                stmt.slots.push(arg);
            }
            // SAFETY: a prepared statement; column names are copied.
            let columns = unsafe { ffi::sqlite3_column_count(raw) };
            for i in 0..columns {
                let name = unsafe { CStr::from_ptr(ffi::sqlite3_column_name(raw, i)) };
                stmt.names.push(name.to_string_lossy().into_owned());
            }
            out.push(stmt);
        }
        Ok(out)
    }

    /// Run `q`, handing each row of its last statement to `each` until it returns `false`
    /// (a statement that writes has made all its changes by its first row). Returns the rows
    /// the last statement changed.
    pub fn run(
        &mut self,
        q: &Query,
        mut each: impl FnMut(&RawRow<'_>) -> Result<bool, sqlx::Error>,
    ) -> Result<u64, sqlx::Error> {
        if !self.kept.contains_key(q.sql()) {
            let stmts = self.prepare(q.sql())?;
            if self.kept.len() >= KEPT_STATEMENTS {
                self.kept.clear();
            }
            self.kept.insert(q.sql().to_owned(), stmts);
        }
        self.run_prepared(&self.kept[q.sql()], q.args(), &mut each)
    }

    fn run_prepared(
        &self,
        stmts: &[Stmt],
        args: &[Value],
        each: &mut EachRow<'_>,
    ) -> Result<u64, sqlx::Error> {
        let mut changed = 0;
        for (n, stmt) in stmts.iter().enumerate() {
            let last = n + 1 == stmts.len();
            let result = self.step_all(stmt, args, if last { Some(&mut *each) } else { None });
            // SAFETY: a prepared statement of this connection: reset for its next use and its
            // arguments let go, whatever happened.
            unsafe {
                ffi::sqlite3_reset(stmt.raw);
                ffi::sqlite3_clear_bindings(stmt.raw);
            }
            changed = result?;
        }
        Ok(changed)
    }

    fn step_all(
        &self,
        stmt: &Stmt,
        args: &[Value],
        mut each: Option<&mut EachRow<'_>>,
    ) -> Result<u64, sqlx::Error> {
        for (i, &arg) in stmt.slots.iter().enumerate() {
            let value = args.get(arg).ok_or_else(|| {
                error(
                    ffi::SQLITE_RANGE,
                    format!(
                        "the SQL takes ${} but {} arguments were given",
                        arg + 1,
                        args.len()
                    ),
                )
            })?;
            self.bind(stmt.raw, i as c_int + 1, value)?;
        }
        let row = RawRow { stmt };
        loop {
            // SAFETY: a prepared statement with every slot bound.
            match unsafe { ffi::sqlite3_step(stmt.raw) } {
                ffi::SQLITE_ROW => {
                    if let Some(each) = each.as_mut() {
                        if !each(&row)? {
                            // SAFETY: an open handle.
                            return Ok(unsafe { ffi::sqlite3_changes64(self.db) } as u64);
                        }
                    }
                }
                // SAFETY: an open handle.
                ffi::SQLITE_DONE => return Ok(unsafe { ffi::sqlite3_changes64(self.db) } as u64),
                rc => return Err(self.last_error(rc)),
            }
        }
    }

    fn bind(&self, stmt: *mut ffi::sqlite3_stmt, i: c_int, v: &Value) -> Result<(), sqlx::Error> {
        // SAFETY: a prepared statement and a slot in range. Text is copied by SQLite
        // (SQLITE_TRANSIENT) before the call returns.
        let rc = unsafe {
            match v {
                Value::Bool(Some(b)) => ffi::sqlite3_bind_int64(stmt, i, *b as i64),
                Value::Int(Some(n)) => ffi::sqlite3_bind_int64(stmt, i, *n),
                Value::Float(Some(x)) => ffi::sqlite3_bind_double(stmt, i, *x),
                Value::Text(Some(s)) => bind_text(stmt, i, s),
                Value::Time(Some(t)) => bind_text(stmt, i, &time_text(t)),
                Value::Bool(None)
                | Value::Int(None)
                | Value::Float(None)
                | Value::Text(None)
                | Value::Time(None) => ffi::sqlite3_bind_null(stmt, i),
            }
        };
        if rc == ffi::SQLITE_OK {
            Ok(())
        } else {
            Err(self.last_error(rc))
        }
    }
}

/// A time as sqlx's SQLite driver writes it, so that both read it back and it sorts as text.
pub fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

unsafe fn bind_text(stmt: *mut ffi::sqlite3_stmt, i: c_int, s: &str) -> c_int {
    ffi::sqlite3_bind_text64(
        stmt,
        i,
        s.as_ptr().cast(),
        s.len() as u64,
        ffi::SQLITE_TRANSIENT(),
        ffi::SQLITE_UTF8 as u8,
    )
}

/// SQLite's write-ahead-log hook: the connection's [`WalHook`] decides whether to checkpoint.
unsafe extern "C" fn after_commit(
    context: *mut c_void,
    db: *mut ffi::sqlite3,
    name: *const c_char,
    pages: c_int,
) -> c_int {
    // SAFETY: `context` is the `WalHook` that `Conn::after_commit` keeps alive while the
    // connection is open.
    let hook = unsafe { &*(context as *const WalHook) };
    if hook(pages) {
        // As SQLite's own hook: a checkpoint that cannot finish now (a reader still needs the
        // log) leaves it to the next one.
        // SAFETY: the handle and database name SQLite passed to this hook.
        unsafe { ffi::sqlite3_wal_checkpoint(db, name) };
    }
    ffi::SQLITE_OK
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.kept.clear();
        // SAFETY: every statement was finalized above; closing an open connection that is
        // inside a transaction rolls it back. The log's hook (freed after this) is not called
        // once the handle is closed.
        unsafe { ffi::sqlite3_close(self.db) };
    }
}

/// The current row of a running statement.
pub struct RawRow<'s> {
    stmt: &'s Stmt,
}

impl RawRow<'_> {
    /// The value of the column named `name`, decoded as `T`.
    pub fn get<T: Column>(&self, name: &str) -> Result<T, sqlx::Error> {
        let i = self
            .stmt
            .names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| sqlx::Error::ColumnNotFound(name.to_owned()))?;
        self.at(i)
    }

    /// The value of the `i`th column (from 0), decoded as `T`.
    pub fn at<T: Column>(&self, i: usize) -> Result<T, sqlx::Error> {
        if i >= self.stmt.names.len() {
            return Err(sqlx::Error::ColumnIndexOutOfBounds {
                index: i,
                len: self.stmt.names.len(),
            });
        }
        T::decode(&Cell {
            stmt: self.stmt.raw,
            i: i as c_int,
        })
        .map_err(|source| sqlx::Error::ColumnDecode {
            index: format!("{:?}", self.stmt.names[i]),
            source: source.into(),
        })
    }
}

/// One value of the current row.
pub struct Cell {
    stmt: *mut ffi::sqlite3_stmt,
    i: c_int,
}

impl Cell {
    fn kind(&self) -> c_int {
        // SAFETY: the statement is on a row and the column is in range (checked by `at`).
        unsafe { ffi::sqlite3_column_type(self.stmt, self.i) }
    }

    pub fn is_null(&self) -> bool {
        self.kind() == ffi::SQLITE_NULL
    }

    fn int(&self) -> i64 {
        // SAFETY: as in `kind`.
        unsafe { ffi::sqlite3_column_int64(self.stmt, self.i) }
    }

    fn float(&self) -> f64 {
        // SAFETY: as in `kind`.
        unsafe { ffi::sqlite3_column_double(self.stmt, self.i) }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: as in `kind`; the pointer is valid until the next step, reset or type
        // conversion of this column, and the slice does not outlive the row.
        unsafe {
            let p = ffi::sqlite3_column_blob(self.stmt, self.i);
            let n = ffi::sqlite3_column_bytes(self.stmt, self.i);
            if p.is_null() || n <= 0 {
                &[]
            } else {
                std::slice::from_raw_parts(p.cast(), n as usize)
            }
        }
    }

    fn text(&self) -> Result<&str, String> {
        // SAFETY: as in `bytes`; column_text first converts the value to text.
        let bytes = unsafe {
            let p = ffi::sqlite3_column_text(self.stmt, self.i);
            let n = ffi::sqlite3_column_bytes(self.stmt, self.i);
            if p.is_null() || n <= 0 {
                &[][..]
            } else {
                std::slice::from_raw_parts(p, n as usize)
            }
        };
        std::str::from_utf8(bytes).map_err(|e| e.to_string())
    }

    fn null_error(&self) -> String {
        "unexpected NULL".into()
    }
}

/// A Rust value read from one SQLite value, as sqlx's SQLite driver decodes it.
pub trait Column: Sized {
    fn decode(cell: &Cell) -> Result<Self, String>;
}

impl Column for i64 {
    fn decode(cell: &Cell) -> Result<Self, String> {
        match cell.kind() {
            ffi::SQLITE_NULL => Err(cell.null_error()),
            ffi::SQLITE_INTEGER => Ok(cell.int()),
            ffi::SQLITE_FLOAT => Ok(cell.float() as i64),
            _ => cell
                .text()?
                .trim()
                .parse()
                .map_err(|_| "not an integer".into()),
        }
    }
}

impl Column for i32 {
    fn decode(cell: &Cell) -> Result<Self, String> {
        i64::decode(cell).and_then(|n| i32::try_from(n).map_err(|e| e.to_string()))
    }
}

impl Column for bool {
    fn decode(cell: &Cell) -> Result<Self, String> {
        i64::decode(cell).map(|n| n != 0)
    }
}

impl Column for f64 {
    fn decode(cell: &Cell) -> Result<Self, String> {
        match cell.kind() {
            ffi::SQLITE_NULL => Err(cell.null_error()),
            ffi::SQLITE_INTEGER | ffi::SQLITE_FLOAT => Ok(cell.float()),
            _ => cell
                .text()?
                .trim()
                .parse()
                .map_err(|_| "not a number".into()),
        }
    }
}

impl Column for String {
    fn decode(cell: &Cell) -> Result<Self, String> {
        if cell.is_null() {
            return Err(cell.null_error());
        }
        cell.text().map(str::to_owned)
    }
}

impl Column for Vec<u8> {
    fn decode(cell: &Cell) -> Result<Self, String> {
        if cell.is_null() {
            return Err(cell.null_error());
        }
        Ok(cell.bytes().to_vec())
    }
}

impl Column for DateTime<Utc> {
    fn decode(cell: &Cell) -> Result<Self, String> {
        let t = match cell.kind() {
            ffi::SQLITE_NULL => return Err(cell.null_error()),
            ffi::SQLITE_INTEGER => {
                DateTime::from_timestamp(cell.int(), 0).map(|t| t.fixed_offset())
            }
            ffi::SQLITE_FLOAT => {
                let x = cell.float();
                DateTime::from_timestamp(x.trunc() as i64, (x.fract() * 1e9) as u32)
                    .map(|t| t.fixed_offset())
            }
            _ => time_from_text(cell.text()?),
        };
        t.map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| "not a date and time".into())
    }
}

/// The text forms of a time that sqlx's SQLite driver reads (RFC 3339 and SQLite's own).
fn time_from_text(s: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    const FORMATS: [&str; 12] = [
        "%F %T%.f",
        "%F %R",
        "%F %RZ",
        "%F %R%:z",
        "%F %T%.fZ",
        "%F %T%.f%:z",
        "%FT%R",
        "%FT%RZ",
        "%FT%R%:z",
        "%FT%T%.f",
        "%FT%T%.fZ",
        "%FT%T%.f%:z",
    ];
    FORMATS.iter().find_map(|f| {
        DateTime::parse_from_str(s, f).ok().or_else(|| {
            NaiveDateTime::parse_from_str(s, f)
                .ok()
                .map(|t| t.and_utc().fixed_offset())
        })
    })
}

impl<T: Column> Column for Option<T> {
    fn decode(cell: &Cell) -> Result<Self, String> {
        if cell.is_null() {
            Ok(None)
        } else {
            T::decode(cell).map(Some)
        }
    }
}

/// A row read from the writer's connection: derived for structs
/// (`#[derive(khidmat_derive::FromRaw)]`), by position for tuples, the first column for one
/// value.
pub trait FromRaw: Sized {
    fn from_raw(row: &RawRow<'_>) -> Result<Self, sqlx::Error>;
}

/// Rows not wanted (a statement run for what it changes).
impl FromRaw for () {
    fn from_raw(_: &RawRow<'_>) -> Result<Self, sqlx::Error> {
        Ok(())
    }
}

macro_rules! tuple_from_raw {
    ($($t:ident $i:tt),+) => {
        impl<$($t: Column),+> FromRaw for ($($t,)+) {
            fn from_raw(row: &RawRow<'_>) -> Result<Self, sqlx::Error> {
                Ok(($(row.at::<$t>($i)?,)+))
            }
        }
    };
}
tuple_from_raw!(A 0);
tuple_from_raw!(A 0, B 1);
tuple_from_raw!(A 0, B 1, C 2);
tuple_from_raw!(A 0, B 1, C 2, D 3);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
tuple_from_raw!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
