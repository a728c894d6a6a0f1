//! The one error type. Handlers return `Result<_, Error>`; each surface renders it in its own
//! shape (Open311 `[{code, description}]`, the staff API `{"error": {…}}`). A 500 is a bug: its
//! cause is logged, and the client sees only that something failed.
//!
//! A fault of the machine rather than of the request (a full disk, a database that is down) is
//! not a bug: whatever path it came by, it answers 507 or 503 with `Retry-After` and says which
//! ([`Fault`]), so a client retries with its `Idempotency-Key` and an operator knows what to fix.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    TooManyRequests(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(e.into())
    }
}

/// A fault of the machine that serves, not of the request: nothing was done, try again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The disk holding the database (or the files) is full: 507.
    DiskFull,
    /// The database does not answer, or refuses for now (restarting, busy, read-only): 503.
    Unreachable,
}

impl Fault {
    /// Find the fault behind an error, looking through its causes.
    pub fn of(e: &anyhow::Error) -> Option<Fault> {
        e.chain().find_map(|c| {
            if let Some(s) = c.downcast_ref::<sqlx::Error>() {
                Fault::of_sqlx(s)
            } else if let Some(io) = c.downcast_ref::<std::io::Error>() {
                Fault::of_io(io)
            } else {
                None
            }
        })
    }

    pub fn of_sqlx(e: &sqlx::Error) -> Option<Fault> {
        match e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => Some(Fault::Unreachable),
            sqlx::Error::Io(io) => Fault::of_io(io).or(Some(Fault::Unreachable)),
            sqlx::Error::Database(d) => {
                // SQLite's error, from a reader (sqlx's) or the writer (Khidmat's own).
                let sqlite = if let Some(s) = d.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                    sqlx::error::DatabaseError::code(s).and_then(|c| c.parse::<i32>().ok())
                } else {
                    d.try_downcast_ref::<crate::platform::sqlite::SqliteError>()
                        .map(|s| s.code())
                };
                if let Some(code) = sqlite {
                    // The primary result code: the low byte of SQLite's extended code.
                    let code = code & 0xff;
                    match code {
                        libsqlite3_sys::SQLITE_FULL => Some(Fault::DiskFull),
                        libsqlite3_sys::SQLITE_BUSY
                        | libsqlite3_sys::SQLITE_LOCKED
                        | libsqlite3_sys::SQLITE_IOERR
                        | libsqlite3_sys::SQLITE_CANTOPEN
                        | libsqlite3_sys::SQLITE_READONLY
                        | libsqlite3_sys::SQLITE_NOLFS => Some(Fault::Unreachable),
                        _ => None,
                    }
                } else {
                    // PostgreSQL's SQLSTATE: 53100 disk_full; class 53 insufficient resources,
                    // class 08 connection exceptions, 57P01-03 shutting down or starting, 25006
                    // a read-only standby (after a fail-over).
                    let code = d.code().unwrap_or_default();
                    // A FATAL or PANIC error ends the server's session, whatever its code: on a
                    // full disk a new connection can fail with `XX000 could not write init file`.
                    let session_ended = d
                        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                        .is_some_and(|p| {
                            matches!(
                                p.severity(),
                                sqlx::postgres::PgSeverity::Fatal
                                    | sqlx::postgres::PgSeverity::Panic
                            )
                        });
                    match &*code {
                        "53100" => Some(Fault::DiskFull),
                        _ if session_ended => Some(Fault::Unreachable),
                        "57P01" | "57P02" | "57P03" | "25006" => Some(Fault::Unreachable),
                        c if c.starts_with("53") || c.starts_with("08") => Some(Fault::Unreachable),
                        _ => None,
                    }
                }
            }
            _ => None,
        }
    }

    fn of_io(e: &std::io::Error) -> Option<Fault> {
        match e.raw_os_error() {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => Some(Fault::DiskFull),
            _ => None,
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Fault::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            Fault::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Seconds a client should wait before trying again.
    pub fn retry_after(self) -> u32 {
        match self {
            Fault::DiskFull => 60,
            Fault::Unreachable => 5,
        }
    }

    /// The operator's name for it (`/healthz`, the log).
    pub fn name(self) -> &'static str {
        match self {
            Fault::DiskFull => "disk full",
            Fault::Unreachable => "database unreachable",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Fault::DiskFull => {
                "the server's disk is full: nothing was saved; please try again later"
            }
            Fault::Unreachable => {
                "the database is unreachable for now: nothing was saved; please try again shortly"
            }
        }
    }
}

impl Error {
    /// The machine's fault behind this error, if it is one.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            Error::Internal(cause) => Fault::of(cause),
            _ => None,
        }
    }

    pub fn status(&self) -> StatusCode {
        if let Some(f) = self.fault() {
            return f.status();
        }
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the client is told. Internal causes stay in the log.
    pub fn message(&self) -> String {
        if let Some(f) = self.fault() {
            if let Error::Internal(cause) = self {
                tracing::warn!(fault = f.name(), error = %cause, "request not done");
            }
            return f.message().into();
        }
        if let Error::Internal(cause) = self {
            tracing::error!(error = ?cause, "internal error");
            return "internal error: the request was not completed; please try again".into();
        }
        self.to_string()
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({"error": {"status": status.as_u16(), "message": self.message()}});
        (status, Json(body)).into_response()
    }
}

/// Numbers with nothing after the point (`458.0`) become whole numbers, everywhere in `v`.
fn whole_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(x) = n.as_f64() {
                if x.fract() == 0.0 && x.abs() < 9.0e15 {
                    *v = Value::from(x as i64);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(whole_numbers),
        Value::Object(o) => o.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// On the JSON APIs (`/api/`, `/hsds/`, `/open311/`), the extractors' own rejections (a path
/// segment that is not a number, a query string that does not read) are plain text: they are
/// sent as this crate's JSON error, with the same message, as every other error there is
/// (Open311's addresses in Open311's error shape). Pages and gateways' callbacks keep theirs.
pub async fn json_rejections(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let open311 = path.starts_with("/open311/");
    let api = open311 || path.starts_with("/api/") || path.starts_with("/hsds/");
    let res = next.run(req).await;
    if !api {
        return res;
    }
    let plain = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !plain || !matches!(res.status().as_u16(), 400 | 422) {
        return res;
    }
    let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&bytes).into_owned();
    if open311 {
        (
            StatusCode::BAD_REQUEST,
            Json(json!([{"code": 400, "description": message}])),
        )
            .into_response()
    } else {
        Error::BadRequest(message).into_response()
    }
}

/// Every 503 and 507, whichever surface rendered it, tells the client when to come back.
pub async fn retry_after(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut res = next.run(req).await;
    let fault = match res.status() {
        StatusCode::INSUFFICIENT_STORAGE => Fault::DiskFull,
        StatusCode::SERVICE_UNAVAILABLE => Fault::Unreachable,
        _ => return res,
    };
    res.headers_mut()
        .entry(axum::http::header::RETRY_AFTER)
        .or_insert_with(|| fault.retry_after().into());
    res
}

/// A JSON request body whose problems (malformed, wrong content type, missing fields) come back
/// as this crate's [`Error`], saying what is wrong.
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Error> {
        match <Json<serde_json::Value> as axum::extract::FromRequest<S>>::from_request(req, state)
            .await
        {
            // JSON has one kind of number: `458.0` is the whole number 458, as JSON Schema's
            // `integer` says, and is read as such.
            Ok(Json(mut v)) => {
                whole_numbers(&mut v);
                serde_path_to_error::deserialize(v)
                    .map(JsonBody)
                    .map_err(|e| Error::BadRequest(format!("the body: {e}")))
            }
            Err(rejection) => Err(match rejection.status() {
                StatusCode::UNSUPPORTED_MEDIA_TYPE => Error::Unsupported(
                    "send the body as JSON with Content-Type: application/json".into(),
                ),
                StatusCode::PAYLOAD_TOO_LARGE => {
                    Error::TooLarge("the request body is too large".into())
                }
                _ => Error::BadRequest(rejection.body_text()),
            }),
        }
    }
}
