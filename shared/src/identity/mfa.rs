//! TOTP (RFC 6238) second factor and backup codes. (Owned by the MFA work
//! of the identity issue; `check_second_factor` is called by sign-in.)
//!
//! The TOTP configuration of a user is one item under their partition
//! (`USER#<id>` / `MFA#TOTP`): the secret, whether it is enabled, and the
//! last time step a code was accepted for. Every acceptance is a conditional
//! write requiring a later step, so a code works once even when two requests
//! race with it (RFC 6238 §5.2). Backup codes are one item each, keyed by the
//! code's hash, and spent with a conditional delete.
//!
//! Codes are computed by the `totp-rs` crate (HMAC-SHA1, 6 digits, 30 s
//! steps, one step of skew either way); the RFC's test vectors pin it below.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Builder, Secret, Totp};
use uuid::Uuid;

use crate::crypto::sha256_hex;
use crate::error::ApiError;
use crate::keys;
use crate::people::users::UserRecord;
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{Cmp, Condition, Index, Key, Query, SortKey, Table, TableError, Update, WriteOp};

/// Issuer shown in authenticator apps.
pub const ISSUER: &str = "Sundial";
/// Digits of a code.
pub const DIGITS: u8 = 6;
/// Seconds per time step.
pub const STEP_SECONDS: u64 = 30;
/// Steps accepted before and after the current one (clock drift).
pub const SKEW_STEPS: u16 = 1;
/// Bytes of a TOTP secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;
/// How many backup codes a set has.
pub const BACKUP_CODE_COUNT: usize = 10;
/// Characters of a backup code (shown as `xxxxx-xxxxx`).
const BACKUP_CODE_LEN: usize = 10;
/// Backup-code alphabet: lower case and digits without look-alikes (0/o, 1/l/i).
const BACKUP_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A user's stored TOTP configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TotpRecord {
    /// The user.
    pub user_id: Uuid,
    /// The shared secret, base32 (never returned after creation).
    pub secret: String,
    /// Whether it was confirmed with a code (until then sign-in ignores it).
    pub enabled: bool,
    /// The last time step a code was accepted for (replay protection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_step: Option<u64>,
    /// Bumped whenever the backup codes are replaced (serialises replacements).
    #[serde(default)]
    pub backup_generation: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// When it was enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_at: Option<DateTime<Utc>>,
}

impl TotpRecord {
    /// A new, not yet enabled configuration with a fresh random secret.
    pub fn new(user: Uuid, now: DateTime<Utc>) -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        rand::rng().fill(&mut secret[..]);
        Self {
            user_id: user,
            secret: Secret::from(secret.to_vec()).to_base32(),
            enabled: false,
            last_used_step: None,
            backup_generation: 0,
            created_at: now,
            enabled_at: None,
        }
    }

    /// The code generator for this secret, labelled with `account` (the email).
    pub fn totp(&self, account: &str) -> anyhow::Result<Totp> {
        let secret = Secret::try_from_base32(&self.secret).map_err(|e| anyhow::anyhow!("stored TOTP secret: {e:?}"))?;
        // `:` is the label separator of otpauth URLs; emails never contain one, but be safe.
        build(secret, &account.replace(':', ""))
    }

    /// The `otpauth://` URL an authenticator app scans.
    pub fn otpauth_url(&self, account: &str) -> anyhow::Result<String> {
        self.totp(account)?.to_url().map_err(|e| anyhow::anyhow!("building the otpauth URL: {e:?}"))
    }

    /// The time step `code` is valid for at `now` (within the skew), if it
    /// is valid and later than the last accepted one.
    pub fn accepts(&self, code: &str, now: DateTime<Utc>) -> anyhow::Result<Option<u64>> {
        let Ok(time) = u64::try_from(now.timestamp()) else { return Ok(None) };
        let step = self.totp("")?.check(code, time);
        Ok(step.filter(|step| self.last_used_step.is_none_or(|last| *step > last)))
    }

    /// The item as stored.
    pub fn to_item(&self) -> anyhow::Result<crate::table::Item> {
        to_item(self, keys::user_pk(self.user_id), keys::MFA_TOTP_SK.into(), "TotpConfig")
    }
}

fn build(secret: Secret, account: &str) -> anyhow::Result<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP_SECONDS)
        .with_skew(SKEW_STEPS)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("building a TOTP generator: {e:?}"))
}

/// The key of a user's TOTP configuration.
pub fn totp_key(user: Uuid) -> Key {
    Key::new(keys::user_pk(user), keys::MFA_TOTP_SK)
}

/// Reads a user's TOTP configuration.
pub async fn get(table: &dyn Table, user: Uuid) -> anyhow::Result<Option<TotpRecord>> {
    match table.get(&totp_key(user)).await? {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// Condition: no code was accepted for `step` or a later one.
fn step_is_new(step: u64) -> Condition {
    Condition::Any(vec![
        Condition::AttrNotExists("lastUsedStep".into()),
        Condition::Compare("lastUsedStep".into(), Cmp::Lt, serde_json::Value::from(step)),
    ])
}

/// A verified second factor, not yet spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Factor {
    /// A TOTP code for this time step.
    Totp {
        /// The accepted step.
        step: u64,
    },
    /// A backup code with this hash.
    Backup {
        /// SHA-256 of the normalised code.
        hash: String,
    },
}

impl Factor {
    /// The write that spends this factor (fails if it was spent meanwhile).
    /// For TOTP it also requires the configuration to be `enabled`.
    pub fn spend_op(&self, user: Uuid) -> WriteOp {
        match self {
            Factor::Totp { step } => WriteOp::Update(
                Update::new(totp_key(user))
                    .set("lastUsedStep", *step)
                    .when(Condition::All(vec![Condition::eq("enabled", true), step_is_new(*step)])),
            ),
            Factor::Backup { hash } => WriteOp::Delete {
                key: Key::new(keys::user_pk(user), keys::backup_code_sk(hash)),
                condition: Condition::Exists,
            },
        }
    }
}

/// Backup codes are typed by people: ignore case, spaces and dashes.
pub fn normalise_backup_code(code: &str) -> String {
    code.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_lowercase).collect()
}

fn is_totp_shaped(code: &str) -> bool {
    code.len() == usize::from(DIGITS) && code.bytes().all(|b| b.is_ascii_digit())
}

/// Verifies `code` (a TOTP code or a backup code) against the enabled
/// configuration `record` at `now`, without spending it. `None` if wrong,
/// replayed or used up.
pub async fn verify(
    table: &dyn Table,
    record: &TotpRecord,
    code: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Factor>> {
    let trimmed = code.trim();
    if is_totp_shaped(trimmed) {
        return Ok(record.accepts(trimmed, now)?.map(|step| Factor::Totp { step }));
    }
    let normalised = normalise_backup_code(trimmed);
    if normalised.len() != BACKUP_CODE_LEN || !normalised.bytes().all(|b| BACKUP_ALPHABET.contains(&b)) {
        return Ok(None);
    }
    let hash = sha256_hex(normalised.as_bytes());
    let key = Key::new(keys::user_pk(record.user_id), keys::backup_code_sk(&hash));
    Ok(table.get(&key).await?.map(|_| Factor::Backup { hash }))
}

/// A new set of backup codes as shown to the user (`xxxxx-xxxxx`).
pub fn new_backup_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..BACKUP_CODE_COUNT)
        .map(|_| {
            let raw: String = (0..BACKUP_CODE_LEN)
                .map(|_| char::from(BACKUP_ALPHABET[rng.random_range(0..BACKUP_ALPHABET.len())]))
                .collect();
            format!("{}-{}", &raw[..BACKUP_CODE_LEN / 2], &raw[BACKUP_CODE_LEN / 2..])
        })
        .collect()
}

/// The write that stores one backup code (its hash only).
pub fn backup_code_op(user: Uuid, code: &str, now: DateTime<Utc>) -> WriteOp {
    let hash = sha256_hex(normalise_backup_code(code).as_bytes());
    let mut item = crate::table::Item::new();
    item.insert("PK".into(), keys::user_pk(user).into());
    item.insert("SK".into(), keys::backup_code_sk(&hash).into());
    item.insert(keys::ENTITY_TYPE.into(), "BackupCode".into());
    item.insert("createdAt".into(), keys::timestamp(now).into());
    WriteOp::Put { item, condition: Condition::NotExists }
}

/// The keys of a user's current backup codes.
pub async fn backup_code_keys(table: &dyn Table, user: Uuid) -> anyhow::Result<Vec<Key>> {
    let query =
        Query::new(Index::Primary, keys::user_pk(user)).sort_key(SortKey::BeginsWith(keys::BACKUP_CODE_PREFIX.into()));
    let mut keys_found = Vec::new();
    let mut query = query;
    loop {
        let page = table.query(&query).await?;
        keys_found.extend(page.items.iter().filter_map(Key::of));
        match page.last_key {
            Some(last) => query = query.start_after(&last),
            None => break,
        }
    }
    Ok(keys_found)
}

/// The write that stores a new, pending configuration; it never
/// overwrites an enabled one (a concurrent enable).
pub fn pending_put_op(record: &TotpRecord) -> anyhow::Result<WriteOp> {
    Ok(WriteOp::Put {
        item: record.to_item()?,
        condition: Condition::Any(vec![Condition::NotExists, Condition::eq("enabled", false)]),
    })
}

/// The write that enables `record` with a code accepted for `step`; it holds
/// only while the very secret the code was checked against is still pending.
pub fn enable_op(record: &TotpRecord, step: u64, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update(
        Update::new(totp_key(record.user_id))
            .set("enabled", true)
            .set("enabledAt", serde_json::to_value(now).unwrap_or_default())
            .set("lastUsedStep", step)
            .when(Condition::All(vec![
                Condition::eq("enabled", false),
                Condition::eq("secret", record.secret.clone()),
            ])),
    )
}

/// The writes that turn MFA of `user` off with `factor`: the configuration
/// goes, guarded like spending the factor would be, and so do the backup
/// codes (the one presented must still exist: that spends it).
pub async fn disable_ops(table: &dyn Table, user: Uuid, factor: &Factor) -> anyhow::Result<Vec<WriteOp>> {
    let mut ops = vec![match factor {
        Factor::Totp { .. } => match factor.spend_op(user) {
            WriteOp::Update(spend) => WriteOp::Delete { key: totp_key(user), condition: spend.condition },
            other => other,
        },
        Factor::Backup { .. } => WriteOp::Delete { key: totp_key(user), condition: Condition::eq("enabled", true) },
    }];
    for key in backup_code_keys(table, user).await? {
        let used = matches!(factor, Factor::Backup { hash } if key.sk == keys::backup_code_sk(hash));
        let condition = if used { Condition::Exists } else { Condition::Always };
        ops.push(WriteOp::Delete { key, condition });
    }
    Ok(ops)
}

/// The writes that replace the backup codes of `record`'s user by `codes`.
/// Bumping the generation serialises two concurrent replacements: one
/// fails instead of both leaving their codes behind.
pub async fn replace_backup_codes_ops(
    table: &dyn Table,
    record: &TotpRecord,
    codes: &[String],
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<WriteOp>> {
    let user = record.user_id;
    let mut ops = vec![WriteOp::Update(
        Update::new(totp_key(user)).set("backupGeneration", record.backup_generation + 1).when(Condition::All(vec![
            Condition::eq("enabled", true),
            Condition::eq("backupGeneration", record.backup_generation),
        ])),
    )];
    for key in backup_code_keys(table, user).await? {
        ops.push(WriteOp::Delete { key, condition: Condition::Always });
    }
    ops.extend(codes.iter().map(|code| backup_code_op(user, code, now)));
    Ok(ops)
}

/// Checks the second factor at sign-in: `Ok` when MFA is off; `mfa_required`
/// when on and no code was given; `unauthenticated` for a wrong, replayed or
/// used-up code. A TOTP code or a backup code is accepted (each works once).
pub async fn check_second_factor(
    table: &dyn Table,
    user: &UserRecord,
    code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    if !user.mfa_enabled {
        return Ok(());
    }
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Err(ApiError::MfaRequired);
    };
    let Some(record) = get(table, user.id).await?.filter(|r| r.enabled) else {
        // The user item says on but there is no enabled configuration: fail
        // closed rather than let a password alone in.
        tracing::error!(user_id = %user.id, "mfaEnabled without an enabled TOTP configuration");
        return Err(ApiError::Unauthenticated);
    };
    let Some(factor) = verify(table, &record, code, now).await? else {
        return Err(ApiError::Unauthenticated);
    };
    match table.transact_write(vec![factor.spend_op(user.id)]).await {
        Ok(()) => Ok(()),
        // Spent by a concurrent request between the read and the write.
        Err(TableError::ConditionFailed { .. }) => Err(ApiError::Unauthenticated),
        Err(err) => Err(err.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA1 seed is the ASCII string "12345678901234567890".
    const RFC_SEED: &[u8] = b"12345678901234567890";

    /// (time, 8-digit TOTP) rows of RFC 6238 Appendix B for SHA1.
    const RFC_SHA1: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn record_with(seed: &[u8]) -> TotpRecord {
        TotpRecord {
            user_id: Uuid::now_v7(),
            secret: Secret::from(seed.to_vec()).to_base32(),
            enabled: true,
            last_used_step: None,
            backup_generation: 0,
            created_at: at(0),
            enabled_at: None,
        }
    }

    #[test]
    fn the_crate_reproduces_the_rfc_6238_sha1_vectors_with_8_digits() {
        let totp = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_secret(RFC_SEED.to_vec())
            .build()
            .unwrap();
        for (time, expected) in RFC_SHA1 {
            assert_eq!(totp.generate(time).to_string(), expected, "T = {time}");
        }
    }

    #[test]
    fn our_six_digit_codes_are_the_rfc_vectors_truncated() {
        // A 6-digit code is the same HOTP value modulo 10^6: the last six digits.
        let record = record_with(RFC_SEED);
        let totp = record.totp("ada@example.com").unwrap();
        for (time, expected) in RFC_SHA1 {
            assert_eq!(totp.generate(time).to_string(), &expected[2..], "T = {time}");
            assert!(record.accepts(&expected[2..], at(time as i64)).unwrap().is_some(), "T = {time}");
        }
    }

    #[test]
    fn one_step_of_skew_is_accepted_either_way_and_no_more() {
        let record = record_with(RFC_SEED);
        // 94287082 is the code for step 1 (T = 30..59).
        assert_eq!(record.accepts("287082", at(59)).unwrap(), Some(1));
        assert_eq!(record.accepts("287082", at(89)).unwrap(), Some(1), "one step late");
        assert_eq!(record.accepts("287082", at(5)).unwrap(), Some(1), "one step early");
        assert_eq!(record.accepts("287082", at(90)).unwrap(), None, "two steps late");
        assert_eq!(record.accepts("000000", at(59)).unwrap(), None);
        assert_eq!(record.accepts("28708", at(59)).unwrap(), None);
    }

    #[test]
    fn a_code_for_an_already_used_step_is_refused() {
        let mut record = record_with(RFC_SEED);
        record.last_used_step = Some(1);
        assert_eq!(record.accepts("287082", at(59)).unwrap(), None);
        record.last_used_step = Some(0);
        assert_eq!(record.accepts("287082", at(59)).unwrap(), Some(1));
    }

    #[test]
    fn new_secrets_are_random_160_bit_and_give_an_otpauth_url() {
        let a = TotpRecord::new(Uuid::now_v7(), at(0));
        let b = TotpRecord::new(Uuid::now_v7(), at(0));
        assert_ne!(a.secret, b.secret);
        assert_eq!(Secret::try_from_base32(&a.secret).unwrap().as_ref().len(), SECRET_BYTES);
        let url = a.otpauth_url("ada@example.com").unwrap();
        assert!(url.starts_with("otpauth://totp/Sundial:ada%40example.com?"), "{url}");
        assert!(url.contains(&format!("secret={}", a.secret)) && url.contains("issuer=Sundial"), "{url}");
    }

    #[test]
    fn backup_codes_are_ten_distinct_and_forgiving_to_type() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), BACKUP_CODE_COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), BACKUP_CODE_COUNT);
        for code in &codes {
            assert_eq!(code.len(), BACKUP_CODE_LEN + 1);
            assert_eq!(normalise_backup_code(&code.to_uppercase().replace('-', " ")), code.replace('-', ""));
        }
    }
}
