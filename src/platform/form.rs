//! Form fields, checked the same way everywhere: trimmed, required or optional, bounded in
//! length, dates as `YYYY-MM-DD`, codes; refused with a message in the caller's language that
//! names the field.

use chrono::NaiveDate;

use super::error::{Error, Result};
use super::i18n::Lang;
use crate::t;

/// A required text, trimmed, at most `max` characters.
pub fn text(lang: Lang, name: &str, raw: &str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(Error::BadRequest(t!(
            lang,
            "err-field-required",
            name = name
        )));
    }
    optional_text(lang, name, t, max)
}

/// An optional text, trimmed, at most `max` characters.
pub fn optional_text(lang: Lang, name: &str, raw: &str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.chars().count() > max {
        return Err(Error::BadRequest(t!(
            lang,
            "err-field-too-long",
            name = name,
            max = max
        )));
    }
    Ok(t.to_owned())
}

/// A required date (`YYYY-MM-DD`, or as people type it: [`super::clock::typed_day`]).
pub fn date(lang: Lang, name: &str, raw: &str) -> Result<NaiveDate> {
    super::clock::typed_day(raw).ok_or_else(|| Error::BadRequest(t!(lang, "err-date", name = name)))
}

/// An optional date: empty is none.
pub fn optional_date(lang: Lang, name: &str, raw: &str) -> Result<Option<NaiveDate>> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        date(lang, name, raw).map(Some)
    }
}

/// A code: lower-case letters, digits and hyphens, 2 to 40 of them.
pub fn code(lang: Lang, name: &str, raw: &str) -> Result<String> {
    let c = raw.trim();
    let ok = (2..=40).contains(&c.len())
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(Error::BadRequest(t!(lang, "err-code", name = name)));
    }
    Ok(c.to_owned())
}

/// A web address: `https://` or `http://`, at most 300 characters; empty is none.
pub fn optional_url(lang: Lang, name: &str, raw: &str) -> Result<String> {
    let u = optional_text(lang, name, raw, 300)?;
    let web = u.is_empty() || u.starts_with("https://") || u.starts_with("http://");
    if !web || u.contains(char::is_whitespace) {
        return Err(Error::BadRequest(t!(lang, "err-url", name = name)));
    }
    Ok(u)
}

/// A multipart form: its text fields, and its files (`(field name, bytes)`).
pub struct SentForm {
    pub fields: std::collections::HashMap<String, String>,
    pub files: Vec<(String, Vec<u8>)>,
}

impl SentForm {
    /// What makes two sendings "the same request" for an idempotency key: every field but those
    /// in `skip` (the form token, the key itself), in name order, and every file.
    pub fn digest(&self, skip: &[&str]) -> String {
        let mut names: Vec<&String> = self
            .fields
            .keys()
            .filter(|k| !skip.contains(&k.as_str()))
            .collect();
        names.sort();
        let mut parts: Vec<&[u8]> = Vec::new();
        for k in names {
            parts.push(k.as_bytes());
            parts.push(self.fields[k].as_bytes());
        }
        for (name, bytes) in &self.files {
            parts.push(name.as_bytes());
            parts.push(bytes);
        }
        super::idempotency::request_hash(&parts)
    }
}

/// Read a multipart form; each file at most `max_file` bytes, each text field at most 10,000.
/// (Pages check the form token with `web::read_checked`.)
pub async fn read_form(
    mut form: axum::extract::Multipart,
    max_file: usize,
    lang: Lang,
) -> Result<SentForm> {
    let mut sent = SentForm {
        fields: std::collections::HashMap::new(),
        files: Vec::new(),
    };
    let body_error = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge(t!(
                lang,
                "err-photo-too-large",
                max = max_file / (1024 * 1024)
            ))
        } else {
            Error::BadRequest(t!(lang, "err-body", reason = e.body_text()))
        }
    };
    while let Some(mut field) = form.next_field().await.map_err(body_error)? {
        let name = field.name().unwrap_or("").to_owned();
        if field.file_name().is_some() {
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(body_error)? {
                if bytes.len() + chunk.len() > max_file {
                    return Err(Error::TooLarge(t!(
                        lang,
                        "err-photo-too-large",
                        max = max_file / (1024 * 1024)
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            if !bytes.is_empty() {
                sent.files.push((name, bytes));
            }
        } else {
            let text = field.text().await.map_err(body_error)?;
            if text.len() > 10_000 {
                return Err(Error::BadRequest(t!(
                    lang,
                    "err-field-too-long",
                    name = name.as_str(),
                    max = 10_000usize
                )));
            }
            sent.fields.insert(name, text);
        }
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_say_what_is_wrong() {
        let en = Lang::En;
        assert_eq!(
            date(en, "opens_on", "۱/۱۲/۲۰۲۶").unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
        );
        assert!(date(en, "opens_on", "12/1/26")
            .unwrap_err()
            .to_string()
            .contains("YYYY-MM-DD"));
        assert_eq!(optional_date(en, "x", " ").unwrap(), None);
        assert!(code(en, "code", "Cycle 7").is_err());
        assert_eq!(code(en, "code", " cycle-7 ").unwrap(), "cycle-7");
        assert!(text(en, "title", "  ", 10)
            .unwrap_err()
            .to_string()
            .contains("title is required"));
        assert!(optional_text(en, "t", &"x".repeat(11), 10).is_err());
        assert!(optional_url(en, "website", "javascript:alert(1)").is_err());
        assert!(optional_url(en, "website", "https://a.pk/x y").is_err());
        assert_eq!(optional_url(en, "website", " ").unwrap(), "");
        assert!(text(Lang::Ur, "عنوان", "", 10)
            .unwrap_err()
            .to_string()
            .contains("عنوان"));
    }
}
