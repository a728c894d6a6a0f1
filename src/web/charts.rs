//! Bar charts drawn on the server as SVG: no script, a few hundred bytes, readable on any
//! screen. Right-to-left pages get mirrored charts (labels on the right, bars growing left,
//! time running right to left), as readers of Urdu and Pashto scan them. Every chart on a page
//! also comes with its numbers as a table, for screen readers and for copying.
//!
//! Positions are absolute: the SVG says `direction="ltr"`, so that `text-anchor` means the same
//! on a right-to-left page (where `end` would otherwise be the left edge and push labels out of
//! the picture); Urdu and Pashto labels still read right to left by the bidi algorithm. A label
//! too long for its column is shortened with "…", the whole of it in a `<title>`.

use std::fmt::Write;

use crate::platform::xml::escape as esc;

/// At most this many characters of a bar's label are drawn.
const LABEL_CHARS: usize = 26;

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Horizontal bars: one row per item, its label beside it and its value at its end.
pub fn bars(items: &[(String, i64)], rtl: bool, label: &str) -> String {
    let row = 26.0;
    let (w, label_w) = (560.0, 190.0);
    let h = (items.len().max(1) as f64) * row + 8.0;
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1) as f64;
    let span = w - label_w - 60.0;
    let mut s = format!(
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}" direction="ltr" xmlns="http://www.w3.org/2000/svg">"#,
        esc(label)
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let len = (*v as f64 / max * span).max(if *v > 0 { 2.0 } else { 0.0 });
        let (tx, anchor, bx, vx, vanchor) = if rtl {
            (
                w - 4.0,
                "end",
                w - label_w - len,
                w - label_w - len - 6.0,
                "end",
            )
        } else {
            (4.0, "start", label_w, label_w + len + 6.0, "start")
        };
        let _ = write!(
            s,
            r##"<text x="{tx}" y="{:.1}" text-anchor="{anchor}" font-size="13" fill="#263238"><title>{}</title>{}</text><rect x="{bx:.1}" y="{y:.1}" width="{len:.1}" height="{:.1}" fill="#1565c0"/><text x="{vx:.1}" y="{:.1}" text-anchor="{vanchor}" font-size="13" fill="#263238">{v}</text>"##,
            y + 16.0,
            esc(name),
            esc(&short(name)),
            row - 8.0,
            y + 16.0,
        );
    }
    s.push_str("</svg>");
    s
}

/// Vertical columns over time (oldest first in `items`), labelled below.
pub fn columns(items: &[(String, i64)], rtl: bool, label: &str) -> String {
    let (w, h, base) = (560.0, 220.0, 180.0);
    let n = items.len().max(1) as f64;
    let slot = (w - 20.0) / n;
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1) as f64;
    let mut s = format!(
        r##"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{}" direction="ltr" xmlns="http://www.w3.org/2000/svg"><line x1="10" y1="{base}" x2="{}" y2="{base}" stroke="#90a4ae"/>"##,
        esc(label),
        w - 10.0
    );
    for (i, (name, v)) in items.iter().enumerate() {
        let pos = if rtl { n as usize - 1 - i } else { i } as f64;
        let x = 10.0 + pos * slot;
        let bh = *v as f64 / max * (base - 30.0);
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#1565c0"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="12" fill="#263238">{v}</text><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#455a64">{}</text>"##,
            x + slot * 0.15,
            base - bh,
            slot * 0.7,
            x + slot / 2.0,
            base - bh - 5.0,
            x + slot / 2.0,
            base + 18.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_mirror_for_right_to_left() {
        let items = vec![("Peshawar".to_string(), 10), ("Swat <x>".to_string(), 5)];
        let ltr = bars(&items, false, "by district");
        let rtl = bars(&items, true, "by district");
        assert!(ltr.contains(r#"text-anchor="start""#) && rtl.contains(r#"text-anchor="end""#));
        assert!(ltr.contains("Swat &lt;x&gt;"));
        assert!(columns(&items, true, "weeks").contains(">10<"));
        // Anchors mean the same on a right-to-left page.
        assert!(rtl.contains(r#"direction="ltr""#));
        let long = vec![(
            "Auqaf, Hajj, Religious and Minority Affairs Department".to_string(),
            1,
        )];
        let drawn = bars(&long, false, "by department");
        assert!(
            drawn.contains("Auqaf, Hajj, Religious an…</text>"),
            "{drawn}"
        );
        assert!(
            drawn.contains("<title>Auqaf, Hajj, Religious and Minority Affairs Department</title>")
        );
    }
}
