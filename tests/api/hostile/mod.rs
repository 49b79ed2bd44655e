//! What a hostile client sends, one module per kind of attack. Every test here answers as a
//! well-behaved service would: a clear error code, never INTERNAL, never a stall.

mod cost;
mod disclosure;
mod documents;
mod fuzz;
mod inputs;
mod not_found;
mod sign_in;
mod timeouts;
mod writes;
