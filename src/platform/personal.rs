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
        let digits: String = raw
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
        let digits: String = raw.chars().filter(|c| *c != '-' && *c != ' ').collect();
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

#[cfg(test)]
mod tests {
    use super::*;

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
