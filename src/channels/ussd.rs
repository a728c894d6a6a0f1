//! The USSD menus, generated from the service packs: language → department → service → the
//! service's list questions → district → landmark → confirm. After the departments, one entry
//! per register ("Check: driving licence") asks for a key and ends with the answer, and one per
//! theory test bank offers practice or a mock test of the text questions that fit a screen.
//! Pure: a state and an input in, the next screen out; `mod.rs` keeps the state in the
//! database, files the report, runs the lookup and records the test's answers.
//!
//! A screen is at most 182 characters (the USSD limit); longer menus page with "0 more".
//! Numbers stay the same on every page, so "12" means the twelfth item wherever it is shown.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::platform::i18n::{Lang, Text3};
use crate::platform::questions::{Attribute, Datatype};
use crate::quiz::{BankSpec, Question};
use crate::reports::model::Service;
use crate::t;

pub const LIMIT: usize = 182;
/// The languages of the first menu, in its order.
pub const LANGS: [Lang; 3] = [Lang::En, Lang::Ur, Lang::Ps];
const LANDMARK_MAX: usize = 200;
/// Room kept on a test question's screen for the verdict on the one before.
const VERDICT_MAX: usize = 40;

/// What the menus offer: the services by department, and the districts.
pub struct Catalog {
    pub departments: Vec<(Text3, Vec<Arc<Service>>)>,
    /// `(slug, name)`.
    pub districts: Vec<(String, Text3)>,
    /// Registers to look up: `(code, name)`.
    pub registers: Vec<(String, Text3)>,
    /// Theory test banks.
    pub banks: Vec<Arc<BankSpec>>,
    /// Kinds of places to find: `(code, name)`.
    pub kinds: Vec<(String, Text3)>,
}

impl Catalog {
    pub fn new(services: Vec<Arc<Service>>, districts: Vec<(String, Text3)>) -> Catalog {
        let mut departments: Vec<(i64, Text3, Vec<Arc<Service>>)> = Vec::new();
        for s in services {
            match departments.iter_mut().find(|d| d.0 == s.department_id) {
                Some(d) => d.2.push(s),
                None => departments.push((s.department_id, s.department_name.clone(), vec![s])),
            }
        }
        Catalog {
            departments: departments.into_iter().map(|(_, n, s)| (n, s)).collect(),
            districts,
            registers: Vec::new(),
            banks: Vec::new(),
            kinds: Vec::new(),
        }
    }

    /// The same menus, with "find a place" before "where is my report?".
    pub fn with_kinds(mut self, kinds: Vec<(String, Text3)>) -> Catalog {
        self.kinds = kinds;
        self
    }

    /// The same menus, with theory tests after the registers.
    pub fn with_banks(mut self, banks: Vec<Arc<BankSpec>>) -> Catalog {
        self.banks = banks;
        self
    }

    fn bank(&self, code: &str) -> Option<&Arc<BankSpec>> {
        self.banks.iter().find(|b| b.code == code)
    }

    /// The same menus, with registers to look up after the departments.
    pub fn with_registers(mut self, registers: Vec<(String, Text3)>) -> Catalog {
        self.registers = registers;
        self
    }

    pub fn service(&self, code: &str) -> Option<&Arc<Service>> {
        self.departments
            .iter()
            .flat_map(|d| d.1.iter())
            .find(|s| s.code == code)
    }

    fn districts_in(&self, lang: Lang) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .districts
            .iter()
            .map(|(slug, name)| (slug.clone(), name.get(lang).to_owned()))
            .collect();
        v.sort_by(|a, b| a.1.cmp(&b.1));
        v
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    #[default]
    Lang,
    Department,
    Service,
    Question,
    District,
    Landmark,
    Confirm,
    /// Typing the key of `State::register`.
    RegisterKey,
    /// Practice or a mock test of `State::bank`.
    TheoryKind,
    /// Answering the test in `State::quiz`.
    Theory,
    /// Describing the problem in words or a voice note (WhatsApp, a call).
    Describe,
    /// Sending photos (WhatsApp).
    Photo,
    /// Typing a report's reference to hear where it stands.
    StatusKey,
    /// Choosing a kind of place to find.
    FindKind,
    /// Where to look for it: a district (or, on WhatsApp, a shared location).
    FindWhere,
}

/// Which channel walks the menus: each asks what it can carry. USSD types a landmark; WhatsApp
/// may share a location instead, describes the problem (typed or a voice note) and sends photos;
/// a call records the description and asks no landmark (a caller cannot type one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    #[default]
    Ussd,
    WhatsApp,
    Voice,
}

/// Where a caller is, kept between requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub step: Step,
    pub lang: Lang,
    pub department: usize,
    pub service: Option<String>,
    /// Which of the service's list questions is being asked.
    pub question: usize,
    pub answers: BTreeMap<String, Vec<String>>,
    pub district: Option<String>,
    pub landmark: Option<String>,
    /// The page of the menu on screen.
    pub page: usize,
    /// The register being looked up.
    #[serde(default)]
    pub register: Option<String>,
    /// The theory test bank chosen.
    #[serde(default)]
    pub bank: Option<String>,
    #[serde(default)]
    pub quiz: Option<Quiz>,
    #[serde(default)]
    pub channel: Channel,
    /// A shared location `(lat, long)`: the place, without a typed landmark.
    #[serde(default)]
    pub location: Option<(f64, f64)>,
    /// The problem in the citizen's words.
    #[serde(default)]
    pub description: Option<String>,
    /// The problem as a recording: the channel's reference to it (a WhatsApp media id, a
    /// call's recording address), fetched when the report is filed.
    #[serde(default)]
    pub voice: Option<String>,
    /// Photos sent: the channel's references to them (WhatsApp media ids).
    #[serde(default)]
    pub photos: Vec<String>,
    /// The kind of place being looked for.
    #[serde(default)]
    pub kind: Option<String>,
}

impl State {
    /// A fresh session of `channel`; in `lang` straight at the departments when the channel
    /// knows the language already (WhatsApp reads it from the first message's script).
    pub fn start(channel: Channel, lang: Option<Lang>) -> State {
        let mut s = State {
            channel,
            ..Default::default()
        };
        if let Some(lang) = lang {
            s.lang = lang;
            s.step = Step::Department;
        }
        s
    }
}

/// A theory test under way (its answers are recorded in the database as they come).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Quiz {
    pub token: String,
    pub questions: Vec<String>,
    /// Questions answered so far.
    pub done: usize,
    pub mock: bool,
}

impl Quiz {
    pub fn current(&self) -> Option<&str> {
        self.questions.get(self.done).map(String::as_str)
    }
}

pub enum Reply {
    /// Show this and wait for an answer (`CON`).
    Continue(String),
    /// Show this and end (`END`).
    End(String),
    /// Everything is answered and confirmed: file the report.
    Submit,
    /// Look `key` up in `register` and end with the answer.
    Lookup { register: String, key: String },
    /// Start (or resume) a theory test of `bank` drawn from `pool`, then [`begin_quiz`].
    QuizStart {
        bank: String,
        mock: bool,
        pool: Vec<String>,
    },
    /// Record `chosen` (from 1) for `question` of the test `token`, then [`answered`].
    QuizAnswer {
        token: String,
        question: String,
        chosen: i64,
    },
    /// Say where report `reference` stands, and end.
    Status { reference: i64 },
    /// Name the nearest places of `kind` to a district's centre or a shared location, and end.
    Find {
        kind: String,
        district: Option<String>,
        location: Option<(f64, f64)>,
    },
}

/// A test question as a USSD screen: `n/total`, the question, its numbered options.
fn question_screen(q: &Question, n: usize, total: usize, lang: Lang) -> String {
    let mut s = format!("{n}/{total} {}", q.text.get(lang));
    for (i, o) in q.options.iter().enumerate() {
        s.push_str(&format!("\n{} {}", i + 1, o.get(lang)));
    }
    s
}

/// The questions of `bank` that USSD can ask in `lang`: text only (no sign to show), and short
/// enough to fit one screen whole with the verdict on the question before.
pub fn pool(bank: &BankSpec, lang: Lang) -> Vec<String> {
    let total = bank.question.len().max(bank.mock_questions);
    bank.question
        .iter()
        .filter(|q| q.picture.is_none())
        .filter(|q| question_screen(q, total, total, lang).chars().count() + VERDICT_MAX < LIMIT)
        .map(|q| q.code.clone())
        .collect()
}

/// How many questions a USSD test of this kind asks.
fn quiz_length(bank: &BankSpec, mock: bool, lang: Lang) -> usize {
    let want = if mock {
        bank.mock_questions
    } else {
        bank.practice_questions
    };
    want.min(pool(bank, lang).len())
}

/// The test has started (or resumed): ask its next question.
pub fn begin_quiz(state: &mut State, quiz: Quiz) {
    state.quiz = Some(quiz);
    go(state, Step::Theory);
}

/// The verdict on the current question, in practice (a mock test gives none until the end):
/// "Right!", or the number of the right option.
pub fn verdict(state: &State, cat: &Catalog, right: bool) -> Option<String> {
    let quiz = state.quiz.as_ref().filter(|z| !z.mock)?;
    if right {
        return Some(t!(state.lang, "ussd-quiz-right"));
    }
    let answer = quiz
        .current()
        .zip(state.bank.as_deref().and_then(|b| cat.bank(b)))
        .and_then(|(c, b)| b.find(c))
        .map(|q| q.answer)?;
    Some(t!(state.lang, "ussd-quiz-wrong", answer = answer))
}

/// The answer to the current question is recorded (`right` or not; `answered` the session's
/// count so far): the verdict and the next question, or `None` when that was the last.
pub fn answered(state: &mut State, cat: &Catalog, right: bool, answered: usize) -> Option<String> {
    let verdict = verdict(state, cat, right);
    let quiz = state.quiz.as_mut()?;
    quiz.done = answered.max(quiz.done + 1);
    quiz.current()?;
    Some(screen(state, cat, verdict.as_deref()))
}

/// The questions a USSD caller can answer: a service's list attributes, in order.
pub fn questions(service: &Service) -> Vec<&Attribute> {
    let mut q: Vec<&Attribute> = service
        .attributes
        .iter()
        .filter(|a| a.variable && a.datatype.is_list())
        .collect();
    q.sort_by_key(|a| a.order.unwrap_or(i64::MAX));
    q
}

/// `s` cut to `max` characters (ending "…" when cut).
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        s.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    }
}

/// Split `items` into pages that fit under `head` (with "0 more" when more follow). Returns
/// each page's first index.
fn page_starts(head: &str, items: &[String], more: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut len = head.chars().count();
    for (i, item) in items.iter().enumerate() {
        let line = format!("\n{} {}", i + 1, item).chars().count();
        let footer = if i + 1 < items.len() {
            1 + more.chars().count()
        } else {
            0
        };
        if len + line + footer > LIMIT && i > *starts.last().unwrap() {
            starts.push(i);
            len = head.chars().count();
        }
        len += line;
    }
    starts
}

fn menu(head: &str, items: &[String], page: usize, lang: Lang) -> String {
    let more = t!(lang, "ussd-more");
    let head = shorten(head, LIMIT / 2);
    let items: Vec<String> = items.iter().map(|i| shorten(i, 60)).collect();
    let starts = page_starts(&head, &items, &more);
    let page = page % starts.len();
    let end = starts.get(page + 1).copied().unwrap_or(items.len());
    let mut s = head.clone();
    for (i, item) in items.iter().enumerate().take(end).skip(starts[page]) {
        s.push_str(&format!("\n{} {}", i + 1, item));
    }
    if starts.len() > 1 {
        s.push('\n');
        s.push_str(&more);
    }
    s
}

/// The menu's items on the current step.
fn items(state: &State, cat: &Catalog) -> Vec<String> {
    let lang = state.lang;
    match state.step {
        Step::Lang => LANGS.iter().map(|l| l.native_name().to_owned()).collect(),
        Step::Department => cat
            .departments
            .iter()
            .map(|d| d.0.get(lang).to_owned())
            .chain(
                cat.registers
                    .iter()
                    .map(|r| t!(lang, "ussd-check", name = r.1.get(lang).to_owned())),
            )
            .chain(
                cat.banks
                    .iter()
                    .filter(|b| !pool(b, lang).is_empty())
                    .map(|b| t!(lang, "ussd-quiz", name = b.name.get(lang).to_owned())),
            )
            .chain((!cat.kinds.is_empty()).then(|| lang.t("ussd-find-item")))
            .chain(std::iter::once(lang.t("ussd-status-item")))
            .collect(),
        Step::FindKind => cat.kinds.iter().map(|k| k.1.get(lang).to_owned()).collect(),
        Step::FindWhere => cat.districts_in(lang).into_iter().map(|d| d.1).collect(),
        Step::TheoryKind => match state.bank.as_deref().and_then(|b| cat.bank(b)) {
            Some(b) => vec![
                t!(lang, "ussd-quiz-practice", n = quiz_length(b, false, lang)),
                t!(
                    lang,
                    "ussd-quiz-mock",
                    n = quiz_length(b, true, lang),
                    pass = b.pass_percent
                ),
            ],
            None => vec![],
        },
        Step::Service => cat
            .departments
            .get(state.department)
            .map(|d| d.1.iter().map(|s| s.name.get(lang).to_owned()).collect())
            .unwrap_or_default(),
        Step::Question => match current_question(state, cat) {
            Some(a) => {
                let mut v: Vec<String> = a
                    .values
                    .iter()
                    .map(|v| v.name.get(lang).to_owned())
                    .collect();
                if !a.required {
                    v.push(t!(lang, "ussd-skip"));
                }
                v
            }
            None => vec![],
        },
        Step::District => cat.districts_in(lang).into_iter().map(|d| d.1).collect(),
        Step::Landmark | Step::RegisterKey | Step::Theory | Step::Describe | Step::StatusKey => {
            vec![]
        }
        Step::Photo => vec![t!(lang, "channel-photo-done")],
        Step::Confirm => vec![t!(lang, "ussd-send"), t!(lang, "ussd-cancel")],
    }
}

/// The recorded prompt that says each of the current step's items (in the order of [`items`]):
/// a department's `department-{slug}`, a service's `service-{code}`, an answer's
/// `answer-{service}-{question}-{value}`, a district's `district-{slug}`; fixed words by their
/// message's name. A call plays the recording where the department supplied one.
pub fn item_prompts(state: &State, cat: &Catalog) -> Vec<String> {
    let lang = state.lang;
    match state.step {
        Step::Lang => vec!["lang-en".into(), "lang-ur".into(), "lang-ps".into()],
        Step::Department => cat
            .departments
            .iter()
            .map(|d| {
                format!(
                    "department-{}",
                    d.1.first()
                        .map(|s| s.department_slug.as_str())
                        .unwrap_or("")
                )
            })
            .chain(cat.registers.iter().map(|r| format!("register-{}", r.0)))
            .chain(
                cat.banks
                    .iter()
                    .filter(|b| !pool(b, lang).is_empty())
                    .map(|b| format!("quiz-{}", b.code)),
            )
            .chain((!cat.kinds.is_empty()).then(|| "ussd-find-item".into()))
            .chain(std::iter::once("ussd-status-item".into()))
            .collect(),
        Step::FindKind => cat.kinds.iter().map(|k| format!("kind-{}", k.0)).collect(),
        Step::FindWhere => cat
            .districts_in(lang)
            .into_iter()
            .map(|d| format!("district-{}", d.0))
            .collect(),
        // Said with the test's own numbers, which no recording knows.
        Step::TheoryKind => vec![],
        Step::Service => cat
            .departments
            .get(state.department)
            .map(|d| d.1.iter().map(|s| format!("service-{}", s.code)).collect())
            .unwrap_or_default(),
        Step::Question => match (current_question(state, cat), state.service.as_deref()) {
            (Some(a), Some(service)) => {
                let mut v: Vec<String> = a
                    .values
                    .iter()
                    .map(|v| format!("answer-{service}-{}-{}", a.code, v.key))
                    .collect();
                if !a.required {
                    v.push("ussd-skip".into());
                }
                v
            }
            _ => vec![],
        },
        Step::District => cat
            .districts_in(lang)
            .into_iter()
            .map(|d| format!("district-{}", d.0))
            .collect(),
        Step::Confirm => vec!["ussd-send".into(), "ussd-cancel".into()],
        Step::Photo => vec!["channel-photo-done".into()],
        Step::Landmark | Step::RegisterKey | Step::Theory | Step::Describe | Step::StatusKey => {
            vec![]
        }
    }
}

/// The recorded prompt of the current step's question, where one fits every caller (a
/// question's own, or a fixed message); `None` where the words are made for the caller.
pub fn head_prompt(state: &State, cat: &Catalog) -> Option<String> {
    Some(match state.step {
        Step::Lang => "voice-welcome".into(),
        Step::Department => "ussd-department".into(),
        Step::Service => "ussd-service".into(),
        Step::Question => {
            let a = current_question(state, cat)?;
            format!("question-{}-{}", state.service.as_deref()?, a.code)
        }
        Step::District => "ussd-district".into(),
        Step::Describe => "voice-describe".into(),
        Step::StatusKey => "ussd-status-key".into(),
        Step::FindKind => "ussd-find-kind".into(),
        Step::FindWhere => "ussd-district".into(),
        Step::Confirm => "voice-confirm".into(),
        Step::Photo | Step::Landmark | Step::RegisterKey | Step::Theory | Step::TheoryKind => {
            return None
        }
    })
}

/// Every recorded prompt the menus can say in `lang` (see [`item_prompts`] and
/// [`head_prompt`]), with the words it says: what a department records, and what
/// `khidmat voice prompts` and the admin pages list as missing.
pub fn all_prompts(cat: &Catalog, lang: Lang) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = vec![
        ("voice-welcome".into(), "Khidmat خدمت".into()),
        (
            format!("lang-{}", lang.code()),
            t!(
                lang,
                "voice-press",
                name = lang.native_name(),
                n = LANGS.iter().position(|l| *l == lang).unwrap_or(0) + 1
            ),
        ),
    ];
    for key in [
        "ussd-department",
        "ussd-service",
        "ussd-district",
        "voice-describe",
        "voice-confirm",
        "ussd-send",
        "ussd-cancel",
        "ussd-skip",
        "ussd-invalid",
        "ussd-status-item",
        "ussd-status-key",
        "voice-more",
        "voice-goodbye",
    ] {
        v.push((key.into(), lang.t(key)));
    }
    if !cat.kinds.is_empty() {
        for key in ["ussd-find-item", "ussd-find-kind"] {
            v.push((key.into(), lang.t(key)));
        }
        for (code, name) in &cat.kinds {
            v.push((format!("kind-{code}"), name.get(lang).to_owned()));
        }
    }
    let mut longest = cat.departments.len() + cat.registers.len() + cat.banks.len() + 2;
    longest = longest.max(cat.kinds.len());
    for (name, services) in &cat.departments {
        if let Some(s) = services.first() {
            v.push((
                format!("department-{}", s.department_slug),
                name.get(lang).to_owned(),
            ));
        }
        longest = longest.max(services.len());
        for s in services {
            v.push((format!("service-{}", s.code), s.name.get(lang).to_owned()));
            for a in questions(s) {
                v.push((
                    format!("question-{}-{}", s.code, a.code),
                    a.description.get(lang).to_owned(),
                ));
                longest = longest.max(a.values.len() + 1);
                for value in &a.values {
                    v.push((
                        format!("answer-{}-{}-{}", s.code, a.code, value.key),
                        value.name.get(lang).to_owned(),
                    ));
                }
            }
        }
    }
    for r in &cat.registers {
        v.push((
            format!("register-{}", r.0),
            t!(lang, "ussd-check", name = r.1.get(lang).to_owned()),
        ));
    }
    for b in &cat.banks {
        v.push((
            format!("quiz-{}", b.code),
            t!(lang, "ussd-quiz", name = b.name.get(lang).to_owned()),
        ));
    }
    for (slug, name) in cat.districts_in(lang) {
        v.push((format!("district-{slug}"), name));
    }
    longest = longest.max(cat.districts.len());
    v.extend((1..=longest).map(|n| (format!("press-{n}"), t!(lang, "voice-press-n", n = n))));
    v
}

fn current_question<'a>(state: &State, cat: &'a Catalog) -> Option<&'a Attribute> {
    let service = cat.service(state.service.as_deref()?)?;
    questions(service).get(state.question).copied()
}

/// The question of the current step, without its choices.
pub fn head(state: &State, cat: &Catalog) -> String {
    let lang = state.lang;
    match state.step {
        Step::Lang => "Khidmat خدمت".to_owned(),
        Step::Department => t!(lang, "ussd-department"),
        Step::Service => t!(lang, "ussd-service"),
        Step::Question => current_question(state, cat)
            .map(|a| a.description.get(lang).to_owned())
            .unwrap_or_default(),
        Step::District => t!(lang, "ussd-district"),
        Step::Landmark => t!(lang, "ussd-landmark"),
        Step::StatusKey => t!(lang, "ussd-status-key"),
        Step::FindKind => t!(lang, "ussd-find-kind"),
        Step::FindWhere => t!(lang, "ussd-district"),
        Step::Describe if state.channel == Channel::Voice => t!(lang, "voice-describe"),
        Step::Describe => t!(lang, "channel-describe"),
        Step::Photo if state.photos.is_empty() => t!(lang, "channel-photo"),
        Step::Photo => t!(lang, "channel-photo-more", n = state.photos.len()),
        Step::RegisterKey => t!(
            lang,
            "ussd-register-key",
            name = cat
                .registers
                .iter()
                .find(|r| Some(&r.0) == state.register.as_ref())
                .map(|r| r.1.get(lang).to_owned())
                .unwrap_or_default()
        ),
        Step::TheoryKind => state
            .bank
            .as_deref()
            .and_then(|b| cat.bank(b))
            .map(|b| b.name.get(lang).to_owned())
            .unwrap_or_default(),
        Step::Theory => {
            let quiz = state.quiz.as_ref();
            let q = quiz
                .and_then(|z| z.current())
                .zip(state.bank.as_deref().and_then(|b| cat.bank(b)))
                .and_then(|(c, b)| b.find(c));
            match (quiz, q) {
                (Some(z), Some(q)) => question_screen(q, z.done + 1, z.questions.len(), lang),
                _ => String::new(),
            }
        }
        Step::Confirm => {
            let service = state
                .service
                .as_deref()
                .and_then(|c| cat.service(c))
                .map(|s| s.name.get(lang).to_owned())
                .unwrap_or_default();
            let district = cat
                .districts
                .iter()
                .find(|d| Some(&d.0) == state.district.as_ref())
                .map(|d| d.1.get(lang).to_owned())
                .unwrap_or_default();
            let place = match (&state.landmark, state.location) {
                (Some(l), _) => shorten(l, 50),
                (None, Some(_)) => t!(lang, "channel-location-shared"),
                (None, None) => String::new(),
            };
            t!(
                lang,
                "ussd-confirm",
                service = shorten(&service, 40),
                district = district,
                landmark = place
            )
        }
    }
}

/// The screen for the current step, after an optional line (an error).
pub fn screen(state: &State, cat: &Catalog, note: Option<&str>) -> String {
    let head = head(state, cat);
    let lang = state.lang;
    let head = match note {
        Some(n) => format!("{n}\n{head}"),
        None => head,
    };
    let s = if matches!(
        state.step,
        Step::Landmark | Step::RegisterKey | Step::Theory | Step::Describe | Step::StatusKey
    ) {
        head
    } else {
        menu(&head, &items(state, cat), state.page, lang)
    };
    shorten(&s, LIMIT)
}

/// A screen as channels that show menus as menus see it (WhatsApp's lists and buttons, a
/// call's "press 3"): the question, and this page's choices with their numbers, at most
/// [`PAGE`] (then "0" turns the page). The numbers are USSD's: "12" is the twelfth item on any
/// channel, so one `advance` reads every channel's answer.
pub struct View {
    pub head: String,
    pub choices: Vec<(usize, String)>,
    /// More choices than fit: "0" shows the next page.
    pub more: bool,
}

/// Choices per page on WhatsApp (a list holds ten rows: nine and "more") and on a call.
pub const PAGE: usize = 9;

pub fn view(state: &State, cat: &Catalog) -> View {
    let items = items(state, cat);
    let pages = items.len().div_ceil(PAGE).max(1);
    let page = state.page % pages;
    View {
        head: head(state, cat),
        choices: items
            .into_iter()
            .enumerate()
            .skip(page * PAGE)
            .take(PAGE)
            .map(|(i, t)| (i + 1, t))
            .collect(),
        more: pages > 1,
    }
}

/// Move to `step`, on its first page.
fn go(state: &mut State, step: Step) {
    state.step = step;
    state.page = 0;
}

/// After a service is chosen or a question answered: the next question, or the district.
fn next_question(state: &mut State, cat: &Catalog) {
    let count = state
        .service
        .as_deref()
        .and_then(|c| cat.service(c))
        .map(|s| questions(s).len())
        .unwrap_or(0);
    if state.question < count {
        go(state, Step::Question);
    } else {
        go(state, Step::District);
    }
}

/// After the place (a landmark, or a shared location): WhatsApp asks for the words, USSD
/// confirms.
fn after_place(state: &mut State) {
    match state.channel {
        Channel::Ussd => go(state, Step::Confirm),
        Channel::WhatsApp | Channel::Voice => go(state, Step::Describe),
    }
}

/// The longest description a channel takes in words.
const DESCRIPTION_MAX: usize = 2000;

/// A location was shared (WhatsApp), in `district` if it lies in one: it is the place. Only
/// while the place is asked; elsewhere it is not a choice.
pub fn located(
    state: &mut State,
    cat: &Catalog,
    (lat, long): (f64, f64),
    district: Option<String>,
) -> Reply {
    if state.step == Step::FindWhere {
        return Reply::Find {
            kind: state.kind.clone().unwrap_or_default(),
            district,
            location: Some((lat, long)),
        };
    }
    if !matches!(state.step, Step::District | Step::Landmark) {
        return Reply::Continue(screen(state, cat, Some(&t!(state.lang, "ussd-invalid"))));
    }
    state.location = Some((lat, long));
    if district.is_some() {
        state.district = district;
    }
    after_place(state);
    Reply::Continue(screen(state, cat, None))
}

/// The problem described: in words, as a recording, or neither (skipped).
pub fn described(
    state: &mut State,
    cat: &Catalog,
    words: Option<String>,
    voice: Option<String>,
) -> Reply {
    if state.step != Step::Describe {
        return Reply::Continue(screen(state, cat, Some(&t!(state.lang, "ussd-invalid"))));
    }
    state.description = words;
    state.voice = voice;
    let photos = state
        .service
        .as_deref()
        .and_then(|c| cat.service(c))
        .map_or(0, |s| s.max_photos);
    if state.channel == Channel::WhatsApp && photos > 0 {
        go(state, Step::Photo);
    } else {
        go(state, Step::Confirm);
    }
    Reply::Continue(screen(state, cat, None))
}

/// A photo arrived (its channel reference): kept, and once the service's limit is reached,
/// on to the confirmation.
pub fn photographed(state: &mut State, cat: &Catalog, media: String) -> Reply {
    if state.step != Step::Photo {
        return Reply::Continue(screen(state, cat, Some(&t!(state.lang, "ussd-invalid"))));
    }
    state.photos.push(media);
    let max = state
        .service
        .as_deref()
        .and_then(|c| cat.service(c))
        .map_or(0, |s| s.max_photos);
    if state.photos.len() as i64 >= max {
        go(state, Step::Confirm);
    }
    Reply::Continue(screen(state, cat, None))
}

/// Parse a menu answer: a number from 1 to `n`, or 0 for the next page.
fn choice(input: &str, n: usize) -> Option<usize> {
    let v: usize = input.trim().parse().ok()?;
    (v <= n).then_some(v)
}

/// Apply one input.
pub fn advance(state: &mut State, input: &str, cat: &Catalog) -> Reply {
    let input = input.trim();
    let lang = state.lang;
    let invalid =
        |state: &State| Reply::Continue(screen(state, cat, Some(&t!(lang, "ussd-invalid"))));
    if state.step == Step::Landmark {
        let text = crate::channels::sms::normalize(input);
        if text.is_empty() || text.chars().count() > LANDMARK_MAX {
            return invalid(state);
        }
        state.landmark = Some(text);
        after_place(state);
        return Reply::Continue(screen(state, cat, None));
    }
    if state.step == Step::StatusKey {
        return match crate::channels::sms::normalize(input).parse::<i64>() {
            Ok(reference) if reference > 0 => Reply::Status { reference },
            _ => invalid(state),
        };
    }
    if state.step == Step::Describe {
        let text = crate::channels::sms::normalize(input);
        if text.is_empty() || text.chars().count() > DESCRIPTION_MAX {
            return invalid(state);
        }
        return described(state, cat, Some(text), None);
    }
    if state.step == Step::RegisterKey {
        let key = crate::channels::sms::normalize(input);
        if key.is_empty() || key.chars().count() > 40 {
            return invalid(state);
        }
        return Reply::Lookup {
            register: state.register.clone().unwrap_or_default(),
            key,
        };
    }
    if state.step == Step::Theory {
        let quiz = state.quiz.as_ref();
        let q = quiz
            .and_then(|z| z.current())
            .zip(state.bank.as_deref().and_then(|b| cat.bank(b)))
            .and_then(|(c, b)| b.find(c));
        return match (quiz, q, input.parse::<usize>()) {
            (Some(z), Some(q), Ok(k)) if (1..=q.options.len()).contains(&k) => Reply::QuizAnswer {
                token: z.token.clone(),
                question: q.code.clone(),
                chosen: k as i64,
            },
            _ => invalid(state),
        };
    }
    let options = items(state, cat);
    // Several numbers at once (only a multiple-choice question takes them).
    let many: Vec<&str> = input
        .split([' ', ',', '#'])
        .filter(|s| !s.is_empty())
        .collect();
    let multi = state.step == Step::Question
        && current_question(state, cat).is_some_and(|a| a.datatype == Datatype::Multivaluelist);
    if multi && many.len() > 1 {
        let a = current_question(state, cat).expect("checked");
        let mut keys = Vec::new();
        for m in many {
            match choice(m, a.values.len()) {
                Some(k) if k >= 1 => keys.push(a.values[k - 1].key.clone()),
                _ => return invalid(state),
            }
        }
        state.answers.insert(a.code.clone(), keys);
        state.question += 1;
        next_question(state, cat);
        return Reply::Continue(screen(state, cat, None));
    }
    let Some(k) = choice(input, options.len()) else {
        return invalid(state);
    };
    if k == 0 {
        state.page += 1;
        return Reply::Continue(screen(state, cat, None));
    }
    match state.step {
        Step::Lang => {
            state.lang = LANGS[k - 1];
            go(state, Step::Department);
        }
        Step::Department if k == options.len() => go(state, Step::StatusKey),
        Step::Department if k + 1 == options.len() && !cat.kinds.is_empty() => {
            go(state, Step::FindKind)
        }
        Step::FindKind => {
            state.kind = Some(cat.kinds[k - 1].0.clone());
            go(state, Step::FindWhere);
        }
        Step::FindWhere => {
            return Reply::Find {
                kind: state.kind.clone().unwrap_or_default(),
                district: Some(cat.districts_in(lang)[k - 1].0.clone()),
                location: None,
            };
        }
        Step::Department if k > cat.departments.len() + cat.registers.len() => {
            let offered: Vec<&Arc<BankSpec>> = cat
                .banks
                .iter()
                .filter(|b| !pool(b, lang).is_empty())
                .collect();
            state.bank = Some(
                offered[k - 1 - cat.departments.len() - cat.registers.len()]
                    .code
                    .clone(),
            );
            go(state, Step::TheoryKind);
        }
        Step::Department if k > cat.departments.len() => {
            state.register = Some(cat.registers[k - 1 - cat.departments.len()].0.clone());
            go(state, Step::RegisterKey);
        }
        Step::TheoryKind => {
            let Some(b) = state.bank.as_deref().and_then(|b| cat.bank(b)) else {
                return Reply::End(t!(lang, "ussd-invalid"));
            };
            return Reply::QuizStart {
                bank: b.code.clone(),
                mock: k == 2,
                pool: pool(b, lang),
            };
        }
        Step::Department => {
            state.department = k - 1;
            go(state, Step::Service);
        }
        Step::Service => {
            let code = cat.departments[state.department].1[k - 1].code.clone();
            state.service = Some(code);
            state.question = 0;
            state.answers.clear();
            next_question(state, cat);
        }
        Step::Question => {
            let a = current_question(state, cat).expect("a question is on screen");
            if k <= a.values.len() {
                state
                    .answers
                    .insert(a.code.clone(), vec![a.values[k - 1].key.clone()]);
            }
            state.question += 1;
            next_question(state, cat);
        }
        Step::District => {
            let districts = cat.districts_in(lang);
            state.district = Some(districts[k - 1].0.clone());
            if state.channel == Channel::Voice {
                go(state, Step::Describe);
            } else {
                go(state, Step::Landmark);
            }
        }
        Step::Confirm => {
            return if k == 1 {
                Reply::Submit
            } else {
                Reply::End(t!(lang, "ussd-cancelled"))
            };
        }
        Step::Photo => go(state, Step::Confirm),
        Step::Landmark | Step::RegisterKey | Step::Theory | Step::Describe | Step::StatusKey => {
            unreachable!("handled above")
        }
    }
    Reply::Continue(screen(state, cat, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::i18n::Text3;
    use crate::platform::questions::{ListValue, SmsKeywords};
    use proptest::prelude::*;

    fn text(s: &str) -> Text3 {
        Text3 {
            en: s.into(),
            ur: format!("{s} اردو"),
            ps: format!("{s} پښتو"),
        }
    }

    fn catalog() -> Catalog {
        let values = |n: usize| {
            (0..n)
                .map(|i| ListValue {
                    key: format!("v{i}"),
                    name: text(&format!("A rather long choice name number {i}")),
                })
                .collect()
        };
        let attr = |code: &str, dt: Datatype, required: bool, n: usize| Attribute {
            code: code.into(),
            datatype: dt,
            required,
            variable: true,
            order: None,
            description: text(&format!(
                "Question {code}, asked at some length so the screen fills"
            )),
            datatype_description: None,
            values: values(n),
        };
        let service = |code: &str, dept: i64| {
            Arc::new(Service {
                id: dept * 10,
                code: code.into(),
                department_id: dept,
                department_slug: format!("d{dept}"),
                department_name: text(&format!("Department {dept}")),
                name: text(&format!("Service {code}")),
                description: text(""),
                group: text(""),
                keywords: String::new(),
                sms_keywords: SmsKeywords::default(),
                icon: String::new(),
                attributes: vec![
                    attr("one", Datatype::Singlevaluelist, true, 14),
                    attr("many", Datatype::Multivaluelist, false, 5),
                    attr("free", Datatype::String, true, 0),
                ],
                status_notes: Default::default(),
                minutes_saved: 0,
                response_hours: 72,
                max_photos: 3,
                ask_fixed_after_hours: 672,
                public: true,
                active: true,
            })
        };
        let districts = (0..36)
            .map(|i| (format!("d{i}"), text(&format!("District number {i}"))))
            .collect();
        Catalog::new(
            vec![service("a", 1), service("b", 1), service("c", 2)],
            districts,
        )
    }

    #[test]
    fn a_whole_session_reaches_submit_and_every_screen_fits() {
        let cat = catalog();
        let mut s = State::default();
        let mut screens = vec![screen(&s, &cat, None)];
        for input in ["2", "1", "2", "14", "1 3", "0", "0", "20", "مسجد کے پاس"] {
            match advance(&mut s, input, &cat) {
                Reply::Continue(t) => screens.push(t),
                _ => panic!("ended early at {input}"),
            }
        }
        for t in &screens {
            assert!(
                t.chars().count() <= LIMIT,
                "{} chars: {t}",
                t.chars().count()
            );
        }
        assert_eq!(s.lang, Lang::Ur);
        assert_eq!(s.service.as_deref(), Some("b"));
        assert_eq!(s.answers["one"], vec!["v13"]);
        assert_eq!(s.answers["many"], vec!["v0", "v2"]);
        assert_eq!(
            s.district.as_deref(),
            Some(cat.districts_in(Lang::Ur)[19].0.as_str())
        );
        assert!(matches!(advance(&mut s, "1", &cat), Reply::Submit));
    }

    #[test]
    fn long_menus_page_and_keep_their_numbers() {
        let cat = catalog();
        let mut s = State {
            step: Step::District,
            ..Default::default()
        };
        let first = screen(&s, &cat, None);
        assert!(
            first.contains("\n1 ") && first.ends_with("0 More"),
            "{first}"
        );
        advance(&mut s, "0", &cat);
        let second = screen(&s, &cat, None);
        assert!(!second.contains("\n1 District"), "{second}");
        assert!(second.chars().count() <= LIMIT);
    }

    #[test]
    fn a_register_is_looked_up_after_the_departments() {
        let cat = catalog().with_registers(vec![("licence".into(), text("Driving licence"))]);
        let mut s = State::default();
        let Reply::Continue(menu) = advance(&mut s, "1", &cat) else {
            panic!("the departments")
        };
        let n = cat.departments.len() + 1;
        assert!(
            menu.contains(&format!("{n} Check: Driving licence")) || menu.contains("0 "),
            "{menu}"
        );
        let Reply::Continue(ask) = advance(&mut s, &n.to_string(), &cat) else {
            panic!("asks for the number")
        };
        assert!(ask.contains("Driving licence: type the number"), "{ask}");
        match advance(&mut s, " 17301-1234567-1 ", &cat) {
            Reply::Lookup { register, key } => {
                assert_eq!(
                    (register.as_str(), key.as_str()),
                    ("licence", "17301-1234567-1")
                )
            }
            _ => panic!("a lookup"),
        }
    }

    fn demo_bank() -> Arc<BankSpec> {
        let pack =
            crate::packs::Pack::parse(include_str!("../../packs/kp-driving-theory.toml")).unwrap();
        Arc::new(pack.theory.bank[0].clone())
    }

    #[test]
    fn the_theory_test_asks_whole_text_questions_that_fit() {
        let bank = demo_bank();
        for lang in [Lang::En, Lang::Ur, Lang::Ps] {
            let pool = pool(&bank, lang);
            assert!(
                pool.len() >= bank.mock_questions,
                "{lang:?}: {}",
                pool.len()
            );
            for code in &pool {
                let q = bank.find(code).unwrap();
                assert!(q.picture.is_none());
                let worst = format!(
                    "{}\n{}",
                    t!(lang, "ussd-quiz-wrong", answer = 4usize),
                    question_screen(q, 20, 20, lang)
                );
                assert!(worst.chars().count() <= LIMIT, "{worst}");
            }
        }
        let cat = catalog().with_banks(vec![bank.clone()]);
        let mut s = State::default();
        advance(&mut s, "1", &cat);
        let n = cat.departments.len() + 1;
        let Reply::Continue(kinds) = advance(&mut s, &n.to_string(), &cat) else {
            panic!("practice or mock")
        };
        assert!(kinds.contains("1 Practice (10 questions)"), "{kinds}");
        let Reply::QuizStart {
            bank: b,
            mock,
            pool,
        } = advance(&mut s, "1", &cat)
        else {
            panic!("starts the test")
        };
        assert_eq!((b.as_str(), mock), ("driving-theory", false));
        let questions: Vec<String> = pool.into_iter().take(2).collect();
        begin_quiz(
            &mut s,
            Quiz {
                token: "t".into(),
                questions: questions.clone(),
                done: 0,
                mock: false,
            },
        );
        let first = screen(&s, &cat, None);
        assert!(first.starts_with("1/2 "), "{first}");
        assert!(
            matches!(advance(&mut s, "0", &cat), Reply::Continue(t) if t.starts_with("Not a choice"))
        );
        let Reply::QuizAnswer {
            question, chosen, ..
        } = advance(&mut s, "2", &cat)
        else {
            panic!("an answer")
        };
        assert_eq!((question.as_str(), chosen), (questions[0].as_str(), 2));
        let right = bank.find(&questions[0]).unwrap().answer;
        let next = answered(&mut s, &cat, false, 1).unwrap();
        assert!(
            next.starts_with(&format!("No: {right} was right.\n2/2 ")),
            "{next}"
        );
        assert!(
            answered(&mut s, &cat, true, 2).is_none(),
            "that was the last"
        );
    }

    /// Walk to the district screen of service "b" on `channel`.
    fn at_district(channel: Channel) -> (State, Catalog) {
        let cat = catalog();
        let mut s = State::start(channel, Some(Lang::Ps));
        for input in ["1", "2", "1", "1"] {
            assert!(matches!(advance(&mut s, input, &cat), Reply::Continue(_)));
        }
        assert_eq!(s.step, Step::District);
        (s, cat)
    }

    #[test]
    fn whatsapp_takes_a_location_words_or_a_voice_note_and_photos() {
        let (mut s, cat) = at_district(Channel::WhatsApp);
        // Nine districts a page, then "more"; the numbers are USSD's.
        let v = view(&s, &cat);
        assert_eq!(v.choices.len(), PAGE);
        assert!(v.more);
        advance(&mut s, "0", &cat);
        assert_eq!(view(&s, &cat).choices[0].0, PAGE + 1);
        // A photo before its step is not taken.
        let Reply::Continue(t) = photographed(&mut s, &cat, "9".into()) else {
            panic!()
        };
        assert!(t.starts_with(&t!(Lang::Ps, "ussd-invalid")), "{t}");
        assert!(s.photos.is_empty());
        located(&mut s, &cat, (34.0, 71.5), Some("d3".into()));
        assert_eq!(
            (s.step, s.district.as_deref()),
            (Step::Describe, Some("d3"))
        );
        described(&mut s, &cat, None, Some("777".into()));
        assert_eq!(s.step, Step::Photo);
        for (i, media) in ["1", "2"].iter().enumerate() {
            photographed(&mut s, &cat, (*media).into());
            assert_eq!(s.photos.len(), i + 1);
            assert_eq!(s.step, Step::Photo, "up to the service's three");
        }
        assert!(matches!(advance(&mut s, "1", &cat), Reply::Continue(_)));
        assert_eq!(s.step, Step::Confirm);
        assert!(screen(&s, &cat, None).contains(&t!(Lang::Ps, "channel-location-shared")));
        assert!(matches!(advance(&mut s, "1", &cat), Reply::Submit));
        assert_eq!(s.voice.as_deref(), Some("777"));

        // Without a location: the district, a typed landmark, then words.
        let (mut s, cat) = at_district(Channel::WhatsApp);
        advance(&mut s, "3", &cat);
        assert_eq!(s.step, Step::Landmark);
        advance(&mut s, "د جومات سره", &cat);
        assert_eq!(s.step, Step::Describe);
        advance(&mut s, "مزي پرې شوي", &cat);
        assert_eq!(s.description.as_deref(), Some("مزي پرې شوي"));
        assert_eq!(s.step, Step::Photo);
    }

    #[test]
    fn a_call_records_the_description_and_asks_no_landmark() {
        let (mut s, cat) = at_district(Channel::Voice);
        advance(&mut s, "12", &cat);
        assert_eq!(s.step, Step::Describe, "a caller cannot type a landmark");
        assert!(head(&s, &cat).contains(&t!(Lang::Ps, "voice-describe")));
        described(&mut s, &cat, None, Some("https://gw/rec.mp3".into()));
        assert_eq!(s.step, Step::Confirm, "no photos on a call");
        assert_eq!(head_prompt(&s, &cat).as_deref(), Some("voice-confirm"));
        assert_eq!(item_prompts(&s, &cat), ["ussd-send", "ussd-cancel"]);
    }

    #[test]
    fn where_is_my_report_is_on_every_channels_first_menu() {
        let cat = catalog();
        let mut s = State::start(Channel::Ussd, Some(Lang::En));
        let last = items(&s, &cat).len();
        assert_eq!(items(&s, &cat)[last - 1], "Where is my report?");
        assert_eq!(item_prompts(&s, &cat).len(), last, "a prompt for each item");
        advance(&mut s, &last.to_string(), &cat);
        assert_eq!(s.step, Step::StatusKey);
        assert!(matches!(advance(&mut s, "x", &cat), Reply::Continue(_)));
        assert!(matches!(
            advance(&mut s, "۴۲", &cat),
            Reply::Status { reference: 42 }
        ));
        let all = all_prompts(&cat, Lang::Ps);
        for p in [
            "service-a",
            "question-a-one",
            "answer-a-one-v13",
            "district-d35",
            "press-36",
            "lang-ps",
        ] {
            assert!(all.iter().any(|x| x.0 == p), "{p}");
        }
        assert!(all.iter().all(|x| !x.1.is_empty()), "each says something");
        assert!(
            !all.iter().any(|x| x.0 == "lang-ur"),
            "Urdu offers itself in Urdu"
        );
    }

    #[test]
    fn a_place_is_found_near_a_district_or_a_shared_location() {
        let cat = catalog().with_kinds(vec![
            ("public-toilet".into(), text("Public toilets")),
            ("school".into(), text("Schools")),
        ]);
        let mut s = State::start(Channel::WhatsApp, Some(Lang::Ur));
        let n = items(&s, &cat).len();
        assert_eq!(items(&s, &cat)[n - 2], t!(Lang::Ur, "ussd-find-item"));
        assert_eq!(item_prompts(&s, &cat)[n - 2], "ussd-find-item");
        advance(&mut s, &(n - 1).to_string(), &cat);
        assert_eq!(s.step, Step::FindKind);
        assert_eq!(
            item_prompts(&s, &cat),
            ["kind-public-toilet", "kind-school"]
        );
        advance(&mut s, "1", &cat);
        assert_eq!(s.step, Step::FindWhere);
        let mut by_district = s.clone();
        match advance(&mut by_district, "3", &cat) {
            Reply::Find {
                kind,
                district,
                location,
            } => {
                assert_eq!(kind, "public-toilet");
                assert_eq!(
                    district.as_deref(),
                    Some(cat.districts_in(Lang::Ur)[2].0.as_str())
                );
                assert!(location.is_none());
            }
            _ => panic!("a search"),
        }
        match located(&mut s, &cat, (34.0, 71.5), None) {
            Reply::Find { location, .. } => assert_eq!(location, Some((34.0, 71.5))),
            _ => panic!("a search near the location"),
        }
        // Without kinds of places, the first menu does not offer the search.
        let plain = catalog();
        let first = State::start(Channel::Ussd, Some(Lang::En));
        assert!(!items(&first, &plain).contains(&t!(Lang::En, "ussd-find-item")));
    }

    proptest! {
        #[test]
        fn no_input_breaks_the_menus(inputs in proptest::collection::vec("\\PC{0,30}|[0-9]{1,3}|[0-9 ,#]{1,8}", 0..14)) {
            let cat = catalog()
                .with_registers(vec![("licence".into(), text("Driving licence"))])
                .with_banks(vec![demo_bank()]);
            let mut s = State::default();
            for input in &inputs {
                match advance(&mut s, input, &cat) {
                    Reply::Continue(t) | Reply::End(t) => prop_assert!(t.chars().count() <= LIMIT),
                    Reply::Submit | Reply::Lookup { .. } | Reply::QuizStart { .. } | Reply::QuizAnswer { .. } | Reply::Status { .. } | Reply::Find { .. } => break,
                }
            }
        }

        #[test]
        fn no_message_breaks_the_parser(text in "\\PC{0,300}|(STATUS|حالت|KUNDA) \\PC{0,40}") {
            let clean = crate::channels::sms::normalize(&text);
            prop_assert!(clean.chars().count() <= 1000);
            prop_assert!(!clean.starts_with(' ') && !clean.ends_with(' '));
            let _ = crate::channels::sms::parse(&clean, &[], &[], &[]);
        }
    }
}
