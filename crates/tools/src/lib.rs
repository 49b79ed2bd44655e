//! Tooling around the service: deterministic synthetic data at scale and the benchmark of the
//! donors' questions on it.

pub mod bench;
pub mod progress;
pub mod synthetic;
