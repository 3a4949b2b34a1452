//! Helpers for tests that sign in through HTTP. (Owned by the sessions work
//! of the identity issue.)
