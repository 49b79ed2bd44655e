//! Concurrent writes and an unavailable database: no deadlock, no error, no wait behind a
//! rollup build, and a fast, distinct answer while the database is away.
