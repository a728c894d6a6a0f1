//! Pictures that packs name: road signs for information pages and question banks today, any
//! small drawing tomorrow. Each is a file in `static/pictures/` (an SVG with a `viewBox` and no
//! script), compiled into the binary; a pack names one by its file name (`stop`,
//! `speed-limit-60`) and the pack is refused when the name is not here. Nothing in a pack becomes
//! markup: the page gets the file, with the size and the spoken label added here.
//!
//! To add one: drop `NAME.svg` into `static/pictures/` and add its line below; a test fails when
//! the folder and the list differ.

use super::xml::escape;

const PICTURES: &[(&str, &str)] = &[
    (
        "give-way",
        include_str!("../../static/pictures/give-way.svg"),
    ),
    (
        "keep-left",
        include_str!("../../static/pictures/keep-left.svg"),
    ),
    (
        "no-entry",
        include_str!("../../static/pictures/no-entry.svg"),
    ),
    ("no-horn", include_str!("../../static/pictures/no-horn.svg")),
    (
        "no-overtaking",
        include_str!("../../static/pictures/no-overtaking.svg"),
    ),
    (
        "no-parking",
        include_str!("../../static/pictures/no-parking.svg"),
    ),
    (
        "no-u-turn",
        include_str!("../../static/pictures/no-u-turn.svg"),
    ),
    (
        "pedestrian-crossing",
        include_str!("../../static/pictures/pedestrian-crossing.svg"),
    ),
    (
        "roundabout",
        include_str!("../../static/pictures/roundabout.svg"),
    ),
    (
        "school-ahead",
        include_str!("../../static/pictures/school-ahead.svg"),
    ),
    (
        "speed-limit-100",
        include_str!("../../static/pictures/speed-limit-100.svg"),
    ),
    (
        "speed-limit-110",
        include_str!("../../static/pictures/speed-limit-110.svg"),
    ),
    (
        "speed-limit-120",
        include_str!("../../static/pictures/speed-limit-120.svg"),
    ),
    (
        "speed-limit-20",
        include_str!("../../static/pictures/speed-limit-20.svg"),
    ),
    (
        "speed-limit-30",
        include_str!("../../static/pictures/speed-limit-30.svg"),
    ),
    (
        "speed-limit-40",
        include_str!("../../static/pictures/speed-limit-40.svg"),
    ),
    (
        "speed-limit-50",
        include_str!("../../static/pictures/speed-limit-50.svg"),
    ),
    (
        "speed-limit-60",
        include_str!("../../static/pictures/speed-limit-60.svg"),
    ),
    (
        "speed-limit-70",
        include_str!("../../static/pictures/speed-limit-70.svg"),
    ),
    (
        "speed-limit-80",
        include_str!("../../static/pictures/speed-limit-80.svg"),
    ),
    ("stop", include_str!("../../static/pictures/stop.svg")),
];

/// Whether a pack may name `name`.
pub fn exists(name: &str) -> bool {
    PICTURES.iter().any(|(n, _)| *n == name)
}

/// Every name, for the error that refuses a pack.
pub fn names() -> Vec<&'static str> {
    PICTURES.iter().map(|(n, _)| *n).collect()
}

/// The picture as inline SVG, 96 pixels square, announced to screen readers as `label`; `None`
/// for a name that is not here.
pub fn svg(name: &str, label: &str) -> Option<String> {
    let (_, file) = PICTURES.iter().find(|(n, _)| *n == name)?;
    let rest = file.trim().strip_prefix("<svg")?;
    Some(format!(
        r#"<svg class="sign" width="96" height="96" role="img" aria-label="{}"{rest}"#,
        escape(label)
    ))
}

/// A pack's check: `Err` names what is there when `name` is not.
pub fn check(name: &str) -> Result<(), String> {
    if exists(name) {
        Ok(())
    } else {
        Err(format!(
            "there is no picture {name:?}; there are: {}",
            names().join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_the_folder_and_every_file_is_a_plain_svg() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/static/pictures");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut listed: Vec<String> = names().iter().map(|n| format!("{n}.svg")).collect();
        listed.sort();
        assert_eq!(files, listed, "static/pictures and PICTURES differ");
        for (name, file) in PICTURES {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            let f = file.trim();
            assert!(f.starts_with("<svg ") && f.ends_with("</svg>"), "{name}");
            assert!(f.contains("viewBox="), "{name} needs a viewBox to scale");
            let lower = f.to_ascii_lowercase();
            for bad in [
                "<script",
                "onload",
                "onclick",
                "href=\"http",
                "<foreignobject",
            ] {
                assert!(!lower.contains(bad), "{name} carries {bad}");
            }
        }
    }

    #[test]
    fn a_picture_is_labelled_and_an_unknown_name_draws_nothing() {
        let s = svg("stop", "a <sign> & \"more\"").unwrap();
        assert!(s.starts_with(r#"<svg class="sign" width="96" height="96" role="img" aria-label="a &lt;sign&gt; &amp; &quot;more&quot;" viewBox="#), "{s}");
        assert!(svg("speed-limit-60", "").is_some());
        assert!(svg("speed-limit-999", "").is_none());
        assert!(svg("<script>", "").is_none());
        assert!(svg("../app", "").is_none());
        assert!(check("nope").unwrap_err().contains("stop"));
    }
}
