//! Personal data: phone numbers and CNICs are validated newtypes that mask themselves wherever
//! they are shown, so that no public output or log line carries them whole.

use std::fmt;

/// A Pakistani mobile number, normalised to `+923XXXXXXXXX`.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts `03001234567`, `+923001234567`, `923001234567`, `0092 300 1234567`, with spaces
    /// or dashes.
    pub fn parse(raw: &str) -> Option<Phone> {
        let digits: String = super::text::typed_number(raw)
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        let rest = if let Some(r) = digits.strip_prefix("+92") {
            r
        } else if let Some(r) = digits.strip_prefix("0092") {
            r
        } else if let Some(r) = digits.strip_prefix("92").filter(|r| r.len() == 10) {
            r
        } else {
            digits.strip_prefix('0')?
        };
        (rest.len() == 10 && rest.starts_with('3') && rest.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Phone(format!("+92{rest}")))
    }

    /// The full number, for sending messages. Never for display.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// `+92 3** *** **67`
    pub fn masked(&self) -> String {
        let last2 = &self.0[self.0.len() - 2..];
        format!("+92 3** *** **{last2}")
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// A computerised national identity card number, `12345-1234567-1` (13 digits).
#[derive(Clone, PartialEq, Eq)]
pub struct Cnic(String);

impl Cnic {
    pub fn parse(raw: &str) -> Option<Cnic> {
        let digits: String = super::text::typed_number(raw)
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .collect();
        (digits.len() == 13 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Cnic(digits))
    }

    /// `12345-1234567-1`, for staff who are allowed to see it.
    pub fn formatted(&self) -> String {
        format!("{}-{}-{}", &self.0[..5], &self.0[5..12], &self.0[12..])
    }

    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `*****-*****67-1`
    pub fn masked(&self) -> String {
        format!("*****-*****{}-{}", &self.0[10..12], &self.0[12..])
    }
}

impl fmt::Debug for Cnic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// A plausible e-mail address (one `@`, a dot in the domain, no spaces, at most 254 bytes).
pub fn valid_email(raw: &str) -> bool {
    let Some((local, domain)) = raw.split_once('@') else {
        return false;
    };
    raw.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !raw.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// `a***@example.com`
pub fn mask_email(raw: &str) -> String {
    match raw.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Free text as the public may read it: what a reporter typed about someone — a phone number, a
/// CNIC, an account number (any run of ten or more digits, in Latin, Urdu or Arabic digits, with
/// spaces, dots or hyphens between them) keeps only its last two digits; an e-mail address keeps
/// its first letter and domain. Staff see the original.
pub fn redact_text(text: &str) -> std::borrow::Cow<'_, str> {
    fn digit(c: char) -> bool {
        super::text::latin_digit(c).is_ascii_digit()
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i]) || (chars[i] == '+' && chars.get(i + 1).is_some_and(|c| digit(*c))) {
            // A run of digits with single separators between them.
            let start = i;
            let mut end = i + 1;
            while end < chars.len() {
                if digit(chars[end]) {
                    end += 1;
                } else if matches!(chars[end], ' ' | '-' | '.')
                    && chars.get(end + 1).is_some_and(|c| digit(*c))
                {
                    end += 2;
                } else {
                    break;
                }
            }
            let run = &chars[start..end];
            let digits = run.iter().filter(|c| digit(**c)).count();
            if digits >= 10 {
                let mut left = digits;
                for &c in run {
                    if digit(c) {
                        left -= 1;
                        out.push(if left < 2 { c } else { '*' });
                    } else {
                        out.push(c);
                    }
                }
                changed = true;
            } else {
                out.extend(run);
            }
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    // E-mail addresses, word by word.
    if out.contains('@') {
        let mut masked = String::with_capacity(out.len());
        for (n, word) in out.split(' ').enumerate() {
            if n > 0 {
                masked.push(' ');
            }
            let core = word.trim_matches(|c: char| !c.is_alphanumeric());
            if core.contains('@') && valid_email(core) {
                masked.push_str(&word.replace(core, &mask_email(core)));
                changed = true;
            } else {
                masked.push_str(word);
            }
        }
        out = masked;
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_typed_into_free_text_are_masked() {
        assert_eq!(
            redact_text("Meter tampering by Khan, call 0300-1234567 or +92 300 7654321"),
            "Meter tampering by Khan, call ****-*****67 or +** *** *****21"
        );
        assert_eq!(
            redact_text("CNIC 17301-1234567-1 given"),
            "CNIC *****-******7-1 given"
        );
        assert_eq!(redact_text("فون ۰۳۰۰۱۲۳۴۵۶۷"), "فون *********۶۷");
        assert_eq!(
            redact_text("write to khan.sahib@example.pk."),
            "write to k***@example.pk."
        );
        for kept in [
            "3 poles down since 2026-11-02",
            "house 45, street 7",
            "Rs. 1,500",
            "no contact",
        ] {
            assert_eq!(redact_text(kept), kept);
        }
    }

    #[test]
    fn phones_normalise_and_mask() {
        for raw in [
            "03001234567",
            "+92 300 1234567",
            "923001234567",
            "0092-300-1234567",
        ] {
            let p = Phone::parse(raw).unwrap_or_else(|| panic!("{raw}"));
            assert_eq!(p.e164(), "+923001234567");
            assert_eq!(p.masked(), "+92 3** *** **67");
            assert!(!format!("{p:?}").contains("1234567"));
        }
        for bad in [
            "",
            "12345",
            "0300123456",
            "04001234567",
            "+9230012345678",
            "0300abc4567",
        ] {
            assert!(Phone::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn numbers_typed_on_an_urdu_or_arabic_keyboard_are_read() {
        // Urdu digits, with the direction marks a phone puts around a pasted number.
        let phone = Phone::parse("\u{200E}۰۳۰۰-۱۲۳۴۵۶۷\u{200F}").unwrap();
        assert_eq!(phone.e164(), "+923001234567");
        assert_eq!(
            Phone::parse("+٩٢ ٣٠٠ ١٢٣٤٥٦٧").unwrap().e164(),
            "+923001234567"
        );
        let cnic = Cnic::parse("۱۷۳۰۱-۱۲۳۴۵۶۷-۱").unwrap();
        assert_eq!(cnic.digits(), "1730112345671");
        assert!(Cnic::parse("۱۷۳۰۱-۱۲۳۴۵۶۷").is_none(), "still 13 digits");
        assert_eq!(
            crate::platform::text::typed_number("PSH-۱۲۳ \u{2067}٤٥٦\u{2069}"),
            "PSH-123 456"
        );
    }

    #[test]
    fn cnic_formats_and_masks() {
        let c = Cnic::parse("17301-1234567-1").unwrap();
        assert_eq!(c.formatted(), "17301-1234567-1");
        assert_eq!(c.masked(), "*****-*****67-1");
        assert!(Cnic::parse("1730112345671").is_some());
        assert!(Cnic::parse("17301-123456-1").is_none());
    }

    #[test]
    fn emails() {
        assert!(valid_email("a.b@kp.gov.pk"));
        assert!(!valid_email("a b@kp.gov.pk"));
        assert!(!valid_email("ab@kp"));
        assert_eq!(mask_email("amina@kp.gov.pk"), "a***@kp.gov.pk");
    }
}
