//! Query documents a hostile client sends: fragment bombs, oversized or malformed documents, and
//! requests a foreign web page could make (content types, CORS, the metrics endpoint).
