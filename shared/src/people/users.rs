//! Users and the email uniqueness guard.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Email, PasswordHash};
use crate::keys;
use crate::organisations::Membership;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Condition, Index, Item, Key, Query, SortKey, Table, Update, WriteOp};

/// Platform-wide role.
pub const SUPERADMIN: &str = "superadmin";

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRecord {
    /// User id.
    pub id: Uuid,
    /// Normalised email.
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Argon2id PHC hash, if a password is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_hash: Option<String>,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// `superadmin` or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_role: Option<String>,
    /// Locked by an administrator (`/lock`, `/deactivate`): cannot sign in.
    #[serde(default)]
    pub locked: bool,
    /// Deactivated (`/deactivate`): cannot sign in until activated.
    #[serde(default)]
    pub deactivated: bool,
    /// Whether TOTP is enabled.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// When the password last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Profile fields (display name, phone, time zone ...).
    #[serde(flatten)]
    pub profile: Profile,
    /// Being deleted: the deletion stopped part-way and is resumed by the
    /// next `DELETE`; the user is already gone for every other route.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl UserRecord {
    /// A new user.
    pub fn new(
        email: &Email,
        first_name: &str,
        last_name: &str,
        password: Option<&PasswordHash>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: crate::domain::new_id(),
            email: email.as_str().to_string(),
            email_verified: false,
            password_hash: password.map(|p| p.as_str().to_string()),
            first_name: first_name.to_string(),
            last_name: last_name.to_string(),
            platform_role: None,
            locked: false,
            deactivated: false,
            mfa_enabled: false,
            password_changed_at: None,
            profile: Profile::default(),
            deleting: false,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Whether the user is a platform superadmin.
    pub fn is_superadmin(&self) -> bool {
        self.platform_role.as_deref() == Some(SUPERADMIN)
    }

    /// The public view.
    pub fn view(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            email_verified: self.email_verified,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            profile: self.profile.clone(),
            locked: self.locked,
            deactivated: self.deactivated,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// User id (UUIDv7).
    pub id: Uuid,
    /// Email address (lower case).
    pub email: String,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Profile fields.
    #[serde(flatten)]
    pub profile: Profile,
    /// Locked by an administrator: cannot sign in.
    pub locked: bool,
    /// Deactivated: cannot sign in until activated.
    pub deactivated: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag).
    pub version: i64,
}

/// What colleagues see of a user: the directory fields, plus email and
/// phone where the organisation keeps a contact directory; nothing else
/// (`additionalProperties: false`), which tells it apart from a [`User`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectoryEntry {
    /// User id.
    pub id: Uuid,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Name shown instead of first and last name.
    pub display_name: Option<String>,
    /// Media id of the profile picture.
    pub avatar_media_id: Option<Uuid>,
    /// Job title.
    pub designation: Option<String>,
    /// Department id.
    pub department_id: Option<Uuid>,
    /// Location id.
    pub location_id: Option<Uuid>,
    /// Email, only in an organisation with a contact directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone, only in an organisation with a contact directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// How much of a user a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The directory fields only.
    Directory,
    /// The directory fields with email and phone (a contact directory).
    Contacts,
    /// Everything (self, administrators, planners with profile access).
    Full,
}

/// A user as shown to one caller: the whole profile, or the directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Person {
    /// The whole profile (self, owners/admins, planners with profile access).
    Full(User),
    /// The directory entry (colleagues).
    Directory(DirectoryEntry),
}

impl Person {
    /// The user's id.
    pub fn id(&self) -> Uuid {
        match self {
            Person::Full(u) => u.id,
            Person::Directory(d) => d.id,
        }
    }
}

impl UserRecord {
    /// The view of this user at `visibility`.
    pub fn person(&self, visibility: Visibility) -> Person {
        if visibility == Visibility::Full {
            return Person::Full(self.view());
        }
        let contacts = visibility == Visibility::Contacts;
        Person::Directory(DirectoryEntry {
            id: self.id,
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            display_name: self.profile.display_name.clone(),
            avatar_media_id: self.profile.avatar_media_id,
            designation: self.profile.designation.clone(),
            department_id: self.profile.department_id,
            location_id: self.profile.location_id,
            email: contacts.then(|| self.email.clone()),
            phone: if contacts { self.profile.phone.clone() } else { None },
        })
    }
}

/// The optional profile fields of a user (seeds 000, 002, 004), stored on
/// the user item and shown as they are stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Name shown instead of first and last name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Media id of the profile picture.
    #[serde(default)]
    pub avatar_media_id: Option<Uuid>,
    /// BCP 47 language tag (`sv-SE`).
    #[serde(default)]
    pub locale: Option<String>,
    /// IANA time zone (`Europe/Stockholm`).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Free text about the person.
    #[serde(default)]
    pub bio: Option<String>,
    /// Job title.
    #[serde(default)]
    pub designation: Option<String>,
    /// Department id.
    #[serde(default)]
    pub department_id: Option<Uuid>,
    /// Location id.
    #[serde(default)]
    pub location_id: Option<Uuid>,
    /// The user's supervisor (a user id).
    #[serde(default)]
    pub reports_to: Option<Uuid>,
    /// Organisation-defined extra fields.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: serde_json::Map<String, serde_json::Value>,
}

impl Profile {
    /// Longest bio (characters).
    pub const MAX_BIO: usize = 2000;
    /// Most custom fields.
    pub const MAX_CUSTOM_FIELDS: usize = 50;
    /// Largest serialised `customFields` (bytes).
    pub const MAX_CUSTOM_BYTES: usize = 8192;

    /// Longest phone number (characters as sent).
    pub const MAX_PHONE: usize = 32;
    /// Longest locale tag.
    pub const MAX_LOCALE: usize = 35;

    /// Checks a phone number: at most [`Self::MAX_PHONE`] characters as
    /// sent; trimmed, only digits, spaces and `+-().`, at least 3 digits.
    pub fn parse_phone(raw: &str) -> Result<String, String> {
        let phone = raw.trim();
        let ok_chars = phone.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        if raw.chars().count() > Self::MAX_PHONE || !ok_chars || digits < 3 {
            return Err("must be a phone number (digits, spaces and + - ( ) ., at most 32 characters)".into());
        }
        Ok(phone.to_string())
    }

    /// The OpenAPI schema of exactly what [`Self::parse_phone`] accepts.
    pub fn phone_schema() -> utoipa::openapi::Object {
        let ws = crate::domain::WHITE_SPACE;
        let other = r"[ +\-().]";
        let pattern = format!(r"^{ws}*(?:{other}*[0-9]){{3}}[0-9 +\-().]*{ws}*$");
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .min_length(Some(3))
            .max_length(Some(Self::MAX_PHONE))
            .pattern(Some(pattern))
            .build()
    }

    /// [`Self::phone_schema`], also allowing `null`.
    pub fn nullable_phone_schema() -> utoipa::openapi::Object {
        crate::domain::nullable(Self::phone_schema())
    }

    /// Checks a BCP 47 language tag such as `sv` or `en-GB`.
    pub fn parse_locale(raw: &str) -> Result<String, String> {
        let mut parts = raw.split('-');
        let language = parts.next().unwrap_or("");
        let ok = (2..=3).contains(&language.len())
            && language.chars().all(|c| c.is_ascii_alphabetic())
            && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
            && raw.len() <= Self::MAX_LOCALE;
        if ok { Ok(raw.to_string()) } else { Err("must be a BCP 47 language tag such as 'sv' or 'en-GB'".into()) }
    }

    /// The OpenAPI schema (also allowing `null`) of exactly what
    /// [`Self::parse_locale`] accepts.
    pub fn nullable_locale_schema() -> utoipa::openapi::Object {
        crate::domain::nullable(
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::Type::String)
                .max_length(Some(Self::MAX_LOCALE))
                .pattern(Some(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$"))
                .build(),
        )
    }

    /// Checks an IANA time zone name (`Europe/Stockholm`).
    pub fn parse_time_zone(raw: &str) -> Result<String, String> {
        raw.parse::<chrono_tz::Tz>()
            .map(|tz| tz.name().to_string())
            .map_err(|_| "must be an IANA time zone such as 'Europe/Stockholm'".into())
    }

    /// Checks a bio: at most [`Self::MAX_BIO`] characters as sent; line
    /// breaks and tabs are the only control characters allowed; trimmed.
    pub fn parse_bio(raw: &str) -> Result<String, String> {
        crate::domain::FreeText::<{ Self::MAX_BIO }>::parse(raw).map(Option::unwrap_or_default)
    }

    /// The OpenAPI schema (also allowing `null`) of exactly what
    /// [`Self::parse_bio`] accepts.
    pub fn nullable_bio_schema() -> utoipa::openapi::Object {
        crate::domain::FreeText::<{ Self::MAX_BIO }>::nullable_schema()
    }

    /// Longest custom field name.
    pub const MAX_CUSTOM_FIELD_NAME: usize = 64;

    /// What the schema can state of `customFields` (each patch, and the
    /// merged result, is also held to [`Self::check_custom_fields`]): at
    /// most [`Self::MAX_CUSTOM_FIELDS`] fields named by 1–64 characters
    /// without control characters.
    pub fn custom_fields_schema() -> utoipa::openapi::Object {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                utoipa::openapi::Type::Object,
                utoipa::openapi::Type::Null,
            ]))
            .max_properties(Some(Self::MAX_CUSTOM_FIELDS))
            .property_names(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::Type::String)
                    .min_length(Some(1))
                    .max_length(Some(Self::MAX_CUSTOM_FIELD_NAME))
                    .pattern(Some(r"^[^\x00-\x1f\x7f-\x9f]*$")),
            ))
            .build()
    }

    /// Checks custom fields: at most [`Self::MAX_CUSTOM_FIELDS`] keys of 1–64
    /// characters, at most [`Self::MAX_CUSTOM_BYTES`] serialised.
    pub fn check_custom_fields(fields: &serde_json::Map<String, serde_json::Value>) -> Result<(), String> {
        if fields.len() > Self::MAX_CUSTOM_FIELDS {
            return Err(format!("may have at most {} fields", Self::MAX_CUSTOM_FIELDS));
        }
        if fields
            .keys()
            .any(|k| k.is_empty() || k.chars().count() > Self::MAX_CUSTOM_FIELD_NAME || k.chars().any(char::is_control))
        {
            return Err("field names must be 1 to 64 characters".into());
        }
        if serde_json::to_vec(fields).map(|b| b.len()).unwrap_or(usize::MAX) > Self::MAX_CUSTOM_BYTES {
            return Err(format!("must be at most {} bytes as JSON", Self::MAX_CUSTOM_BYTES));
        }
        Ok(())
    }
}

/// Writes that create `user` with its email guard (fails on a taken email).
pub fn create_ops(user: &UserRecord) -> anyhow::Result<Vec<WriteOp>> {
    let item = to_item(user, keys::user_pk(user.id), keys::USER_SK.into(), "User")?;
    Ok(vec![WriteOp::Put { item, condition: Condition::NotExists }, email_guard_op(&user.email, user.id)])
}

/// The write that reserves `email` for `user` (fails when it is taken).
pub fn email_guard_op(email: &str, user: Uuid) -> WriteOp {
    let mut guard = Item::new();
    guard.insert("PK".into(), keys::email_pk(email).into());
    guard.insert("SK".into(), keys::EMAIL_SK.into());
    guard.insert(keys::ENTITY_TYPE.into(), "EmailGuard".into());
    guard.insert("userId".into(), user.to_string().into());
    WriteOp::Put { item: guard, condition: Condition::NotExists }
}

/// A change of one user's item: bumps the version and is guarded by the
/// version that was read (and by the user not being deleted), so concurrent
/// changes never overwrite each other. Attribute names stay in here.
#[derive(Debug, Clone)]
pub struct UserChange {
    update: Update,
}

impl UserChange {
    /// A change of `user` (as read) made at `now`.
    pub fn of(user: &UserRecord, now: DateTime<Utc>) -> Self {
        let update = Update::new(key(user.id)).set("updatedAt", json(now)).set("version", user.version + 1).when(
            Condition::All(vec![Condition::version_is(user.version), Condition::AttrNotExists("deleting".into())]),
        );
        Self { update }
    }

    fn set(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.update = self.update.set(name, value);
        self
    }

    /// Sets the email address (normalised) and whether it is verified.
    pub fn email(self, email: &str, verified: bool) -> Self {
        self.set("email", email).email_verified(verified)
    }

    /// Marks the address verified or not.
    pub fn email_verified(self, verified: bool) -> Self {
        self.set("emailVerified", verified)
    }

    /// Sets a new password hash (and when it changed).
    pub fn password(self, hash: &PasswordHash, now: DateTime<Utc>) -> Self {
        self.set("passwordHash", hash.as_str()).set("passwordChangedAt", json(now))
    }

    /// Whether TOTP is enabled.
    pub fn mfa_enabled(self, enabled: bool) -> Self {
        self.set("mfaEnabled", enabled)
    }

    /// The administrator's lock and deactivation flags.
    pub fn lock_state(self, locked: bool, deactivated: bool) -> Self {
        self.set("locked", locked).set("deactivated", deactivated)
    }

    /// Marks the user as being deleted (gone for every other route).
    pub fn deleting(self) -> Self {
        self.set("deleting", true)
    }

    /// Sets names (when given) and the whole profile (absent fields removed).
    pub fn profile(
        mut self,
        first_name: Option<&str>,
        last_name: Option<&str>,
        profile: &Profile,
    ) -> anyhow::Result<Self> {
        if let Some(name) = first_name {
            self = self.set("firstName", name);
        }
        if let Some(name) = last_name {
            self = self.set("lastName", name);
        }
        if let serde_json::Value::Object(fields) = serde_json::to_value(profile)? {
            for (name, value) in fields {
                self.update = if value.is_null() { self.update.remove(name) } else { self.update.set(name, value) };
            }
        }
        Ok(self)
    }

    /// The write.
    pub fn op(self) -> WriteOp {
        WriteOp::Update(self.update)
    }
}

/// The stored form of an instant.
fn json(at: DateTime<Utc>) -> serde_json::Value {
    serde_json::to_value(at).unwrap_or_default()
}

/// The key of user `id`'s item.
fn key(id: Uuid) -> Key {
    Key::new(keys::user_pk(id), keys::USER_SK)
}

/// A successful sign-in of `user` (as read): writes nothing, but holds only
/// while the password, lock and deactivation are as read, so a concurrent
/// password change or lock cannot be outrun. (Failed attempts are counted
/// per address in `identity::attempts`.)
pub fn signed_in_op(user: &UserRecord) -> WriteOp {
    let still_valid = Condition::All(vec![
        Condition::eq("passwordHash", user.password_hash.clone().unwrap_or_default()),
        Condition::eq("locked", false),
        Condition::eq("deactivated", false),
    ]);
    WriteOp::Check { key: key(user.id), condition: still_valid }
}

/// Reads a user.
pub async fn get(table: &dyn Table, id: Uuid) -> anyhow::Result<Option<UserRecord>> {
    match table.get(&key(id)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Finds a user by (normalised) email through the guard item.
pub async fn find_by_email(table: &dyn Table, email: &Email) -> anyhow::Result<Option<UserRecord>> {
    let Some(guard) = table.get(&Key::new(keys::email_pk(email.as_str()), keys::EMAIL_SK)).await? else {
        return Ok(None);
    };
    let Some(id) = guard.get("userId").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok()) else {
        anyhow::bail!("email guard without a user id");
    };
    get(table, id).await
}

/// The write that deletes the email guard of `email`, if it still points at `user`.
pub fn delete_email_guard_op(email: &str, user: Uuid) -> WriteOp {
    WriteOp::Delete {
        key: Key::new(keys::email_pk(email), keys::EMAIL_SK),
        condition: Condition::Any(vec![Condition::NotExists, Condition::eq("userId", user.to_string())]),
    }
}

/// Every organisation membership of `user` (Query GSI1 `USER#<id>`).
pub async fn memberships(table: &dyn Table, user: Uuid) -> anyhow::Result<Vec<Membership>> {
    let query = Query::new(Index::Gsi1, keys::user_pk(user)).sort_key(SortKey::BeginsWith("ORG#".into()));
    let mut out = Vec::new();
    let mut query = query;
    loop {
        let page = table.query(&query).await?;
        for item in page.items {
            if item.get(keys::ENTITY_TYPE).and_then(|v| v.as_str()) == Some("Membership") {
                out.push(from_item(item)?);
            }
        }
        match page.last_key {
            Some(last) => query.start_after = Some(last),
            None => break,
        }
    }
    Ok(out)
}

/// Reads up to any number of users by id (batched; missing ones skipped).
pub async fn get_many(table: &dyn Table, ids: &[Uuid]) -> anyhow::Result<Vec<UserRecord>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(crate::table::MAX_BATCH_GET) {
        let keys: Vec<Key> = chunk.iter().map(|id| Key::new(keys::user_pk(*id), keys::USER_SK)).collect();
        for item in table.batch_get(&keys).await? {
            out.push(from_item(item)?);
        }
    }
    Ok(out)
}

/// What deleting a user removes besides the user item itself: everything
/// in the user's partition (preferences, followers, planners, contacts,
/// attachments, sessions, credentials ...), their memberships, the users
/// they follow and the members they plan for.
#[derive(Debug, Default)]
pub struct Belongings {
    keys: std::collections::BTreeSet<Key>,
    /// The user's attachments, whose files go too.
    pub attachments: Vec<Uuid>,
}

/// Reads what deleting user `id` removes (all pages).
pub async fn belongings(table: &dyn Table, id: Uuid) -> anyhow::Result<Belongings> {
    use crate::store::listing::query_all;
    let mut out = Belongings::default();
    for item in query_all(table, Query::new(Index::Primary, keys::user_pk(id))).await? {
        if item.get(keys::ENTITY_TYPE).and_then(|v| v.as_str()) == Some("Attachment")
            && let Some(attachment) = item.get("id").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok())
        {
            out.attachments.push(attachment);
        }
        out.keys.extend(Key::of(&item));
    }
    for query in [
        Query::new(Index::Gsi1, keys::user_pk(id)).sort_key(SortKey::BeginsWith("ORG#".into())),
        Query::new(Index::Gsi1, keys::follows_gsi1pk("user", id)),
        Query::new(Index::Gsi1, keys::plans_gsi1pk(id)),
    ] {
        for item in query_all(table, query).await? {
            out.keys.extend(Key::of(&item));
        }
    }
    out.keys.remove(&key(id));
    Ok(out)
}

/// Deletes `belongings` of user `id` (with the guard of `email`) in
/// transactions of the largest allowed size; repeating it is harmless.
pub async fn delete_belongings(
    table: &dyn Table,
    belongings: Belongings,
    email: &str,
    id: Uuid,
) -> Result<(), crate::table::TableError> {
    let mut ops: Vec<WriteOp> =
        belongings.keys.into_iter().map(|key| WriteOp::Delete { key, condition: Condition::Always }).collect();
    ops.push(delete_email_guard_op(email, id));
    for chunk in ops.chunks(crate::table::MAX_TRANSACTION_ITEMS) {
        table.transact_write(chunk.to_vec()).await?;
    }
    Ok(())
}

/// Deletes user `id`'s item, last, only while it is marked deleting (a
/// user already gone is fine).
pub async fn delete_marked(table: &dyn Table, id: Uuid) -> Result<(), crate::table::TableError> {
    match table.delete(&key(id), Condition::AttrExists("deleting".into())).await {
        Ok(_) | Err(crate::table::TableError::ConditionFailed { .. }) => Ok(()),
        Err(err) => Err(err),
    }
}

/// The write that deactivates user `id` whatever its version (when the
/// last organisation they belonged to is deleted); fails if the user is gone.
pub fn deactivate_op(id: Uuid, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update(
        Update::new(key(id))
            .set("deactivated", true)
            .set("updatedAt", json(now))
            .add("version", 1)
            .when(Condition::Exists),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_fields_round_trip_flat_on_the_item() {
        let email = Email::parse("ada@example.com").unwrap();
        let mut user = UserRecord::new(&email, "Ada", "Lovelace", None, chrono::Utc::now());
        user.profile.time_zone = Some("Europe/Stockholm".into());
        user.profile.custom_fields.insert("shoe".into(), 42.into());
        let item = to_item(&user, "PK".into(), "SK".into(), "User").unwrap();
        assert_eq!(item["timeZone"], "Europe/Stockholm");
        assert_eq!(item["customFields"]["shoe"], 42);
        let back: UserRecord = from_item(item).unwrap();
        assert_eq!(back, user);
        let view = serde_json::to_value(user.view()).unwrap();
        assert_eq!(view["timeZone"], "Europe/Stockholm");
        assert!(view["phone"].is_null());
        assert!(view.get("passwordHash").is_none());
    }

    #[test]
    fn profile_values_are_checked() {
        assert_eq!(Profile::parse_time_zone("Europe/Stockholm").unwrap(), "Europe/Stockholm");
        assert!(Profile::parse_time_zone("Mars/Olympus").is_err());
        assert!(Profile::parse_time_zone("").is_err());
        assert!(Profile::parse_locale("en-GB").is_ok() && Profile::parse_locale("sv").is_ok());
        assert!(Profile::parse_locale("english!").is_err() && Profile::parse_locale("e").is_err());
        assert_eq!(Profile::parse_phone(" +46 (0)70-123 45 67 ").unwrap(), "+46 (0)70-123 45 67");
        assert!(Profile::parse_phone("call me").is_err() && Profile::parse_phone("+1").is_err());
        assert!(Profile::parse_bio("line one\nline two").is_ok());
        assert!(Profile::parse_bio("bell\u{7}").is_err());
        assert!(Profile::parse_bio(&"x".repeat(2001)).is_err());
        let mut many = serde_json::Map::new();
        for i in 0..51 {
            many.insert(format!("k{i}"), 1.into());
        }
        assert!(Profile::check_custom_fields(&many).is_err());
    }

    #[test]
    fn items_stored_before_profiles_existed_still_read() {
        let item = serde_json::json!({
            "id": "0190f3a8-0000-7000-8000-000000000001", "email": "a@example.com", "emailVerified": false,
            "firstName": "A", "lastName": "B", "createdAt": "2026-03-29T06:30:00Z",
            "updatedAt": "2026-03-29T06:30:00Z", "version": 1, "PK": "x", "SK": "y", "entityType": "User"
        });
        let user: UserRecord = from_item(item.as_object().unwrap().clone()).unwrap();
        assert_eq!(user.profile, Profile::default());
        assert!(!user.deleting);
    }
}
