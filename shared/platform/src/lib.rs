//! The platform under every Sundial function: the ports (`Table`, `Blobs`,
//! `Mailer`, `Push`, `Clock`) with their AWS adapters — and, behind the
//! `embedded` feature, the adapters for running without AWS; behind
//! `testkit`, the contract suites and table decorators — configuration,
//! crypto, telemetry, and the HTTP pieces every group uses the same way:
//! errors as problem documents, validation, extractors, ETags, cursor
//! pagination and the group kit. It knows nothing of Sundial's domain (no
//! users, organisations or events): that is the `shared` crate, above it.

pub mod aws;
pub mod blobs;
pub mod clock;
pub mod concurrency;
pub mod config;
pub mod crypto;
pub mod error;
pub mod extract;
pub mod kit;
pub mod mail;
pub mod openapi;
pub mod pagination;
pub mod push;
pub mod table;
pub mod telemetry;
pub mod validation;

pub use error::{ApiError, Result};
