//! Question-bank tests on the web (the driving theory test is one): `/theory` (the banks; titled
//! by the pack when it publishes one), a bank's page (practice or a mock
//! test), a session (one question at a time with feedback in practice; every question on one
//! timed page in a mock test; the result with each answer reviewed), and for staff each
//! question's error rate.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use serde::Deserialize;

use super::staff::{staff_page, StaffPage};
use super::{render, FormPost, Here, OrPage, Page, PageError, PublicWrite};
use crate::platform::citizen::MaybeCitizen;
use crate::platform::i18n::Lang;
use crate::platform::pictures;
use crate::platform::state::AppState;
use crate::quiz::{self, BankSpec, Kind, Question};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/theory", get(banks))
        .route("/theory/{bank}", get(bank_page))
        .route("/theory/{bank}/start", post(start))
        .route("/theory/s/{token}", get(session_page).post(answer))
        .route("/staff/theory/{bank}", get(error_rates))
}

#[derive(Template)]
#[template(path = "quiz_banks.html")]
struct BanksPage {
    p: Page,
    /// (code, name, practice, mock questions, minutes, pass %)
    banks: Vec<(String, String, usize, usize, i64, i64)>,
    /// Show one bank's start forms (its own page) rather than the list.
    one: bool,
    /// A citizen is signed in (their scores are kept).
    signed_in: bool,
}

fn bank_rows(
    list: &[(BankSpec, i64)],
    lang: Lang,
) -> Vec<(String, String, usize, usize, i64, i64)> {
    list.iter()
        .map(|(b, _)| {
            (
                b.code.clone(),
                b.name.get(lang).to_owned(),
                b.practice_questions,
                b.mock_questions,
                b.mock_minutes,
                b.pass_percent,
            )
        })
        .collect()
}

async fn banks(
    State(state): State<AppState>,
    MaybeCitizen(who): MaybeCitizen,
    Here { lang, csrf, uri }: Here,
) -> Result<Response, PageError> {
    let list = quiz::banks(&state.db).await.or_page(lang)?;
    // The title is the pack's: one bank published (the driving theory test) names the page;
    // several share a generic one.
    let title = match list.as_slice() {
        [(only, _)] => only.name.get(lang).to_owned(),
        _ => lang.t("quiz-title"),
    };
    let page = BanksPage {
        p: Page::new(lang, title, &uri, &csrf),
        banks: bank_rows(&list, lang),
        one: false,
        signed_in: who.is_some(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn bank_or_404(
    state: &AppState,
    code: &str,
    lang: Lang,
) -> Result<(BankSpec, i64), PageError> {
    quiz::bank(&state.db, code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))
}

async fn bank_page(
    State(state): State<AppState>,
    MaybeCitizen(who): MaybeCitizen,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let b = bank_or_404(&state, &code, lang).await?;
    let page = BanksPage {
        p: Page::new(lang, b.0.name.get(lang).to_owned(), &uri, &csrf),
        banks: bank_rows(std::slice::from_ref(&b), lang),
        one: true,
        signed_in: who.is_some(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn start(
    State(state): State<AppState>,
    MaybeCitizen(who): MaybeCitizen,
    _: PublicWrite,
    lang: Lang,
    Path(code): Path<String>,
    FormPost(_, f): FormPost<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (b, _) = bank_or_404(&state, &code, lang).await?;
    let kind = if f.get("kind").map(String::as_str) == Some("mock") {
        Kind::Mock
    } else {
        Kind::Practice
    };
    let how = quiz::Start {
        kind,
        citizen: who.as_ref().map(|w| w.key.as_str()),
        channel: "web",
        pool: None,
    };
    let token = quiz::start(&state, &b, how).await.or_page(lang)?;
    Ok(Redirect::to(&format!("/theory/s/{token}")).into_response())
}

pub struct QuestionView {
    pub code: String,
    pub number: usize,
    pub text: String,
    pub picture: String,
    pub options: Vec<String>,
    /// The right option (from 1) and the one chosen, once answered.
    pub answer: usize,
    pub chosen: Option<i64>,
}

impl QuestionView {
    /// Answered, and right.
    pub fn right(&self) -> bool {
        self.chosen == Some(self.answer as i64)
    }
    pub fn right_option(&self) -> &str {
        self.options
            .get(self.answer.saturating_sub(1))
            .map(String::as_str)
            .unwrap_or("")
    }
    /// The option the citizen chose ("" if none).
    pub fn chosen_option(&self) -> &str {
        self.chosen
            .and_then(|c| self.options.get((c as usize).saturating_sub(1)))
            .map(String::as_str)
            .unwrap_or("")
    }
}

fn view(q: &Question, number: usize, lang: Lang, chosen: Option<i64>) -> QuestionView {
    QuestionView {
        code: q.code.clone(),
        number,
        text: q.text.get(lang).to_owned(),
        picture: q
            .picture
            .as_deref()
            .and_then(|s| pictures::svg(s, &lang.t("quiz-picture")))
            .unwrap_or_default(),
        options: q.options.iter().map(|o| o.get(lang).to_owned()).collect(),
        answer: q.answer,
        chosen,
    }
}

#[derive(Template)]
#[template(path = "quiz_session.html")]
struct SessionPage {
    p: Page,
    bank: String,
    bank_name: String,
    token: String,
    mock: bool,
    finished: bool,
    /// Feedback on the question just answered (practice).
    feedback: Option<QuestionView>,
    /// What to answer now: the next question (practice) or all (a mock test).
    ask: Vec<QuestionView>,
    /// Every question with its answer, once finished.
    review: Vec<QuestionView>,
    correct: i64,
    total: usize,
    passed: bool,
    pass_percent: i64,
    minutes_left: i64,
    progress: usize,
    /// The test is kept in a citizen's history.
    kept: bool,
}

#[derive(Deserialize)]
struct AfterQuery {
    after: Option<String>,
}

async fn session_page(
    State(state): State<AppState>,
    Here { lang, csrf, uri }: Here,
    Path(token): Path<String>,
    Query(q): Query<AfterQuery>,
) -> Result<Response, PageError> {
    let s = quiz::session(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let (b, _) = bank_or_404(&state, &s.bank, lang).await?;
    let chosen = |code: &str| s.answers.iter().find(|a| a.0 == code).map(|a| a.1);
    let all: Vec<QuestionView> = s
        .questions
        .iter()
        .enumerate()
        .filter_map(|(i, c)| b.find(c).map(|qq| view(qq, i + 1, lang, chosen(c))))
        .collect();
    let feedback = q
        .after
        .as_deref()
        .and_then(|c| all.iter().find(|v| v.code == c && v.chosen.is_some()))
        .map(|v| {
            view(
                b.find(&v.code).expect("in the bank"),
                v.number,
                lang,
                v.chosen,
            )
        });
    let ask: Vec<QuestionView> = if s.finished {
        vec![]
    } else if s.kind == Kind::Mock {
        all.iter()
            .map(|v| view(b.find(&v.code).expect("in the bank"), v.number, lang, None))
            .collect()
    } else {
        all.iter()
            .find(|v| v.chosen.is_none())
            .map(|v| view(b.find(&v.code).expect("in the bank"), v.number, lang, None))
            .into_iter()
            .collect()
    };
    let total = all.len();
    let title = if s.kind == Kind::Mock {
        "quiz-mock"
    } else {
        "quiz-practice"
    };
    let page = SessionPage {
        p: Page::new(
            lang,
            format!("{}: {}", b.name.get(lang), lang.t(title)),
            &uri,
            &csrf,
        ),
        bank: b.code.clone(),
        bank_name: b.name.get(lang).to_owned(),
        token: s.token.clone(),
        mock: s.kind == Kind::Mock,
        finished: s.finished,
        feedback,
        ask,
        review: if s.finished { all } else { vec![] },
        correct: s.correct.unwrap_or(0),
        total,
        passed: s.passed.unwrap_or(false),
        pass_percent: b.pass_percent,
        minutes_left: s
            .deadline
            .map(|d| (d - Utc::now()).num_minutes().max(0))
            .unwrap_or(0),
        progress: s.answers.len(),
        kept: s.citizen.is_some(),
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}

async fn answer(
    State(state): State<AppState>,
    lang: Lang,
    Path(token): Path<String>,
    FormPost(_, f): FormPost<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let s = quiz::session(&state.db, &token)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let (b, department_id) = bank_or_404(&state, &s.bank, lang).await?;
    let given: Vec<(String, i64)> = f
        .iter()
        .filter_map(|(k, v)| {
            let code = k.strip_prefix("a[")?.strip_suffix(']')?;
            Some((code.to_owned(), v.trim().parse().ok()?))
        })
        .collect();
    if s.kind == Kind::Practice && given.is_empty() {
        return Err(PageError {
            error: crate::platform::error::Error::BadRequest(lang.t("quiz-err-choose")),
            lang,
        });
    }
    let last = s.kind == Kind::Mock;
    quiz::answer(&state, &b, department_id, &s, &given, last, "web", lang)
        .await
        .or_page(lang)?;
    let to = match (s.kind, given.first()) {
        (Kind::Practice, Some((code, _))) => format!("/theory/s/{token}?after={code}"),
        _ => format!("/theory/s/{token}"),
    };
    Ok(Redirect::to(&to).into_response())
}

#[derive(Template)]
#[template(path = "staff_quiz.html")]
struct RatesPage {
    p: Page,
    /// (code, question, answers, wrong, percent wrong)
    rows: Vec<(String, String, i64, i64, String)>,
}

async fn error_rates(
    State(state): State<AppState>,
    StaffPage(staff): StaffPage,
    Here { lang, csrf, uri }: Here,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    let (bank, rates) = quiz::error_rates(&state.db, &staff, &code)
        .await
        .or_page(lang)?
        .ok_or_else(|| PageError::not_found(lang))?;
    let rows = rates
        .into_iter()
        .map(|(c, n, wrong)| {
            let text = bank
                .find(&c)
                .map(|q| q.text.get(lang).to_owned())
                .unwrap_or_default();
            let pct = if n == 0 {
                String::new()
            } else {
                format!("{:.0}%", wrong as f64 * 100.0 / n as f64)
            };
            (c, text, n, wrong, pct)
        })
        .collect();
    let page = RatesPage {
        p: staff_page(
            &state,
            lang,
            bank.name.get(lang).to_owned(),
            &uri,
            &csrf,
            &staff,
        ),
        rows,
    };
    Ok(render(StatusCode::OK, &csrf, &page))
}
