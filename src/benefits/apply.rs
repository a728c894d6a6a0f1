//! Applications: what every channel calls to apply (the citizen form, staff entering a walk-in
//! applicant), to add a document, to verify, and to check a status.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::model::{self, Circumstances, Failure, GENDERS};
use super::store::{self, Application, Fund};
use super::{ledger, today};
use crate::platform::db::{is_unique_violation, query, Tx};
use crate::platform::error::{Error, Result};
use crate::platform::files::{self, Encoded};
use crate::platform::i18n::Lang;
use crate::platform::identity::Staff;
use crate::platform::personal::Phone;
use crate::platform::questions::{check_answers, Answer};
use crate::platform::state::AppState;
use crate::platform::{audit, idempotency, impact};
use crate::t;

/// An application as a channel received it. Amounts in paisa.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationIn {
    pub cnic: String,
    pub name: String,
    #[serde(default)]
    pub guardian_name: String,
    pub gender: String,
    /// `YYYY-MM-DD`
    pub birth_date: String,
    pub district: String,
    pub phone: Option<String>,
    #[serde(default)]
    pub address: String,
    /// Household income a month, in paisa.
    pub monthly_income: i64,
    #[serde(default)]
    pub dependants: i64,
    /// The category or pay scale an entitlement table is read by.
    #[serde(default)]
    pub grade: String,
    /// A Pakistani IBAN, for payment by bank transfer.
    pub bank_account: Option<String>,
    /// Answers to the fund's own questions: code → values.
    #[serde(default)]
    pub answers: BTreeMap<String, Vec<String>>,
}

/// What the applicant is told.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ApplicationReceipt)]
pub struct Receipt {
    pub reference: String,
    /// The slip's address: `/benefits/slip/{token}`.
    pub slip: String,
    pub status: String,
    /// Why the application is not eligible, in the applicant's language.
    pub reasons: Vec<String>,
}

fn bad(m: String) -> Error {
    Error::BadRequest(m)
}

fn text<'a>(lang: Lang, name: &str, v: &'a str, max: usize, required: bool) -> Result<&'a str> {
    let v = v.trim();
    if required && v.is_empty() {
        return Err(bad(t!(lang, "err-missing-param", name = name)));
    }
    if v.chars().count() > max {
        return Err(bad(t!(lang, "err-field-too-long", name = name, max = max)));
    }
    Ok(v)
}

/// Checked input, ready to store.
struct Checked {
    cnic: String,
    name: String,
    guardian_name: String,
    gender: String,
    birth_date: NaiveDate,
    district: String,
    phone: Option<Phone>,
    address: String,
    monthly_income: i64,
    dependants: i64,
    grade: String,
    bank_account: Option<String>,
    answers: BTreeMap<String, Answer>,
}

async fn check(state: &AppState, fund: &Fund, a: &ApplicationIn, lang: Lang) -> Result<Checked> {
    let gender = a.gender.trim();
    if !GENDERS.contains(&gender) {
        return Err(bad(t!(lang, "benefit-err-gender")));
    }
    let cnic = model::check_cnic(lang, &a.cnic, Some(gender)).map_err(bad)?;
    let name = text(lang, "name", &a.name, 100, true)?;
    let guardian_name = text(lang, "guardian_name", &a.guardian_name, 100, false)?;
    let birth_date = crate::platform::clock::typed_day(&a.birth_date)
        .filter(|d| *d <= today() && model::age_on(*d, today()) <= 120)
        .ok_or_else(|| bad(t!(lang, "benefit-err-birth-date")))?;
    let district = a.district.trim();
    if !state.districts().await?.iter().any(|d| d.slug == district) {
        return Err(bad(t!(lang, "err-unknown-district", district = district)));
    }
    let phone = match a.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(Phone::parse(p).ok_or_else(|| bad(t!(lang, "err-phone")))?),
        None => None,
    };
    let address = text(lang, "address", &a.address, 500, false)?;
    if a.monthly_income < 0 || a.monthly_income > 10_000_000_000 {
        return Err(bad(t!(lang, "benefit-err-income")));
    }
    if !(0..=50).contains(&a.dependants) {
        return Err(bad(t!(lang, "benefit-err-dependants")));
    }
    let grade = text(lang, "grade", &a.grade, 40, false)?;
    let bank_account = match a
        .bank_account
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
    {
        Some(b) => Some(model::check_iban(b).ok_or_else(|| bad(t!(lang, "benefit-err-iban")))?),
        None => None,
    };
    let answers = check_answers(&fund.questions, &fund.code, &a.answers, lang, true)?;
    Ok(Checked {
        cnic: cnic.digits().to_owned(),
        name: name.to_owned(),
        guardian_name: guardian_name.to_owned(),
        gender: gender.to_owned(),
        birth_date,
        district: district.to_owned(),
        phone,
        address: address.to_owned(),
        monthly_income: a.monthly_income,
        dependants: a.dependants,
        grade: grade.to_owned(),
        bank_account,
        answers,
    })
}

/// `B-7KQ2-M9XD`: ten characters a person can read out over the phone (no 0/O, 1/I/L, U).
fn new_reference() -> String {
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut rng = rand::rng();
    let mut pick = || ALPHABET[rand::Rng::random_range(&mut rng, 0..ALPHABET.len())] as char;
    let a: String = (0..4).map(|_| pick()).collect();
    let b: String = (0..4).map(|_| pick()).collect();
    format!("B-{a}-{b}")
}

/// Apply to `fund`. `documents`: `(document code, photo)` pairs, already re-encoded. Nothing is
/// stored unless everything is valid; the one application a person may make to a fund is held
/// by the database, so two sent at once cannot both succeed. `key`: `(scope, idempotency key,
/// request digest)`: the same application sent again (a phone's outbox whose first answer was
/// lost) gets the first receipt back, not "already applied".
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    state: &AppState,
    fund: &Fund,
    input: &ApplicationIn,
    documents: &[(String, Encoded)],
    channel: &str,
    actor: &str,
    key: Option<(&str, &str, &str)>,
    lang: Lang,
) -> Result<Receipt> {
    let on = today();
    if !fund.open_on(on) {
        return Err(Error::Unprocessable(t!(
            lang,
            "benefit-err-window",
            opens = fund.opens_on.to_string(),
            closes = fund.closes_on.to_string()
        )));
    }
    let c = check(state, fund, input, lang).await?;
    for (code, _) in documents {
        if !fund.documents.iter().any(|d| &d.code == code) {
            return Err(bad(t!(
                lang,
                "benefit-err-document",
                document = code.as_str()
            )));
        }
    }
    let fails = model::assess(
        &fund.eligibility,
        &fund.entitlement,
        &fund.documents,
        &fund.questions,
        &Circumstances {
            district: Some(c.district.clone()),
            gender: c.gender.clone(),
            answers: model::given(&c.answers),
            birth_date: c.birth_date,
            monthly_income: c.monthly_income,
            dependants: c.dependants,
            grade: c.grade.clone(),
            documents: documents.iter().map(|(k, _)| k.clone()).collect(),
        },
        on,
    );
    for (_, e) in documents {
        state
            .files
            .put(crate::platform::files::Area::Documents, e)
            .await
            .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
    }
    // A reference is random: on the rare clash with an existing one, draw another.
    for _ in 0..5 {
        let reference = new_reference();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut tx = state.db.begin().await?;
        if let Some((scope, k, hash)) = key {
            match idempotency::claim(&mut tx, scope, k, hash).await? {
                idempotency::Claim::Fresh => {}
                idempotency::Claim::Replay { body, .. } => {
                    return serde_json::from_str(&body).map_err(|e| Error::Internal(e.into()));
                }
                idempotency::Claim::Mismatch => {
                    return Err(Error::Unprocessable(t!(lang, "err-idempotency-mismatch")));
                }
            }
        }
        match insert(
            &mut tx,
            fund,
            &c,
            &fails,
            (&reference, &token),
            channel,
            actor,
        )
        .await
        {
            Ok(id) => {
                for (kind, e) in documents {
                    add_document_tx(&mut tx, id, kind, e, actor).await?;
                }
                impact::record(
                    &mut tx,
                    &impact::Event {
                        service: "benefits",
                        kind: "application_submitted",
                        code: Some(&fund.code),
                        channel,
                        district: Some(&c.district),
                        department_id: Some(fund.department_id),
                        minutes_saved: fund.minutes_saved,
                        citizen: Some(impact::Citizen::cnic(&c.cnic)),
                    },
                )
                .await?;
                let receipt = Receipt {
                    reference,
                    slip: format!("/benefits/slip/{token}"),
                    status: status_of(&fails).into(),
                    reasons: fails.iter().map(|f| f.message(lang)).collect(),
                };
                if let Some((scope, k, _)) = key {
                    let body =
                        serde_json::to_string(&receipt).map_err(|e| Error::Internal(e.into()))?;
                    idempotency::complete(&mut tx, scope, k, 200, &body).await?;
                }
                tx.commit().await?;
                return Ok(receipt);
            }
            Err(e) if is_unique_violation(&e) => {
                drop(tx);
                let taken: Option<(i64,)> = state
                    .db
                    .fetch_optional(
                        query(
                            "SELECT a.id FROM benefit_applications a \
                             JOIN benefit_applicants p ON p.id = a.applicant_id \
                             WHERE a.fund_id = $1 AND p.cnic = $2",
                        )
                        .bind(fund.id)
                        .bind(&c.cnic),
                    )
                    .await?;
                if taken.is_some() {
                    return Err(Error::Conflict(t!(lang, "benefit-err-duplicate")));
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "no free application reference after five tries"
    )))
}

fn status_of(fails: &[Failure]) -> &'static str {
    if fails.is_empty() {
        "eligible"
    } else {
        "ineligible"
    }
}

async fn insert(
    tx: &mut Tx,
    fund: &Fund,
    c: &Checked,
    fails: &[Failure],
    (reference, token): (&str, &str),
    channel: &str,
    actor: &str,
) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    // The applicant is one person by CNIC: a new application brings their details up to date.
    let applicant_id: i64 = tx
        .scalar(
            query(
                "INSERT INTO benefit_applicants (cnic, name, guardian_name, gender, birth_date, \
                 district, phone, address, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (cnic) DO UPDATE SET name = excluded.name, \
                 guardian_name = excluded.guardian_name, gender = excluded.gender, \
                 birth_date = excluded.birth_date, \
                 district = excluded.district, phone = COALESCE(excluded.phone, benefit_applicants.phone), \
                 address = excluded.address, updated_at = excluded.updated_at RETURNING id",
            )
            .bind(&c.cnic)
            .bind(&c.name)
            .bind(&c.guardian_name)
            .bind(&c.gender)
            .bind(c.birth_date.to_string())
            .bind(&c.district)
            .bind(c.phone.as_ref().map(|p| p.e164().to_owned()))
            .bind(&c.address)
            .bind(now),
        )
        .await?;
    let id: i64 = tx
        .scalar(
            query(
                "INSERT INTO benefit_applications (reference, token, fund_id, applicant_id, channel, \
                 district, gender, age, monthly_income, dependants, grade, bank_account, \
                 answers, status, reasons, submitted_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) \
                 RETURNING id",
            )
            .bind(reference)
            .bind(token)
            .bind(fund.id)
            .bind(applicant_id)
            .bind(channel)
            .bind(&c.district)
            .bind(&c.gender)
            .bind(model::age_on(c.birth_date, today()))
            .bind(c.monthly_income)
            .bind(c.dependants)
            .bind(&c.grade)
            .bind(c.bank_account.as_deref())
            .bind(serde_json::to_string(&c.answers).expect("serialisable"))
            .bind(status_of(fails))
            .bind(serde_json::to_string(fails).expect("serialisable"))
            .bind(now),
        )
        .await?;
    audit::record(
        tx,
        actor,
        "benefit.apply",
        "benefit_application",
        reference,
        serde_json::json!({"fund": fund.code, "channel": channel, "status": status_of(fails)}),
    )
    .await?;
    Ok(id)
}

async fn add_document_tx(
    tx: &mut Tx,
    application_id: i64,
    kind: &str,
    e: &Encoded,
    actor: &str,
) -> Result<(), sqlx::Error> {
    let photo = files::record(tx, e).await?;
    tx.execute(
        query(
            "INSERT INTO benefit_documents (application_id, kind, photo_id, added_by, added_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(application_id)
        .bind(kind)
        .bind(photo.id)
        .bind(actor)
        .bind(Utc::now()),
    )
    .await?;
    Ok(())
}

/// The document codes an application has.
pub async fn document_kinds(db: &crate::platform::db::Db, id: i64) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = db
        .fetch_all(
            query("SELECT DISTINCT kind FROM benefit_documents WHERE application_id = $1 ORDER BY kind")
                .bind(id),
        )
        .await?;
    Ok(rows.into_iter().map(|(k,)| k).collect())
}

/// An application's documents: `(id, document code)`, oldest first.
pub async fn documents(db: &crate::platform::db::Db, id: i64) -> Result<Vec<(i64, String)>> {
    Ok(db
        .fetch_all(
            query("SELECT id, kind FROM benefit_documents WHERE application_id = $1 ORDER BY id")
                .bind(id),
        )
        .await?)
}

/// A document's photo, for staff who may see its application: `(JPEG bytes)`.
pub async fn document_photo(state: &AppState, staff: &Staff, id: i64) -> Result<Vec<u8>> {
    let row: Option<(String, String)> = state
        .db
        .fetch_optional(
            query(
                "SELECT a.reference, p.sha256 FROM benefit_documents d \
                 JOIN benefit_applications a ON a.id = d.application_id \
                 JOIN photos p ON p.id = d.photo_id WHERE d.id = $1",
            )
            .bind(id),
        )
        .await?;
    let (reference, sha) = row.ok_or_else(|| Error::NotFound(String::new()))?;
    visible(state, staff, &reference).await?;
    state
        .files
        .get(files::Area::Documents, &sha, "image/jpeg")
        .await
        .map_err(|e| Error::Internal(anyhow::anyhow!("document {id}: {e:?}")))?
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("document {id}: its file is missing")))
}

/// Can `staff` see this application? (Its fund's department, and their district if they have
/// one.)
pub fn may_see(staff: &Staff, a: &Application) -> bool {
    staff.scope.allows(a.department_id, a.district.as_deref())
}

/// An application the caller may see, or 404 (whether it does not exist or is not theirs).
pub async fn visible(state: &AppState, staff: &Staff, reference: &str) -> Result<Application> {
    store::application(&state.db, reference)
        .await?
        .filter(|a| may_see(staff, a))
        .ok_or_else(|| Error::NotFound(format!("no application {reference}")))
}

/// Add a document to an application (staff, for a walk-in applicant who brings it later) and
/// assess it again: one that lacked only this document becomes eligible.
pub async fn add_document(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    kind: &str,
    photo: Encoded,
    lang: Lang,
) -> Result<Receipt> {
    let a = visible(state, staff, reference).await?;
    let fund = store::fund_by_id(&state.db, a.fund_id)
        .await?
        .ok_or_else(|| Error::NotFound(String::new()))?;
    if !fund.documents.iter().any(|d| d.code == kind) {
        return Err(bad(t!(lang, "benefit-err-document", document = kind)));
    }
    state
        .files
        .put(crate::platform::files::Area::Documents, &photo)
        .await
        .map_err(|e| e.into_error(lang, state.config.max_photo_bytes))?;
    let mut kinds = document_kinds(&state.db, a.id).await?;
    kinds.push(kind.to_owned());
    let born = NaiveDate::parse_from_str(&a.birth_date, "%Y-%m-%d")
        .map_err(|e| Error::Internal(e.into()))?;
    let fails = model::assess(
        &fund.eligibility,
        &fund.entitlement,
        &fund.documents,
        &fund.questions,
        &Circumstances {
            district: a.district.clone(),
            gender: a.gender.clone(),
            answers: model::given(&serde_json::from_str(&a.answers).unwrap_or_default()),
            birth_date: born,
            monthly_income: a.monthly_income,
            dependants: a.dependants,
            grade: a.grade.clone(),
            documents: kinds,
        },
        a.submitted_at.date_naive(),
    );
    let mut tx = state.db.begin().await?;
    add_document_tx(&mut tx, a.id, kind, &photo, &staff.actor()).await?;
    // Only an application still waiting to be verified is assessed again.
    tx.execute(
        query(
            "UPDATE benefit_applications SET status = $1, reasons = $2, updated_at = $3, \
             version = version + 1 WHERE id = $4 AND status IN ('eligible', 'ineligible')",
        )
        .bind(status_of(&fails))
        .bind(serde_json::to_string(&fails).expect("serialisable"))
        .bind(Utc::now())
        .bind(a.id),
    )
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "benefit.document",
        "benefit_application",
        reference,
        serde_json::json!({"kind": kind}),
    )
    .await?;
    tx.commit().await?;
    let now = store::application(&state.db, reference)
        .await?
        .ok_or_else(|| Error::NotFound(String::new()))?;
    Ok(Receipt {
        slip: format!("/benefits/slip/{}", now.token),
        reference: now.reference,
        status: now.status,
        reasons: reasons(&now.reasons, lang),
    })
}

/// Stored reasons, in `lang`.
pub fn reasons(stored: &str, lang: Lang) -> Vec<String> {
    serde_json::from_str::<Vec<Failure>>(stored)
        .unwrap_or_default()
        .iter()
        .map(|f| f.message(lang))
        .collect()
}

/// Staff verification: an eligible application is `verified` (its papers are in order) or
/// `rejected` (with the reason in the note). Decided once: a second decision is a conflict.
pub async fn verify(
    state: &AppState,
    staff: &Staff,
    reference: &str,
    accept: bool,
    note: &str,
    lang: Lang,
) -> Result<Application> {
    let a = visible(state, staff, reference).await?;
    let note = note.trim();
    if !accept && note.is_empty() {
        return Err(bad(t!(lang, "benefit-err-reject-note")));
    }
    if note.chars().count() > 2000 {
        return Err(bad(t!(
            lang,
            "err-field-too-long",
            name = "note",
            max = 2000usize
        )));
    }
    let status = if accept { "verified" } else { "rejected" };
    let mut tx = state.db.begin().await?;
    let changed = tx
        .execute(
            query(
                "UPDATE benefit_applications SET status = $1, note = $2, verified_by = $3, \
                 verified_at = $4, updated_at = $4, version = version + 1 \
                 WHERE id = $5 AND status = 'eligible'",
            )
            .bind(status)
            .bind(note)
            .bind(staff.actor())
            .bind(Utc::now())
            .bind(a.id),
        )
        .await?;
    if changed == 0 {
        return Err(Error::Conflict(t!(
            lang,
            "benefit-err-not-eligible",
            status = a.status.as_str()
        )));
    }
    audit::record(
        &mut tx,
        &staff.actor(),
        &format!("benefit.{status}"),
        "benefit_application",
        reference,
        serde_json::json!({"note": note}),
    )
    .await?;
    tx.commit().await?;
    Ok(store::application(&state.db, reference)
        .await?
        .expect("just updated"))
}

/// What an applicant sees of their application, given its reference and their CNIC.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Status {
    pub reference: String,
    pub fund: String,
    pub fund_name: String,
    pub status: String,
    /// The status in the applicant's language.
    pub status_text: String,
    pub reasons: Vec<String>,
    /// Entitlement and payments so far, in paisa (from the ledger).
    pub entitled: i64,
    pub paid: i64,
    pub submitted_at: chrono::DateTime<Utc>,
    pub name: String,
    /// Masked: `*****-*****67-1`.
    pub cnic: String,
}

/// The status of an application, if the CNIC is the applicant's; `None` otherwise (the caller
/// cannot tell a wrong CNIC from a wrong reference).
pub async fn status(
    state: &AppState,
    reference: &str,
    cnic: &str,
    lang: Lang,
) -> Result<Option<Status>> {
    let reference = reference.trim().to_ascii_uppercase();
    let Some(cnic) = crate::platform::personal::Cnic::parse(cnic) else {
        return Ok(None);
    };
    let Some(a) = store::application(&state.db, &reference)
        .await?
        .filter(|a| a.cnic == cnic.digits())
    else {
        return Ok(None);
    };
    let fund = store::fund_by_id(&state.db, a.fund_id)
        .await?
        .ok_or_else(|| Error::NotFound(String::new()))?;
    let owed = ledger::owed(&state.db, a.id).await?;
    Ok(Some(Status {
        reference: a.reference,
        fund: fund.code.clone(),
        fund_name: fund.name.get(lang).to_owned(),
        status_text: status_text(lang, &a.status, owed),
        status: a.status,
        reasons: reasons(&a.reasons, lang),
        entitled: owed.entitled,
        paid: owed.paid,
        submitted_at: a.submitted_at,
        name: a.name,
        cnic: cnic.masked(),
    }))
}

/// A status as the applicant reads it: "Selected: Rs 25,000.00, Rs 10,000.00 paid so far".
pub fn status_text(lang: Lang, status: &str, owed: ledger::Owed) -> String {
    match status {
        "selected" if owed.paid >= owed.entitled && owed.paid > 0 => t!(
            lang,
            "benefit-status-paid",
            amount = model::rupees(owed.paid)
        ),
        "selected" => t!(
            lang,
            "benefit-status-selected",
            amount = model::rupees(owed.entitled),
            paid = model::rupees(owed.paid)
        ),
        other => lang.t(&format!("benefit-status-{other}")),
    }
}
