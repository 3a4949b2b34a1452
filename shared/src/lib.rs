//! Sundial's domain, on top of the `platform` crate, by bounded context:
//! `identity` (who calls), `access` (what they may do), `organisations`,
//! `people`, `calendar` and `scheduling`, each holding its repositories and
//! rules; beside them the values (`domain`), the access-pattern table
//! (`keys`, private) and the item codec (`store`), audit, mail templates, the
//! app state, and the HTTP app and Lambda entry that tie them to a group's
//! routes. The platform's modules are re-exported under their own names
//! (`shared::kit`, `shared::extract` ...), so a group depends on this crate
//! only.

#[cfg(feature = "testkit")]
pub use platform::table_contract_tests;
pub use platform::{
    aws, blobs, clock, concurrency, config, crypto, error, extract, kit, openapi, pagination, push, telemetry,
    validation,
};
// The store's vocabulary (keys, expressions, items) is the repositories'
// alone: group crates reach the table through the repositories only. Tests and the
// devserver (feature `testkit`) may read raw items to pin what is stored.
#[cfg(not(feature = "testkit"))]
pub(crate) use platform::table;
#[cfg(feature = "testkit")]
pub use platform::table;

pub mod access;
pub mod audit;
pub mod calendar;
pub mod context;
#[cfg(feature = "embedded")]
pub mod dev;
pub mod domain;
pub mod http;
pub mod idempotency;
pub mod identity;
#[cfg(not(feature = "testkit"))]
pub(crate) mod keys;
#[cfg(feature = "testkit")]
pub mod keys;
pub mod lambda;
pub mod mail;
pub mod odata;
pub mod organisations;
pub mod people;
pub mod scheduling;
pub mod state;
pub mod store;

pub use error::{ApiError, Result};
pub use platform::body_with_rules;
pub use state::AppState;
