//! People: users and their profiles, preferences, follows, planners,
//! contacts, attachments, push devices and notification inbox.

pub mod attachments;
pub mod contacts;
pub mod devices;
pub mod follows;
pub mod inbox;
pub mod planners;
pub mod preferences;
pub mod users;
