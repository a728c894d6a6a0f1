//! Question banks and the tests drawn from them. A department's bank comes from a pack (its
//! `[theory]` section, named after the first one: Raabta's driving theory e-test): questions in
//! three languages, each with an optional picture (a road sign), 3–4 options, one correct.
//! Practice sessions ask a few random questions with immediate feedback; a mock test is timed,
//! with a pass mark. Every answer is kept, so staff see each question's error rate. A finished
//! session is an impact event. The routes (`/theory`) and tables (`theory_*`) keep the first
//! bank's name: renaming them would break links and databases for nothing.

use chrono::{DateTime, Duration, Utc};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::platform::db::{query, Db, Tx};
use crate::platform::definitions::Definitions;
use crate::platform::error::{Error, Result};
use crate::platform::i18n::{Lang, Text3};
use crate::platform::identity::{Scope, Staff};
use crate::platform::impact;
use crate::platform::state::AppState;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankSpec {
    pub code: String,
    pub department: String,
    pub name: Text3,
    #[serde(default = "eighty")]
    pub pass_percent: i64,
    #[serde(default = "ten")]
    pub practice_questions: usize,
    #[serde(default = "twenty")]
    pub mock_questions: usize,
    #[serde(default = "fifteen")]
    pub mock_minutes: i64,
    #[serde(default)]
    pub minutes_saved: i64,
    pub question: Vec<Question>,
}

fn eighty() -> i64 {
    80
}
fn ten() -> usize {
    10
}
fn twenty() -> usize {
    20
}
fn fifteen() -> i64 {
    15
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub code: String,
    pub text: Text3,
    /// A picture shown with the question (`platform::pictures`), e.g. the road sign it asks
    /// about. Packs written before it had a generic name say `sign`.
    #[serde(default, alias = "sign")]
    pub picture: Option<String>,
    pub options: Vec<Text3>,
    /// The correct option, counting from 1.
    pub answer: usize,
}

impl BankSpec {
    pub fn check(&self) -> std::result::Result<(), String> {
        let c = &self.code;
        let mut seen = std::collections::HashSet::new();
        for q in &self.question {
            if !seen.insert(&q.code) {
                return Err(format!("bank {c}: question {} appears twice", q.code));
            }
            if !(3..=4).contains(&q.options.len()) {
                return Err(format!(
                    "bank {c}: question {} needs 3 or 4 options",
                    q.code
                ));
            }
            if !(1..=q.options.len()).contains(&q.answer) {
                return Err(format!(
                    "bank {c}: question {}: answer must be 1 to {}",
                    q.code,
                    q.options.len()
                ));
            }
            if let Some(s) = &q.picture {
                crate::platform::pictures::check(s)
                    .map_err(|e| format!("bank {c}: question {}: {e}", q.code))?;
            }
        }
        if self.mock_questions == 0 || self.mock_questions > self.question.len() {
            return Err(format!(
                "bank {c}: mock_questions must be 1 to the {} questions",
                self.question.len()
            ));
        }
        if self.practice_questions == 0 || self.practice_questions > self.question.len() {
            return Err(format!(
                "bank {c}: practice_questions must be 1 to the {} questions",
                self.question.len()
            ));
        }
        if !(1..=100).contains(&self.pass_percent) || !(1..=180).contains(&self.mock_minutes) {
            return Err(format!(
                "bank {c}: pass_percent 1–100 and mock_minutes 1–180"
            ));
        }
        Ok(())
    }

    pub fn find(&self, code: &str) -> Option<&Question> {
        self.question.iter().find(|q| q.code == code)
    }

    /// Passed: at least `pass_percent` of the questions right, exactly.
    pub fn passes(&self, correct: i64, total: i64) -> bool {
        total > 0 && correct * 100 >= self.pass_percent * total
    }
}

const BANKS: Definitions = Definitions::of_departments("theory_banks");

pub async fn upsert(tx: &mut Tx, b: &BankSpec, department_id: i64) -> Result<()> {
    Ok(BANKS.upsert(tx, &b.code, Some(department_id), b).await?)
}

/// Every bank with its department.
pub async fn banks(db: &Db) -> Result<Vec<(BankSpec, i64)>> {
    Ok(BANKS
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(b, department)| Some((b, department?)))
        .collect())
}

pub async fn bank(db: &Db, code: &str) -> Result<Option<(BankSpec, i64)>> {
    Ok(banks(db).await?.into_iter().find(|(b, _)| b.code == code))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Practice,
    Mock,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Practice => "practice",
            Kind::Mock => "mock",
        }
    }

    pub fn parse(s: &str) -> Kind {
        if s == "mock" {
            Kind::Mock
        } else {
            Kind::Practice
        }
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub token: String,
    pub bank: String,
    pub kind: Kind,
    pub questions: Vec<String>,
    pub deadline: Option<DateTime<Utc>>,
    pub finished: bool,
    pub correct: Option<i64>,
    pub passed: Option<bool>,
    /// Whose test it is (a citizen's key), if known.
    pub citizen: Option<String>,
    /// `(question, chosen, correct)` so far.
    pub answers: Vec<(String, i64, bool)>,
}

/// How a session is started: by whom (a citizen's key, for their history), on which channel,
/// and from which questions (USSD can only ask those that fit its screen).
pub struct Start<'a> {
    pub kind: Kind,
    pub citizen: Option<&'a str>,
    pub channel: &'a str,
    /// The questions to draw from; `None`: the whole bank.
    pub pool: Option<&'a [String]>,
}

/// Start a session of random questions (a mock test has a deadline). Fewer questions than the
/// bank asks for when the pool is smaller.
pub async fn start(state: &AppState, bank: &BankSpec, how: Start<'_>) -> Result<String> {
    let n = match how.kind {
        Kind::Practice => bank.practice_questions,
        Kind::Mock => bank.mock_questions,
    };
    let mut codes: Vec<String> = match how.pool {
        Some(pool) => pool
            .iter()
            .filter(|c| bank.find(c).is_some())
            .cloned()
            .collect(),
        None => bank.question.iter().map(|q| q.code.clone()).collect(),
    };
    codes.shuffle(&mut rand::rng());
    codes.truncate(n);
    if codes.is_empty() {
        return Err(Error::Conflict(
            "no question of this bank can be asked here".into(),
        ));
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let now = Utc::now();
    let deadline = (how.kind == Kind::Mock).then(|| now + Duration::minutes(bank.mock_minutes));
    let mut tx = state.db.begin().await?;
    tx.execute(
        query(
            "INSERT INTO theory_sessions (token, bank, kind, questions, started_at, deadline, citizen, channel) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&token)
        .bind(&bank.code)
        .bind(how.kind.as_str())
        .bind(serde_json::to_string(&codes).expect("serialisable"))
        .bind(now)
        .bind(deadline)
        .bind(how.citizen)
        .bind(how.channel),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// The newest session of this kind that `citizen` began on `channel` today and has not
/// finished (a mock test only while its time runs): a USSD test the network cut off, to resume.
pub async fn unfinished(
    db: &Db,
    bank: &str,
    citizen: &str,
    kind: Kind,
    channel: &str,
) -> Result<Option<String>> {
    let now = Utc::now();
    let row: Option<(String,)> = db
        .fetch_optional(
            query(
                "SELECT token FROM theory_sessions WHERE bank = $1 AND citizen = $2 AND kind = $3 \
                 AND channel = $4 AND finished_at IS NULL AND started_at > $5 \
                 AND (deadline IS NULL OR deadline > $6) ORDER BY id DESC LIMIT 1",
            )
            .bind(bank)
            .bind(citizen)
            .bind(kind.as_str())
            .bind(channel)
            .bind(now - Duration::days(1))
            .bind(now),
        )
        .await?;
    Ok(row.map(|r| r.0))
}

/// One finished test in a citizen's history.
#[derive(Debug, Clone)]
pub struct Past {
    pub token: String,
    pub bank: String,
    pub kind: Kind,
    pub channel: String,
    pub finished_at: DateTime<Utc>,
    pub correct: i64,
    pub total: usize,
    pub passed: bool,
}

/// A citizen's finished tests, newest first (at most the last 100).
pub async fn history(db: &Db, citizen: &str) -> Result<Vec<Past>> {
    type Row = (
        String,
        String,
        String,
        String,
        String,
        DateTime<Utc>,
        i64,
        bool,
    );
    let rows: Vec<Row> = db
        .fetch_all(
            query(
                "SELECT token, bank, kind, channel, questions, finished_at, correct, passed \
                 FROM theory_sessions WHERE citizen = $1 AND finished_at IS NOT NULL \
                 ORDER BY finished_at DESC, id DESC LIMIT 100",
            )
            .bind(citizen),
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Past {
            token: r.0,
            bank: r.1,
            kind: Kind::parse(&r.2),
            channel: r.3,
            total: serde_json::from_str::<Vec<String>>(&r.4)
                .map(|v| v.len())
                .unwrap_or(0),
            finished_at: r.5,
            correct: r.6,
            passed: r.7,
        })
        .collect())
}

type SessionRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<i64>,
    Option<bool>,
    Option<String>,
);

pub async fn session(db: &Db, token: &str) -> Result<Option<Session>> {
    let row: Option<SessionRow> = db
        .fetch_optional(
            query(
                "SELECT id, token, bank, kind, questions, deadline, finished_at, correct, passed, citizen \
                 FROM theory_sessions WHERE token = $1",
            )
            .bind(token),
        )
        .await?;
    let Some(r) = row else { return Ok(None) };
    let answers: Vec<(String, i64, bool)> = db
        .fetch_all(
            query("SELECT question, chosen, correct FROM theory_answers WHERE session_id = $1 ORDER BY at")
                .bind(r.0),
        )
        .await?;
    Ok(Some(Session {
        id: r.0,
        token: r.1,
        bank: r.2,
        kind: Kind::parse(&r.3),
        questions: serde_json::from_str(&r.4).unwrap_or_default(),
        deadline: r.5,
        finished: r.6.is_some(),
        correct: r.7,
        passed: r.8,
        citizen: r.9,
        answers,
    }))
}

/// Record answers (`(question, chosen option from 1)`): one at a time, or all at once (a mock
/// test's page). A session ends when every question is answered, when `last` says these are
/// the last answers (a mock test's page is sent), or once a mock test's time is up; answers
/// sent after that are not counted.
#[allow(clippy::too_many_arguments)]
pub async fn answer(
    state: &AppState,
    bank: &BankSpec,
    department_id: i64,
    s: &Session,
    given: &[(String, i64)],
    last: bool,
    channel: &str,
    lang: Lang,
) -> Result<()> {
    if s.finished {
        return Err(Error::Conflict(lang.t("quiz-err-finished")));
    }
    let now = Utc::now();
    // A minute's grace for the page that was sent as the time ran out.
    let late = s.deadline.is_some_and(|d| now > d + Duration::minutes(1));
    let mut tx = state.db.begin().await?;
    if !late {
        for (code, chosen) in given {
            if !s.questions.contains(code) || s.answers.iter().any(|a| &a.0 == code) {
                continue;
            }
            let q = bank
                .find(code)
                .ok_or_else(|| Error::BadRequest(lang.t("quiz-err-question")))?;
            if !(1..=q.options.len() as i64).contains(chosen) {
                return Err(Error::BadRequest(lang.t("quiz-err-choose")));
            }
            tx.execute(
                query(
                    "INSERT INTO theory_answers (session_id, bank, question, chosen, correct, at) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id, question) DO NOTHING",
                )
                .bind(s.id)
                .bind(&bank.code)
                .bind(code)
                .bind(*chosen)
                .bind(*chosen == q.answer as i64)
                .bind(now),
            )
            .await?;
        }
    }
    // Marked out of the questions the bank still holds: a pack import that drops a question
    // while a test runs neither strands the test nor counts an answer to a question that is gone.
    let rows: Vec<(String, bool)> = tx
        .fetch_all(
            query("SELECT question, correct FROM theory_answers WHERE session_id = $1").bind(s.id),
        )
        .await?;
    let rows: Vec<&(String, bool)> = rows.iter().filter(|r| bank.find(&r.0).is_some()).collect();
    let answered = rows.len() as i64;
    let correct = rows.iter().filter(|r| r.1).count() as i64;
    let total = s
        .questions
        .iter()
        .filter(|c| bank.find(c).is_some())
        .count() as i64;
    if last || late || answered >= total {
        let passed = bank.passes(correct, total);
        let n = tx
            .execute(
                query(
                    "UPDATE theory_sessions SET finished_at = $1, correct = $2, passed = $3 \
                     WHERE id = $4 AND finished_at IS NULL",
                )
                .bind(now)
                .bind(correct)
                .bind(passed)
                .bind(s.id),
            )
            .await?;
        if n == 1 {
            impact::record(
                &mut tx,
                &impact::Event {
                    service: "theory",
                    kind: if s.kind == Kind::Mock {
                        "mock_test"
                    } else {
                        "practice"
                    },
                    code: Some(&bank.code),
                    channel,
                    district: None,
                    department_id: Some(department_id),
                    minutes_saved: bank.minutes_saved,
                    citizen: s.citizen.as_deref().map(impact::Citizen::known),
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Each question's answers and wrong answers, worst first: for the department's staff.
/// The banks whose answers `staff` may read: their department's (every bank for an
/// administrator). A district does not narrow them: a bank is the department's.
pub async fn banks_for(db: &Db, staff: &Staff) -> Result<Vec<BankSpec>> {
    Ok(banks(db)
        .await?
        .into_iter()
        .filter(|(_, department_id)| match &staff.scope {
            Scope::All => true,
            Scope::Department {
                department_id: d, ..
            } => d == department_id,
        })
        .map(|(b, _)| b)
        .collect())
}

pub async fn error_rates(
    db: &Db,
    staff: &Staff,
    code: &str,
) -> Result<Option<(BankSpec, Vec<(String, i64, i64)>)>> {
    let Some(bank) = banks_for(db, staff)
        .await?
        .into_iter()
        .find(|b| b.code == code)
    else {
        return Ok(None);
    };
    let rows: Vec<(String, i64, i64)> = db
        .fetch_all(
            query(
                "SELECT question, COUNT(*), CAST(COALESCE(SUM(CASE WHEN correct THEN 0 ELSE 1 END), 0) AS BIGINT) \
                 FROM theory_answers WHERE bank = $1 GROUP BY question",
            )
            .bind(code),
        )
        .await?;
    let mut out: Vec<(String, i64, i64)> = bank
        .question
        .iter()
        .map(|q| {
            let (n, wrong) = rows
                .iter()
                .find(|r| r.0 == q.code)
                .map(|r| (r.1, r.2))
                .unwrap_or((0, 0));
            (q.code.clone(), n, wrong)
        })
        .collect();
    out.sort_by(|a, b| {
        let rate = |x: &(String, i64, i64)| {
            if x.1 == 0 {
                -1.0
            } else {
                x.2 as f64 / x.1 as f64
            }
        };
        rate(b).total_cmp(&rate(a)).then(a.0.cmp(&b.0))
    });
    Ok(Some((bank, out)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_bank_is_whole_and_passing_is_exact() {
        let pack =
            crate::packs::Pack::parse(include_str!("../../packs/kp-driving-theory.toml")).unwrap();
        let bank = &pack.theory.bank[0];
        bank.check().unwrap();
        assert!(bank.question.len() >= 40);
        assert!(bank
            .question
            .iter()
            .all(|q| !q.text.ur.is_empty() && !q.text.ps.is_empty()));
        assert!(bank.passes(16, 20) && !bank.passes(15, 20));
        let mut bad = bank.clone();
        bad.question[0].answer = 9;
        assert!(bad.check().unwrap_err().contains("answer must be 1 to 3"));
    }
}
