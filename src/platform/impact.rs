//! Impact events: every citizen interaction, with the service, channel, district and the minutes
//! of government time it saved (configured per service). The programme's figures are sums of
//! these rows.

use chrono::Utc;

use super::db::{query, Tx};

#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// The platform service: `reports`, `directory`, …
    pub service: &'a str,
    /// What happened: `report_submitted`, `status_checked`, …
    pub kind: &'a str,
    /// The configured service within it (an Open311 service code), if any.
    pub code: Option<&'a str>,
    /// `open311`, `web`, `sms`, `ussd`, `api`.
    pub channel: &'a str,
    pub district: Option<&'a str>,
    pub department_id: Option<i64>,
    pub minutes_saved: i64,
}

/// Record an event inside the transaction of the interaction itself.
pub async fn record(tx: &mut Tx, e: &Event<'_>) -> Result<(), sqlx::Error> {
    tx.execute(
        query(
            "INSERT INTO impact_events (at, service, kind, code, channel, district, department_id, minutes_saved) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(Utc::now())
        .bind(e.service)
        .bind(e.kind)
        .bind(e.code)
        .bind(e.channel)
        .bind(e.district)
        .bind(e.department_id)
        .bind(e.minutes_saved),
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
