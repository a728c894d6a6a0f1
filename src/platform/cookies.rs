//! The cookies the server sets and reads, written by the `cookie` crate's builder and read by
//! its parser, never by hand: the staff session (`SameSite=Strict`), a citizen's session (`Lax`,
//! so a link from an SMS keeps them signed in), the form token, and the language chosen. Every
//! cookie that holds a secret is `HttpOnly` (script cannot read it), for the whole site, and
//! `Secure` when the server is reached over HTTPS.

use axum::http::{header, HeaderMap};
pub use cookie::SameSite;
use cookie::{time::Duration, Cookie};

/// Whether the server is reached over HTTPS (its `public_url` says so): its secret cookies are
/// then `Secure`, which the browser never sends over plain HTTP, where anyone on the way could
/// read them.
pub fn https(public_url: Option<&str>) -> bool {
    public_url.is_some_and(|u| u.starts_with("https://"))
}

/// The `Set-Cookie` value of a cookie that holds a secret, for `seconds`.
pub fn secret(name: &str, value: &str, same_site: SameSite, seconds: i64, secure: bool) -> String {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .max_age(Duration::seconds(seconds))
        .secure(secure)
        .build()
        .to_string()
}

/// The `Set-Cookie` value that removes the cookie `name` from the browser.
pub fn clear(name: &str, same_site: SameSite) -> String {
    Cookie::build((name, ""))
        .path("/")
        .http_only(true)
        .same_site(same_site)
        .max_age(Duration::ZERO)
        .build()
        .to_string()
}

/// The `Set-Cookie` value of a preference the pages may read (the language), for a year.
pub fn preference(name: &str, value: &str) -> String {
    Cookie::build((name, value))
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(Duration::days(365))
        .build()
        .to_string()
}

/// The value of the cookie `name`, if the request carries it (the first, if several).
pub fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn a_secret_cookie_carries_every_attribute() {
        let c = secret("s", "abc", SameSite::Strict, 3600, true);
        for part in [
            "s=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(c.split("; ").any(|p| p == part), "{part} in {c}");
        }
        let c = secret("s", "abc", SameSite::Lax, 60, false);
        assert!(!c.contains("Secure") && c.contains("SameSite=Lax"), "{c}");
        let c = clear("s", SameSite::Strict);
        assert!(c.starts_with("s=;") && c.contains("Max-Age=0"), "{c}");
        let c = preference("lang", "ur");
        assert!(c.starts_with("lang=ur;") && !c.contains("HttpOnly"), "{c}");
        assert!(
            https(Some("https://khidmat.kp.gov.pk")) && !https(Some("http://x")) && !https(None)
        );
    }

    #[test]
    fn reading_finds_the_named_cookie_only() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("xs=1; s=two; lang=ur"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("later=3"));
        assert_eq!(read(&h, "s"), Some("two"));
        assert_eq!(read(&h, "later"), Some("3"));
        assert_eq!(read(&h, "x"), None);
        assert_eq!(read(&HeaderMap::new(), "s"), None);
    }
}
