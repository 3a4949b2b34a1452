//! Every key of the single table, built in one place. Access patterns:
//!
//! | entity           | PK                    | SK                 | GSI1PK              | GSI1SK          |
//! |------------------|-----------------------|--------------------|---------------------|-----------------|
//! | organisation     | `ORG#<orgId>`         | `ORG`              | `ORGS`              | `ORG#<orgId>`   |
//! | membership       | `ORG#<orgId>`         | `MEMBER#<userId>`  | `USER#<userId>`     | `ORG#<orgId>`   |
//! | user             | `USER#<userId>`       | `USER`             |                     |                 |
//! | email guard      | `EMAIL#<email>`       | `EMAIL`            |                     |                 |
//! | audit entry      | `AUDIT#<orgId>`/`AUDIT#PLATFORM` | `<at>#<entryId>` | `AUDITBY#<actorId>` | `<at>#<entryId>` |
//! | idempotency rec. | `IDEM#<scope>#<key>`  | `IDEM`             |                     |                 |
//!
//! - list organisations (superadmin): Query GSI1 `ORGS`.
//! - members of an organisation: Query PK `ORG#<id>`, SK begins_with `MEMBER#`.
//! - organisations of a user: Query GSI1 `USER#<id>`.
//! - audit of an organisation in a time window: Query PK `AUDIT#<id>`, SK between.
//! - audit by actor: Query GSI1 `AUDITBY#<id>`.
//!
//! Timestamps in sort keys are RFC 3339 UTC with fixed millisecond precision
//! so that byte order is time order. Every item carries `entityType`.

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

/// Attribute naming each item's entity type.
pub const ENTITY_TYPE: &str = "entityType";

/// `ORG#<id>`
pub fn org_pk(org: Uuid) -> String {
    format!("ORG#{org}")
}
/// Sort key of the organisation item itself.
pub const ORG_SK: &str = "ORG";
/// GSI1 partition listing every organisation.
pub const ORGS_GSI1PK: &str = "ORGS";
/// `ORG#<id>` as a GSI1 sort key.
pub fn org_gsi1sk(org: Uuid) -> String {
    org_pk(org)
}

/// Prefix of membership sort keys.
pub const MEMBER_PREFIX: &str = "MEMBER#";
/// `MEMBER#<userId>`
pub fn member_sk(user: Uuid) -> String {
    format!("{MEMBER_PREFIX}{user}")
}

/// `USER#<id>`
pub fn user_pk(user: Uuid) -> String {
    format!("USER#{user}")
}
/// Sort key of the user item itself.
pub const USER_SK: &str = "USER";

/// `EMAIL#<normalised email>`: the uniqueness guard of an address.
pub fn email_pk(email: &str) -> String {
    format!("EMAIL#{email}")
}
/// Sort key of an email guard.
pub const EMAIL_SK: &str = "EMAIL";

/// Scope of platform-level audit entries (no organisation).
pub const PLATFORM: &str = "PLATFORM";
/// `AUDIT#<orgId>` or `AUDIT#PLATFORM`.
pub fn audit_pk(org: Option<Uuid>) -> String {
    match org {
        Some(org) => format!("AUDIT#{org}"),
        None => format!("AUDIT#{PLATFORM}"),
    }
}
/// `<at>#<entryId>`: time-ordered, unique.
pub fn audit_sk(at: DateTime<Utc>, entry: Uuid) -> String {
    format!("{}#{entry}", timestamp(at))
}
/// `AUDITBY#<actorId>`
pub fn audit_by_gsi1pk(actor: &str) -> String {
    format!("AUDITBY#{actor}")
}

/// `IDEM#<scope>#<key>`
pub fn idempotency_pk(scope: &str, key: &str) -> String {
    format!("IDEM#{scope}#{key}")
}
/// Sort key of an idempotency record.
pub const IDEMPOTENCY_SK: &str = "IDEM";

/// A sortable timestamp: RFC 3339 UTC with milliseconds (`2026-03-29T06:30:00.000Z`).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_pinned() {
        let id = Uuid::parse_str("0190f3a8-0000-7000-8000-000000000001").unwrap();
        assert_eq!(org_pk(id), "ORG#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(member_sk(id), "MEMBER#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(user_pk(id), "USER#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(email_pk("ada@example.com"), "EMAIL#ada@example.com");
        assert_eq!(audit_pk(None), "AUDIT#PLATFORM");
        assert_eq!(idempotency_pk("abc", "k1"), "IDEM#abc#k1");
        let at = DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(audit_sk(at, id), "2026-03-29T06:30:00.000Z#0190f3a8-0000-7000-8000-000000000001");
    }

    #[test]
    fn timestamps_sort_as_time() {
        let a = DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        let b = a + chrono::Duration::milliseconds(5);
        let c = a + chrono::Duration::seconds(10);
        assert!(timestamp(a) < timestamp(b) && timestamp(b) < timestamp(c));
    }
}
