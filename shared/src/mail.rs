//! Mail: the port and its adapters (`platform::mail`, re-exported here) and
//! the texts Sundial sends (`templates`).

pub use platform::mail::*;

pub mod templates;
