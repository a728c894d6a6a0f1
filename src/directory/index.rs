//! The nearest-place search: an R-tree per kind over points on the unit sphere, kept in memory
//! and in step with the store. Straight-line (chord) distance between unit vectors orders
//! points exactly as great-circle distance does, so the tree's nearest-neighbour walk is the
//! nearest on the Earth, without projection error at any latitude.
//!
//! In step: every change to a place takes a new number from the directory's change counter
//! (`dir_seq`) and stores it with the place. The index remembers the highest number it has
//! loaded; before answering it asks the store for the counter (at most once a second, or at
//! once after a change made by this process) and loads the places changed since. So every
//! node answers alike, also after another node changed the data.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rstar::{PointDistance, RTree, RTreeObject, AABB};
use serde_json::Value;
use tokio::sync::RwLock;

use super::model::{open_at, Place};
use crate::platform::db::Db;

const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// How stale the index may be when another node changed the data.
const RECHECK: Duration = Duration::from_secs(1);

fn unit(lat: f64, long: f64) -> [f64; 3] {
    let (la, lo) = (lat.to_radians(), long.to_radians());
    [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()]
}

fn chord_to_m(chord: f64) -> f64 {
    2.0 * (chord / 2.0).clamp(-1.0, 1.0).asin() * EARTH_RADIUS_M
}

fn m_to_chord(m: f64) -> f64 {
    2.0 * (m / EARTH_RADIUS_M / 2.0)
        .min(std::f64::consts::FRAC_PI_2)
        .sin()
}

#[derive(Debug, Clone)]
pub struct Entry {
    point: [f64; 3],
    pub place: Arc<Place>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.place.id == other.place.id && self.point == other.point
    }
}

impl RTreeObject for Entry {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.point)
    }
}

impl PointDistance for Entry {
    fn distance_2(&self, p: &[f64; 3]) -> f64 {
        (0..3).map(|i| (self.point[i] - p[i]).powi(2)).sum()
    }
}

/// The places of every kind, searchable by distance.
#[derive(Default)]
pub struct Index {
    trees: HashMap<String, RTree<Entry>>,
    by_id: HashMap<i64, Entry>,
    /// The highest change number loaded.
    pub seq: i64,
}

/// What to look for.
#[derive(Debug, Clone)]
pub struct Query {
    pub kind: String,
    pub lat: f64,
    pub long: f64,
    pub radius_m: f64,
    /// `(attribute, value)`: all must hold.
    pub filters: Vec<(String, Value)>,
    /// Only places open at this moment.
    pub open_at: Option<DateTime<Utc>>,
    pub limit: usize,
}

impl Index {
    /// Build from scratch (bulk loading is much faster than inserting one by one).
    pub fn build(places: Vec<Place>, seq: i64) -> Index {
        let mut by_kind: HashMap<String, Vec<Entry>> = HashMap::new();
        let mut by_id = HashMap::with_capacity(places.len());
        for p in places.into_iter().filter(|p| p.status == "verified") {
            let e = Entry {
                point: unit(p.lat, p.long),
                place: Arc::new(p),
            };
            by_id.insert(e.place.id, e.clone());
            by_kind.entry(e.place.kind.clone()).or_default().push(e);
        }
        Index {
            trees: by_kind
                .into_iter()
                .map(|(k, v)| (k, RTree::bulk_load(v)))
                .collect(),
            by_id,
            seq,
        }
    }

    /// Apply changed places: each replaces what the index had for it (or leaves, if no longer
    /// verified).
    pub fn apply(&mut self, changed: Vec<Place>, seq: i64) {
        for p in changed {
            if let Some(old) = self.by_id.remove(&p.id) {
                if let Some(tree) = self.trees.get_mut(&old.place.kind) {
                    tree.remove(&old);
                }
            }
            if p.status == "verified" {
                let e = Entry {
                    point: unit(p.lat, p.long),
                    place: Arc::new(p),
                };
                self.trees
                    .entry(e.place.kind.clone())
                    .or_default()
                    .insert(e.clone());
                self.by_id.insert(e.place.id, e);
            }
        }
        self.seq = self.seq.max(seq);
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: i64) -> Option<Arc<Place>> {
        self.by_id.get(&id).map(|e| e.place.clone())
    }

    /// The nearest matching places within the radius, nearest first, with their distance in
    /// metres.
    pub fn nearest(&self, q: &Query) -> Vec<(Arc<Place>, f64)> {
        let Some(tree) = self.trees.get(&q.kind) else {
            return vec![];
        };
        let max = m_to_chord(q.radius_m);
        let max2 = max * max;
        let mut out = Vec::new();
        for (e, d2) in tree.nearest_neighbor_iter_with_distance_2(unit(q.lat, q.long)) {
            if d2 > max2 || out.len() >= q.limit {
                break;
            }
            if !e.place.matches(&q.filters) {
                continue;
            }
            if let Some(at) = q.open_at {
                if !open_at(&e.place.hours, at) {
                    continue;
                }
            }
            out.push((e.place.clone(), chord_to_m(d2.sqrt())));
        }
        out
    }
}

/// The index shared by a process, with what it needs to stay in step.
pub struct Shared {
    index: RwLock<Index>,
    checked: std::sync::Mutex<Option<Instant>>,
}

impl Default for Shared {
    fn default() -> Self {
        Shared {
            index: RwLock::new(Index::default()),
            checked: std::sync::Mutex::new(None),
        }
    }
}

impl Shared {
    /// After a change made here: look at the store before the next answer.
    pub fn touch(&self) {
        *self.checked.lock().expect("lock") = None;
    }

    /// Bring the index up to date with the store if it may be behind.
    pub async fn refresh(&self, db: &Db) -> Result<(), sqlx::Error> {
        {
            let checked = self.checked.lock().expect("lock");
            if checked.is_some_and(|t| t.elapsed() < RECHECK) {
                return Ok(());
            }
        }
        let current = super::store::current_seq(db).await?;
        let have = self.index.read().await.seq;
        if current > have {
            let changed = super::store::places_since(db, have).await?;
            let mut index = self.index.write().await;
            if index.seq == 0 && index.is_empty() {
                *index = Index::build(changed, current);
            } else {
                index.apply(changed, current);
            }
        }
        *self.checked.lock().expect("lock") = Some(Instant::now());
        Ok(())
    }

    pub async fn nearest(&self, db: &Db, q: &Query) -> Result<Vec<(Arc<Place>, f64)>, sqlx::Error> {
        self.refresh(db).await?;
        Ok(self.index.read().await.nearest(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::i18n::Text3;

    fn place(id: i64, lat: f64, long: f64, women: bool) -> Place {
        Place {
            id,
            uuid: format!("u{id}"),
            kind: "toilet".into(),
            name: Text3 {
                en: format!("p{id}"),
                ..Text3::default()
            },
            lat,
            long,
            address: Text3::default(),
            district: None,
            phone: None,
            attributes: [("women".to_string(), Value::Bool(women))]
                .into_iter()
                .collect(),
            hours: vec![],
            status: "verified".into(),
        }
    }

    fn q(filters: Vec<(String, Value)>) -> Query {
        Query {
            kind: "toilet".into(),
            lat: 34.0,
            long: 71.5,
            radius_m: 5_000.0,
            filters,
            open_at: None,
            limit: 10,
        }
    }

    #[test]
    fn nearest_first_within_the_radius_and_matching() {
        let idx = Index::build(
            vec![
                place(1, 34.01, 71.5, false),
                place(2, 34.001, 71.5, true),
                place(3, 34.02, 71.5, true),
                place(4, 35.0, 71.5, true),
            ],
            4,
        );
        let r = idx.nearest(&q(vec![]));
        assert_eq!(r.iter().map(|x| x.0.id).collect::<Vec<_>>(), vec![2, 1, 3]);
        assert!((r[0].1 - 111.2).abs() < 1.0, "{}", r[0].1);
        let women = idx.nearest(&q(vec![("women".into(), Value::Bool(true))]));
        assert_eq!(women.iter().map(|x| x.0.id).collect::<Vec<_>>(), vec![2, 3]);
    }

    #[test]
    fn changes_replace_and_remove() {
        let mut idx = Index::build(vec![place(1, 34.01, 71.5, false)], 1);
        let mut moved = place(1, 34.0001, 71.5, false);
        moved.name.en = "moved".into();
        idx.apply(vec![moved, place(2, 34.002, 71.5, true)], 3);
        let r = idx.nearest(&q(vec![]));
        assert_eq!(r[0].0.name.en, "moved");
        assert_eq!(r.len(), 2);
        let mut gone = place(2, 34.002, 71.5, true);
        gone.status = "rejected".into();
        idx.apply(vec![gone], 4);
        assert_eq!(idx.nearest(&q(vec![])).len(), 1);
        assert_eq!(idx.seq, 4);
    }
}
