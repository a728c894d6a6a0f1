//! Statistical disclosure control: the one rule for every count the public reads — the open
//! datasets, `/impact`, `/impact.csv`, `/api/v1/impact`.
//!
//! - **Every count is rounded to the nearest multiple of 5** ([`count`]): 1 and 2 read 0, 3 to 7
//!   read 5. A single complaint, applicant or backer never shows as a 1, and since every table
//!   and every total is rounded alike, subtracting one published figure from another gives a
//!   number that is off by up to 2 per figure, not a person.
//! - **A row of a table whose count is under 5 is left out** ([`shown`]), so a rare combination
//!   (a community, a district, a week) is not listed at all.
//! - **A sum that goes with a count** (minutes saved, rupees) is published scaled to the rounded
//!   count ([`sum_with`]): it says no more than the count does. Otherwise 3 reports × 60 minutes
//!   would read 180 beside a rounded 5, and give the 3 away.
//!
//! Staff pages and the staff API show exact figures; this is for what strangers read.

/// The rounding base, and the smallest count a table lists.
pub const BASE: i64 = 5;

/// A count as published: rounded to the nearest multiple of [`BASE`] (halves up).
pub fn count(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    (n + BASE / 2) / BASE * BASE
}

/// Is a table's row with this (true) count listed?
pub fn shown(n: i64) -> bool {
    n >= BASE
}

/// A sum that goes with `n` (minutes saved by `n` queries, rupees to `n` grantees), as
/// published: scaled to the rounded count, so that it tells nothing the rounded count does not.
pub fn sum_with(sum: i64, n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let scaled = sum as i128 * count(n) as i128;
    ((scaled + n as i128 / 2) / n as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_round_to_fives_and_small_rows_are_not_listed() {
        let published: Vec<i64> = (0..=13).map(count).collect();
        assert_eq!(published, [0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10, 10, 10, 15]);
        assert!(!shown(4) && shown(5));
    }

    #[test]
    fn a_sum_says_no_more_than_its_rounded_count() {
        // 3 reports of 60 minutes each: published as 5 reports and 300 minutes, 60 a report,
        // so the minutes cannot be divided back into the true count.
        assert_eq!(sum_with(180, 3), 300);
        assert_eq!(sum_with(180, 3) / count(3), 60);
        // 12 grants of Rs 10,000: 10 grants, Rs 100,000.
        assert_eq!(sum_with(120_000, 12), 100_000);
        assert_eq!(sum_with(50, 0), 0);
        assert_eq!(sum_with(7, 1), 0, "a count that reads 0 carries no sum");
    }
}
