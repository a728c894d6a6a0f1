//! Importing places from CSV: one row a place, checked row by row. A bad row is left out and
//! reported with its line and why; the good rows are stored (in transactions of 500), so a file
//! with one broken coordinate still loads everything else, and nothing is half-written.
//!
//! Columns: `name, lat, long` (required), `address, district, phone, description, hours`
//! (hours as `MO-FR 09:00-17:00; SA 09:00-13:00`), `name_ur, name_ps, address_ur, address_ps`
//! (the name and address in Urdu and Pashto), and any of the kind's attribute codes.

use std::collections::BTreeMap;

use super::model::{Hours, Kind};
use super::store;
use crate::platform::db::Db;
use crate::platform::geo;
use crate::platform::i18n::Text3;

const FIXED: [&str; 12] = [
    "name",
    "lat",
    "long",
    "address",
    "district",
    "phone",
    "description",
    "hours",
    "name_ur",
    "name_ps",
    "address_ur",
    "address_ps",
];

/// What an import did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub imported: usize,
    /// `(line, why)`
    pub rejected: Vec<(u64, String)>,
}

struct Row {
    name: Text3,
    lat: f64,
    long: f64,
    address: Text3,
    district: Option<String>,
    phone: Option<String>,
    description: String,
    hours: Vec<Hours>,
    attributes: BTreeMap<String, serde_json::Value>,
}

/// Import `csv` as places of `kind` (verified: an import is the department's own data).
/// `progress` is called after each row with the number of rows read.
pub async fn import(
    db: &Db,
    kind: &Kind,
    organization: Option<&str>,
    csv_text: &str,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Outcome> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(csv_text.as_bytes());
    let headers: Vec<String> = reader.headers()?.iter().map(|h| h.to_lowercase()).collect();
    for h in &headers {
        anyhow::ensure!(
            FIXED.contains(&h.as_str()) || kind.attribute(h).is_some(),
            "unknown column {h:?}: use {} or an attribute of {} ({})",
            FIXED.join(", "),
            kind.code,
            kind.attributes
                .iter()
                .map(|a| a.code.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for required in ["name", "lat", "long"] {
        anyhow::ensure!(
            headers.iter().any(|h| h == required),
            "the file needs a {required:?} column"
        );
    }
    let districts = crate::platform::org::districts(db).await?;
    let organization_id = match organization {
        None => None,
        Some(slug) => {
            let mut tx = db.begin().await?;
            let id = store::org_id_by_slug(&mut tx, slug).await?;
            tx.commit().await?;
            Some(id.ok_or_else(|| anyhow::anyhow!("unknown organization {slug:?}"))?)
        }
    };
    let mut out = Outcome::default();
    let mut batch: Vec<Row> = Vec::new();
    let mut read = 0u64;
    for record in reader.records() {
        read += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                out.rejected.push((
                    e.position().map(|p| p.line()).unwrap_or(read + 1),
                    format!("unreadable: {e}"),
                ));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(read + 1);
        let cell = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .unwrap_or("")
                .to_owned()
        };
        match parse_row(kind, &headers, &record, &cell, &districts) {
            Ok(row) => batch.push(row),
            Err(why) => out.rejected.push((line, why)),
        }
        if batch.len() >= 500 {
            out.imported +=
                store_rows(db, kind, organization_id, std::mem::take(&mut batch)).await?;
        }
        progress(read);
    }
    out.imported += store_rows(db, kind, organization_id, batch).await?;
    Ok(out)
}

fn parse_row(
    kind: &Kind,
    headers: &[String],
    record: &csv::StringRecord,
    cell: &dyn Fn(&str) -> String,
    districts: &[crate::platform::org::District],
) -> Result<Row, String> {
    let name = cell("name");
    if name.is_empty() || name.chars().count() > 200 {
        return Err("name: 1 to 200 characters".into());
    }
    let lat: f64 = cell("lat")
        .parse()
        .ok()
        .filter(|v| geo::valid_lat(*v))
        .ok_or_else(|| format!("lat {:?} is not a latitude (-90 to 90)", cell("lat")))?;
    let long: f64 = cell("long")
        .parse()
        .ok()
        .filter(|v| geo::valid_long(*v))
        .ok_or_else(|| format!("long {:?} is not a longitude (-180 to 180)", cell("long")))?;
    let district = match cell("district").as_str() {
        "" => crate::platform::org::nearest_district(districts, lat, long, 80_000.0)
            .map(|d| d.slug.clone()),
        d => Some(
            districts
                .iter()
                .find(|x| x.slug == d)
                .map(|x| x.slug.clone())
                .ok_or_else(|| format!("district {d:?} is not a district"))?,
        ),
    };
    let phone = match cell("phone").as_str() {
        "" => None,
        p if p.len() <= 20 && p.chars().all(|c| c.is_ascii_digit() || " +-".contains(c)) => {
            Some(p.to_owned())
        }
        p => return Err(format!("phone {p:?} is not a phone number")),
    };
    let hours = cell("hours")
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Hours::parse_line)
        .collect::<Result<Vec<_>, _>>()?;
    let mut attributes = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        if let Some(a) = kind.attribute(h) {
            let v = record.get(i).unwrap_or("").trim();
            if !v.is_empty() {
                attributes.insert(
                    a.code.clone(),
                    a.parse(v)
                        .ok_or_else(|| format!("{h} {v:?} is not a value of {h}"))?,
                );
            }
        }
    }
    let text = |column: &str, max: usize| cell(column).trim().chars().take(max).collect::<String>();
    Ok(Row {
        name: Text3 {
            en: name,
            ur: text("name_ur", 200),
            ps: text("name_ps", 200),
        },
        lat,
        long,
        address: Text3 {
            en: text("address", 500),
            ur: text("address_ur", 500),
            ps: text("address_ps", 500),
        },
        district,
        phone,
        description: cell("description").chars().take(2000).collect(),
        hours,
        attributes,
    })
}

async fn store_rows(
    db: &Db,
    kind: &Kind,
    organization_id: Option<i64>,
    rows: Vec<Row>,
) -> anyhow::Result<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    for r in &rows {
        store::insert_place(
            &mut tx,
            &store::NewPlace {
                kind: &kind.code,
                organization_id,
                name: &r.name,
                description: &r.description,
                lat: r.lat,
                long: r.long,
                address: &r.address,
                district: r.district.as_deref(),
                phone: r.phone.as_deref(),
                attributes: &r.attributes,
                hours: &r.hours,
                status: "verified",
                suggested_by: None,
                possible_duplicate_of: None,
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len())
}
