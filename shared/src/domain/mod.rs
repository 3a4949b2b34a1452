//! Domain types that are valid by construction: a handler never sees an
//! unchecked email, password or name. Each has a private field and a
//! `parse` that returns a message fit for a 400's `errors[].message`.

mod email;
mod names;
mod password;
mod role;

pub use email::Email;
pub use names::BoundedText;
pub use password::{Password, PasswordHash};
pub use role::Role;

/// A new UUIDv7 (time-ordered, so sort keys built from it sort by creation).
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
