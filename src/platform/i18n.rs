//! Languages: English, Urdu and Pashto. Every string a citizen sees is a Fluent message in
//! `locales/{en,ur,ps}/main.ftl`; data that departments configure (service names, list values)
//! carries its own three translations ([`Text3`]).
//!
//! The language of a request is, in order: `?locale=`, the `lang` cookie (set by the language
//! switcher), then `Accept-Language`; English otherwise.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use serde::{Deserialize, Serialize};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks around arguments keep numbers and names in place inside
        // right-to-left sentences; English needs none.
        customise: |bundle| {
            let english = bundle.locales.first().map(|l| l.language.as_str() == "en").unwrap_or(false);
            bundle.set_use_isolating(!english)
        },
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    En,
    Ur,
    Ps,
}

pub const ALL_LANGS: [Lang; 3] = [Lang::En, Lang::Ur, Lang::Ps];

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ur => "ur",
            Lang::Ps => "ps",
        }
    }

    /// The language's name in itself, as a language menu offers it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ur => "اردو",
            Lang::Ps => "پښتو",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        let primary = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ur" => Some(Lang::Ur),
            "ps" | "pus" | "pbt" => Some(Lang::Ps),
            _ => None,
        }
    }

    pub fn is_rtl(self) -> bool {
        !matches!(self, Lang::En)
    }

    fn langid(self) -> LanguageIdentifier {
        self.code().parse().expect("static language id")
    }

    /// The message `id`, in this language.
    pub fn t(self, id: &str) -> String {
        LOCALES.lookup(&self.langid(), id)
    }

    /// The message `id` with named arguments.
    pub fn t_args(self, id: &str, args: &[(&'static str, FluentArg)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    FluentArg::Str(s) => FluentValue::from(s.clone()),
                    FluentArg::Num(n) => FluentValue::from(*n),
                };
                (Cow::Borrowed(*k), value)
            })
            .collect();
        LOCALES.lookup_with_args(&self.langid(), id, &map)
    }

    /// Pick the best of our languages from an `Accept-Language` header (q-values honoured).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag) {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l)
    }
}

/// An argument to a Fluent message.
#[derive(Debug, Clone)]
pub enum FluentArg {
    Str(String),
    Num(f64),
}

impl From<&str> for FluentArg {
    fn from(s: &str) -> Self {
        FluentArg::Str(s.to_owned())
    }
}
impl From<String> for FluentArg {
    fn from(s: String) -> Self {
        FluentArg::Str(s)
    }
}
impl From<i64> for FluentArg {
    fn from(n: i64) -> Self {
        FluentArg::Num(n as f64)
    }
}
impl From<usize> for FluentArg {
    fn from(n: usize) -> Self {
        FluentArg::Num(n as f64)
    }
}

/// `t!(lang, "message-id", name = value, …)`: a Fluent message with arguments.
#[macro_export]
macro_rules! t {
    ($lang:expr, $id:expr) => { $lang.t($id) };
    ($lang:expr, $id:expr, $($k:ident = $v:expr),+ $(,)?) => {
        $lang.t_args($id, &[$((stringify!($k), $crate::platform::i18n::FluentArg::from($v))),+])
    };
}

/// A text that a department configures, in all three languages. Urdu and Pashto fall back to
/// English where a pack leaves them empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Text3 {
    pub en: String,
    #[serde(default)]
    pub ur: String,
    #[serde(default)]
    pub ps: String,
}

impl Text3 {
    pub fn get(&self, lang: Lang) -> &str {
        let s = match lang {
            Lang::En => &self.en,
            Lang::Ur => &self.ur,
            Lang::Ps => &self.ps,
        };
        if !s.is_empty() {
            s
        } else if !self.en.is_empty() {
            &self.en
        } else {
            // Written in one language only (a citizen's own text): that one, everywhere.
            [&self.ur, &self.ps]
                .into_iter()
                .find(|t| !t.is_empty())
                .map(String::as_str)
                .unwrap_or("")
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(q) = parts.uri.query() {
            for (k, v) in serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default()
            {
                if k == "locale" {
                    if let Some(l) = Lang::parse(&v) {
                        return Ok(l);
                    }
                }
            }
        }
        if let Some(l) = super::cookies::read(&parts.headers, "lang").and_then(Lang::parse) {
            return Ok(l);
        }
        Ok(parts
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {

    /// In right-to-left text a number with separators (a date, a CNIC, `0300 1234567`), a
    /// command with its argument (`STATUS 123`) or a placeable followed by a number comes out
    /// reversed — `17301-1234567-1` as `1-1234567-17301` — and a citizen copying it types it
    /// wrong. Each is held left to right between two left-to-right marks (U+200E, which feature
    /// phones show correctly too).
    #[test]
    fn numbers_and_commands_keep_their_order_in_urdu_and_pashto() {
        const LRM: char = '\u{200E}';
        let ltr = |c: char| c.is_ascii_alphanumeric() || " :.+-{}$_".contains(c);
        let mut wrong = Vec::new();
        for (lang, text) in [
            ("ur", include_str!("../../locales/ur/main.ftl")),
            ("ps", include_str!("../../locales/ps/main.ftl")),
        ] {
            for line in text.lines() {
                let Some((key, value)) = line.split_once(" = ") else {
                    continue;
                };
                if key.starts_with('#') {
                    continue;
                }
                let c: Vec<char> = value.chars().collect();
                for i in 0..c.len() {
                    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
                    let hit = (c[i].is_ascii_digit()
                        && matches!(at(i + 1), '-' | ':')
                        && at(i + 2).is_ascii_alphanumeric())
                        || (c[i].is_ascii_digit()
                            && at(i + 1) == ' '
                            && at(i + 2).is_ascii_digit())
                        || (c[i] == ' '
                            && i >= 3
                            && c[i - 3..i].iter().all(|x| x.is_ascii_uppercase())
                            && (at(i + 1) == '{' || at(i + 1).is_ascii_digit()))
                        || (c[i] == '}' && at(i + 1) == ' ' && at(i + 2).is_ascii_digit());
                    if !hit {
                        continue;
                    }
                    let mut start = i;
                    while start > 0 && ltr(c[start - 1]) {
                        start -= 1;
                    }
                    let mut end = i;
                    while end < c.len() && ltr(c[end]) {
                        end += 1;
                    }
                    if start == 0 || c[start - 1] != LRM || at(end) != LRM {
                        wrong.push(format!("{lang} {key}"));
                        break;
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "not held left to right: {wrong:?}");
    }

    use super::*;

    #[test]
    fn accept_language_prefers_highest_q() {
        assert_eq!(
            Lang::from_accept_language("en;q=0.5, ur-PK;q=0.9"),
            Some(Lang::Ur)
        );
        assert_eq!(Lang::from_accept_language("ps-AF,en;q=0.8"), Some(Lang::Ps));
        assert_eq!(Lang::from_accept_language("fr, de"), None);
    }

    #[test]
    fn every_message_exists_in_every_language() {
        let ids = |lang: &str| -> Vec<String> {
            let text = std::fs::read_to_string(format!(
                "{}/locales/{lang}/main.ftl",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let mut ids: Vec<String> = text
                .lines()
                .filter(|l| !l.starts_with(' ') && !l.starts_with('#') && l.contains(" = "))
                .map(|l| l.split(" = ").next().unwrap().trim().to_string())
                .collect();
            ids.sort();
            ids
        };
        let en = ids("en");
        assert!(en.len() > 10);
        assert_eq!(
            en,
            ids("ur"),
            "ur/main.ftl must have exactly the messages of en"
        );
        assert_eq!(
            en,
            ids("ps"),
            "ps/main.ftl must have exactly the messages of en"
        );
    }

    #[test]
    fn messages_take_arguments_in_each_language() {
        for lang in ALL_LANGS {
            let s = crate::t!(lang, "err-description-too-long", max = 4000i64);
            assert!(
                s.contains("4000") || s.contains("٤٠٠٠") || s.contains("۴۰۰۰"),
                "{s}"
            );
            assert!(!s.contains("err-"), "{s}");
        }
    }
}
