//! Distances on the Earth's surface.

const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres between two points given in degrees.
pub fn haversine_m(lat1: f64, long1: f64, lat2: f64, long2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (long2 - long1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().asin()
}

/// A latitude/longitude box that contains every point within `radius_m` of the centre, for an
/// indexed pre-filter before the exact distance: `(min_lat, max_lat, min_long, max_long)`.
pub fn bounding_box(lat: f64, long: f64, radius_m: f64) -> (f64, f64, f64, f64) {
    let dlat = (radius_m / EARTH_RADIUS_M).to_degrees();
    let coslat = lat.to_radians().cos().max(1e-6);
    let dlong = (radius_m / (EARTH_RADIUS_M * coslat)).to_degrees();
    (lat - dlat, lat + dlat, long - dlong, long + dlong)
}

/// Grid cells of `CELL_DEG` degrees (about 110 m north-south) index points for "what is near
/// here" queries: a point's cell is a plain integer column, and a search looks up the few cells
/// that cover its bounding box.
pub const CELL_DEG: f64 = 0.001;

pub fn cell(lat: f64, long: f64) -> i64 {
    let row = ((lat + 90.0) / CELL_DEG).floor() as i64;
    let col = ((long + 180.0) / CELL_DEG).floor() as i64;
    row * 1_000_000 + col
}

/// The cells that together cover every point within `radius_m` of the centre.
pub fn cells_covering(lat: f64, long: f64, radius_m: f64) -> Vec<i64> {
    let (min_lat, max_lat, min_long, max_long) = bounding_box(lat, long, radius_m);
    let (r0, c0) = (
        cell(min_lat, min_long) / 1_000_000,
        cell(min_lat, min_long) % 1_000_000,
    );
    let (r1, c1) = (
        cell(max_lat, max_long) / 1_000_000,
        cell(max_lat, max_long) % 1_000_000,
    );
    let mut cells = Vec::new();
    for r in r0..=r1 {
        for c in c0..=c1 {
            cells.push(r * 1_000_000 + c);
        }
    }
    cells
}

pub fn valid_lat(lat: f64) -> bool {
    lat.is_finite() && (-90.0..=90.0).contains(&lat)
}

pub fn valid_long(long: f64) -> bool {
    long.is_finite() && (-180.0..=180.0).contains(&long)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peshawar_to_mardan_is_about_fifty_km() {
        let d = haversine_m(34.0151, 71.5249, 34.1986, 72.0404);
        assert!((d - 51_500.0).abs() < 1_500.0, "{d}");
    }

    #[test]
    fn covering_cells_contain_every_nearby_point() {
        for (lat, long) in [
            (34.0, 71.5),
            (34.00099, 71.50099),
            (-33.9, 18.4),
            (60.0, 10.0),
        ] {
            let cells = cells_covering(lat, long, 50.0);
            assert!(cells.len() <= 9, "{}", cells.len());
            for (dlat, dlong) in [
                (0.00044, 0.0),
                (-0.00044, 0.0),
                (0.0, 0.0005),
                (0.0, -0.0005),
                (0.0003, 0.0003),
            ] {
                let (la, lo) = (lat + dlat, long + dlong);
                if haversine_m(lat, long, la, lo) <= 50.0 {
                    assert!(cells.contains(&cell(la, lo)), "{la},{lo} near {lat},{long}");
                }
            }
        }
    }

    #[test]
    fn bounding_box_contains_the_circle() {
        let (a, b, c, d) = bounding_box(34.0, 71.5, 50.0);
        for (lat, long) in [(a, 71.5), (b, 71.5), (34.0, c), (34.0, d)] {
            let dist = haversine_m(34.0, 71.5, lat, long);
            assert!((dist - 50.0).abs() < 0.5, "{dist}");
        }
    }
}
