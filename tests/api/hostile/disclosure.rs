//! What aggregates and mutation answers may reveal: confidential amounts recovered from cells,
//! sums that overflow, hidden amounts in a mutation's answer.
