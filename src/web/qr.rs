//! QR codes as SVG: one path of unit squares, so a tracking link's code is a few hundred bytes
//! compressed and prints sharp at any size.

use std::fmt::Write;

use qrcode::{Color, EcLevel, QrCode};

/// The QR code of `text` as an inline SVG, or `None` if the text is too long to encode.
pub fn svg(text: &str, label: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let quiet = 4;
    let size = width + 2 * quiet;
    let mut path = String::with_capacity(width * width * 4);
    for (i, c) in code.to_colors().into_iter().enumerate() {
        if c == Color::Dark {
            let _ = write!(path, "M{} {}h1v1h-1z", i % width + quiet, i / width + quiet);
        }
    }
    let label = crate::platform::xml::escape(label);
    Some(format!(
        r##"<svg class="qr" viewBox="0 0 {size} {size}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_tracking_link_encodes() {
        let s = super::svg("https://khidmat.example/track/0123456789abcdef", "QR").unwrap();
        assert!(s.starts_with("<svg") && s.contains("h1v1h-1z"));
    }
}
