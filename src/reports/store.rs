//! Reports: all of their SQL, and nothing else.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::model::{RichStatus, Service};
use crate::platform::db::{query, Db, Query, Tx};
use crate::platform::geo;
use crate::platform::i18n::{Lang, Text3};
use crate::platform::identity::Scope;
use crate::platform::questions::{Answer, Attribute};

#[derive(sqlx::FromRow, khidmat_derive::FromRaw)]
struct ServiceRow {
    id: i64,
    code: String,
    department_id: i64,
    department_slug: String,
    dep_en: String,
    dep_ur: String,
    dep_ps: String,
    name_en: String,
    name_ur: String,
    name_ps: String,
    description_en: String,
    description_ur: String,
    description_ps: String,
    group_en: String,
    group_ur: String,
    group_ps: String,
    keywords: String,
    sms_keywords: String,
    icon: String,
    attributes: String,
    status_notes: String,
    minutes_saved: i64,
    response_hours: i64,
    max_photos: i64,
    ask_fixed_after_hours: i64,
    public: bool,
    active: bool,
}

impl ServiceRow {
    fn into_service(self) -> Result<Service, sqlx::Error> {
        let decode = |e: serde_json::Error| sqlx::Error::Decode(Box::new(e));
        Ok(Service {
            id: self.id,
            code: self.code,
            department_id: self.department_id,
            department_slug: self.department_slug,
            department_name: Text3 {
                en: self.dep_en,
                ur: self.dep_ur,
                ps: self.dep_ps,
            },
            name: Text3 {
                en: self.name_en,
                ur: self.name_ur,
                ps: self.name_ps,
            },
            description: Text3 {
                en: self.description_en,
                ur: self.description_ur,
                ps: self.description_ps,
            },
            group: Text3 {
                en: self.group_en,
                ur: self.group_ur,
                ps: self.group_ps,
            },
            keywords: self.keywords,
            sms_keywords: serde_json::from_str(&self.sms_keywords).map_err(decode)?,
            icon: self.icon,
            attributes: serde_json::from_str(&self.attributes).map_err(decode)?,
            status_notes: serde_json::from_str(&self.status_notes).map_err(decode)?,
            minutes_saved: self.minutes_saved,
            response_hours: self.response_hours,
            max_photos: self.max_photos,
            ask_fixed_after_hours: self.ask_fixed_after_hours,
            public: self.public,
            active: self.active,
        })
    }
}

const SERVICE_SELECT: &str = "SELECT s.id, s.code, s.department_id, d.slug AS department_slug, \
    d.name_en AS dep_en, d.name_ur AS dep_ur, d.name_ps AS dep_ps, s.name_en, s.name_ur, s.name_ps, \
    s.description_en, s.description_ur, s.description_ps, s.group_en, s.group_ur, s.group_ps, \
    s.keywords, s.sms_keywords, s.icon, s.attributes, s.status_notes, s.minutes_saved, s.response_hours, \
    s.max_photos, s.ask_fixed_after_hours, s.public, s.active \
    FROM report_services s JOIN departments d ON d.id = s.department_id";

/// Active services, by group then code.
pub async fn services(db: &Db) -> Result<Vec<Service>, sqlx::Error> {
    let rows: Vec<ServiceRow> = db
        .fetch_all(
            query(format!(
                "{SERVICE_SELECT} WHERE s.active = $1 ORDER BY s.group_en, s.code"
            ))
            .bind(true),
        )
        .await?;
    rows.into_iter().map(ServiceRow::into_service).collect()
}

/// Every service, retired ones too (administration), by code.
pub async fn all_services(db: &Db) -> Result<Vec<Service>, sqlx::Error> {
    let rows: Vec<ServiceRow> = db
        .fetch_all(query(format!("{SERVICE_SELECT} ORDER BY s.code")))
        .await?;
    rows.into_iter().map(ServiceRow::into_service).collect()
}

/// An active service by code.
pub async fn service(db: &Db, code: &str) -> Result<Option<Service>, sqlx::Error> {
    let row: Option<ServiceRow> = db
        .fetch_optional(
            query(format!(
                "{SERVICE_SELECT} WHERE s.code = $1 AND s.active = $2"
            ))
            .bind(code)
            .bind(true),
        )
        .await?;
    row.map(ServiceRow::into_service).transpose()
}

/// When the service definitions last changed (Open311 discovery's `changeset`).
pub async fn services_changed_at(db: &Db) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    db.fetch_optional::<(DateTime<Utc>,)>(query(
        "SELECT updated_at FROM report_services ORDER BY updated_at DESC LIMIT 1",
    ))
    .await
    .map(|r| r.map(|(t,)| t))
}

/// What a pack says about a service.
pub struct ServiceSpec<'a> {
    pub code: &'a str,
    pub department_id: i64,
    pub name: &'a Text3,
    pub description: &'a Text3,
    pub group: &'a Text3,
    pub keywords: String,
    pub sms_keywords: &'a crate::platform::questions::SmsKeywords,
    pub icon: &'a str,
    pub attributes: &'a [Attribute],
    pub status_notes: &'a BTreeMap<String, Text3>,
    pub minutes_saved: i64,
    pub response_hours: i64,
    pub max_photos: i64,
    pub ask_fixed_after_hours: i64,
    pub public: bool,
    pub active: bool,
}

/// Create or update a service by code. Returns its id.
pub async fn upsert_service(tx: &mut Tx, s: &ServiceSpec<'_>) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    tx.scalar(
        query(
            "INSERT INTO report_services (code, department_id, name_en, name_ur, name_ps, description_en, description_ur, \
             description_ps, group_en, group_ur, group_ps, keywords, icon, attributes, status_notes, minutes_saved, \
             response_hours, public, active, created_at, updated_at, sms_keywords, max_photos, ask_fixed_after_hours) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $21, $22, $23) \
             ON CONFLICT (code) DO UPDATE SET department_id = excluded.department_id, name_en = excluded.name_en, \
             name_ur = excluded.name_ur, name_ps = excluded.name_ps, description_en = excluded.description_en, \
             description_ur = excluded.description_ur, description_ps = excluded.description_ps, \
             group_en = excluded.group_en, group_ur = excluded.group_ur, group_ps = excluded.group_ps, \
             keywords = excluded.keywords, icon = excluded.icon, attributes = excluded.attributes, \
             status_notes = excluded.status_notes, minutes_saved = excluded.minutes_saved, \
             response_hours = excluded.response_hours, public = excluded.public, active = excluded.active, \
             updated_at = excluded.updated_at, sms_keywords = excluded.sms_keywords, \
             max_photos = excluded.max_photos, ask_fixed_after_hours = excluded.ask_fixed_after_hours RETURNING id",
        )
        .bind(s.code)
        .bind(s.department_id)
        .bind(&s.name.en)
        .bind(&s.name.ur)
        .bind(&s.name.ps)
        .bind(&s.description.en)
        .bind(&s.description.ur)
        .bind(&s.description.ps)
        .bind(&s.group.en)
        .bind(&s.group.ur)
        .bind(&s.group.ps)
        .bind(s.keywords.clone())
        .bind(s.icon)
        .bind(serde_json::to_string(s.attributes).expect("attributes serialise"))
        .bind(serde_json::to_string(s.status_notes).expect("notes serialise"))
        .bind(s.minutes_saved)
        .bind(s.response_hours)
        .bind(s.public)
        .bind(s.active)
        .bind(now)
        .bind(serde_json::to_string(s.sms_keywords).expect("keywords serialise"))
        .bind(s.max_photos)
        .bind(s.ask_fixed_after_hours),
    )
    .await
}

/// A report as stored, with the names of its service and department.
#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct ReportRow {
    pub id: i64,
    pub token: String,
    pub service_code: String,
    pub service_name_en: String,
    pub service_name_ur: String,
    pub service_name_ps: String,
    pub service_public: bool,
    pub department_id: i64,
    pub dep_en: String,
    pub dep_ur: String,
    pub dep_ps: String,
    pub district: Option<String>,
    pub status: String,
    pub rich_status: String,
    pub status_notes: Option<String>,
    pub description: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<String>,
    pub attributes: String,
    pub media_url: Option<String>,
    pub photo_sha256: Option<String>,
    pub contact_name: Option<String>,
    pub contact_email: Option<String>,
    pub contact_phone: Option<String>,
    pub channel: String,
    pub assigned_to: Option<i64>,
    pub possible_duplicate_of: Option<i64>,
    pub duplicate_distance_m: Option<f64>,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expected_at: Option<DateTime<Utc>>,
    /// The language the report was made in (its SMS are sent in it).
    pub lang: String,
    /// The reporter asked that it not be shown publicly.
    pub private: bool,
}

impl ReportRow {
    pub fn service_name(&self) -> Text3 {
        Text3 {
            en: self.service_name_en.clone(),
            ur: self.service_name_ur.clone(),
            ps: self.service_name_ps.clone(),
        }
    }

    pub fn department_name(&self) -> Text3 {
        Text3 {
            en: self.dep_en.clone(),
            ur: self.dep_ur.clone(),
            ps: self.dep_ps.clone(),
        }
    }

    pub fn rich_status(&self) -> RichStatus {
        RichStatus::parse(&self.rich_status).unwrap_or(RichStatus::Open)
    }
}

const REPORT_SELECT: &str = "SELECT r.id, r.token, r.service_code, s.name_en AS service_name_en, \
    s.name_ur AS service_name_ur, s.name_ps AS service_name_ps, s.public AS service_public, r.department_id, \
    d.name_en AS dep_en, d.name_ur AS dep_ur, d.name_ps AS dep_ps, r.district, r.status, r.rich_status, \
    r.status_notes, r.description, r.lat, r.long, r.address, r.attributes, r.media_url, p.sha256 AS photo_sha256, \
    r.contact_name, r.contact_email, r.contact_phone, r.channel, r.assigned_to, r.possible_duplicate_of, \
    r.duplicate_distance_m, r.requested_at, r.updated_at, r.expected_at, r.lang, r.private \
    FROM reports r JOIN report_services s ON s.id = r.service_id JOIN departments d ON d.id = r.department_id \
    LEFT JOIN photos p ON p.id = r.photo_id";

pub struct NewReport<'a> {
    pub token: &'a str,
    pub service: &'a Service,
    pub district: Option<&'a str>,
    pub description: Option<&'a str>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub address: Option<&'a str>,
    pub answers: &'a BTreeMap<String, Answer>,
    pub media_url: Option<&'a str>,
    pub photo_id: Option<i64>,
    pub contact_name: Option<&'a str>,
    pub contact_email: Option<&'a str>,
    pub contact_phone: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub account_id: Option<&'a str>,
    pub channel: &'a str,
    pub api_key_id: Option<i64>,
    pub requested_at: DateTime<Utc>,
    pub expected_at: DateTime<Utc>,
    pub status_notes: Option<&'a str>,
    /// A nearby open report of the same service: `(id, metres)`.
    pub possible_duplicate: Option<(i64, f64)>,
    pub lang: &'a str,
    /// Not to be shown publicly (the reporter's choice).
    pub private: bool,
}

/// Note the recording report `id` was described in.
pub async fn set_voice(tx: &mut Tx, id: i64, file_id: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE reports SET voice_id = $1 WHERE id = $2")
            .bind(file_id)
            .bind(id),
    )
    .await?;
    Ok(())
}

/// The recording report `id` was described in: `(sha256, content type)`.
pub async fn voice(db: &Db, id: i64) -> Result<Option<(String, String)>, sqlx::Error> {
    db.fetch_optional(
        query(
            "SELECT p.sha256, p.content_type FROM reports r JOIN photos p ON p.id = r.voice_id WHERE r.id = $1",
        )
        .bind(id),
    )
    .await
}

pub async fn insert(tx: &mut Tx, r: &NewReport<'_>) -> Result<i64, sqlx::Error> {
    tx.scalar(
        query(
            "INSERT INTO reports (token, service_id, service_code, department_id, district, status, rich_status, \
             status_notes, description, lat, long, address, attributes, media_url, photo_id, contact_name, \
             contact_email, contact_phone, device_id, account_id, channel, api_key_id, requested_at, updated_at, \
             expected_at, possible_duplicate_of, duplicate_distance_m, cell, lang, private) VALUES ($1, $2, $3, $4, $5, 'open', 'open', \
             $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21, $22, $23, $24, $25, $26, $27) RETURNING id",
        )
        .bind(r.token)
        .bind(r.service.id)
        .bind(r.service.code.as_str())
        .bind(r.service.department_id)
        .bind(r.district)
        .bind(r.status_notes)
        .bind(r.description)
        .bind(r.lat)
        .bind(r.long)
        .bind(r.address)
        .bind(serde_json::to_string(r.answers).expect("answers serialise"))
        .bind(r.media_url)
        .bind(r.photo_id)
        .bind(r.contact_name)
        .bind(r.contact_email)
        .bind(r.contact_phone)
        .bind(r.device_id)
        .bind(r.account_id)
        .bind(r.channel)
        .bind(r.api_key_id)
        .bind(r.requested_at)
        .bind(r.expected_at)
        .bind(r.possible_duplicate.map(|d| d.0))
        .bind(r.possible_duplicate.map(|d| d.1))
        .bind(r.lat.zip(r.long).map(|(la, lo)| geo::cell(la, lo)))
        .bind(r.lang)
        .bind(r.private),
    )
    .await
}

pub async fn get(db: &Db, id: i64) -> Result<Option<ReportRow>, sqlx::Error> {
    db.fetch_optional(query(format!("{REPORT_SELECT} WHERE r.id = $1")).bind(id))
        .await
}

pub async fn id_by_token(db: &Db, token: &str) -> Result<Option<i64>, sqlx::Error> {
    db.fetch_optional::<(i64,)>(query("SELECT id FROM reports WHERE token = $1").bind(token))
        .await
        .map(|r| r.map(|(id,)| id))
}

/// Which reports to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub ids: Option<Vec<i64>>,
    pub service_codes: Option<Vec<String>>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Open311 statuses: `open`, `closed`.
    pub statuses: Option<Vec<&'static str>>,
    pub rich_status: Option<RichStatus>,
    /// Leave out reports of services whose reports are not public.
    pub public_only: bool,
    pub scope: Option<Scope>,
    pub district: Option<String>,
    pub assigned_to: Option<i64>,
    /// Only reports with a point (for maps).
    pub located_only: bool,
    /// Only open reports whose expected response date is before this moment.
    pub overdue_at: Option<DateTime<Utc>>,
    /// What a staff member typed in the inbox's search box.
    pub search: Option<Search>,
    pub order: Order,
    pub limit: i64,
    pub offset: i64,
    /// Keyset paging: only the reports after this one (`(requested_at, id)`, the last of the
    /// page before) in the order `Newest` or `Oldest`. A page then costs the same however deep
    /// it is, and a report filed meanwhile neither repeats nor hides one.
    pub after: Option<(DateTime<Utc>, i64)>,
}

/// What a staff member looks for, read from one search box: a report's reference (`1234` or
/// `#1234`), the reporter's phone number (any way it is written, Urdu digits too), or words in
/// the description or address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    Reference(i64),
    Phone(String),
    Text(String),
}

impl Search {
    pub fn parse(raw: &str) -> Option<Search> {
        let typed = crate::platform::text::typed_number(raw);
        let t = typed.trim();
        if t.is_empty() {
            return None;
        }
        let digits = t.strip_prefix('#').unwrap_or(t);
        // A reference is short; a phone number has at least ten digits.
        if !digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(id) = digits.parse() {
                return Some(Search::Reference(id));
            }
        }
        if let Some(phone) = crate::platform::personal::Phone::parse(t) {
            return Some(Search::Phone(phone.e164().to_owned()));
        }
        Some(Search::Text(t.chars().take(100).collect()))
    }
}

/// The order of a list of reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Newest,
    Oldest,
    /// Most recently updated first.
    Updated,
    /// The earliest expected response first (the most overdue at the top); none last.
    Due,
}

impl Order {
    pub fn parse(s: &str) -> Option<Order> {
        match s {
            "newest" => Some(Order::Newest),
            "oldest" => Some(Order::Oldest),
            "updated" => Some(Order::Updated),
            "due" => Some(Order::Due),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Order::Newest => "newest",
            Order::Oldest => "oldest",
            Order::Updated => "updated",
            Order::Due => "due",
        }
    }
}

fn in_list<T: Clone + Into<crate::platform::db::Value>>(
    q: Query,
    column: &str,
    items: &[T],
) -> Query {
    q.push(&format!(" AND {column} IN ("))
        .push_binds(items)
        .push(")")
}

/// `select` (which names the reports `r` and their services `s`) narrowed by `f`, in `f`'s order.
fn filtered(select: String, f: &Filter) -> Query {
    let order = match f.order {
        Order::Newest => " ORDER BY r.requested_at DESC, r.id DESC LIMIT ",
        Order::Oldest => " ORDER BY r.requested_at, r.id LIMIT ",
        Order::Updated => " ORDER BY r.updated_at DESC, r.id DESC LIMIT ",
        Order::Due => " ORDER BY r.expected_at IS NULL, r.expected_at, r.id LIMIT ",
    };
    let mut q = narrowed(select, f);
    // Nothing pages the other orders by key (staff pages count and number their pages).
    let past = match f.order {
        Order::Newest => Some("<"),
        Order::Oldest => Some(">"),
        Order::Updated | Order::Due => None,
    };
    if let (Some((at, id)), Some(past)) = (f.after, past) {
        // The first condition bounds the index range (the scan starts at the cursor); the
        // second leaves out the cursor's own moment up to its report.
        q = q
            .push(&format!(" AND r.requested_at {past}= "))
            .push_bind(at)
            .push(&format!(" AND (r.requested_at {past} "))
            .push_bind(at)
            .push(&format!(" OR r.id {past} "))
            .push_bind(id)
            .push(")");
    }
    q.push(order)
        .push_bind(f.limit)
        .push(" OFFSET ")
        .push_bind(f.offset)
}

/// `select` with the conditions of `f` (no order, no limit).
fn narrowed(select: String, f: &Filter) -> Query {
    let mut q = query(format!("{select} WHERE 1 = 1"));
    if let Some(ids) = &f.ids {
        q = in_list(q, "r.id", ids);
    }
    if let Some(codes) = &f.service_codes {
        q = in_list(q, "r.service_code", codes);
    }
    if let Some(start) = f.start {
        q = q.push(" AND r.requested_at >= ").push_bind(start);
    }
    if let Some(end) = f.end {
        q = q.push(" AND r.requested_at <= ").push_bind(end);
    }
    if let Some(statuses) = &f.statuses {
        q = in_list(q, "r.status", statuses);
    }
    if let Some(rs) = f.rich_status {
        q = q.push(" AND r.rich_status = ").push_bind(rs.as_str());
    }
    if f.public_only {
        q = q.push(" AND s.public = ").push_bind(true);
    }
    match &f.scope {
        None | Some(Scope::All) => {}
        Some(Scope::Department {
            department_id,
            district,
        }) => {
            q = q.push(" AND r.department_id = ").push_bind(*department_id);
            if let Some(d) = district {
                q = q.push(" AND r.district = ").push_bind(d.as_str());
            }
        }
    }
    if let Some(d) = &f.district {
        q = q.push(" AND r.district = ").push_bind(d.as_str());
    }
    if let Some(a) = f.assigned_to {
        q = q.push(" AND r.assigned_to = ").push_bind(a);
    }
    if f.located_only {
        q = q.push(" AND r.lat IS NOT NULL");
        if f.public_only {
            // A public map never places a report its reporter kept private.
            q = q.push(" AND NOT r.private");
        }
    }
    if let Some(at) = f.overdue_at {
        q = q
            .push(" AND r.status = 'open' AND r.expected_at < ")
            .push_bind(at);
    }
    match &f.search {
        None => {}
        Some(Search::Reference(id)) => q = q.push(" AND r.id = ").push_bind(*id),
        Some(Search::Phone(e164)) => q = q.push(" AND r.contact_phone = ").push_bind(e164.as_str()),
        Some(Search::Text(words)) => {
            // Every word, anywhere in the description or the address; LIKE's wildcards in
            // what was typed are taken literally.
            for word in words.split_whitespace() {
                let pattern = format!(
                    "%{}%",
                    word.to_lowercase()
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                );
                q = q
                    .push(" AND (LOWER(COALESCE(r.description, '')) LIKE ")
                    .push_bind(pattern.clone())
                    .push(" ESCAPE '\\' OR LOWER(COALESCE(r.address, '')) LIKE ")
                    .push_bind(pattern)
                    .push(" ESCAPE '\\')");
            }
        }
    }
    q
}

/// How many reports match `f` (its limit and offset aside).
pub async fn count(db: &Db, f: &Filter) -> Result<i64, sqlx::Error> {
    db.scalar(narrowed(
        "SELECT COUNT(*) FROM reports r JOIN report_services s ON s.id = r.service_id".into(),
        f,
    ))
    .await
}

/// Reports matching `f` counted by `column` (a fixed choice, never user input).
pub async fn count_by(
    db: &Db,
    f: &Filter,
    column: GroupColumn,
) -> Result<Vec<(Option<String>, i64)>, sqlx::Error> {
    let c = column.column();
    db.fetch_all(
        narrowed(
            format!(
                "SELECT {c}, COUNT(*) FROM reports r JOIN report_services s ON s.id = r.service_id"
            ),
            f,
        )
        .push(&format!(" GROUP BY {c} ORDER BY COUNT(*) DESC")),
    )
    .await
}

#[derive(Debug, Clone, Copy)]
pub enum GroupColumn {
    RichStatus,
    District,
    Service,
    /// The staff user a report is assigned to (none: unassigned).
    Officer,
    Department,
}

impl GroupColumn {
    fn column(self) -> &'static str {
        match self {
            GroupColumn::RichStatus => "r.rich_status",
            GroupColumn::District => "r.district",
            GroupColumn::Service => "r.service_code",
            GroupColumn::Officer => "CAST(r.assigned_to AS TEXT)",
            GroupColumn::Department => "CAST(r.department_id AS TEXT)",
        }
    }
}

/// The answers to "is it fixed?" about reports matching `f`, by `column`: answers, how many said
/// "not fixed", ratings and their sum.
pub async fn outcomes_by(
    db: &Db,
    f: &Filter,
    column: GroupColumn,
) -> Result<Vec<(Option<String>, i64, i64, i64, i64)>, sqlx::Error> {
    let c = column.column();
    db.fetch_all(
        narrowed(
            format!(
                "SELECT {c}, COUNT(*), CAST(COALESCE(SUM(CASE WHEN o.fixed THEN 0 ELSE 1 END), 0) AS BIGINT), \
                 COUNT(o.rating), CAST(COALESCE(SUM(o.rating), 0) AS BIGINT) \
                 FROM report_outcomes o JOIN reports r ON r.id = o.report_id \
                 JOIN report_services s ON s.id = r.service_id"
            ),
            f,
        )
        .push(&format!(
            " AND o.fixed IS NOT NULL GROUP BY {c} ORDER BY COUNT(*) DESC"
        )),
    )
    .await
}

/// For reports matching `f` that have been closed: when each was submitted, and when it was
/// first given a closing status.
pub async fn resolutions(
    db: &Db,
    f: &Filter,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>, sqlx::Error> {
    let closing: Vec<&'static str> = super::model::ALL_STATUSES
        .iter()
        .filter(|s| !s.is_open())
        .map(|s| s.as_str())
        .collect();
    let q = narrowed(
        "SELECT r.requested_at, MIN(u.at) FROM reports r JOIN report_services s ON s.id = r.service_id \
         JOIN report_updates u ON u.report_id = r.id"
            .into(),
        f,
    );
    let q = in_list(q, "u.status", &closing).push(" GROUP BY r.id, r.requested_at");
    db.fetch_all(q).await
}

/// The points of public reports matching `f` (newest first, at most `f.limit`), for maps.
pub async fn public_points(db: &Db, f: &Filter) -> Result<Vec<(f64, f64)>, sqlx::Error> {
    let f = Filter {
        public_only: true,
        located_only: true,
        ..f.clone()
    };
    db.fetch_all(filtered(
        "SELECT r.lat, r.long FROM reports r JOIN report_services s ON s.id = r.service_id".into(),
        &f,
    ))
    .await
}

/// Reports matching `f`, newest first, with everything staff may see.
pub async fn list(db: &Db, f: &Filter) -> Result<Vec<ReportRow>, sqlx::Error> {
    db.fetch_all(filtered(REPORT_SELECT.to_string(), f)).await
}

/// What the public may see of a report: no contact details, names in one language. Narrow on
/// purpose: the public list is the busiest query, and every column costs.
#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct PublicRow {
    pub id: i64,
    pub status: String,
    pub status_notes: Option<String>,
    pub service_name: String,
    pub service_code: String,
    pub service_public: bool,
    pub description: Option<String>,
    pub agency_responsible: String,
    pub requested_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expected_at: Option<DateTime<Utc>>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
    pub photo_sha256: Option<String>,
    /// The district's slug: all the public sees of where a private report is.
    pub district: Option<String>,
    /// The reporter asked that it not be shown publicly: description, place and photos are
    /// left out by the query itself (they are NULL here), so no page can show them by mistake.
    pub private: bool,
}

impl PublicRow {
    /// Whether the public may see the report in full (its service's reports are public, and
    /// the reporter did not ask to keep it private). When not, only its status is shown on its
    /// own; a private report of a public service is still listed, with its district.
    pub fn shown(&self) -> bool {
        self.service_public && !self.private
    }
}

fn public_select(lang: Lang) -> String {
    let l = lang.code();
    // Each column a private report keeps to its department is NULL here, not filtered later.
    let kept = |column: &str| format!("CASE WHEN r.private THEN NULL ELSE {column} END");
    format!(
        "SELECT r.id, r.status, r.status_notes, \
         CASE WHEN s.name_{l} = '' THEN s.name_en ELSE s.name_{l} END AS service_name, r.service_code, \
         s.public AS service_public, {description} AS description, \
         CASE WHEN d.name_{l} = '' THEN d.name_en ELSE d.name_{l} END AS agency_responsible, \
         r.requested_at, r.updated_at, r.expected_at, {address} AS address, {lat} AS lat, {long} AS long, \
         {media} AS media_url, \
         {photo} AS photo_sha256, r.district, r.private \
         FROM reports r JOIN report_services s ON s.id = r.service_id JOIN departments d ON d.id = r.department_id",
        description = kept("r.description"),
        address = kept("r.address"),
        lat = kept("r.lat"),
        long = kept("r.long"),
        media = kept("r.media_url"),
        photo = kept("(SELECT p.sha256 FROM photos p WHERE p.id = r.photo_id)"),
    )
}

/// Reports of public services matching `f`, newest first, as the public sees them.
pub async fn list_public(db: &Db, f: &Filter, lang: Lang) -> Result<Vec<PublicRow>, sqlx::Error> {
    // A listing leaves the reports of confidential services out. A lookup by id answers each
    // report asked for as its own page (`get_public`) does: the caller's `PublicRow` shows a
    // confidential one's status only, whichever way it is asked.
    let f = Filter {
        public_only: f.ids.is_none(),
        ..f.clone()
    };
    db.fetch_all(filtered(public_select(lang), &f)).await
}

/// One report as the public sees it (of any service: the caller hides what is not public).
pub async fn get_public(db: &Db, id: i64, lang: Lang) -> Result<Option<PublicRow>, sqlx::Error> {
    db.fetch_optional(query(format!("{} WHERE r.id = $1", public_select(lang))).bind(id))
        .await
}

/// A status update, as FixMyStreet's `servicerequestupdates` shows it.
#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct UpdateRow {
    pub id: i64,
    pub report_id: i64,
    pub status: String,
    pub note: String,
    pub author: String,
    pub media_url: Option<String>,
    pub at: DateTime<Utc>,
    /// Written by the reporter (an update, or the answer to "is it fixed?"), not by staff.
    pub by_citizen: bool,
    /// Why staff hid it (a citizen's update only); hidden updates are staff's alone.
    pub hidden_reason: Option<String>,
    /// The photo the reporter added with it.
    pub photo_sha256: Option<String>,
}

const UPDATE_SELECT: &str = "SELECT u.id, u.report_id, u.status, u.note, u.author, u.media_url, u.at, \
    u.by_citizen, u.hidden_reason, \
    (SELECT p.sha256 FROM report_photos rp JOIN photos p ON p.id = rp.photo_id WHERE rp.update_id = u.id \
     ORDER BY rp.id LIMIT 1) AS photo_sha256 FROM report_updates u";

/// Record a staff update: the report takes the new status and note.
pub async fn add_update(
    tx: &mut Tx,
    report_id: i64,
    status: RichStatus,
    note: &str,
    author: &str,
    duplicate_of: Option<i64>,
    by_citizen: bool,
) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    tx.execute(
        query(
            "UPDATE reports SET status = $1, rich_status = $2, status_notes = $3, updated_at = $4, \
             possible_duplicate_of = COALESCE($5, possible_duplicate_of) WHERE id = $6",
        )
        .bind(status.open311())
        .bind(status.as_str())
        .bind(note)
        .bind(now)
        .bind(duplicate_of)
        .bind(report_id),
    )
    .await?;
    tx.scalar(
        query("INSERT INTO report_updates (report_id, status, note, author, at, by_citizen) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(report_id)
            .bind(status.as_str())
            .bind(note)
            .bind(author)
            .bind(now)
            .bind(by_citizen),
    )
    .await
}

/// A staff member's internal note on a report (never public).
#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct NoteRow {
    pub author: String,
    pub note: String,
    pub at: DateTime<Utc>,
}

pub async fn add_note(
    tx: &mut Tx,
    report_id: i64,
    author: &str,
    note: &str,
) -> Result<i64, sqlx::Error> {
    tx.scalar(
        query("INSERT INTO report_notes (report_id, author, note, at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(report_id)
            .bind(author)
            .bind(note)
            .bind(Utc::now()),
    )
    .await
}

/// A report's internal notes, oldest first.
pub async fn notes_of(db: &Db, report_id: i64) -> Result<Vec<NoteRow>, sqlx::Error> {
    db.fetch_all(
        query("SELECT author, note, at FROM report_notes WHERE report_id = $1 ORDER BY id")
            .bind(report_id),
    )
    .await
}

/// A report's updates, oldest first; `hidden` includes those staff hid (for staff only).
pub async fn updates_of(
    db: &Db,
    report_id: i64,
    hidden: bool,
) -> Result<Vec<UpdateRow>, sqlx::Error> {
    let shown = if hidden {
        ""
    } else {
        " AND u.hidden_reason IS NULL"
    };
    db.fetch_all(
        query(format!(
            "{UPDATE_SELECT} WHERE u.report_id = $1{shown} ORDER BY u.id"
        ))
        .bind(report_id),
    )
    .await
}

/// Updates in a time window (of public services only), oldest first.
pub async fn updates_between(
    db: &Db,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: i64,
    offset: i64,
) -> Result<Vec<UpdateRow>, sqlx::Error> {
    db.fetch_all(
        query(format!(
            "{UPDATE_SELECT} JOIN reports r ON r.id = u.report_id JOIN report_services s ON s.id = r.service_id \
             WHERE u.at >= $1 AND u.at <= $2 AND s.public = $3 AND u.hidden_reason IS NULL \
             ORDER BY u.at, u.id LIMIT $4 OFFSET $5"
        ))
        .bind(start)
        .bind(end)
        .bind(true)
        .bind(limit)
        .bind(offset),
    )
    .await
}

/// Staff decided a report is not a duplicate of the one it was linked to.
pub async fn dismiss_duplicate(tx: &mut Tx, report_id: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE reports SET possible_duplicate_of = NULL, duplicate_distance_m = NULL, updated_at = $1 WHERE id = $2")
            .bind(Utc::now())
            .bind(report_id),
    )
    .await?;
    Ok(())
}

pub async fn assign(tx: &mut Tx, report_id: i64, user_id: Option<i64>) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE reports SET assigned_to = $1, updated_at = $2 WHERE id = $3")
            .bind(user_id)
            .bind(Utc::now())
            .bind(report_id),
    )
    .await?;
    Ok(())
}

/// The nearest open report of `service_code` within `radius_m` of a point, submitted in the
/// `window_hours` before `at`: `(id, metres)`. Read in the transaction that files the new report
/// (see [`super::submit`]).
pub async fn nearest_open_report(
    tx: &mut Tx,
    service_code: &str,
    point: (f64, f64),
    at: DateTime<Utc>,
    radius_m: f64,
    window_hours: i64,
) -> Result<Option<(i64, f64)>, sqlx::Error> {
    let q = near_query(service_code, point, at, radius_m, window_hours);
    Ok(nearest_first(point, radius_m, tx.fetch_all(q).await?)
        .into_iter()
        .next())
}

/// Open reports of a service within `radius_m` of a point, made in the `window_hours` before
/// `at`: `(id, metres)`, nearest first.
pub async fn open_reports_near(
    db: &Db,
    service_code: &str,
    point: (f64, f64),
    at: DateTime<Utc>,
    radius_m: f64,
    window_hours: i64,
) -> Result<Vec<(i64, f64)>, sqlx::Error> {
    let q = near_query(service_code, point, at, radius_m, window_hours);
    Ok(nearest_first(point, radius_m, db.fetch_all(q).await?))
}

/// The reports of a service made in the window whose grid cells cover the circle (an index
/// lookup): `(id, lat, long, status)`, for [`nearest_first`] to measure.
fn near_query(
    service_code: &str,
    (lat, long): (f64, f64),
    at: DateTime<Utc>,
    radius_m: f64,
    window_hours: i64,
) -> Query {
    query(
        // `status` is checked below, not here: as a condition it would tempt the planner into
        // the (status, requested_at) index, which every recent report matches.
        "SELECT id, lat, long, status FROM reports WHERE service_code = $1 \
         AND requested_at >= $2 AND requested_at <= $3",
    )
    .bind(service_code)
    .bind(at - chrono::Duration::hours(window_hours))
    .bind(at)
    .push(" AND cell IN (")
    .push_binds(&geo::cells_covering(lat, long, radius_m))
    .push(")")
}

/// The open ones of `candidates` within `radius_m` of the point, by exact distance, nearest
/// first: `(id, metres)`.
fn nearest_first(
    (lat, long): (f64, f64),
    radius_m: f64,
    candidates: Vec<(i64, f64, f64, String)>,
) -> Vec<(i64, f64)> {
    let mut near: Vec<(i64, f64)> = candidates
        .into_iter()
        .filter(|c| c.3 == "open")
        .map(|(id, la, lo, _)| (id, geo::haversine_m(lat, long, la, lo)))
        .filter(|(_, m)| *m <= radius_m)
        .collect();
    near.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    near
}

// ---------------------------------------------------------------------------------------------
// After sending: the reporter's updates and photos, followers, "is it fixed?"

/// The reporter's own update: words (and perhaps a photo, added by the caller), the report's
/// status unchanged.
pub async fn add_citizen_update(
    tx: &mut Tx,
    report_id: i64,
    note: &str,
) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    tx.execute(
        query("UPDATE reports SET updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(report_id),
    )
    .await?;
    tx.scalar(
        query(
            "INSERT INTO report_updates (report_id, status, note, author, at, by_citizen) \
             SELECT id, rich_status, $1, 'reporter', $2, $3 FROM reports WHERE id = $4 RETURNING id",
        )
        .bind(note)
        .bind(now)
        .bind(true)
        .bind(report_id),
    )
    .await
}

/// Staff hide a citizen's update from the public (or show it again with `None`).
pub async fn set_update_hidden(
    tx: &mut Tx,
    report_id: i64,
    update_id: i64,
    reason: Option<&str>,
) -> Result<u64, sqlx::Error> {
    tx.execute(
        query("UPDATE report_updates SET hidden_reason = $1 WHERE id = $2 AND report_id = $3 AND by_citizen = $4")
            .bind(reason)
            .bind(update_id)
            .bind(report_id)
            .bind(true),
    )
    .await
}

/// Add a photo to a report (with the report, or with one of its updates).
pub async fn add_photo(
    tx: &mut Tx,
    report_id: i64,
    photo_id: i64,
    update_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    tx.execute(
        query("INSERT INTO report_photos (report_id, photo_id, update_id, at) VALUES ($1, $2, $3, $4)")
            .bind(report_id)
            .bind(photo_id)
            .bind(update_id)
            .bind(Utc::now()),
    )
    .await?;
    Ok(())
}

/// The photos a report carries, in order (the hashes of their files). `hidden` includes those
/// of updates staff hid.
pub async fn photos_of(db: &Db, report_id: i64, hidden: bool) -> Result<Vec<String>, sqlx::Error> {
    let shown = if hidden {
        ""
    } else {
        " AND NOT EXISTS (SELECT 1 FROM report_updates u WHERE u.id = rp.update_id AND u.hidden_reason IS NOT NULL)"
    };
    let rows: Vec<(String,)> = db
        .fetch_all(
            query(format!(
                "SELECT p.sha256 FROM report_photos rp JOIN photos p ON p.id = rp.photo_id \
                 WHERE rp.report_id = $1{shown} ORDER BY rp.id"
            ))
            .bind(report_id),
        )
        .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

/// How many photos a report carries (hidden ones too: the limit counts what was sent).
pub async fn photo_count(tx: &mut Tx, report_id: i64) -> Result<i64, sqlx::Error> {
    tx.scalar(query("SELECT COUNT(*) FROM report_photos WHERE report_id = $1").bind(report_id))
        .await
}

/// Someone told of a report's changes by SMS or e-mail.
#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Follower {
    pub id: i64,
    pub report_id: i64,
    pub channel: String,
    pub address: String,
    pub lang: String,
    pub token: String,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Add a follower, or return the one there is for the same address. `confirmed`: the address
/// proved itself already (an SMS from the number).
pub async fn add_follower(
    tx: &mut Tx,
    report_id: i64,
    channel: &str,
    address: &str,
    lang: &str,
    token: &str,
    confirmed: bool,
) -> Result<Follower, sqlx::Error> {
    let now = Utc::now();
    tx.execute(
        query(
            "INSERT INTO report_followers (report_id, channel, address, lang, token, confirmed_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (report_id, channel, address) DO UPDATE \
             SET lang = excluded.lang, confirmed_at = COALESCE(report_followers.confirmed_at, excluded.confirmed_at)",
        )
        .bind(report_id)
        .bind(channel)
        .bind(address)
        .bind(lang)
        .bind(token)
        .bind(confirmed.then_some(now))
        .bind(now),
    )
    .await?;
    tx.fetch_one(
        query(
            "SELECT id, report_id, channel, address, lang, token, confirmed_at FROM report_followers \
             WHERE report_id = $1 AND channel = $2 AND address = $3",
        )
        .bind(report_id)
        .bind(channel)
        .bind(address),
    )
    .await
}

/// The follower a link's token names.
pub async fn follower_by_token(db: &Db, token: &str) -> Result<Option<Follower>, sqlx::Error> {
    db.fetch_optional(
        query("SELECT id, report_id, channel, address, lang, token, confirmed_at FROM report_followers WHERE token = $1")
            .bind(token),
    )
    .await
}

pub async fn confirm_follower(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    db.execute(
        query(
            "UPDATE report_followers SET confirmed_at = $1 WHERE id = $2 AND confirmed_at IS NULL",
        )
        .bind(Utc::now())
        .bind(id),
    )
    .await?;
    Ok(())
}

/// Stop telling an address (`report_id`: of that report only; else of every report).
pub async fn remove_follower(
    db: &Db,
    channel: &str,
    address: &str,
    report_id: Option<i64>,
) -> Result<u64, sqlx::Error> {
    db.execute(
        query(
            "DELETE FROM report_followers WHERE channel = $1 AND address = $2 AND ($3 IS NULL OR report_id = $3)",
        )
        .bind(channel)
        .bind(address)
        .bind(report_id),
    )
    .await
}

/// The confirmed followers of a report.
pub async fn followers_of(tx: &mut Tx, report_id: i64) -> Result<Vec<Follower>, sqlx::Error> {
    tx.fetch_all(
        query(
            "SELECT id, report_id, channel, address, lang, token, confirmed_at FROM report_followers \
             WHERE report_id = $1 AND confirmed_at IS NOT NULL ORDER BY id",
        )
        .bind(report_id),
    )
    .await
}

/// "Is it fixed?" for one fix: asked, and perhaps answered.
#[derive(Debug, Clone, sqlx::FromRow, khidmat_derive::FromRaw)]
pub struct Outcome {
    pub id: i64,
    pub report_id: i64,
    pub fix_update_id: i64,
    pub asked_at: DateTime<Utc>,
    pub asked_on: String,
    pub phone: Option<String>,
    /// `fixed` (waiting for 1 or 2), `rating` (waiting for 1–5), `none`.
    pub awaiting: String,
    pub fixed: Option<bool>,
    pub rating: Option<i64>,
}

const OUTCOME_SELECT: &str =
    "SELECT id, report_id, fix_update_id, asked_at, asked_on, phone, awaiting, \
    fixed, rating FROM report_outcomes";

/// The latest update that marked a report fixed.
pub async fn last_fix(tx: &mut Tx, report_id: i64) -> Result<Option<i64>, sqlx::Error> {
    tx.fetch_optional::<(i64,)>(
        query("SELECT id FROM report_updates WHERE report_id = $1 AND status = 'fixed' ORDER BY id DESC LIMIT 1")
            .bind(report_id),
    )
    .await
    .map(|r| r.map(|(id,)| id))
}

/// Ask about a fix (once: a second ask of the same fix returns `None`).
pub async fn insert_outcome(
    tx: &mut Tx,
    report_id: i64,
    fix_update_id: i64,
    asked_on: &str,
    phone: Option<&str>,
) -> Result<Option<i64>, sqlx::Error> {
    tx.fetch_optional::<(i64,)>(
        query(
            "INSERT INTO report_outcomes (report_id, fix_update_id, asked_at, asked_on, phone, awaiting) \
             VALUES ($1, $2, $3, $4, $5, 'fixed') ON CONFLICT (fix_update_id) DO NOTHING RETURNING id",
        )
        .bind(report_id)
        .bind(fix_update_id)
        .bind(Utc::now())
        .bind(asked_on)
        .bind(phone),
    )
    .await
    .map(|r| r.map(|(id,)| id))
}

pub async fn outcome_of_fix(
    tx: &mut Tx,
    fix_update_id: i64,
) -> Result<Option<Outcome>, sqlx::Error> {
    tx.fetch_optional(
        query(format!("{OUTCOME_SELECT} WHERE fix_update_id = $1")).bind(fix_update_id),
    )
    .await
}

/// The latest question put to a number that still waits for its reply.
pub async fn awaiting_reply(db: &Db, phone: &str) -> Result<Option<Outcome>, sqlx::Error> {
    db.fetch_optional(
        query(format!(
            "{OUTCOME_SELECT} WHERE phone = $1 AND awaiting <> 'none' ORDER BY asked_at DESC, id DESC LIMIT 1"
        ))
        .bind(phone),
    )
    .await
}

/// Record whether it is fixed; a rating is asked for next.
pub async fn answer_fixed(
    tx: &mut Tx,
    id: i64,
    fixed: bool,
    words: Option<&str>,
    channel: &str,
    rating: Option<i64>,
) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    tx.execute(
        query(
            "UPDATE report_outcomes SET fixed = $1, words = $2, answered_on = $3, answered_at = $4, week = $5, \
             rating = $6, awaiting = $7 WHERE id = $8",
        )
        .bind(fixed)
        .bind(words)
        .bind(channel)
        .bind(now)
        .bind(crate::platform::impact::week_of(now))
        .bind(rating)
        .bind(if rating.is_some() { "none" } else { "rating" })
        .bind(id),
    )
    .await?;
    Ok(())
}

/// Record the 1–5 rating that goes with an answer.
pub async fn answer_rating(tx: &mut Tx, id: i64, rating: i64) -> Result<(), sqlx::Error> {
    tx.execute(
        query("UPDATE report_outcomes SET rating = $1, awaiting = 'none' WHERE id = $2")
            .bind(rating)
            .bind(id),
    )
    .await?;
    Ok(())
}

/// The question is void (the report moved on before the reply came): nothing more awaited.
pub async fn stop_awaiting(db: &Db, id: i64) -> Result<(), sqlx::Error> {
    db.execute(query("UPDATE report_outcomes SET awaiting = 'none' WHERE id = $1").bind(id))
        .await?;
    Ok(())
}

/// What the reporters' answers to "is it fixed?" are grouped by, for the impact figures.
#[derive(Debug, Clone, Copy)]
pub enum OutcomeKey {
    Service,
    Department,
    District,
}

/// Answers given in `[start, end)`, grouped: the key (service code, department slug, district
/// slug or empty), its English name, answers, "not fixed", ratings and their sum.
pub async fn outcomes_in(
    db: &Db,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    key: OutcomeKey,
) -> Result<Vec<(String, Option<String>, i64, i64, i64, i64)>, sqlx::Error> {
    let (key, join, name) = match key {
        OutcomeKey::Service => (
            "r.service_code",
            "JOIN report_services s ON s.id = r.service_id",
            "s.name_en",
        ),
        OutcomeKey::Department => (
            "d.slug",
            "JOIN departments d ON d.id = r.department_id",
            "d.name_en",
        ),
        OutcomeKey::District => (
            "COALESCE(r.district, '')",
            "LEFT JOIN districts ds ON ds.slug = r.district",
            "ds.name_en",
        ),
    };
    db.fetch_all(
        query(format!(
            "SELECT {key}, {name}, COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN o.fixed THEN 0 ELSE 1 END), 0) AS BIGINT), COUNT(o.rating), \
             CAST(COALESCE(SUM(o.rating), 0) AS BIGINT) \
             FROM report_outcomes o JOIN reports r ON r.id = o.report_id {join} \
             WHERE o.answered_at >= $1 AND o.answered_at < $2 AND o.fixed IS NOT NULL \
             GROUP BY {key}, {name} ORDER BY COUNT(*) DESC, {key}"
        ))
        .bind(start)
        .bind(end),
    )
    .await
}

/// All answers given in `[start, end)`: answers, "not fixed", ratings and their sum.
pub async fn outcome_totals(
    db: &Db,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<(i64, i64, i64, i64), sqlx::Error> {
    db.fetch_one(
        query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN fixed THEN 0 ELSE 1 END), 0) AS BIGINT), \
             COUNT(rating), CAST(COALESCE(SUM(rating), 0) AS BIGINT) FROM report_outcomes \
             WHERE answered_at >= $1 AND answered_at < $2 AND fixed IS NOT NULL",
        )
        .bind(start)
        .bind(end),
    )
    .await
}

/// Answers given in `[start, end)` per week (Pakistan time), channel answered on, department
/// slug and district: answers, "not fixed", ratings and their sum.
pub async fn outcome_cells(
    db: &Db,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<(String, String, String, String, i64, i64, i64, i64)>, sqlx::Error> {
    db.fetch_all(
        query(
            "SELECT o.week, o.answered_on, d.slug, COALESCE(r.district, ''), COUNT(*), \
             CAST(COALESCE(SUM(CASE WHEN o.fixed THEN 0 ELSE 1 END), 0) AS BIGINT), COUNT(o.rating), \
             CAST(COALESCE(SUM(o.rating), 0) AS BIGINT) \
             FROM report_outcomes o JOIN reports r ON r.id = o.report_id \
             JOIN departments d ON d.id = r.department_id \
             WHERE o.answered_at >= $1 AND o.answered_at < $2 AND o.fixed IS NOT NULL \
             GROUP BY o.week, o.answered_on, d.slug, COALESCE(r.district, '')",
        )
        .bind(start)
        .bind(end),
    )
    .await
}
