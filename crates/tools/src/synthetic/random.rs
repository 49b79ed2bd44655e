//! Seeded randomness and the drawing helpers generation is written in.

use std::collections::HashSet;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rust_decimal::Decimal;

/// A ChaCha8 stream: its output for a seed is fixed by the algorithm, not by a crate version.
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Rng(rng)
    }

    /// Uniform in `0..n` (0 for `n` = 0) by multiply-shift; the bias is far below what a
    /// benchmark could notice.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.0.next_u64()) * n as u128) >> 64) as usize
    }

    pub(crate) fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high.saturating_sub(low) + 1)
    }

    pub(crate) fn year(&mut self, low: i32, high: i32) -> i32 {
        low + self.below((high - low).max(0) as usize + 1) as i32
    }

    pub(crate) fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    /// One of a constant, non-empty list.
    pub(crate) fn one<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }

    /// A value of a non-empty table, with probability proportional to its weight.
    pub(crate) fn weighted<T: Copy>(&mut self, table: &[(T, u32)]) -> T {
        let total: u64 = table.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut ticket = self.below(total as usize) as u64;
        for (value, weight) in table {
            if ticket < u64::from(*weight) {
                return *value;
            }
            ticket -= u64::from(*weight);
        }
        table[table.len() - 1].0
    }

    /// `min..=max` distinct values drawn by weight, in the order drawn.
    pub(crate) fn several<T: Copy + PartialEq>(
        &mut self,
        table: &[(T, u32)],
        min: usize,
        max: usize,
    ) -> Vec<T> {
        let want = self.between(min, max).min(table.len());
        let mut rest = table.to_vec();
        let mut chosen = Vec::with_capacity(want);
        while chosen.len() < want {
            let value = self.weighted(&rest);
            chosen.push(value);
            rest.retain(|(v, _)| *v != value);
        }
        chosen
    }

    /// A round figure in USD, as budgets are quoted: a two-digit mantissa times a power of ten,
    /// from `10^low` to just under `10^(high + 1)`.
    pub(crate) fn usd(&mut self, low: u32, high: u32) -> Decimal {
        let exponent = self.between(low as usize, high as usize) as u32;
        let mantissa = 10 + self.below(90) as i64;
        Decimal::from(mantissa) * Decimal::from(10_i64.pow(exponent.saturating_sub(1)))
    }
}

/// Indexes drawn with probability proportional to weights given once (donor sizes, country
/// sizes), by binary search over the running totals.
pub(crate) struct Lottery {
    pub(crate) cumulative: Vec<u64>,
}

impl Lottery {
    pub(crate) fn new(weights: impl IntoIterator<Item = u64>) -> Self {
        let mut total = 0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Lottery { cumulative }
    }

    pub(crate) fn draw(&self, rng: &mut Rng) -> Option<usize> {
        let total = *self.cumulative.last()?;
        if total == 0 {
            return None;
        }
        let ticket = rng.below(total as usize) as u64;
        Some(self.cumulative.partition_point(|&c| c <= ticket))
    }
}

/// Keeps generated names apart: "… Programme", "… Programme 2".
#[derive(Default)]
pub(crate) struct Names(HashSet<String>);

impl Names {
    pub(crate) fn unique(&mut self, name: String) -> String {
        if self.0.insert(name.clone()) {
            return name;
        }
        let mut n = 2;
        loop {
            let candidate = format!("{name} {n}");
            if self.0.insert(candidate.clone()) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// `total` items over `slots` slots, each getting at least `minimum` (when the total allows).
pub(crate) fn spread(rng: &mut Rng, slots: usize, total: usize, minimum: usize) -> Vec<usize> {
    if slots == 0 {
        return Vec::new();
    }
    let base = minimum.min(total / slots);
    let mut counts = vec![base; slots];
    for _ in 0..total - base * slots {
        counts[rng.below(slots)] += 1;
    }
    counts
}
