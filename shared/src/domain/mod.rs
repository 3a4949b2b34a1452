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

/// A string schema with these length bounds (in characters, as JSON Schema
/// counts them) and pattern: the building block of the value types' schemas.
pub(crate) fn string_schema(min: usize, max: usize, pattern: Option<&str>) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(pattern)
        .build()
}

/// A secret or code the server only requires to be non-empty (it is then
/// looked up or verified, so anything else is a 401/403 or a 400 about
/// the value itself, never about its shape).
pub fn non_empty_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String).min_length(Some(1)).build()
}

/// A code the server trims and requires to be non-empty.
pub fn code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(1))
        .pattern(Some(r"\S"))
        .build()
}

/// `schema`, also allowing `null`.
pub(crate) fn nullable(schema: utoipa::openapi::Object) -> utoipa::openapi::Object {
    let mut schema = schema;
    schema.schema_type =
        utoipa::openapi::schema::SchemaType::from_iter([utoipa::openapi::Type::String, utoipa::openapi::Type::Null]);
    schema
}
