//! The verifiable random ballot.
//!
//! Before the draw, the department publishes two things: the list of eligible application
//! references (`eligible.txt`: one per line, sorted, each line ending in a newline) with its
//! SHA-256, and the seed (any text: drawn by the server when the list is published, or chosen
//! in public, such as the numbers of a national prize-bond draw announced later). The draw is
//! then a function of those two alone: each reference is ranked by
//! `SHA-256(seed ":" reference)` in hexadecimal, smallest first (ties, which SHA-256 makes
//! practically impossible, by reference). Anyone can recompute it from the published files,
//! with `khidmat benefits verify-draw` or with `sha256sum` and `sort`.
//!
//! Nobody can steer it: the list is fixed before the seed is known to matter, one fund has one
//! draw, and once published neither may change.

use sha2::{Digest, Sha256};

/// The published list for these references: sorted, one per line.
pub fn list_text(references: &[String]) -> String {
    let mut refs: Vec<&str> = references.iter().map(String::as_str).collect();
    refs.sort_unstable();
    refs.dedup();
    let mut out = String::with_capacity(refs.len() * 12);
    for r in refs {
        out.push_str(r);
        out.push('\n');
    }
    out
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The references of a published list, in the order written; blank lines are ignored, and a
/// Windows line end is accepted (a list saved by a spreadsheet).
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim_end_matches('\r').trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One reference's ticket: the hash that orders it.
pub fn ticket(seed: &str, reference: &str) -> String {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    h.update(b":");
    h.update(reference.as_bytes());
    hex::encode(h.finalize())
}

/// The references in drawn order, each with its ticket.
pub fn draw(seed: &str, references: &[String]) -> Vec<(String, String)> {
    let mut ranked: Vec<(String, String)> = references
        .iter()
        .map(|r| (ticket(seed, r), r.clone()))
        .collect();
    ranked.sort();
    ranked.into_iter().map(|(t, r)| (r, t)).collect()
}

/// The published result: the references in drawn order, one per line.
pub fn result_text(drawn: &[(String, String)]) -> String {
    let mut out = String::new();
    for (r, _) in drawn {
        out.push_str(r);
        out.push('\n');
    }
    out
}

/// A seed nobody chose: 128 random bits, in hexadecimal.
pub fn random_seed() -> String {
    let mut b = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut b);
    hex::encode(b)
}

/// What `verify-draw` found.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// The list's hash is not the published one.
    ListChanged {
        computed: String,
    },
    /// The published result differs from the recomputed draw at this line (1-based).
    ResultDiffers {
        line: usize,
        expected: Option<String>,
        published: Option<String>,
    },
    Matches,
}

/// Check published files: the list against its hash (if given), the result (if given) against
/// the draw recomputed from the list and the seed.
pub fn verify(list: &str, sha256: Option<&str>, seed: &str, result: Option<&str>) -> Verdict {
    let computed = sha256_hex(list);
    if let Some(h) = sha256 {
        if !h.trim().eq_ignore_ascii_case(&computed) {
            return Verdict::ListChanged { computed };
        }
    }
    if let Some(result) = result {
        let expected: Vec<String> = draw(seed, &parse_list(list))
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        let published = parse_list(result);
        for i in 0..expected.len().max(published.len()) {
            if expected.get(i) != published.get(i) {
                return Verdict::ResultDiffers {
                    line: i + 1,
                    expected: expected.get(i).cloned(),
                    published: published.get(i).cloned(),
                };
            }
        }
    }
    Verdict::Matches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("B-{i:04}")).collect()
    }

    #[test]
    fn the_draw_depends_on_the_seed_and_the_list_only() {
        let mut shuffled = refs(50);
        shuffled.reverse();
        let a = draw("seed-1", &refs(50));
        let b = draw("seed-1", &shuffled);
        assert_eq!(a, b, "the order of the input does not matter");
        assert_ne!(a, draw("seed-2", &refs(50)));
        // A known answer, so that an independent implementation can check itself against it.
        assert_eq!(
            ticket("abc", "B-0001"),
            sha256_hex("abc:B-0001"),
            "a ticket is the SHA-256 of seed:reference"
        );
    }

    #[test]
    fn verification_finds_a_changed_list_or_result() {
        let list = list_text(&refs(10));
        let hash = sha256_hex(&list);
        let result = result_text(&draw("s", &parse_list(&list)));
        assert_eq!(
            verify(&list, Some(&hash), "s", Some(&result)),
            Verdict::Matches
        );
        let tampered = list.replace("B-0003\n", "B-9999\n");
        assert!(matches!(
            verify(&tampered, Some(&hash), "s", None),
            Verdict::ListChanged { .. }
        ));
        let mut lines = parse_list(&result);
        lines.swap(0, 1);
        let swapped = lines.join("\r\n");
        assert!(matches!(
            verify(&list, Some(&hash), "s", Some(&swapped)),
            Verdict::ResultDiffers { line: 1, .. }
        ));
        assert!(matches!(
            verify(&list, Some(&hash), "other seed", Some(&result)),
            Verdict::ResultDiffers { .. }
        ));
    }
}
