//! Requests that cost more than they weigh: aliased analytics, nested lists that grow with the
//! base, one client's burst against everyone else's latency.
