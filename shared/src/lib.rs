//! The common crate every Sundial function is built on: ports and their
//! adapters, errors, authentication, pagination, audit and OpenAPI.

pub mod access_token;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod authz_org;
pub mod aws;
pub mod blobs;
pub mod clock;
pub mod concurrency;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod error;
pub mod extract;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod kit;
pub mod lambda;
pub mod mail;
pub mod mfa;
pub mod odata;
pub mod one_time;
pub mod openapi;
pub mod pagination;
pub mod push;
pub mod recurrence;
pub mod repo;
pub mod state;
pub mod table;
pub mod telemetry;
pub mod validation;

pub use error::{ApiError, Result};
pub use state::AppState;
