//! Sundial's domain, on top of the `platform` crate: values, the
//! access-pattern table and the repositories, identity (authentication,
//! access tokens, MFA, one-time tokens), authorization, audit, the app state,
//! and the HTTP app and Lambda entry that tie them to a group's routes.
//! The platform's modules are re-exported under their own names
//! (`shared::table`, `shared::kit` ...), so a group depends on this crate only.

#[cfg(feature = "testkit")]
pub use platform::table_contract_tests;
pub use platform::{
    aws, blobs, clock, concurrency, config, crypto, error, extract, kit, openapi, pagination, push, telemetry,
    validation,
};
// The store's vocabulary (keys, expressions, items) is the repositories'
// alone: group crates reach the table through `repo` only. Tests and the
// devserver (feature `testkit`) may read raw items to pin what is stored.
#[cfg(not(feature = "testkit"))]
pub(crate) use platform::table;
#[cfg(feature = "testkit")]
pub use platform::table;

pub mod access_token;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod authz_org;
#[cfg(feature = "embedded")]
pub mod dev;
pub mod domain;
pub mod http;
pub mod idempotency;
#[cfg(not(feature = "testkit"))]
pub(crate) mod keys;
#[cfg(feature = "testkit")]
pub mod keys;
pub mod lambda;
pub mod mail;
pub mod mfa;
pub mod odata;
pub mod one_time;
pub mod recurrence;
pub mod repo;
pub mod state;

pub use error::{ApiError, Result};
pub use state::AppState;
