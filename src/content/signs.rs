//! Traffic signs drawn as small SVGs (after the shapes of Pakistan's road signs: red circles
//! forbid, red triangles warn, blue circles order), for information pages and theory questions.
//! A pack names a sign (`stop`, `speed-limit-60`); nothing in a pack becomes markup.

pub const KNOWN: [&str; 12] = [
    "stop",
    "no-entry",
    "no-parking",
    "no-u-turn",
    "no-horn",
    "no-overtaking",
    "give-way",
    "pedestrian-crossing",
    "school-ahead",
    "roundabout",
    "keep-left",
    "speed-limit-N",
];

fn frame(label: &str, inner: &str) -> String {
    let label = label
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;");
    format!(
        r#"<svg class="sign" viewBox="0 0 100 100" width="96" height="96" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">{inner}</svg>"#
    )
}

const FORBID: &str =
    r##"<circle cx="50" cy="50" r="46" fill="#fff" stroke="#c62828" stroke-width="9"/>"##;
const BAR: &str = r##"<line x1="20" y1="20" x2="80" y2="80" stroke="#c62828" stroke-width="9"/>"##;
const WARN: &str = r##"<path d="M50 6 L95 90 H5 Z" fill="#fff" stroke="#c62828" stroke-width="8" stroke-linejoin="round"/>"##;
const ORDER: &str = r##"<circle cx="50" cy="50" r="46" fill="#1565c0"/>"##;

/// The sign's picture, or `None` for a sign we cannot draw.
pub fn svg(name: &str, label: &str) -> Option<String> {
    let inner = match name {
        "stop" => r##"<path d="M31 4 H69 L96 31 V69 L69 96 H31 L4 69 V31 Z" fill="#c62828"/><text x="50" y="59" text-anchor="middle" font-size="24" font-weight="bold" fill="#fff" font-family="sans-serif">STOP</text>"##.to_owned(),
        "no-entry" => r##"<circle cx="50" cy="50" r="46" fill="#c62828"/><rect x="18" y="42" width="64" height="16" fill="#fff"/>"##.to_owned(),
        "no-parking" => r##"<circle cx="50" cy="50" r="46" fill="#1565c0" stroke="#c62828" stroke-width="9"/><line x1="20" y1="20" x2="80" y2="80" stroke="#c62828" stroke-width="9"/>"##.to_owned(),
        "no-u-turn" => format!(r##"{FORBID}<path d="M38 72 V42 a12 12 0 0 1 24 0 V60" fill="none" stroke="#263238" stroke-width="7"/><path d="M52 56 L62 70 L72 56 Z" fill="#263238"/>{BAR}"##),
        "no-horn" => format!(r##"{FORBID}<path d="M28 42 H40 L62 28 V72 L40 58 H28 Z" fill="#263238"/>{BAR}"##),
        "no-overtaking" => format!(r##"{FORBID}<rect x="24" y="38" width="20" height="30" rx="4" fill="#c62828"/><rect x="56" y="38" width="20" height="30" rx="4" fill="#263238"/>"##),
        "give-way" => r##"<path d="M50 94 L95 10 H5 Z" fill="#fff" stroke="#c62828" stroke-width="8" stroke-linejoin="round"/>"##.to_owned(),
        "pedestrian-crossing" => format!(r##"{WARN}<circle cx="50" cy="38" r="6" fill="#263238"/><path d="M50 46 L44 64 L38 78 M50 46 L56 64 L62 78 M44 54 H58" stroke="#263238" stroke-width="5" fill="none"/>"##),
        "school-ahead" => format!(r##"{WARN}<circle cx="40" cy="42" r="5" fill="#263238"/><circle cx="60" cy="46" r="5" fill="#263238"/><path d="M40 48 V66 M36 78 L40 66 L44 78 M60 52 V68 M56 80 L60 68 L64 80" stroke="#263238" stroke-width="5" fill="none"/>"##),
        "roundabout" => format!(r##"{ORDER}<path d="M50 24 A26 26 0 1 1 24 50" fill="none" stroke="#fff" stroke-width="8"/><path d="M14 50 L24 38 L34 50 Z" fill="#fff"/>"##),
        "keep-left" => format!(r##"{ORDER}<path d="M66 70 L38 42" stroke="#fff" stroke-width="10"/><path d="M30 30 H52 L30 52 Z" fill="#fff"/>"##),
        n => {
            let limit: u32 = n.strip_prefix("speed-limit-")?.parse().ok().filter(|v| (5..=130).contains(v))?;
            format!(r##"{FORBID}<text x="50" y="62" text-anchor="middle" font-size="34" font-weight="bold" fill="#263238" font-family="sans-serif">{limit}</text>"##)
        }
    };
    Some(frame(label, &inner))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_sign_draws_and_nothing_else_does() {
        for s in KNOWN {
            let name = s.replace('N', "60");
            let svg = svg(&name, "a <sign>").unwrap_or_else(|| panic!("{name}"));
            assert!(
                svg.starts_with("<svg") && svg.contains("a &lt;sign>"),
                "{svg}"
            );
        }
        assert!(svg("speed-limit-999", "").is_none());
        assert!(svg("<script>", "").is_none());
    }
}
