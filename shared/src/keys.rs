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
//! | one-time token   | `ONETIME#<sha256>`    | `ONETIME`          |                     |                 |
//! | sign-in attempts | `ATTEMPTS#<sha256 of the normalised email>` | `ATTEMPTS` |         |                 |
//! | TOTP config      | `USER#<userId>`       | `MFA#TOTP`         |                     |                 |
//! | backup code      | `USER#<userId>`       | `MFA#BACKUP#<sha256>` |                  |                 |
//! | email change req.| `USER#<userId>`       | `EMAILCHANGE`      |                     |                 |
//! | org structure unit | `ORG#<orgId>`       | `GROUP#`/`DEPT#`/`LOC#`/`SECGROUP#<unitId>` |  |        |
//! | unit relation    | `ORG#<orgId>`         | `REL#<KIND>#<unitId>#MEMBER`/`HEAD`/`STAFF#<userId>` | GSI2 `USERREL#<userId>` | `ORG#<orgId>#<SK>` |
//! | org link         | `ORG#<orgId>`         | `LINK#<linkId>`    | GSI2 `LINKS#<orgId>#<scope>` | `<order:010>#<linkId>` |
//! | invitation text  | `ORG#<orgId>`         | `INVTEXT`          |                     |                 |
//! | invitation       | `ORG#<orgId>`         | `INVITE#<invId>`   |                     |                 |
//! | invitation token | `INVTOKEN#<sha256>`   | `INVTOKEN`         | (companion of its pending invitation)  | |
//! | pending invite guard | `ORG#<orgId>`     | `INVEMAIL#<email>` |                     |                 |
//! | org API key      | `ORG#<orgId>`         | `APIKEY#<keyId>`   |                     |                 |
//! | API key lookup   | `APIKEYHASH#<sha256>` | `APIKEYHASH`       | (companion of its key record) |   |
//! | calendar event   | `CAL#<ownerId>`       | `EVENT#<eventId>`  |                     |                 |
//! | event occurrence | `CAL#<ownerId>`       | `EVENT#<seriesId>#OCC#<originalStart compact>` |    |                 |
//! | event attendee   | `CAL#<ownerId>`       | `ATTENDEE#<eventId>#<userId>` | `ATTENDEE#<userId>` | `EVENT#<eventId>` |
//! | event id ref.    | `EVENTREF#<eventId>`  | `EVENTREF`         |                     |                 |
//! | event template   | `TEMPLATE#<templateId>` | `TEMPLATE`       | `TEMPLATES#USER#<userId>`/`TEMPLATES#ORG#<orgId>` | `TEMPLATE#<templateId>` |
//! | almanac subject/location | `ALMANAC#SUBJECT`/`ALMANAC#LOCATION` | `<id>` |           |                 |
//! | almanac event    | `ALMANAC#EVENT`       | `<id>`             | `ALMANAC#EVENTS#<locationId>` | `<date>#<id>` (GSI2 `ALMANAC#EVENTS` / `<date>#<id>`) |
//! | almanac slug guard | `ALMANAC#SLUG#<kind>#<slug>` | `SLUG`   |                     |                 |
//! | due reminder     | `DUE#<yyyy-mm-ddThh:mm>#<shard 0..7>` | `<fireAt>#<eventId>#<occurrence>#<idx>` |  |        |
//! | due alarm firing | `DUE#<yyyy-mm-ddThh:mm>#<shard 0..7>` | `<fireAt>#<eventId>#<occurrence>#alarm` |  |        |
//! | due pointer      | `CAL#<ownerId>`       | `DUEPTR#<eventId>` |                     |                 |
//! | due almanac digest | `DUE#<yyyy-mm-ddThh:mm>#<shard 0..7>` | `DIGEST#<fireAt>#<userId>` |    |        |
//! | digest pointer   | `USER#<userId>`       | `DIGESTPTR`        |                     |                 |
//! | delivery marker  | `DELIVERY#<duePK>#<dueSK>` | `DELIVERY`    |                     |                 |
//! | reminders watermark | `REMINDERS#WATERMARK` | `WATERMARK`     |                     |                 |
//! | notification     | `USER#<userId>`       | `NOTIF#<createdAt>#<id>` |               |                 |
//! | planner link     | `USER#<memberId>`     | `PLANNER#<plannerId>` | `PLANS#<plannerId>` | `USER#<memberId>` (GSI2 `ORGPLANS#<orgId>` / `<memberId>#<plannerId>`) |
//! | push device      | `USER#<userId>`       | `DEVICE#<sha256 of token>` |             |                 |
//! | pending send     | `OUTBOUND#<shard 0..3>` | `<createdAt>#<sendId>` |              |                 |
//!
//! Memberships also carry GSI2 `ORGROLE#<orgId>#<role>` / `MEMBER#<userId>`.
//! Anything stored outside `ORG#<orgId>` that belongs to the organisation is
//! named from an item inside it by `companionPK`/`companionSK`, so deleting
//! the organisation (which walks its partition) deletes it too.
//!
//! - list organisations (superadmin): Query GSI1 `ORGS`.
//! - members of an organisation: Query PK `ORG#<id>`, SK begins_with `MEMBER#`.
//! - organisations of a user: Query GSI1 `USER#<id>`.
//! - audit of an organisation in a time window: Query PK `AUDIT#<id>`, SK between.
//! - audit by actor: Query GSI1 `AUDITBY#<id>`.
//! - preferences / followers / planners / contacts / attachments of a user:
//!   Query PK `USER#<id>`, SK begins_with `PREF#` / `FOLLOWER#` / `PLANNER#` /
//!   `CONTACT#` / `ATTACH#`; everything a user owns: Query PK `USER#<id>`.
//! - what a user or organisation follows: Query GSI1 `FOLLOWS#<type>#<id>`.
//! - the members a planner plans for: Query GSI1 `PLANS#<plannerId>`.
//! - planner links made through an organisation (ended with the membership or the
//!   organisation): Query GSI2 `ORGPLANS#<orgId>`.
//! - the session of an access token, cookie or refresh token: GetItem
//!   `USER#<userId>` / `SESSION#<sessionId>` (both ids travel in the credential;
//!   its secret is checked against the hash on the item).
//! - sessions of a user (list, revoke all): Query PK `USER#<id>`, SK begins_with `SESSION#`.
//! - personal access tokens of a user: Query PK `USER#<id>`, SK begins_with `PAT#`.
//! - a presented personal access token: GetItem `PATHASH#<sha256 of the token>`.
//! - a mailed one-time token: Get `ONETIME#<sha256 of the token>` (never stored in plain).
//! - the attempt counter of an address (sign-in, re-authentication), whether or not an
//!   account has it: UpdateItem `ATTEMPTS#<sha256 of the normalised email>` (no address in the key).
//! - a user's backup codes (to replace them): Query PK `USER#<id>`, SK begins_with `MFA#BACKUP#`.
//! - units of one kind: Query PK `ORG#<id>`, SK begins_with `GROUP#` (`DEPT#`, `LOC#`, `SECGROUP#`).
//! - members / heads / staff of a unit: Query PK `ORG#<id>`, SK begins_with `REL#<KIND>#<unitId>#<REL>#`.
//! - a user's unit relations in an organisation: Query GSI2 `USERREL#<userId>`, SK begins_with `ORG#<orgId>#`.
//! - a calendar window: Query PK `CAL#<ownerId>`, SK begins_with `EVENT#` (series, one-off
//!   events and their per-occurrence items, so the cost grows with that calendar only);
//!   events a user attends: Query GSI1 `ATTENDEE#<userId>`, then Get/Query their events.
//! - an event by id (its owner is not in the URL): Get `EVENTREF#<id>` for the owner, then Get the event.
//! - a template by id: Get `TEMPLATE#<id>`; templates of a user / an organisation: Query GSI1
//!   `TEMPLATES#USER#<id>` / `TEMPLATES#ORG#<id>`.
//! - members of an organisation with one role: Query GSI2 `ORGROLE#<orgId>#<role>`.
//! - links of a scope in order: Query GSI2 `LINKS#<orgId>#<scope>` (`ORG`, `DEPT#<id>`, `LOC#<id>`, `USER#<id>`).
//! - invitations of an organisation: Query PK `ORG#<id>`, SK begins_with `INVITE#`.
//! - a mailed invitation token: GetItem `INVTOKEN#<sha256 of the token>` (names the
//!   organisation and invitation); the pending invitation for an address: GetItem
//!   `ORG#<id>` / `INVEMAIL#<email>` (at most one pending invitation per address).
//! - API keys of an organisation: Query PK `ORG#<id>`, SK begins_with `APIKEY#`.
//! - a presented organisation API key: GetItem `APIKEYHASH#<sha256 of the key>`.
//! - everything of an organisation (deletion): Query PK `ORG#<id>`.
//! - almanac subjects / locations (list, in-memory search — the almanac holds hundreds of items):
//!   Query PK `ALMANAC#SUBJECT` / `ALMANAC#LOCATION`; one by id: Get; by slug: Get the slug guard, then the item.
//! - almanac events of a location in date order (window): Query GSI1 `ALMANAC#EVENTS#<locationId>`, SK between
//!   `<start>#` and `<end>$`; of every location: the same on GSI2 `ALMANAC#EVENTS`.
//!
//! - reminders due in one minute: Query PK `DUE#<minute>#<shard>` for each of the 8 shards
//!   (shard = hash(eventId) % 8, so one busy minute spreads over partitions); an event's
//!   current due items (to replace them on a change): Get `CAL#<ownerId>` / `DUEPTR#<eventId>`.
//!   Almanac digests share the buckets (shard = hash(userId) % 8); a user's current digest
//!   item (to replace it when the `almanac` preference changes): Get `USER#<id>` / `DIGESTPTR`.
//! - a user's inbox, newest first: Query PK `USER#<id>`, SK begins_with `NOTIF#`, descending;
//!   one notification by id: its id is a UUIDv7 carrying `createdAt`, so Get the exact key.
//! - a user's push devices: Query PK `USER#<id>`, SK begins_with `DEVICE#`.
//! - mails and pushes still to send (retried by every reminders run): Query PK `OUTBOUND#<shard>`
//!   for each of the 4 shards (shard = hash(sendId) % 4), oldest first.
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

/// `ONETIME#<sha256>`: a mailed one-time token, keyed by its hash.
pub fn one_time_pk(token_hash: &str) -> String {
    format!("ONETIME#{token_hash}")
}
/// Sort key of a one-time token.
pub const ONE_TIME_SK: &str = "ONETIME";

/// `ATTEMPTS#<sha256 hex of the normalised email>`: the attempt counter of an
/// address, known or not (the key holds no address).
pub fn attempts_pk(email_hash: &str) -> String {
    format!("ATTEMPTS#{email_hash}")
}
/// Sort key of an attempt counter.
pub const ATTEMPTS_SK: &str = "ATTEMPTS";

/// Sort key (under `USER#<id>`) of a user's TOTP configuration.
pub const MFA_TOTP_SK: &str = "MFA#TOTP";
/// Prefix of backup-code sort keys (under `USER#<id>`).
pub const BACKUP_CODE_PREFIX: &str = "MFA#BACKUP#";
/// `MFA#BACKUP#<sha256>`
pub fn backup_code_sk(code_hash: &str) -> String {
    format!("{BACKUP_CODE_PREFIX}{code_hash}")
}

/// Sort key (under `USER#<id>`) of a user's pending email change.
pub const EMAIL_CHANGE_SK: &str = "EMAILCHANGE";

/// GSI2 partition of an organisation's members with one role: `ORGROLE#<orgId>#<role>`.
pub fn org_role_gsi2pk(org: Uuid, role: &str) -> String {
    format!("ORGROLE#{org}#{role}")
}

/// Sort key of a structure unit: `<KIND>#<unitId>` (`GROUP`, `DEPT`, `LOC`, `SECGROUP`).
pub fn unit_sk(kind: &str, unit: Uuid) -> String {
    format!("{kind}#{unit}")
}
/// Sort-key prefix of every unit of one kind: `<KIND>#`.
pub fn unit_prefix(kind: &str) -> String {
    format!("{kind}#")
}
/// Sort-key prefix of every relation of one unit: `REL#<KIND>#<unitId>#`.
pub fn unit_relations_prefix(kind: &str, unit: Uuid) -> String {
    format!("REL#{kind}#{unit}#")
}
/// Sort-key prefix of one relation of a unit: `REL#<KIND>#<unitId>#<REL>#`.
pub fn relation_prefix(kind: &str, unit: Uuid, relation: &str) -> String {
    format!("REL#{kind}#{unit}#{relation}#")
}
/// `REL#<KIND>#<unitId>#<REL>#<userId>`
pub fn relation_sk(kind: &str, unit: Uuid, relation: &str, user: Uuid) -> String {
    format!("{}{user}", relation_prefix(kind, unit, relation))
}
/// GSI2 partition of a user's unit relations: `USERREL#<userId>`.
pub fn user_relations_gsi2pk(user: Uuid) -> String {
    format!("USERREL#{user}")
}
/// GSI2 sort key of a relation: `ORG#<orgId>#<relation SK>`.
pub fn user_relation_gsi2sk(org: Uuid, relation_sk: &str) -> String {
    format!("ORG#{org}#{relation_sk}")
}

/// Prefix of link sort keys.
pub const LINK_PREFIX: &str = "LINK#";
/// `LINK#<linkId>`
pub fn link_sk(link: Uuid) -> String {
    format!("{LINK_PREFIX}{link}")
}
/// GSI2 partition of the links of one scope: `LINKS#<orgId>#<scope>`.
pub fn links_gsi2pk(org: Uuid, scope: &str) -> String {
    format!("LINKS#{org}#{scope}")
}
/// GSI2 sort key of a link: its order, zero-padded so byte order is numeric order.
pub fn link_gsi2sk(order: u32, link: Uuid) -> String {
    format!("{order:010}#{link}")
}

/// Sort key (under `ORG#<id>`) of the organisation's invitation text.
pub const INVITATION_TEXT_SK: &str = "INVTEXT";
/// Prefix of invitation sort keys (under `ORG#<id>`).
pub const INVITATION_PREFIX: &str = "INVITE#";
/// `INVITE#<invitationId>`
pub fn invitation_sk(invitation: Uuid) -> String {
    format!("{INVITATION_PREFIX}{invitation}")
}
/// `INVTOKEN#<sha256 hex>`: finds the invitation of a mailed token.
pub fn invitation_token_pk(hash: &str) -> String {
    format!("INVTOKEN#{hash}")
}
/// Sort key of an invitation-token lookup item.
pub const INVITATION_TOKEN_SK: &str = "INVTOKEN";
/// `INVEMAIL#<normalised email>` (under `ORG#<id>`): the one pending invitation of an address.
pub fn invitation_email_sk(email: &str) -> String {
    format!("INVEMAIL#{email}")
}

/// Prefix of organisation API key sort keys (under `ORG#<id>`).
pub const API_KEY_PREFIX: &str = "APIKEY#";
/// `APIKEY#<keyId>`
pub fn api_key_sk(key: Uuid) -> String {
    format!("{API_KEY_PREFIX}{key}")
}
/// `APIKEYHASH#<sha256 hex>`: finds a presented organisation API key.
pub fn api_key_hash_pk(hash: &str) -> String {
    format!("APIKEYHASH#{hash}")
}
/// Sort key of an API-key lookup item.
pub const API_KEY_HASH_SK: &str = "APIKEYHASH";

/// Attributes naming an item outside `ORG#<id>` deleted with its owner item.
pub const COMPANION_PK: &str = "companionPK";
/// See [`COMPANION_PK`].
pub const COMPANION_SK: &str = "companionSK";

/// Prefix of login-session sort keys.
pub const SESSION_PREFIX: &str = "SESSION#";
/// `SESSION#<sessionId>` (under `USER#<userId>`).
pub fn session_sk(session: Uuid) -> String {
    format!("{SESSION_PREFIX}{session}")
}

/// Prefix of personal-access-token sort keys.
pub const PAT_PREFIX: &str = "PAT#";
/// `PAT#<tokenId>` (under `USER#<userId>`).
pub fn pat_sk(token: Uuid) -> String {
    format!("{PAT_PREFIX}{token}")
}
/// `PATHASH#<sha256 hex>`: finds a presented personal access token.
pub fn pat_hash_pk(hash: &str) -> String {
    format!("PATHASH#{hash}")
}
/// Sort key of a personal-access-token lookup item.
pub const PAT_HASH_SK: &str = "PATHASH";

/// Prefix of preference sort keys.
pub const PREF_PREFIX: &str = "PREF#";
/// `PREF#<key>`
pub fn pref_sk(key: &str) -> String {
    format!("{PREF_PREFIX}{key}")
}

/// Prefix of follower sort keys.
pub const FOLLOWER_PREFIX: &str = "FOLLOWER#";
/// `FOLLOWER#<type>#<followerId>`
pub fn follower_sk(follower_type: &str, follower: Uuid) -> String {
    format!("{FOLLOWER_PREFIX}{follower_type}#{follower}")
}
/// `FOLLOWS#<type>#<followerId>`: everything one follower follows.
pub fn follows_gsi1pk(follower_type: &str, follower: Uuid) -> String {
    format!("FOLLOWS#{follower_type}#{follower}")
}

/// Prefix of planner-link sort keys.
pub const PLANNER_PREFIX: &str = "PLANNER#";
/// `PLANNER#<plannerId>`
pub fn planner_sk(planner: Uuid) -> String {
    format!("{PLANNER_PREFIX}{planner}")
}
/// `PLANS#<plannerId>`: the members one planner plans for.
pub fn plans_gsi1pk(planner: Uuid) -> String {
    format!("PLANS#{planner}")
}
/// `ORGPLANS#<orgId>`: the planner links made through one organisation.
pub fn org_plans_gsi2pk(org: Uuid) -> String {
    format!("ORGPLANS#{org}")
}

/// Prefix of contact sort keys.
pub const CONTACT_PREFIX: &str = "CONTACT#";
/// `CONTACT#<contactId>`
pub fn contact_sk(contact: Uuid) -> String {
    format!("{CONTACT_PREFIX}{contact}")
}

/// Prefix of attachment sort keys.
pub const ATTACHMENT_PREFIX: &str = "ATTACH#";
/// `ATTACH#<attachmentId>`
pub fn attachment_sk(attachment: Uuid) -> String {
    format!("{ATTACHMENT_PREFIX}{attachment}")
}

/// `CAL#<ownerId>`: one person's calendar.
pub fn calendar_pk(owner: Uuid) -> String {
    format!("CAL#{owner}")
}
/// Prefix of every event sort key (series, one-off events, occurrences).
pub const EVENT_PREFIX: &str = "EVENT#";
/// `EVENT#<eventId>`
pub fn event_sk(event: Uuid) -> String {
    format!("{EVENT_PREFIX}{event}")
}
/// `EVENT#<seriesId>#OCC#<originalStart>` (`20260329T063000Z`, or `20260329` all-day).
pub fn occurrence_sk(series: Uuid, original_start: &str) -> String {
    format!("{EVENT_PREFIX}{series}#OCC#{original_start}")
}
/// `ATTENDEE#<eventId>#<userId>`: the attendance of a user, in the owner's calendar.
pub fn attendee_sk(event: Uuid, user: Uuid) -> String {
    format!("ATTENDEE#{event}#{user}")
}
/// `ATTENDEE#<userId>`: GSI1 partition of the events a user attends.
pub fn attendee_gsi1pk(user: Uuid) -> String {
    format!("ATTENDEE#{user}")
}
/// `EVENTREF#<eventId>`: where an event lives.
pub fn event_ref_pk(event: Uuid) -> String {
    format!("EVENTREF#{event}")
}
/// Sort key of an event reference.
pub const EVENT_REF_SK: &str = "EVENTREF";
/// `TEMPLATE#<templateId>`
pub fn template_pk(template: Uuid) -> String {
    format!("TEMPLATE#{template}")
}
/// Sort key of a template.
pub const TEMPLATE_SK: &str = "TEMPLATE";
/// `TEMPLATES#USER#<userId>`: GSI1 partition of a user's templates.
pub fn user_templates_gsi1pk(user: Uuid) -> String {
    format!("TEMPLATES#USER#{user}")
}
/// `TEMPLATES#ORG#<orgId>`: GSI1 partition of an organisation's templates.
pub fn org_templates_gsi1pk(org: Uuid) -> String {
    format!("TEMPLATES#ORG#{org}")
}

/// `ALMANAC#<KIND>` (`SUBJECT`, `LOCATION`, `EVENT`): the partition of one almanac kind.
pub fn almanac_pk(kind: &str) -> String {
    format!("ALMANAC#{kind}")
}
/// `<id>`: an almanac item's sort key (UUIDv7, so creation order).
pub fn almanac_sk(id: Uuid) -> String {
    id.to_string()
}
/// `ALMANAC#SLUG#<kind>#<slug>`: the uniqueness guard of a slug.
pub fn almanac_slug_pk(kind: &str, slug: &str) -> String {
    format!("ALMANAC#SLUG#{kind}#{slug}")
}
/// Sort key of a slug guard.
pub const ALMANAC_SLUG_SK: &str = "SLUG";
/// `ALMANAC#EVENTS#<locationId>`: GSI1 partition of a location's almanac events.
pub fn almanac_location_events_gsi1pk(location: Uuid) -> String {
    format!("ALMANAC#EVENTS#{location}")
}
/// GSI2 partition of every almanac event.
pub const ALMANAC_EVENTS_GSI2PK: &str = "ALMANAC#EVENTS";
/// `<date>#<id>`: date-ordered sort key of an almanac event (GSI1 and GSI2).
pub fn almanac_event_date_sk(date: chrono::NaiveDate, event: Uuid) -> String {
    format!("{}#{event}", date.format("%Y-%m-%d"))
}

/// `DUE#<yyyy-mm-ddThh:mm>#<shard>`: one shard of the reminders due in one minute.
pub fn due_pk(minute: DateTime<Utc>, shard: u32) -> String {
    format!("DUE#{}#{shard}", minute.format("%Y-%m-%dT%H:%M"))
}
/// `<fireAt>#<eventId>#<occurrence>#<reminderIdx>`: one due reminder in its minute.
pub fn due_sk(fire_at: DateTime<Utc>, event: Uuid, occurrence: &str, reminder: usize) -> String {
    format!("{}#{event}#{occurrence}#{reminder}", timestamp(fire_at))
}
/// `<fireAt>#<eventId>#<occurrence>#alarm`: one firing of an occurrence's alarm (in a `DUE#` partition).
pub fn alarm_due_sk(fire_at: DateTime<Utc>, event: Uuid, occurrence: &str) -> String {
    format!("{}#{event}#{occurrence}#alarm", timestamp(fire_at))
}
/// `DUEPTR#<eventId>` (in the owner's `CAL#` partition): the due items an event has now.
pub fn due_pointer_sk(event: Uuid) -> String {
    format!("DUEPTR#{event}")
}
/// Prefix of due almanac digests' sort keys (they share the minute buckets with reminders).
pub const DIGEST_DUE_PREFIX: &str = "DIGEST#";
/// `DIGEST#<fireAt>#<userId>`: one user's almanac digest in its minute.
pub fn digest_due_sk(fire_at: DateTime<Utc>, user: Uuid) -> String {
    format!("{DIGEST_DUE_PREFIX}{}#{user}", timestamp(fire_at))
}
/// Sort key (in the user's `USER#` partition) of the pointer to their current due digest.
pub const DIGEST_POINTER_SK: &str = "DIGESTPTR";
/// `DELIVERY#<duePK>#<dueSK>`: marks one due item as delivered.
pub fn delivery_pk(due_pk: &str, due_sk: &str) -> String {
    format!("DELIVERY#{due_pk}#{due_sk}")
}
/// Sort key of a delivery marker.
pub const DELIVERY_SK: &str = "DELIVERY";
/// Partition of the reminders' watermark (the last minute bucket read).
pub const REMINDERS_WATERMARK_PK: &str = "REMINDERS#WATERMARK";
/// Sort key of the watermark.
pub const REMINDERS_WATERMARK_SK: &str = "WATERMARK";
/// Prefix of a user's notification inbox items.
pub const NOTIFICATION_PREFIX: &str = "NOTIF#";
/// `NOTIF#<createdAt>#<id>`: a notification in its user's inbox, time-ordered.
pub fn notification_sk(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{NOTIFICATION_PREFIX}{}#{id}", timestamp(created_at))
}
/// Prefix of a user's registered push devices.
pub const DEVICE_PREFIX: &str = "DEVICE#";
/// `DEVICE#<sha256 of the token>`: a registered device (tokens can be long).
pub fn device_sk(token_hash: &str) -> String {
    format!("{DEVICE_PREFIX}{token_hash}")
}

/// `OUTBOUND#<shard>`: one shard of the pending external sends (mail, push).
pub fn outbound_pk(shard: u32) -> String {
    format!("OUTBOUND#{shard}")
}
/// `<createdAt>#<sendId>`: one pending send in its shard, oldest first.
pub fn outbound_sk(created_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}#{id}", timestamp(created_at))
}

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
        let minute = DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(due_pk(minute, 3), "DUE#2026-03-29T06:30#3");
        assert_eq!(due_sk(minute, id, "x", 1), "2026-03-29T06:30:00.000Z#0190f3a8-0000-7000-8000-000000000001#x#1");
        assert_eq!(
            alarm_due_sk(minute, id, "x"),
            "2026-03-29T06:30:00.000Z#0190f3a8-0000-7000-8000-000000000001#x#alarm"
        );
        assert_eq!(due_pointer_sk(id), "DUEPTR#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(delivery_pk("DUE#a#1", "b"), "DELIVERY#DUE#a#1#b");
        assert_eq!(digest_due_sk(minute, id), "DIGEST#2026-03-29T06:30:00.000Z#0190f3a8-0000-7000-8000-000000000001");
        assert!(digest_due_sk(minute, id).starts_with(DIGEST_DUE_PREFIX));
        assert_eq!(DIGEST_POINTER_SK, "DIGESTPTR");
        assert_eq!(notification_sk(minute, id), "NOTIF#2026-03-29T06:30:00.000Z#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(device_sk("ab12"), "DEVICE#ab12");
        assert_eq!(outbound_pk(2), "OUTBOUND#2");
        assert_eq!(outbound_sk(minute, id), "2026-03-29T06:30:00.000Z#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(member_sk(id), "MEMBER#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(user_pk(id), "USER#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(email_pk("ada@example.com"), "EMAIL#ada@example.com");
        assert_eq!(audit_pk(None), "AUDIT#PLATFORM");
        assert_eq!(idempotency_pk("abc", "k1"), "IDEM#abc#k1");
        assert_eq!(pref_sk("theme"), "PREF#theme");
        assert_eq!(follower_sk("user", id), "FOLLOWER#user#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(follows_gsi1pk("organisation", id), "FOLLOWS#organisation#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(planner_sk(id), "PLANNER#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(plans_gsi1pk(id), "PLANS#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(org_plans_gsi2pk(id), "ORGPLANS#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(contact_sk(id), "CONTACT#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(attachment_sk(id), "ATTACH#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(session_sk(id), "SESSION#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(pat_sk(id), "PAT#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(pat_hash_pk("ab12"), "PATHASH#ab12");
        assert_eq!(one_time_pk("ab12"), "ONETIME#ab12");
        assert_eq!(ONE_TIME_SK, "ONETIME");
        assert_eq!(attempts_pk("ab12"), "ATTEMPTS#ab12");
        assert_eq!(ATTEMPTS_SK, "ATTEMPTS");
        assert_eq!(MFA_TOTP_SK, "MFA#TOTP");
        assert_eq!(backup_code_sk("ab12"), "MFA#BACKUP#ab12");
        assert!(backup_code_sk("ab12").starts_with(BACKUP_CODE_PREFIX));
        assert_eq!(EMAIL_CHANGE_SK, "EMAILCHANGE");
        assert_eq!(org_role_gsi2pk(id, "owner"), "ORGROLE#0190f3a8-0000-7000-8000-000000000001#owner");
        assert_eq!(unit_sk("GROUP", id), "GROUP#0190f3a8-0000-7000-8000-000000000001");
        assert!(unit_sk("SECGROUP", id).starts_with(&unit_prefix("SECGROUP")));
        assert!(!unit_sk("SECGROUP", id).starts_with(&unit_prefix("GROUP")));
        assert_eq!(
            relation_sk("DEPT", id, "HEAD", id),
            "REL#DEPT#0190f3a8-0000-7000-8000-000000000001#HEAD#0190f3a8-0000-7000-8000-000000000001"
        );
        assert!(relation_sk("DEPT", id, "HEAD", id).starts_with(&unit_relations_prefix("DEPT", id)));
        assert_eq!(user_relations_gsi2pk(id), "USERREL#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(user_relation_gsi2sk(id, "REL#x"), "ORG#0190f3a8-0000-7000-8000-000000000001#REL#x");
        assert_eq!(link_sk(id), "LINK#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(links_gsi2pk(id, "ORG"), "LINKS#0190f3a8-0000-7000-8000-000000000001#ORG");
        assert_eq!(link_gsi2sk(7, id), "0000000007#0190f3a8-0000-7000-8000-000000000001");
        assert!(link_gsi2sk(9, id) < link_gsi2sk(10, id));
        assert_eq!(INVITATION_TEXT_SK, "INVTEXT");
        assert_eq!(invitation_sk(id), "INVITE#0190f3a8-0000-7000-8000-000000000001");
        assert!(invitation_sk(id).starts_with(INVITATION_PREFIX));
        assert_eq!(invitation_token_pk("ab12"), "INVTOKEN#ab12");
        assert_eq!(INVITATION_TOKEN_SK, "INVTOKEN");
        assert_eq!(invitation_email_sk("ada@example.com"), "INVEMAIL#ada@example.com");
        assert_eq!(api_key_sk(id), "APIKEY#0190f3a8-0000-7000-8000-000000000001");
        assert!(api_key_sk(id).starts_with(API_KEY_PREFIX));
        assert_eq!(api_key_hash_pk("ab12"), "APIKEYHASH#ab12");
        assert_eq!(API_KEY_HASH_SK, "APIKEYHASH");
        assert_eq!(calendar_pk(id), "CAL#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(event_sk(id), "EVENT#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(
            occurrence_sk(id, "20260329T063000Z"),
            "EVENT#0190f3a8-0000-7000-8000-000000000001#OCC#20260329T063000Z"
        );
        assert!(occurrence_sk(id, "20260329").starts_with(&event_sk(id)));
        assert_eq!(
            attendee_sk(id, id),
            "ATTENDEE#0190f3a8-0000-7000-8000-000000000001#0190f3a8-0000-7000-8000-000000000001"
        );
        assert_eq!(attendee_gsi1pk(id), "ATTENDEE#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(event_ref_pk(id), "EVENTREF#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(template_pk(id), "TEMPLATE#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(user_templates_gsi1pk(id), "TEMPLATES#USER#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(org_templates_gsi1pk(id), "TEMPLATES#ORG#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(almanac_pk("SUBJECT"), "ALMANAC#SUBJECT");
        assert_eq!(almanac_sk(id), "0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(almanac_slug_pk("SUBJECT", "ekadashi-2"), "ALMANAC#SLUG#SUBJECT#ekadashi-2");
        assert_eq!(ALMANAC_SLUG_SK, "SLUG");
        assert_eq!(almanac_location_events_gsi1pk(id), "ALMANAC#EVENTS#0190f3a8-0000-7000-8000-000000000001");
        assert_eq!(ALMANAC_EVENTS_GSI2PK, "ALMANAC#EVENTS");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 6, 26).unwrap();
        assert_eq!(almanac_event_date_sk(day, id), "2026-06-26#0190f3a8-0000-7000-8000-000000000001");
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
