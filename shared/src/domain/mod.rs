//! Domain types that are valid by construction: a handler never sees an
//! unchecked email, password or name. Each has a private field and a
//! `parse` that returns a message fit for a 400's `errors[].message`.

mod email;
mod names;
mod password;
mod role;
mod time_zone;

pub use email::Email;
pub use names::{BoundedText, FreeText};
pub use password::{Password, PasswordHash};
pub use role::Role;
pub use time_zone::TimeZoneName;

/// A new UUIDv7 (time-ordered, so sort keys built from it sort by creation).
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

/// White space as `str::trim` removes it (Unicode `White_Space`), as an
/// ECMA 262 character class. Patterns spell it out instead of `\s`, whose
/// meaning differs between regex dialects (ECMA 262 adds U+FEFF, Python
/// adds U+001C–U+001F).
pub const WHITE_SPACE: &str = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// A character that is not white space (see [`WHITE_SPACE`]), as an ECMA
/// 262 character class; as a whole pattern: "not blank".
pub const NOT_WHITE_SPACE: &str = r"[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// A character that is neither white space nor a control character, as an
/// ECMA 262 character class.
pub const NOT_SPACE_OR_CONTROL: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// A string schema with these length bounds (in characters, as JSON Schema
/// counts them) and pattern: the building block of the value types' schemas.
pub(crate) fn string_schema(min: usize, max: usize, pattern: Option<&str>) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(pattern.map(str::to_string))
        .build()
}

/// Text kept as sent: at most `max` characters, no control characters but
/// line breaks and tabs.
pub fn multiline_schema(max: usize) -> utoipa::openapi::Object {
    let mut schema = string_schema(0, max, Some(r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"));
    schema.min_length = None;
    schema
}

/// An array of `min`–`max` ids (UUIDs), each at most once.
pub fn id_list_schema(min: usize, max: usize) -> utoipa::openapi::schema::Array {
    let id = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)));
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(id)
        .min_items((min > 0).then_some(min))
        .max_items(Some(max))
        .unique_items(true)
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

/// A second factor (`mfaCode`): absent, `null` or up to 64 characters (it
/// is then checked against the account's TOTP and backup codes).
pub fn mfa_code_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::Type::String,
            utoipa::openapi::Type::Null,
        ]))
        .max_length(Some(MAX_MFA_CODE))
        .build()
}

/// Longest `mfaCode` accepted.
pub const MAX_MFA_CODE: usize = 64;

/// `schema` (a string schema), also allowing `null`.
pub fn nullable(schema: utoipa::openapi::Object) -> utoipa::openapi::Object {
    let mut schema = schema;
    schema.schema_type =
        utoipa::openapi::schema::SchemaType::from_iter([utoipa::openapi::Type::String, utoipa::openapi::Type::Null]);
    schema
}
