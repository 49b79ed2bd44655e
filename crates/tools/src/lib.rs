//! Tooling around the service: deterministic synthetic data at scale and the benchmark of the
//! donors' questions on it.
// The schema's merged root objects nest one level per aggregate; executing it here needs more
// than the default depth to lay out the resolver futures.
#![recursion_limit = "256"]

pub mod bench;
pub mod progress;
pub mod synthetic;
