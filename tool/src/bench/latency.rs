//! Latency samples and their percentiles.

use serde::Serialize;

/// Percentiles of a set of latencies, in nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Number of samples.
    pub samples: u64,
    /// Mean.
    pub mean_ns: f64,
    /// Median.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
}

impl Latency {
    /// Summarizes `samples` (sorted in place). Percentiles are nearest-rank:
    /// the smallest sample with at least that share of samples at or below it.
    pub fn from_samples(samples: &mut [u64]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: f64| {
            let r = (p * n as f64).ceil() as usize;
            samples[r.clamp(1, n) - 1]
        };
        let sum: u128 = samples.iter().map(|&s| u128::from(s)).sum();
        Latency {
            samples: n as u64,
            mean_ns: sum as f64 / n as f64,
            p50_ns: rank(0.50),
            p99_ns: rank(0.99),
            p999_ns: rank(0.999),
            max_ns: samples[n - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_1_to_1000() {
        let mut s: Vec<u64> = (1..=1000).rev().collect();
        let l = Latency::from_samples(&mut s);
        assert_eq!(l.samples, 1000);
        assert_eq!(
            (l.p50_ns, l.p99_ns, l.p999_ns, l.max_ns),
            (500, 990, 999, 1000)
        );
        assert!((l.mean_ns - 500.5).abs() < 1e-9);
    }

    #[test]
    fn one_sample_and_none() {
        let l = Latency::from_samples(&mut [7]);
        assert_eq!((l.p50_ns, l.p99_ns, l.p999_ns, l.max_ns), (7, 7, 7, 7));
        assert_eq!(Latency::from_samples(&mut []), Latency::default());
    }
}
