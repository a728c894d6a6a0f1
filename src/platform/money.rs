//! Money: amounts are whole paisa (`i64`) everywhere, never floating point; rupees only at the
//! edges, read and printed exactly.

/// `1234567` paisa → `12,345.67`: rupees with thousands separators, as banks print them.
pub fn rupees(paisa: i64) -> String {
    let sign = if paisa < 0 { "-" } else { "" };
    let p = paisa.unsigned_abs();
    let whole = (p / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", p % 100)
}

/// `12,345.67`, `12345.6`, `12345` (rupees) → paisa, exactly: no floating point. `None` for
/// anything else, a negative amount or more than two decimals.
pub fn parse_rupees(raw: &str) -> Option<i64> {
    let s: String = raw.trim().chars().filter(|c| *c != ',').collect();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty()
        || whole.len() > 13
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac_paisa = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(frac_paisa)
}
