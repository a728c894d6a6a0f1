//! SMS: what a message asks, and the answer. A message is a keyword and words:
//! - a service's keyword (`KUNDA`, `کنڈا`, `کونډه`) and the place: a report;
//! - `STATUS 123` (or `صورتحال ۱۲۳`, `حالت 123`): the report's latest status and note;
//! - `GRANT B-7KQ2-M9XD 17301-1234567-2` (or `امداد …`, `مرسته …`): a benefit application's
//!   status, for the applicant who knows both its reference and their CNIC;
//! - `FOLLOW 123` / `STOP 123` (or `STOP` alone): this number is told of the report's changes,
//!   or no longer;
//! - a digit (`1`, `2`, `۱`…): the reply to "is it fixed?" or to "how was it handled?";
//! - anything else: a short help in the sender's language.

use std::sync::Arc;

use crate::platform::i18n::Lang;
use crate::reports::model::Service;

pub use crate::platform::sms::{FOLLOW_KEYWORDS, GRANT_KEYWORDS, STATUS_KEYWORDS, STOP_KEYWORDS};

/// The longest message read; gateways concatenate long messages, people rarely mean them.
const MAX_CHARS: usize = 1000;

/// Clean a message: drop control characters, direction marks and zero-width characters
/// (phones insert them around numbers), turn Arabic-Indic and Persian digits into 0-9,
/// collapse whitespace.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_CHARS * 4));
    let mut space = false;
    for c in text.chars().take(MAX_CHARS) {
        let c = crate::platform::text::latin_digit(c);
        let invisible = matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
            || (c.is_control() && !c.is_whitespace());
        if invisible {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
    }
    out
}

/// The language a text is written in, by its letters: Latin is English; Arabic script is
/// Pashto if it has letters only Pashto uses, else Urdu. Without letters: Urdu.
pub fn script_lang(text: &str) -> Lang {
    const PASHTO_ONLY: &str = "ټډړښږځڅګڼۍېٶ";
    let mut latin = 0;
    let mut arabic = 0;
    for c in text.chars() {
        if c.is_ascii_alphabetic() {
            latin += 1;
        } else if ('\u{0600}'..='\u{06FF}').contains(&c) {
            arabic += 1;
            if PASHTO_ONLY.contains(c) {
                return Lang::Ps;
            }
        }
    }
    if latin > arabic {
        Lang::En
    } else {
        Lang::Ur
    }
}

/// What a message asks.
#[derive(Debug, Clone)]
pub enum Command {
    /// `STATUS 123`; the number may be missing or not a number.
    Status { reference: Option<i64> },
    /// A report of `service`, with the words after the keyword (the place, what is wrong).
    Report { service: Arc<Service>, rest: String },
    /// The nearest places of a directory kind to the area named after the keyword.
    Find {
        kind: Arc<crate::directory::model::Kind>,
        rest: String,
    },
    /// `GRANT reference CNIC`, in either order; either may be missing.
    Grant {
        reference: Option<String>,
        cnic: Option<String>,
    },
    /// A lookup in a register (`LICENCE 17301-1234567-1`, `CHALLAN 123456`).
    Lookup {
        register: Arc<crate::registers::Register>,
        rest: String,
    },
    /// `FOLLOW 123`.
    Follow { reference: Option<i64> },
    /// `STOP 123`, or `STOP` alone (`None`: every report).
    Stop { reference: Option<i64> },
    /// A message that starts with one digit: a reply to a question we asked.
    Reply { digit: u8, rest: String },
    /// Anything else.
    Help,
}

/// The first number in the words after a keyword (`#123`, `123.`).
fn first_number(rest: &str) -> Option<i64> {
    rest.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|d| d.parse::<i64>().ok())
}

/// A benefit application's reference as people type it (`b-7kq2-m9xd`, `B7KQ2M9XD`): its
/// canonical form `B-7KQ2-M9XD`.
fn grant_reference(word: &str) -> Option<String> {
    let w: String = word
        .chars()
        .filter(|c| *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    (w.len() == 9 && w.starts_with('B') && w.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then(|| format!("B-{}-{}", &w[1..5], &w[5..]))
}

/// Read a (normalized) message against the services' keywords. Returns what it asks and the
/// language to answer in (the keyword's, else the script's).
pub fn parse(
    text: &str,
    services: &[Arc<Service>],
    kinds: &[Arc<crate::directory::model::Kind>],
    registers: &[Arc<crate::registers::Register>],
) -> (Command, Lang) {
    let lang = script_lang(text);
    let mut words = text.splitn(2, ' ');
    let first = words.next().unwrap_or("").to_lowercase();
    let rest = words.next().unwrap_or("").trim().to_owned();
    if first.is_empty() {
        return (Command::Help, lang);
    }
    if STATUS_KEYWORDS.contains(&first.as_str()) {
        let reference = first_number(&rest);
        return (Command::Status { reference }, lang);
    }
    if FOLLOW_KEYWORDS.contains(&first.as_str()) {
        let reference = first_number(&rest);
        return (Command::Follow { reference }, lang);
    }
    if STOP_KEYWORDS.contains(&first.as_str()) {
        let reference = first_number(&rest);
        return (Command::Stop { reference }, lang);
    }
    // "1", "2 still broken", "5." — a digit alone, or a digit then words.
    let digit = first.trim_end_matches(['.', ')', ',']);
    if digit.len() == 1 && digit.bytes().all(|b| b.is_ascii_digit()) {
        return (
            Command::Reply {
                digit: digit.as_bytes()[0] - b'0',
                rest,
            },
            lang,
        );
    }
    if GRANT_KEYWORDS.contains(&first.as_str()) {
        let mut reference = None;
        let mut cnic = None;
        for word in rest.split(' ') {
            let digits: String = word.chars().filter(|c| *c != '-').collect();
            if digits.len() == 13 && digits.bytes().all(|b| b.is_ascii_digit()) {
                cnic = Some(digits);
            } else if let Some(r) = grant_reference(word) {
                reference = Some(r);
            }
        }
        return (Command::Grant { reference, cnic }, lang);
    }
    for s in services {
        for (kw_lang, kw) in s.sms_keywords.all() {
            if kw.to_lowercase() == first {
                return (
                    Command::Report {
                        service: s.clone(),
                        rest,
                    },
                    kw_lang,
                );
            }
        }
    }
    for r in registers {
        for (kw_lang, kw) in r.spec.sms.all() {
            if kw.to_lowercase() == first {
                return (
                    Command::Lookup {
                        register: r.clone(),
                        rest,
                    },
                    kw_lang,
                );
            }
        }
    }
    for k in kinds {
        for (kw_lang, kw) in k.sms_keywords.all() {
            if kw.to_lowercase() == first {
                return (
                    Command::Find {
                        kind: k.clone(),
                        rest,
                    },
                    kw_lang,
                );
            }
        }
    }
    (Command::Help, lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizing_cleans_what_phones_add() {
        assert_eq!(normalize("  STATUS\u{200F} ۱۲۳\n"), "STATUS 123");
        assert_eq!(normalize("حالت \u{2066}٤٥\u{2069}"), "حالت 45");
        assert_eq!(normalize("\u{0}\u{7}"), "");
        assert_eq!(normalize(&"x".repeat(5000)).chars().count(), 1000);
    }

    #[test]
    fn the_script_tells_the_language() {
        assert_eq!(script_lang("KUNDA near the mosque"), Lang::En);
        assert_eq!(script_lang("کنڈا مسجد کے پاس"), Lang::Ur);
        assert_eq!(script_lang("کونډه د جومات سره"), Lang::Ps);
        assert_eq!(script_lang("😀 123"), Lang::Ur);
    }

    #[test]
    fn status_finds_the_number() {
        for text in ["STATUS 123", "status #123", "حالت 123", "صورتحال 123"] {
            match parse(text, &[], &[], &[]).0 {
                Command::Status { reference } => assert_eq!(reference, Some(123), "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(
            parse("STATUS", &[], &[], &[]).0,
            Command::Status { reference: None }
        ));
        assert!(matches!(parse("hello", &[], &[], &[]).0, Command::Help));
        match parse("grant 17301-7654321-2 b-tkr7-jktt", &[], &[], &[]).0 {
            Command::Grant { reference, cnic } => {
                assert_eq!(reference.as_deref(), Some("B-TKR7-JKTT"));
                assert_eq!(cnic.as_deref(), Some("1730176543212"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("امداد BTKR7JKTT", &[], &[], &[]).0,
            Command::Grant {
                reference: Some(_),
                cnic: None
            }
        ));
        assert!(matches!(parse("", &[], &[], &[]).0, Command::Help));
    }

    #[test]
    fn replies_follow_and_stop() {
        match parse(&normalize("۲ ابھی تک خراب ہے"), &[], &[], &[]).0 {
            Command::Reply { digit, rest } => {
                assert_eq!(digit, 2);
                assert_eq!(rest, "ابھی تک خراب ہے");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("1.", &[], &[], &[]).0,
            Command::Reply { digit: 1, .. }
        ));
        assert!(matches!(parse("12", &[], &[], &[]).0, Command::Help));
        assert!(matches!(
            parse("follow #45", &[], &[], &[]).0,
            Command::Follow {
                reference: Some(45)
            }
        ));
        assert!(matches!(
            parse("STOP", &[], &[], &[]).0,
            Command::Stop { reference: None }
        ));
        assert!(matches!(
            parse("بند 45", &[], &[], &[]).0,
            Command::Stop {
                reference: Some(45)
            }
        ));
    }
}
