//! ZooKeeper's summaries (its ServerMetrics): count, sum, min and max of a series of
//! values plus a uniform sample of them for percentiles. `mntr` reports each as
//! `avg_`/`min_`/`max_`/`cnt_`/`sum_` keys (and `p50_`/`p95_`/`p99_`/`p999_` for the
//! advanced ones); the Prometheus endpoint exports each as a summary with quantiles.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use rand::Rng;

/// Values kept for percentiles, as ZooKeeper's ResettableUniformReservoir.
const SAMPLE_SIZE: usize = 4096;

/// ZooKeeper's detail level of a summary: which percentiles it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The median in Prometheus; no percentiles in `mntr`.
    Basic,
    /// 0.5, 0.9 and 0.99 in Prometheus; p50, p95, p99 and p999 in `mntr`.
    Advanced,
}

impl Detail {
    /// The quantiles ZooKeeper's PrometheusMetricsProvider exports at this level.
    pub fn prometheus_quantiles(self) -> &'static [f64] {
        match self {
            Detail::Basic => &[0.5],
            Detail::Advanced => &[0.5, 0.9, 0.99],
        }
    }

    /// `mntr`'s percentile keys at this level: (key prefix, quantile).
    pub fn mntr_percentiles(self) -> &'static [(&'static str, f64)] {
        match self {
            Detail::Basic => &[],
            Detail::Advanced => &[("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999)],
        }
    }
}

pub struct Summary {
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    /// A uniform random sample of the values since the last reset (algorithm R).
    sample: Mutex<Vec<u64>>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            sample: Mutex::new(Vec::new()),
        }
    }
}

impl Summary {
    pub fn record(&self, value: u64) {
        let seen = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.min.fetch_min(value, Ordering::Relaxed);
        self.max.fetch_max(value, Ordering::Relaxed);
        // Algorithm R: the first values fill the sample, a later one replaces a random
        // slot with probability SAMPLE_SIZE / seen — so once the sample is full the
        // lock is rarely taken.
        let seen = seen as usize;
        let slot = match seen <= SAMPLE_SIZE {
            true => seen - 1,
            false => rand::thread_rng().gen_range(0..seen),
        };
        if slot >= SAMPLE_SIZE {
            return;
        }
        let mut sample = self.sample.lock();
        if slot < sample.len() {
            sample[slot] = value;
        } else if sample.len() < SAMPLE_SIZE {
            sample.push(value);
        }
    }

    /// (count, sum, min, max, avg); zeros before any value.
    pub fn read(&self) -> (u64, u64, u64, u64, f64) {
        let count = self.count.load(Ordering::Relaxed);
        if count == 0 {
            return (0, 0, 0, 0, 0.0);
        }
        let sum = self.sum.load(Ordering::Relaxed);
        (
            count,
            sum,
            self.min.load(Ordering::Relaxed),
            self.max.load(Ordering::Relaxed),
            sum as f64 / count as f64,
        )
    }

    /// The values at `quantiles` of the sample, interpolated as Dropwizard's
    /// UniformSnapshot (which ZooKeeper's percentiles use); zeros before any value.
    pub fn quantiles(&self, quantiles: &[f64]) -> Vec<f64> {
        let mut values = self.sample.lock().clone();
        values.sort_unstable();
        quantiles
            .iter()
            .map(|q| quantile_of_sorted(&values, *q))
            .collect()
    }

    /// Forgets everything recorded (`srst`).
    pub fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        self.sum.store(0, Ordering::Relaxed);
        self.min.store(u64::MAX, Ordering::Relaxed);
        self.max.store(0, Ordering::Relaxed);
        self.sample.lock().clear();
    }
}

fn quantile_of_sorted(values: &[u64], quantile: f64) -> f64 {
    let Some(last) = values.last() else {
        return 0.0;
    };
    let pos = quantile * (values.len() + 1) as f64;
    if pos < 1.0 {
        return values[0] as f64;
    }
    if pos >= values.len() as f64 {
        return *last as f64;
    }
    let index = pos as usize;
    let (lower, upper) = (values[index - 1] as f64, values[index] as f64);
    lower + (pos - pos.floor()) * (upper - lower)
}

/// The summaries ZooKeeper keeps that mean something for a standalone server, under
/// its names (milliseconds, like ZooKeeper's).
#[derive(Default)]
pub struct Summaries {
    /// A group commit's append + fsync (`fsynctime`).
    pub fsync_ms: Summary,
    /// Writing a snapshot (`snapshottime`).
    pub snapshot_ms: Summary,
    /// Transactions per group commit (`sync_processor_batch_size`).
    pub commit_batch: Summary,
    /// A read from receipt to its reply queued (`readlatency`).
    pub read_latency_ms: Summary,
    /// A write from receipt to its reply queued (`updatelatency`).
    pub update_latency_ms: Summary,
    /// A transaction from being created to being applied (`propagation_latency`).
    pub propagation_latency_ms: Summary,
}

impl Summaries {
    /// Each summary with ZooKeeper's name and detail level.
    pub fn named(&self) -> [(&'static str, Detail, &Summary); 6] {
        [
            ("fsynctime", Detail::Basic, &self.fsync_ms),
            ("snapshottime", Detail::Basic, &self.snapshot_ms),
            (
                "sync_processor_batch_size",
                Detail::Basic,
                &self.commit_batch,
            ),
            ("readlatency", Detail::Advanced, &self.read_latency_ms),
            ("updatelatency", Detail::Advanced, &self.update_latency_ms),
            (
                "propagation_latency",
                Detail::Advanced,
                &self.propagation_latency_ms,
            ),
        ]
    }

    /// `srst`: ZooKeeper's ServerMetrics.resetAll.
    pub fn reset(&self) {
        for (_, _, summary) in self.named() {
            summary.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sums_and_extremes() {
        let summary = Summary::default();
        assert_eq!(summary.read(), (0, 0, 0, 0, 0.0));
        summary.record(3);
        summary.record(1);
        assert_eq!(summary.read(), (2, 4, 1, 3, 2.0));
        summary.reset();
        assert_eq!(summary.read(), (0, 0, 0, 0, 0.0));
        assert_eq!(summary.quantiles(&[0.5]), vec![0.0]);
    }

    #[test]
    fn quantiles_interpolate_like_dropwizard() {
        let summary = Summary::default();
        for v in 1..=100 {
            summary.record(v);
        }
        // pos = q * (n + 1): 0.5 -> 50.5, 0.99 -> 99.99
        assert_eq!(summary.quantiles(&[0.5, 0.99]), vec![50.5, 99.99]);
        assert_eq!(summary.quantiles(&[0.001, 1.0]), vec![1.0, 100.0]);
    }

    #[test]
    fn the_sample_stays_bounded() {
        let summary = Summary::default();
        for v in 0..(SAMPLE_SIZE as u64 * 3) {
            summary.record(v);
        }
        assert_eq!(summary.sample.lock().len(), SAMPLE_SIZE);
        assert_eq!(summary.read().0, SAMPLE_SIZE as u64 * 3);
    }
}
