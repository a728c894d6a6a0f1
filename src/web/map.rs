//! Maps drawn on the server as SVG: reports clustered into hotspots on a Web Mercator grid, over
//! map tiles when a tile server is configured and reachable. The points are the SVG's own
//! circles, so the map still says where the reports are when the tiles never arrive (no
//! internet, or too little of it); district headquarters are drawn too, for orientation.

use std::fmt::Write;

use crate::platform::config::Config;
use crate::platform::i18n::Lang;
use crate::platform::org::District;
use crate::platform::xml::escape as esc;

const TILE: f64 = 256.0;
/// Never zoom in past street level.
const MAX_ZOOM: u8 = 17;

/// Pixel position of a point at `zoom` (the whole world is `256 * 2^zoom` pixels wide).
pub fn project(lat: f64, long: f64, zoom: u8) -> (f64, f64) {
    let scale = TILE * f64::from(1u32 << zoom);
    let lat = lat.clamp(-85.0511, 85.0511).to_radians();
    let x = (long + 180.0) / 360.0 * scale;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * scale;
    (x, y)
}

/// The point at a pixel position at `zoom`.
pub fn unproject(x: f64, y: f64, zoom: u8) -> (f64, f64) {
    let scale = TILE * f64::from(1u32 << zoom);
    let long = x / scale * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * y / scale);
    (n.sinh().atan().to_degrees(), long)
}

/// A box of latitudes and longitudes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub south: f64,
    pub west: f64,
    pub north: f64,
    pub east: f64,
}

impl Bbox {
    /// Khyber Pakhtunkhwa, with a margin.
    pub const KP: Bbox = Bbox {
        south: 31.0,
        west: 69.0,
        north: 37.2,
        east: 74.2,
    };

    /// `south,west,north,east`, as in the map's links.
    pub fn parse(s: &str) -> Option<Bbox> {
        let v: Vec<f64> = s
            .split(',')
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()?;
        let b = match v.as_slice() {
            [s, w, n, e] => Bbox {
                south: *s,
                west: *w,
                north: *n,
                east: *e,
            },
            _ => return None,
        };
        let ok = b.south < b.north
            && b.west < b.east
            && (-90.0..=90.0).contains(&b.south)
            && (-90.0..=90.0).contains(&b.north)
            && (-180.0..=180.0).contains(&b.west)
            && (-180.0..=180.0).contains(&b.east);
        ok.then_some(b)
    }

    pub fn around(points: &[(f64, f64)]) -> Option<Bbox> {
        let first = points.first()?;
        let mut b = Bbox {
            south: first.0,
            north: first.0,
            west: first.1,
            east: first.1,
        };
        for &(la, lo) in points {
            b.south = b.south.min(la);
            b.north = b.north.max(la);
            b.west = b.west.min(lo);
            b.east = b.east.max(lo);
        }
        // A single place still needs some ground around it.
        let pad = 0.005;
        Some(Bbox {
            south: b.south - pad,
            west: b.west - pad,
            north: b.north + pad,
            east: b.east + pad,
        })
    }

    pub fn contains(&self, lat: f64, long: f64) -> bool {
        (self.south..=self.north).contains(&lat) && (self.west..=self.east).contains(&long)
    }

    pub fn param(&self) -> String {
        format!(
            "{:.5},{:.5},{:.5},{:.5}",
            self.south, self.west, self.north, self.east
        )
    }
}

/// A view of the world: a zoom level and the pixel at the map's top-left corner.
#[derive(Debug, Clone, Copy)]
pub struct View {
    pub zoom: u8,
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

impl View {
    /// The closest zoom at which `bbox` fits in `width` × `height`, centred.
    pub fn fit(bbox: Bbox, width: f64, height: f64) -> View {
        let mut zoom = MAX_ZOOM;
        loop {
            let (x0, y0) = project(bbox.north, bbox.west, zoom);
            let (x1, y1) = project(bbox.south, bbox.east, zoom);
            if (x1 - x0 <= width && y1 - y0 <= height) || zoom == 1 {
                let cx = (x0 + x1) / 2.0;
                let cy = (y0 + y1) / 2.0;
                return View {
                    zoom,
                    left: cx - width / 2.0,
                    top: cy - height / 2.0,
                    width,
                    height,
                };
            }
            zoom -= 1;
        }
    }

    /// Centred on a point at a zoom.
    pub fn centred(lat: f64, long: f64, zoom: u8, width: f64, height: f64) -> View {
        let (x, y) = project(lat, long, zoom);
        View {
            zoom,
            left: x - width / 2.0,
            top: y - height / 2.0,
            width,
            height,
        }
    }

    /// Where a point falls on this map.
    pub fn place(&self, lat: f64, long: f64) -> (f64, f64) {
        let (x, y) = project(lat, long, self.zoom);
        (x - self.left, y - self.top)
    }

    pub fn bbox(&self) -> Bbox {
        let (north, west) = unproject(self.left, self.top, self.zoom);
        let (south, east) = unproject(self.left + self.width, self.top + self.height, self.zoom);
        Bbox {
            south,
            west,
            north,
            east,
        }
    }
}

/// Reports near each other, drawn as one circle.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub lat: f64,
    pub long: f64,
    pub count: usize,
    /// The points' extent, to zoom into.
    pub bbox: Bbox,
}

/// Group points that fall in the same `cell`-pixel square of the view; each cluster sits at the
/// mean of its points. Largest first.
pub fn cluster(view: &View, points: &[(f64, f64)], cell: f64) -> Vec<Cluster> {
    let mut groups: std::collections::HashMap<(i64, i64), Vec<(f64, f64)>> = Default::default();
    for &(la, lo) in points {
        let (x, y) = project(la, lo, view.zoom);
        groups
            .entry(((x / cell).floor() as i64, (y / cell).floor() as i64))
            .or_default()
            .push((la, lo));
    }
    let mut out: Vec<Cluster> = groups
        .into_values()
        .map(|pts| {
            let n = pts.len() as f64;
            Cluster {
                lat: pts.iter().map(|p| p.0).sum::<f64>() / n,
                long: pts.iter().map(|p| p.1).sum::<f64>() / n,
                count: pts.len(),
                bbox: Bbox::around(&pts).expect("a group has points"),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.lat.total_cmp(&b.lat))
            .then(a.long.total_cmp(&b.long))
    });
    out
}

/// One thing drawn on a map.
pub struct Marker {
    pub lat: f64,
    pub long: f64,
    pub count: usize,
    /// Where the marker leads (zoom in, or the report).
    pub href: Option<String>,
    /// Said by screen readers and shown on hover.
    pub title: String,
}

/// The map as HTML: tiles (when configured) as plain images, and over them an SVG of the
/// markers and district headquarters. A tile that cannot be fetched is an `<img alt="">`, which
/// browsers draw as nothing at all, so the points stand on a plain background instead of on
/// broken-image icons. `tiles` is the `{z}/{x}/{y}` template (empty: none).
pub fn html(
    view: &View,
    markers: &[Marker],
    districts: &[(String, f64, f64)],
    tiles: &str,
    label: &str,
) -> String {
    let (w, h) = (view.width, view.height);
    let mut s = String::with_capacity(4096);
    let _ = write!(s, r#"<div class="map" style="aspect-ratio:{w}/{h}">"#);
    if !tiles.is_empty() {
        let n = 1i64 << view.zoom;
        let tx0 = (view.left / TILE).floor() as i64;
        let ty0 = (view.top / TILE).floor() as i64;
        let tx1 = ((view.left + w) / TILE).floor() as i64;
        let ty1 = ((view.top + h) / TILE).floor() as i64;
        for ty in ty0.max(0)..=ty1.min(n - 1) {
            for tx in tx0..=tx1 {
                let url = tiles
                    .replace("{z}", &view.zoom.to_string())
                    .replace("{x}", &tx.rem_euclid(n).to_string())
                    .replace("{y}", &ty.to_string());
                let _ = write!(
                    s,
                    r#"<img class="tile" alt="" src="{}" style="left:{:.3}%;top:{:.3}%;width:{:.3}%">"#,
                    esc(&url),
                    (tx as f64 * TILE - view.left) / w * 100.0,
                    (ty as f64 * TILE - view.top) / h * 100.0,
                    TILE / w * 100.0
                );
            }
        }
    }
    // A picture, unless it holds links (then a group of them: a picture cannot contain links).
    let role = if markers.iter().any(|m| m.href.is_some()) {
        "group"
    } else {
        "img"
    };
    let _ = write!(
        s,
        r#"<svg viewBox="0 0 {w} {h}" role="{role}" aria-label="{}" xmlns="http://www.w3.org/2000/svg">"#,
        esc(label)
    );
    // Sizes in the drawing's units, so that a wide map shrunk onto a phone's screen (640 units
    // into some 380 pixels) still has labels of about 10 pixels and circles a finger can find.
    let k = (w / 480.0).max(1.0);
    for (name, lat, long) in districts {
        let (x, y) = view.place(*lat, *long);
        if x < 0.0 || y < 0.0 || x > w || y > h {
            continue;
        }
        let _ = write!(
            s,
            r##"<g class="hq" aria-hidden="true"><rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#5a6b73"/><text x="{:.1}" y="{:.1}" font-size="{:.1}" fill="#263238" stroke="#fff" stroke-width="{:.1}" paint-order="stroke">{}</text></g>"##,
            x - 3.0 * k,
            y - 3.0 * k,
            6.0 * k,
            6.0 * k,
            x + 6.0 * k,
            y + 4.0 * k,
            12.0 * k,
            2.5 * k,
            esc(name)
        );
    }
    for m in markers {
        let (x, y) = view.place(m.lat, m.long);
        let r = k * if m.count <= 1 {
            8.0
        } else {
            (10.0 + (m.count as f64).log2() * 3.0).min(28.0)
        };
        let mut circle = format!(
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="{r:.1}" fill="#c62828" fill-opacity="0.85" stroke="#fff" stroke-width="2"/>"##
        );
        if m.count > 1 {
            let _ = write!(
                circle,
                r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="{:.1}" font-weight="bold" fill="#fff">{}</text>"##,
                y + 4.0 * k,
                13.0 * k,
                m.count
            );
        }
        let title = format!("<title>{}</title>", esc(&m.title));
        match &m.href {
            Some(href) => {
                let _ = write!(
                    s,
                    r#"<a href="{}" class="spot">{title}{circle}</a>"#,
                    esc(href)
                );
            }
            None => {
                let _ = write!(s, r#"<g class="spot">{title}{circle}</g>"#);
            }
        }
    }
    s.push_str("</svg></div>");
    s
}

/// The districts' headquarters, for orientation on a map.
pub fn district_labels(districts: &[District], lang: Lang) -> Vec<(String, f64, f64)> {
    districts
        .iter()
        .map(|d| (d.name(lang).to_owned(), d.hq_lat, d.hq_long))
        .collect()
}

/// The tiles' credit line, when the maps use tiles.
pub fn attribution(config: &Config) -> String {
    if config.map_tile_url.is_empty() {
        String::new()
    } else {
        config.map_attribution.clone()
    }
}

/// A small map centred on one report.
pub fn small_map(
    config: &Config,
    lat: f64,
    long: f64,
    districts: &[crate::platform::org::District],
    lang: Lang,
) -> String {
    let view = View::centred(lat, long, 15, 480.0, 240.0);
    html(
        &view,
        &[Marker {
            lat,
            long,
            count: 1,
            href: None,
            title: lang.t("map-report-here"),
        }],
        &district_labels(districts, lang),
        &config.map_tile_url,
        &lang.t("map-report-here"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips() {
        let (x, y) = project(34.0151, 71.5249, 12);
        let (la, lo) = unproject(x, y, 12);
        assert!((la - 34.0151).abs() < 1e-9 && (lo - 71.5249).abs() < 1e-9);
    }

    #[test]
    fn fitting_a_box_keeps_it_on_the_map() {
        let v = View::fit(Bbox::KP, 640.0, 480.0);
        let (x, y) = v.place(34.0151, 71.5249); // Peshawar
        assert!(x > 0.0 && x < 640.0 && y > 0.0 && y < 480.0);
        let b = v.bbox();
        assert!(b.contains(36.0, 72.0) && b.contains(32.0, 70.0));
    }

    #[test]
    fn nearby_points_cluster_and_far_ones_do_not() {
        let v = View::fit(Bbox::KP, 640.0, 480.0);
        let pts = [(34.0151, 71.5249), (34.0152, 71.5250), (35.22, 72.42)];
        let c = cluster(&v, &pts, 40.0);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].count, 2);
        assert!(c[0].bbox.contains(34.0151, 71.5249));
    }

    #[test]
    fn the_map_draws_points_without_tiles() {
        let v = View::fit(Bbox::KP, 640.0, 480.0);
        let m = Marker {
            lat: 34.0,
            long: 71.5,
            count: 3,
            href: Some("/x?a=1&b=2".into()),
            title: "3 <reports>".into(),
        };
        let s = html(&v, &[m], &[], "", "map");
        assert!(s.contains("<circle") && !s.contains("<img"));
        assert!(s.contains("&amp;b=2") && s.contains("3 &lt;reports&gt;"));
        let with = html(&v, &[], &[], "https://t/{z}/{x}/{y}.png", "map");
        assert!(with.contains(r#"<img class="tile" alt="" src="https://t/"#));
    }
}
