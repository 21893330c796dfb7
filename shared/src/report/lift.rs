//! A kind's lift: how many more of the customers who got it ordered within the window than of its
//! holdout group, with a 95 % interval (Newcombe's hybrid score interval for a difference of two
//! proportions, from each group's Wilson interval: sound at the small rates and counts of a small
//! store, where the textbook ±1.96·SE interval is not).

use serde::Serialize;

/// Below this many customers in either group the report says it cannot tell yet.
pub const MIN_GROUP: u64 = 30;

const Z: f64 = 1.959_963_984_540_054; // the 97.5th percentile of the standard normal

/// What the interval says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fewer than `MIN_GROUP` customers in a group: too small a sample to tell.
    TooSmall,
    /// The interval spans zero: no difference shown (yet).
    NoDifferenceShown,
    /// The whole interval is above zero: the kind brings orders.
    Positive,
    /// The whole interval is below zero: customers who get it order less.
    Negative,
}

/// Receivers against holdouts for one kind.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lift {
    /// Customers who got it.
    pub receivers: u64,
    /// Of them, who ordered within the window after it.
    pub receivers_ordered: u64,
    /// Customers held out.
    pub holdouts: u64,
    /// Of them, who ordered within the window after they would have got it.
    pub holdouts_ordered: u64,
    /// Receivers' conversion minus holdouts' (absolute, 0.02 = two points).
    pub lift: f64,
    /// 95 % interval of `lift`.
    pub interval: (f64, f64),
    /// What it says.
    pub verdict: Verdict,
}

impl Lift {
    /// Compares `receivers_ordered / receivers` with `holdouts_ordered / holdouts`.
    pub fn between(receivers: u64, receivers_ordered: u64, holdouts: u64, holdouts_ordered: u64) -> Lift {
        let rate = |hits: u64, n: u64| if n == 0 { 0.0 } else { hits as f64 / n as f64 };
        let (p1, p2) = (rate(receivers_ordered, receivers), rate(holdouts_ordered, holdouts));
        let (l1, u1) = wilson(receivers_ordered, receivers);
        let (l2, u2) = wilson(holdouts_ordered, holdouts);
        let lift = p1 - p2;
        let low = lift - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
        let high = lift + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
        let verdict = if receivers < MIN_GROUP || holdouts < MIN_GROUP {
            Verdict::TooSmall
        } else if low > 0.0 {
            Verdict::Positive
        } else if high < 0.0 {
            Verdict::Negative
        } else {
            Verdict::NoDifferenceShown
        };
        Lift {
            receivers,
            receivers_ordered,
            holdouts,
            holdouts_ordered,
            lift,
            interval: (low, high),
            verdict,
        }
    }
}

/// Wilson's score interval of `hits / n` at 95 %.
fn wilson(hits: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let n = n as f64;
    let p = hits as f64 / n;
    let z2 = Z * Z;
    let denominator = 1.0 + z2 / n;
    let center = (p + z2 / (2.0 * n)) / denominator;
    let half = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denominator;
    ((center - half).max(0.0), (center + half).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_difference_in_large_groups_is_positive_and_its_interval_excludes_zero() {
        // 12 % of 900 receivers against 5 % of 100 holdouts.
        let lift = Lift::between(900, 108, 100, 5);
        assert!((lift.lift - 0.07).abs() < 1e-9);
        assert_eq!(lift.verdict, Verdict::Positive);
        // Newcombe's interval, computed apart from this code (Wilson 5/100 = 0.0215..0.1118, the
        // textbook value): 0.0052 to 0.1065.
        assert!((lift.interval.0 - 0.0052).abs() < 0.0001, "{:?}", lift.interval);
        assert!((lift.interval.1 - 0.1065).abs() < 0.0001, "{:?}", lift.interval);
        assert!(lift.interval.0 > 0.0 && lift.interval.1 > 0.07);
    }

    #[test]
    fn the_same_rates_show_no_difference_and_a_small_group_is_too_small_to_tell() {
        assert_eq!(Lift::between(500, 50, 60, 6).verdict, Verdict::NoDifferenceShown);
        assert_eq!(Lift::between(500, 100, 20, 0).verdict, Verdict::TooSmall);
        assert_eq!(Lift::between(100, 2, 100, 20).verdict, Verdict::Negative);
    }

    #[test]
    fn wilson_stays_within_zero_and_one() {
        assert_eq!(wilson(0, 0), (0.0, 1.0));
        let (low, high) = wilson(0, 40);
        assert!(low == 0.0 && high > 0.0 && high < 0.1);
        let (low, high) = wilson(40, 40);
        assert!(low > 0.9 && high == 1.0);
    }
}
