//! Impact events: every citizen interaction, with the service, channel, district and the minutes
//! of government time it saved (configured per service). The programme's figures are counts and
//! sums of these rows (`crate::programme::figures`).
//!
//! Each event also carries its ISO week in Pakistan time, and, where the citizen gave a contact, a
//! keyed hash of it: HMAC-SHA256 under the deployment's pseudonym key, kept outside the
//! database (`platform::secrets`), so that distinct citizens can be counted per week without the
//! contact being kept, and without anyone who reads the table being able to test a phone number
//! against it.

use chrono::{DateTime, Datelike, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::db::{query, Tx};
use super::personal::Phone;

#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The platform service: `reports`, `directory`, …
    pub service: &'a str,
    /// What happened: `report_submitted`, `status_checked`, …
    pub kind: &'a str,
    /// The configured service within it (an Open311 service code), if any.
    pub code: Option<&'a str>,
    /// `open311`, `web`, `sms`, `ussd`, `api`, `staff`.
    pub channel: &'a str,
    pub district: Option<&'a str>,
    pub department_id: Option<i64>,
    pub minutes_saved: i64,
    /// Who was served, as a [`Citizen`] key; hashed before it is stored.
    pub citizen: Option<Citizen>,
}

/// A citizen's contact, normalised so that the same person counts once however they wrote it;
/// or the stored key of one already known by it (a citizen signed in on the web).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citizen(Key);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Contact(String),
    Hashed(String),
}

impl Citizen {
    pub fn phone(p: &Phone) -> Citizen {
        Citizen(Key::Contact(format!("phone:{}", p.e164())))
    }
    /// A CNIC's 13 digits (as `Cnic::digits` gives them).
    pub fn cnic(digits: &str) -> Citizen {
        Citizen(Key::Contact(format!("cnic:{digits}")))
    }
    pub fn email(e: &str) -> Citizen {
        Citizen(Key::Contact(format!("email:{}", e.trim().to_lowercase())))
    }
    /// An app installation (Open311 `device_id`) or an account.
    pub fn device(id: &str) -> Citizen {
        Citizen(Key::Contact(format!("device:{}", id.trim())))
    }
    /// A citizen known by the key [`key`] gave for them earlier.
    pub fn known(key: &str) -> Citizen {
        Citizen(Key::Hashed(key.to_owned()))
    }
}

/// The ISO week (`2026-W48`) holding `at`, in Pakistan time.
pub fn week_of(at: DateTime<Utc>) -> String {
    let w = at.with_timezone(&crate::platform::clock::pkt()).iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// The stored form of a citizen key: 32 hex digits of HMAC-SHA256 under the deployment's secret.
pub fn hash_citizen(secret: &str, c: &Citizen) -> String {
    match &c.0 {
        Key::Hashed(k) => k.clone(),
        Key::Contact(contact) => {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(contact.as_bytes());
            hex::encode(&mac.finalize().into_bytes()[..16])
        }
    }
}

/// The stored key of a citizen: what impact events count, and what a citizen's own records
/// (a signed-in citizen's theory tests) are filed under. Never the contact itself.
pub fn key(c: &Citizen) -> String {
    hash_citizen(super::secrets::pseudonym_key(), c)
}

/// Record an event inside the transaction of the interaction itself.
pub async fn record(tx: &mut Tx, e: &Event<'_>) -> Result<(), sqlx::Error> {
    record_at(tx, e, Utc::now()).await
}

/// Record an event that happened at `at` (imports of past interactions, and tests).
pub async fn record_at(tx: &mut Tx, e: &Event<'_>, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let citizen = e.citizen.as_ref().map(key);
    tx.execute(
        query(
            "INSERT INTO impact_events \
             (at, week, service, kind, code, channel, district, department_id, minutes_saved, citizen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(at)
        .bind(week_of(at))
        .bind(e.service)
        .bind(e.kind)
        .bind(e.code)
        .bind(e.channel)
        .bind(e.district)
        .bind(e.department_id)
        .bind(e.minutes_saved)
        .bind(citizen),
    )
    .await?;
    metrics::counter!(
        "khidmat_impact_events_total",
        "service" => e.service.to_owned(),
        "kind" => e.kind.to_owned(),
        "channel" => e.channel.to_owned()
    )
    .increment(1);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn weeks_are_iso_weeks_in_pakistan_time() {
        // Sunday 2026-11-29 20:00 UTC is Monday 01:00 in Pakistan: the next week.
        let late_sunday = Utc.with_ymd_and_hms(2026, 11, 29, 20, 0, 0).unwrap();
        assert_eq!(week_of(late_sunday), "2026-W49");
        let sunday = Utc.with_ymd_and_hms(2026, 11, 29, 18, 0, 0).unwrap();
        assert_eq!(week_of(sunday), "2026-W48");
        // 1 January 2027 is a Friday: it belongs to the last week of 2026.
        let new_year = Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0).unwrap();
        assert_eq!(week_of(new_year), "2026-W53");
    }

    #[test]
    fn a_citizen_hash_depends_on_the_secret_and_hides_the_contact() {
        let p = Phone::parse("0300 1234567").unwrap();
        let same = Phone::parse("+923001234567").unwrap();
        let a = hash_citizen("one", &Citizen::phone(&p));
        assert_eq!(a, hash_citizen("one", &Citizen::phone(&same)));
        assert_ne!(a, hash_citizen("two", &Citizen::phone(&p)));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("3001234567"));
        assert_eq!(
            Citizen::email(" Ayesha@Example.PK "),
            Citizen::email("ayesha@example.pk")
        );
    }
}
