//! Nearest-place search, in process: builds the directory's search index over N places spread
//! across Khyber Pakhtunkhwa (cities weighted like the real population), then times queries of
//! the kind the "near me" page makes: the 20 nearest within 5 km, with an attribute filter, and
//! with "open now". Prints p50 and p99 per query shape.
//!
//! cargo run --release -p khidmat-bench --bin nearest -- 100000 1000000

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::Utc;
use khidmat::directory::index::{Index, Query};
use khidmat::directory::model::{Hours, Place};
use khidmat::platform::i18n::Text3;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const CITIES: [(f64, f64, u32); 6] = [
    (34.0151, 71.5249, 40), // Peshawar
    (34.1986, 72.0404, 15), // Mardan
    (34.1688, 73.2215, 10), // Abbottabad
    (34.7717, 72.3602, 10), // Swat
    (31.8313, 70.9017, 10), // Dera Ismail Khan
    (33.5869, 71.4429, 15), // Kohat
];

fn places(n: usize, rng: &mut rand::rngs::StdRng) -> Vec<Place> {
    let total: u32 = CITIES.iter().map(|c| c.2).sum();
    (0..n)
        .map(|i| {
            let mut pick = rng.random_range(0..total);
            let city = CITIES
                .iter()
                .find(|c| {
                    if pick < c.2 {
                        true
                    } else {
                        pick -= c.2;
                        false
                    }
                })
                .expect("a city");
            let (lat, long) = (
                city.0 + rng.random_range(-0.15..0.15),
                city.1 + rng.random_range(-0.15..0.15),
            );
            let mut attributes = BTreeMap::new();
            attributes.insert("wheelchair".to_string(), Value::Bool(rng.random_bool(0.3)));
            let hours = if rng.random_bool(0.5) {
                vec![Hours {
                    byday: "MO,TU,WE,TH,FR,SA,SU".into(),
                    opens_at: "00:00".into(),
                    closes_at: "24:00".into(),
                }]
            } else {
                vec![Hours {
                    byday: "MO,TU,WE,TH,FR".into(),
                    opens_at: "09:00".into(),
                    closes_at: "17:00".into(),
                }]
            };
            Place {
                id: i as i64,
                uuid: String::new(),
                kind: "public-toilet".into(),
                name: Text3 {
                    en: format!("place {i}"),
                    ..Text3::default()
                },
                lat,
                long,
                address: Text3::default(),
                district: None,
                phone: None,
                attributes,
                hours,
                status: "verified".into(),
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// A query's name, its attribute filters, and whether it asks for places open now.
type Shape = (&'static str, Vec<(String, Value)>, bool);

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100_000, 1_000_000]
    } else {
        sizes
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    println!(
        "{:>10} {:>9} {:<28} {:>9} {:>9} {:>8}",
        "places", "build s", "query", "p50 µs", "p99 µs", "found"
    );
    for n in sizes {
        let t = Instant::now();
        let index = Index::build(places(n, &mut rng), 1);
        let build = t.elapsed().as_secs_f64();
        let shapes: [Shape; 3] = [
            ("20 nearest within 5 km", vec![], false),
            (
                "… wheelchair accessible",
                vec![("wheelchair".into(), Value::Bool(true))],
                false,
            ),
            (
                "… wheelchair, open now",
                vec![("wheelchair".into(), Value::Bool(true))],
                true,
            ),
        ];
        for (name, filters, open) in shapes {
            let mut times = Vec::with_capacity(10_000);
            let mut found = 0usize;
            for _ in 0..10_000 {
                let c = CITIES[rng.random_range(0..CITIES.len())];
                let q = Query {
                    kind: "public-toilet".into(),
                    lat: c.0 + rng.random_range(-0.1..0.1),
                    long: c.1 + rng.random_range(-0.1..0.1),
                    radius_m: 5_000.0,
                    filters: filters.clone(),
                    open_at: open.then(Utc::now),
                    limit: 20,
                };
                let t = Instant::now();
                let r = index.nearest(&q);
                times.push(t.elapsed().as_secs_f64() * 1e6);
                found += r.len();
            }
            times.sort_by(|a, b| a.total_cmp(b));
            khidmat_bench::record(serde_json::json!({
                "bench": "nearest",
                "places": n,
                "build_s": (build * 100.0).round() / 100.0,
                "query": name,
                "p50_us": (percentile(&times, 0.5) * 10.0).round() / 10.0,
                "p99_us": (percentile(&times, 0.99) * 10.0).round() / 10.0,
            }));
            println!(
                "{:>10} {:>9.2} {:<28} {:>9.1} {:>9.1} {:>8.1}",
                n,
                build,
                name,
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                found as f64 / 10_000.0
            );
        }
    }
}
