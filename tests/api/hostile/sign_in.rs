//! Sign-in under attack: bursts that would exhaust memory, races on the throttle, account
//! enumeration through `register`, and tokens of a revoked sign-in.
