//! Identity: who is calling. Access tokens and the `Principal` extractor,
//! sessions and refresh tokens, personal access tokens, second factors,
//! one-time tokens (reset, verification, email change), pending email
//! changes and the attempt counter that locks an address after repeated
//! failures.

pub mod access_token;
pub mod attempts;
pub mod auth;
pub mod email_changes;
pub mod mfa;
pub mod one_time;
pub mod personal_tokens;
pub mod sessions;
