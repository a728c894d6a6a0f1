//! Search text: one folding of Urdu, Pashto and English text, used on both sides of every
//! full-text search (what is indexed and what is asked), so that the spellings people type
//! meet the spellings in the data.
//!
//! Urdu is typed on Arabic, Persian and Urdu keyboards, so one word arrives in several
//! encodings: Arabic yeh `ي` or Farsi yeh `ی`, Arabic kaf `ك` or keheh `ک`, Arabic heh `ه` or
//! heh goal `ہ`, with or without vowel marks and tatweel, with Arabic-Indic, Persian or Latin
//! digits. Folding maps each family to one letter and drops the marks. Case is folded by the
//! databases' tokenizers (FTS5 `unicode61`, PostgreSQL's `simple` configuration) and by
//! [`fold`] itself.
//!
//! Folding happens in Rust only: indexes hold text folded when it was written (a DataStore
//! row's `_search` column, a dataset's `search`), and queries are folded the same way. (Folding
//! inside SQL needs ~50 nested `REPLACE`s, which overflow the parser stack of other SQLite
//! builds: the sqlite3 shell could not read a schema holding one.)

/// `(from, to)`: letters folded into one, and marks dropped (`to` empty).
const FOLDS: &[(char, &str)] = &[
    ('\u{064A}', "\u{06CC}"), // Arabic yeh → Farsi yeh
    ('\u{0649}', "\u{06CC}"), // alef maksura → Farsi yeh
    ('\u{0643}', "\u{06A9}"), // Arabic kaf → keheh
    ('\u{0647}', "\u{06C1}"), // Arabic heh → heh goal
    ('\u{06D5}', "\u{06C1}"), // ae → heh goal
    ('\u{0629}', "\u{06C1}"), // teh marbuta → heh goal
    ('\u{06C3}', "\u{06C1}"), // teh marbuta goal → heh goal
    ('\u{06C2}', "\u{06C1}"), // heh goal with hamza → heh goal
    ('\u{0623}', "\u{0627}"), // alef with hamza above → alef
    ('\u{0625}', "\u{0627}"), // alef with hamza below → alef
    ('\u{0622}', "\u{0627}"), // alef with madda → alef
    ('\u{0671}', "\u{0627}"), // alef wasla → alef
    ('\u{0624}', "\u{0648}"), // waw with hamza → waw
    ('\u{06D3}', "\u{06D2}"), // yeh barree with hamza → yeh barree
    ('\u{0640}', ""),         // tatweel
    ('\u{064B}', ""),         // fathatan
    ('\u{064C}', ""),         // dammatan
    ('\u{064D}', ""),         // kasratan
    ('\u{064E}', ""),         // fatha (zabar)
    ('\u{064F}', ""),         // damma (pesh)
    ('\u{0650}', ""),         // kasra (zer)
    ('\u{0651}', ""),         // shadda
    ('\u{0652}', ""),         // sukun (jazm)
    ('\u{0654}', ""),         // hamza above
    ('\u{0670}', ""),         // superscript alef
    ('\u{200C}', ""),         // zero-width non-joiner
    ('\u{200D}', ""),         // zero-width joiner
    ('\u{0660}', "0"),
    ('\u{0661}', "1"),
    ('\u{0662}', "2"),
    ('\u{0663}', "3"),
    ('\u{0664}', "4"),
    ('\u{0665}', "5"),
    ('\u{0666}', "6"),
    ('\u{0667}', "7"),
    ('\u{0668}', "8"),
    ('\u{0669}', "9"),
    ('\u{06F0}', "0"),
    ('\u{06F1}', "1"),
    ('\u{06F2}', "2"),
    ('\u{06F3}', "3"),
    ('\u{06F4}', "4"),
    ('\u{06F5}', "5"),
    ('\u{06F6}', "6"),
    ('\u{06F7}', "7"),
    ('\u{06F8}', "8"),
    ('\u{06F9}', "9"),
];

/// A number as a voice reads it out, digit by digit (`1 2 3`).
pub fn spelled(n: i64) -> String {
    n.to_string()
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `text` without the direction marks and isolates that order it on a screen: a voice would
/// stumble on them.
pub fn for_speech(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// A digit as 0-9: Urdu and Persian (۰-۹) and Arabic (٠-٩) digits become Latin ones; any
/// other character is itself.
pub fn latin_digit(c: char) -> char {
    match c {
        '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
        '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
        c => c,
    }
}

/// A number, code or date as a person typed it on any keyboard: its digits as 0-9, without the
/// invisible direction marks phones and copied text put around numbers. `۰۳۰۰ ۱۲۳۴۵۶۷` reads as
/// `0300 1234567`.
pub fn typed_number(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'))
        .map(latin_digit)
        .collect()
}

/// A decimal number as a person typed it ([`typed_number`]), in Western digits, if it is a
/// finite one: `۱۲.۵` reads as `12.5`.
pub fn typed_decimal(raw: &str) -> Option<String> {
    let n = typed_number(raw).trim().to_owned();
    n.parse::<f64>().ok().filter(|x| x.is_finite()).map(|_| n)
}

/// A path of this site, never another's. Browsers drop tabs and line breaks from an address and
/// read `\` as `/`, so `/<TAB>/evil.example` or `/\evil.example` would be `//evil.example`,
/// another site: only visible ASCII without a backslash passes (an address's other characters
/// arrive percent-encoded), and not a path whose second character makes it scheme-relative.
pub fn site_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && p.len() <= 2_000
        && p.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b'\\')
}

fn folded(c: char) -> Option<&'static str> {
    FOLDS.iter().find(|(from, _)| *from == c).map(|(_, to)| *to)
}

/// Fold a text for search: lower case, one letter per family, no marks.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match folded(c) {
            Some(to) => out.push_str(to),
            None => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The words of a search, folded: runs of letters and digits, as both databases' tokenizers
/// cut them (so a word can be put into a full-text query without quoting worries).
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .map(str::to_owned)
        .collect()
}

/// An FTS5 query: every word, each also as the start of a longer word.
pub fn fts5_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{w}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A PostgreSQL `to_tsquery` text: every word, each also as the start of a longer word.
pub fn tsquery(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("{w}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

/// A CSV cell's text that a spreadsheet will not run as a formula: a cell starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return gets a leading `'` — unless it is a plain signed
/// number (`-12.5`, `+923001234567`), which a spreadsheet reads as a number and which data
/// users need unchanged. Every CSV the server writes for people (staff exports and open-data
/// downloads) goes through this, by way of [`super::sheet::Sheet`].
pub fn spreadsheet_safe(s: &str) -> std::borrow::Cow<'_, str> {
    let plain_number = |t: &str| {
        let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
        let (whole, frac) = digits.split_once('.').unwrap_or((digits, "0"));
        !whole.is_empty()
            && whole.bytes().all(|b| b.is_ascii_digit())
            && !frac.is_empty()
            && frac.bytes().all(|b| b.is_ascii_digit())
    };
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) && !plain_number(s) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for f in [
            "=1+1",
            "@SUM(A1)",
            "+1+cmd|' /C calc'!A0",
            "-2+3",
            "\t=x",
            "\r=x",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert!(spreadsheet_safe(f).starts_with('\''), "{f}");
        }
        for n in ["+923001234567", "-12.5", "42", "peshawar", "", "-", "+"] {
            let out = spreadsheet_safe(n);
            if n == "-" || n == "+" {
                assert_eq!(out, format!("'{n}"));
            } else {
                assert_eq!(out, n);
            }
        }
    }

    #[test]
    fn spellings_from_different_keyboards_fold_together() {
        // "Peshawar" and "bijli" typed with Arabic letters and with Urdu ones.
        assert_eq!(fold("پشاور"), fold("پشاور"));
        assert_eq!(fold("بجلي"), fold("بجلی"));
        assert_eq!(fold("كنڈا"), fold("کنڈا"));
        assert_eq!(fold("شكايت"), fold("شکایت"));
        assert_eq!(fold("مدرسه"), fold("مدرسہ"));
        // vowel marks and tatweel vanish
        assert_eq!(fold("بِجلی"), fold("بجلی"));
        assert_eq!(fold("بجــلی"), fold("بجلی"));
        assert_eq!(fold("آب"), fold("اب"));
        // digits of every script read the same; English folds case
        assert_eq!(fold("۱۲۳ ١٢٣ 123"), "123 123 123");
        assert_eq!(fold("PESCO Kunda"), "pesco kunda");
    }

    #[test]
    fn words_are_what_tokenizers_see() {
        assert_eq!(
            words("  Kunda-connection, بجلي!  "),
            ["kunda", "connection", "بجلی"]
        );
        assert!(words("\"*' :& |!").is_empty());
        assert_eq!(fts5_query(&words("a b")), "\"a\"* \"b\"*");
        assert_eq!(tsquery(&words("a b")), "a:* & b:*");
    }
}
