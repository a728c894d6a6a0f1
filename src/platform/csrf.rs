//! The form token: every form a page shows carries it, every form post is checked against it.
//! It is derived (keyed) from a random cookie of the browser and the sessions it holds, so a
//! planted cookie or a token taken with another session does not pass.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine;
use rand::RngCore;

use super::state::AppState;

pub const CSRF_COOKIE: &str = "khidmat_csrf";

/// The form token of this browser: derived from its cookie (new, and then set by [`render`],
/// when it has none) and the sessions it holds.
pub struct Csrf {
    /// What this browser's forms carry.
    pub token: String,
    /// The random value the cookie holds.
    cookie: String,
    fresh: bool,
    /// `Secure` on the cookie: the server is reached over HTTPS.
    secure: bool,
}

impl Csrf {
    pub(crate) fn new(cookie: String, fresh: bool, headers: &HeaderMap, secure: bool) -> Csrf {
        use crate::platform::cookies::read as cookie_value;
        let sessions = [
            cookie_value(headers, crate::platform::identity::SESSION_COOKIE).unwrap_or(""),
            cookie_value(headers, crate::platform::citizen::COOKIE).unwrap_or(""),
        ];
        Csrf {
            token: crate::platform::secrets::form_token(&cookie, &sessions),
            cookie,
            fresh,
            secure,
        }
    }

    /// Does a submitted form carry this browser's token? A browser without the cookie cannot
    /// pass, whatever it sends; nor can a token taken with another session.
    pub fn verify(&self, submitted: Option<&str>) -> bool {
        let Some(s) = submitted else { return false };
        !self.fresh
            && !self.token.is_empty()
            && crate::platform::identity::same_secret(s, &self.token)
    }

    /// For an API call that a form could also make (multipart): a caller with a bearer key, or
    /// without a session, needs no token; a browser session must send its `csrf` field.
    pub fn verify_api(&self, headers: &HeaderMap, submitted: Option<&str>) -> bool {
        crate::platform::identity::session_cookie(headers).is_none()
            || headers.contains_key(header::AUTHORIZATION)
            || self.verify(submitted)
    }

    pub(crate) fn set_cookie(&self) -> Option<String> {
        // A long life: a report kept in the phone's outbox is sent with this token days later.
        self.fresh.then(|| {
            crate::platform::cookies::secret(
                CSRF_COOKIE,
                &self.cookie,
                crate::platform::cookies::SameSite::Strict,
                365 * 86400,
                self.secure,
            )
        })
    }

    /// No token: the error page, which has no form.
    pub(crate) fn none() -> Csrf {
        Csrf {
            token: String::new(),
            cookie: String::new(),
            fresh: false,
            secure: false,
        }
    }
}

impl FromRequestParts<AppState> for Csrf {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let secure = crate::platform::cookies::https(state.config.public_url.as_deref());
        if let Some(t) = crate::platform::cookies::read(&parts.headers, CSRF_COOKIE) {
            if t.len() == 43
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Ok(Csrf::new(t.to_owned(), false, &parts.headers, secure));
            }
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let cookie = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Ok(Csrf::new(cookie, true, &parts.headers, secure))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_token_needs_its_cookie_and_its_sessions() {
        let headers = |cookies: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::COOKIE, HeaderValue::from_str(cookies).unwrap());
            h
        };
        let cookie = "a".repeat(43);
        let anonymous = Csrf::new(cookie.clone(), false, &HeaderMap::new(), false);
        assert_ne!(anonymous.token, cookie, "the cookie is not the token");
        assert!(anonymous.verify(Some(&anonymous.token.clone())));
        assert!(!anonymous.verify(Some(&cookie)));
        assert!(!anonymous.verify(None));
        let fresh = Csrf::new(cookie.clone(), true, &HeaderMap::new(), false);
        assert!(
            !fresh.verify(Some(&anonymous.token)),
            "a fresh cookie never verifies"
        );
        // Another session, staff or citizen: another token.
        let staff = Csrf::new(cookie.clone(), false, &headers("khidmat_session=s1"), false);
        let other = Csrf::new(cookie.clone(), false, &headers("khidmat_session=s2"), false);
        let citizen = Csrf::new(cookie.clone(), false, &headers("khidmat_citizen=s1"), false);
        assert!(!staff.verify(Some(&anonymous.token)));
        assert!(!other.verify(Some(&staff.token)));
        assert!(!citizen.verify(Some(&staff.token)));
        assert!(staff.verify(Some(&staff.token.clone())));
        assert!(Csrf::none().token.is_empty() && !Csrf::none().verify(Some("")));
        assert!(fresh.set_cookie().unwrap().contains("; SameSite=Strict"));
        assert!(!fresh.set_cookie().unwrap().contains("Secure"));
        let secure = Csrf::new(cookie, true, &HeaderMap::new(), true);
        assert!(secure.set_cookie().unwrap().contains("; Secure"));
    }
}
