//! How the pipeline uses several cores: the work on each item or workload is independent, so it
//! is shared among rayon's threads, and the results come back in input order. The output never
//! depends on the number of threads.

use rayon::prelude::*;

/// How work is shared among rayon's threads (one per core, or `RAYON_NUM_THREADS`): in parts of
/// at least `min_part` items or workloads, and workloads a batch at a time.
#[derive(Debug, Clone, Copy)]
pub struct Parallelism {
    /// Planning a workload (its typed pod view and the policies) takes about 15 µs, reading an
    /// item for the inventory a few; a smaller part is not worth handing to another thread, and a
    /// small input never starts the threads.
    pub min_part: usize,
    /// Workloads planned before their edits are applied: enough to share among threads, few
    /// enough that the batch's plans take little memory.
    pub batch: usize,
}

impl Default for Parallelism {
    fn default() -> Self {
        Parallelism {
            min_part: 64,
            batch: 1024,
        }
    }
}

/// `f` over `things`, in order: on all cores when there are enough to share (see
/// [`Parallelism::min_part`]).
pub fn map_in_order<T: Send, R: Send>(
    things: Vec<T>,
    min_part: usize,
    f: impl Fn(T) -> R + Sync + Send,
) -> Vec<R> {
    if things.len() < min_part.saturating_mul(2) {
        return things.into_iter().map(f).collect();
    }
    things
        .into_par_iter()
        .with_min_len(min_part.max(1))
        .map(f)
        .collect()
}
