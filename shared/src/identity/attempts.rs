//! Attempts to prove who one is (a password, a second factor), counted per
//! email address, whether or not an account has the address: an unknown
//! address locks exactly like a known one, so nothing tells them apart.
//! Sign-in and the re-authentication of a signed-in user (current password,
//! MFA code) share one counter.
//!
//! An attempt is *claimed* before its secret is checked (Argon2, the
//! expensive part), by one conditional update: it is admitted only while
//! fewer than [`MAX_ATTEMPTS`] attempts are outstanding (failed, or still
//! being checked). However many requests race, at most five secrets are
//! checked. The attempt that filled the fifth slot locks the address for
//! [`LOCKOUT`] if it fails ([`failed`]); every attempt that finds five
//! outstanding, the right password too, is refused without a check; and a
//! success commits only while the address is not locked
//! ([`commit_success`]), so no right password gets in once a failure has
//! locked it, whatever the concurrency.
//!
//! A success clears the attempts admitted up to it, never one admitted
//! after it (see [`commit_success`]). The count starts again
//! [`FORGET_AFTER`] after the last attempt.
//!
//! The counter item, `ATTEMPTS#<sha256 of the normalised address>` /
//! `ATTEMPTS` (the key holds no address):
//! - `claims`: attempts admitted and not cleared (failed, or in flight);
//! - `seq`: attempts admitted in this round: an attempt's slot;
//! - `round`: the round's id, new whenever the count starts over (the lock
//!   ended, the count was forgotten, a reset or an administrator cleared
//!   it); absent on an item that a first attempt created;
//! - `cleared`: the slot up to which a success cleared the count;
//! - `lockedUntil`: set (Unix milliseconds) by the failure that locked the
//!   address; nothing is admitted, given back or cleared while it holds;
//! - `lastClaimAt`: when the last attempt was admitted (Unix milliseconds);
//!   five attempts outstanding but none failed yet count as locked until
//!   [`LOCKOUT`] after it;
//! - `ttl`: the table may drop the item once its count is forgotten.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::crypto::sha256_hex;
use crate::error::ApiError;
use crate::keys;
use crate::table::{Cmp, Condition, Item, Key, TTL, Table, TableError, Update, WriteOp};

/// Outstanding attempts (failed or in flight) at which an address locks.
pub const MAX_ATTEMPTS: i64 = 5;
/// How long a lock lasts, from the attempt that locked it.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// After this long without an attempt, the count starts again.
pub const FORGET_AFTER: Duration = Duration::hours(24);

/// How often a write retries against a counter that changed under it.
const TRIES: usize = 4;

/// An admitted attempt: check the secret, then settle it with [`failed`],
/// [`commit_success`] or [`release`].
#[derive(Debug, Clone)]
pub struct Claim {
    key: Key,
    round: Option<String>,
    slot: i64,
    outstanding: i64,
    at: DateTime<Utc>,
}

impl Claim {
    fn from_item(key: Key, item: &Item, at: DateTime<Utc>) -> Result<Self, ApiError> {
        let counter = Counter::read(item);
        let missing = || ApiError::Internal(anyhow::anyhow!("an attempt counter without its count"));
        Ok(Self {
            slot: counter.seq.ok_or_else(missing)?,
            outstanding: counter.claims.ok_or_else(missing)?,
            round: counter.round,
            key,
            at,
        })
    }

    /// The round this attempt was admitted in is still the counter's.
    fn same_round(&self) -> Condition {
        round_is(self.round.as_deref())
    }
}

/// A counter as read.
#[derive(Debug, Default)]
struct Counter {
    claims: Option<i64>,
    seq: Option<i64>,
    round: Option<String>,
    cleared: Option<i64>,
    locked_until: Option<i64>,
    last_claim_at: Option<i64>,
}

impl Counter {
    fn read(item: &Item) -> Self {
        let number = |name: &str| item.get(name).and_then(Value::as_i64);
        Self {
            claims: number("claims"),
            seq: number("seq"),
            round: item.get("round").and_then(Value::as_str).map(str::to_string),
            cleared: number("cleared"),
            locked_until: number("lockedUntil"),
            last_claim_at: number("lastClaimAt"),
        }
    }

    /// The end of the lock a failure set, while it holds.
    fn lock(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > millis(now)).and_then(DateTime::from_timestamp_millis)
    }

    /// Why a claim is refused: the lock's end, also while the fifth
    /// outstanding attempt is still being checked.
    fn refusal(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.lock(now).or_else(|| {
            let full = self.claims.is_some_and(|claims| claims >= MAX_ATTEMPTS);
            let until = self.last_claim_at.and_then(DateTime::from_timestamp_millis).map(|last| last + LOCKOUT);
            until.filter(|until| full && *until > now)
        })
    }
}

fn key(email: &str) -> Key {
    Key::new(keys::attempts_pk(&sha256_hex(email.as_bytes())), keys::ATTEMPTS_SK)
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn number(value: i64) -> Value {
    Value::from(value)
}

fn round_is(round: Option<&str>) -> Condition {
    match round {
        Some(round) => Condition::eq("round", round),
        None => Condition::AttrNotExists("round".into()),
    }
}

/// No failure has locked the address (or its lock is over).
fn open(now: DateTime<Utc>) -> Condition {
    Condition::Any(vec![
        Condition::AttrNotExists("lockedUntil".into()),
        Condition::Compare("lockedUntil".into(), Cmp::Le, number(millis(now))),
    ])
}

/// This attempt's slot was not cleared yet (by a later success).
fn not_cleared(claim: &Claim) -> Condition {
    Condition::Any(vec![
        Condition::AttrNotExists("cleared".into()),
        Condition::Compare("cleared".into(), Cmp::Lt, number(claim.slot)),
    ])
}

/// What every claim stamps: the item's type, the last attempt and the expiry.
fn stamped(update: Update, now: DateTime<Utc>) -> Update {
    update
        .set(keys::ENTITY_TYPE, "AttemptCounter")
        .set("lastClaimAt", millis(now))
        .set(TTL, (now + FORGET_AFTER).timestamp())
}

/// A fresh round holding `claims` (0 or 1) attempts, admitted now.
fn new_round(key: Key, claims: i64, now: DateTime<Utc>) -> Update {
    stamped(Update::new(key), now)
        .set("claims", claims)
        .set("seq", claims)
        .set("round", crate::domain::new_id().to_string())
        .remove("cleared")
        .remove("lockedUntil")
}

/// Claims an attempt at a secret of `email` (normalised) at `now`: the
/// admitted attempt, or 423 `account_locked` (with the lock's end) while
/// [`MAX_ATTEMPTS`] are outstanding. Call it before checking anything, for
/// unknown addresses too.
pub async fn claim(table: &dyn Table, email: &str, now: DateTime<Utc>) -> Result<Claim, ApiError> {
    let key = key(email);
    let forget_before = number(millis(now - FORGET_AFTER));
    for _ in 0..TRIES {
        // The usual case: one more attempt in the current round (or the
        // first ever, creating the item), while fewer than five are outstanding.
        let count = stamped(Update::new(key.clone()), now).add("claims", 1).add("seq", 1).when(Condition::Any(vec![
            Condition::AttrNotExists("claims".into()),
            Condition::All(vec![
                Condition::Compare("claims".into(), Cmp::Lt, number(MAX_ATTEMPTS)),
                Condition::Compare("lastClaimAt".into(), Cmp::Gt, forget_before.clone()),
                Condition::AttrNotExists("lockedUntil".into()),
            ]),
        ]));
        match table.update(count).await {
            Ok(item) => return Claim::from_item(key, &item, now),
            Err(err) if err.is_condition_failed() => {}
            Err(err) => return Err(err.into()),
        }
        // Locked, or a count old enough to forget: once the lock is over, a
        // new round starts with this attempt. Of two racing attempts only
        // one starts it (the other then counts in it).
        let over = Condition::Any(vec![
            Condition::Compare("lockedUntil".into(), Cmp::Le, number(millis(now))),
            Condition::All(vec![
                Condition::AttrNotExists("lockedUntil".into()),
                Condition::Compare("claims".into(), Cmp::Ge, number(MAX_ATTEMPTS)),
                Condition::Compare("lastClaimAt".into(), Cmp::Le, number(millis(now - LOCKOUT))),
            ]),
            Condition::Compare("lastClaimAt".into(), Cmp::Le, forget_before.clone()),
        ]);
        match table.update(new_round(key.clone(), 1, now).when(over)).await {
            Ok(item) => return Claim::from_item(key, &item, now),
            Err(err) if err.is_condition_failed() => {}
            Err(err) => return Err(err.into()),
        }
        // Locked: say until when. Anything else means the counter changed
        // in between (a slot was given back): try again.
        let Some(item) = table.get(&key).await? else { continue };
        if let Some(until) = Counter::read(&item).refusal(now) {
            return Err(ApiError::AccountLocked { until: Some(until) });
        }
    }
    // The counter kept changing under us: five were outstanding every time
    // we looked, so answer as for five outstanding (the safe side).
    Err(ApiError::AccountLocked { until: Some(now + LOCKOUT) })
}

/// Records that `claim`'s secret was wrong: the end of the lock to answer
/// with (423) if the address is now locked, `None` for a plain failure.
///
/// A failure locks only if its attempt filled the last slot and five are
/// still outstanding: a success that committed meanwhile gave its slot
/// back, and counts as having come first. Nothing else is written: the
/// claim already counts the failure.
pub async fn failed(table: &dyn Table, claim: &Claim, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, ApiError> {
    if claim.outstanding < MAX_ATTEMPTS {
        return Ok(None);
    }
    let until = claim.at + LOCKOUT;
    let lock = Update::new(claim.key.clone()).set("lockedUntil", millis(until)).when(Condition::All(vec![
        claim.same_round(),
        Condition::Compare("claims".into(), Cmp::Ge, number(MAX_ATTEMPTS)),
        Condition::AttrNotExists("lockedUntil".into()),
    ]));
    match table.update(lock).await {
        Ok(_) => Ok(Some(until)),
        // Another attempt that filled the last slot (after a slot was given
        // back) locked it first; or a success gave a slot back.
        Err(err) if err.is_condition_failed() => {
            Ok(table.get(&claim.key).await?.and_then(|item| Counter::read(&item).lock(now)))
        }
        Err(err) => Err(err.into()),
    }
}

/// Commits `ops` (a sign-in's new session; nothing, for a
/// re-authentication) together with the success of `claim`, only while no
/// failure has locked the address: 423 if one has since `claim` was
/// admitted, `on_conflict(index)` if one of `ops` fails its condition.
///
/// The attempts admitted up to `claim` stop counting, but no attempt
/// admitted after it: those were admitted while this one was being
/// checked, and wiping them would let a success racing a burst of wrong
/// guesses hide them. So the count is cleared only if no attempt came
/// after this one (`seq` is still its slot, in its round); otherwise only
/// its own slot is given back, which leaves any earlier failures counted
/// too (the safe side, and only under a race). Every variant is
/// conditional on what was read, and re-read if it changed.
pub async fn commit_success(
    table: &dyn Table,
    claim: &Claim,
    ops: Vec<WriteOp>,
    now: DateTime<Utc>,
    on_conflict: impl Fn(Option<usize>) -> ApiError,
) -> Result<(), ApiError> {
    let position = ops.len();
    for _ in 0..TRIES {
        let settle = match table.get(&claim.key).await? {
            // Gone (expired): nothing to give back, nothing locked.
            None => WriteOp::Check { key: claim.key.clone(), condition: Condition::NotExists },
            Some(item) => {
                let counter = Counter::read(&item);
                if let Some(until) = counter.lock(now) {
                    return Err(ApiError::AccountLocked { until: Some(until) });
                }
                settle_op(claim, &counter, now)
            }
        };
        let mut all = ops.clone();
        all.push(settle);
        match table.transact_write(all).await {
            Ok(()) => return Ok(()),
            // The counter changed since it was read: read it again.
            Err(TableError::ConditionFailed { index: Some(index) }) if index == position => {}
            Err(TableError::Conflict) => {}
            Err(TableError::ConditionFailed { index }) => return Err(on_conflict(index)),
            Err(err) => return Err(err.into()),
        }
    }
    // The counter kept changing under us (a burst of attempts): refuse, the safe side.
    Err(ApiError::AccountLocked { until: Some(now + LOCKOUT) })
}

/// The write that settles the success of `claim` on `counter` (as read),
/// conditional on what was read and on the address being open.
fn settle_op(claim: &Claim, counter: &Counter, now: DateTime<Utc>) -> WriteOp {
    if counter.round != claim.round || counter.cleared.is_some_and(|cleared| cleared >= claim.slot) {
        // A new round, or a later success cleared this slot: nothing to
        // give back, but the address must still be open.
        let condition = Condition::All(vec![Condition::Exists, round_is(counter.round.as_deref()), open(now)]);
        return WriteOp::Check { key: claim.key.clone(), condition };
    }
    let (update, since) = if counter.seq == Some(claim.slot) {
        // Nobody was admitted after this attempt: the count starts again.
        let clear = Update::new(claim.key.clone()).set("claims", 0).set("cleared", claim.slot);
        (clear, Condition::eq("seq", claim.slot))
    } else {
        (Update::new(claim.key.clone()).add("claims", -1), not_cleared(claim))
    };
    WriteOp::Update(update.when(Condition::All(vec![Condition::Exists, claim.same_round(), since, open(now)])))
}

/// Settles an attempt that neither failed nor proved everything (the right
/// password, but a second factor still to come; an account an
/// administrator locked; an error): its own slot is given back, nothing
/// else changes. Not while the address is locked, and not for a slot that
/// a later success or a new round already cleared.
pub async fn release(table: &dyn Table, claim: &Claim) -> anyhow::Result<()> {
    let give_back = Update::new(claim.key.clone()).add("claims", -1).when(Condition::All(vec![
        Condition::Exists,
        claim.same_round(),
        not_cleared(claim),
        Condition::AttrNotExists("lockedUntil".into()),
    ]));
    match table.update(give_back).await {
        Ok(_) => Ok(()),
        Err(err) if err.is_condition_failed() => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The write that clears the count of `email` (normalised) and lifts its
/// lock (a password reset, an administrator's unlock); attempts still being
/// checked then count for nothing. Unconditional, so it fits any transaction.
pub fn clear_op(email: &str, now: DateTime<Utc>) -> WriteOp {
    WriteOp::Update(new_round(key(email), 0, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::embedded::EmbeddedTable;

    const ADA: &str = "ada@example.com";

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc)
    }

    fn table() -> (tempfile::TempDir, EmbeddedTable) {
        let dir = tempfile::tempdir().unwrap();
        let table = EmbeddedTable::open(&dir.path().join("table.redb")).unwrap();
        (dir, table)
    }

    async fn claims(table: &EmbeddedTable) -> Value {
        table.get(&key(ADA)).await.unwrap().expect("a counter")["claims"].clone()
    }

    fn locked<T: std::fmt::Debug>(result: Result<T, ApiError>) -> Option<DateTime<Utc>> {
        match result {
            Err(ApiError::AccountLocked { until }) => until,
            other => panic!("expected a lock, got {other:?}"),
        }
    }

    async fn success(table: &EmbeddedTable, claim: &Claim) -> Result<(), ApiError> {
        commit_success(table, claim, Vec::new(), now(), |_| ApiError::Conflict("no ops".into())).await
    }

    #[tokio::test]
    async fn the_failure_in_the_fifth_slot_locks_and_nothing_is_admitted_meanwhile() {
        let (_dir, table) = table();
        for slot in 1..=4 {
            let claim = claim(&table, ADA, now()).await.unwrap();
            assert_eq!(claim.slot, slot);
            assert_eq!(failed(&table, &claim, now()).await.unwrap(), None);
        }
        let fifth = claim(&table, ADA, now()).await.unwrap();
        assert_eq!(locked(claim(&table, ADA, now()).await), Some(now() + LOCKOUT), "five outstanding");
        assert_eq!(failed(&table, &fifth, now()).await.unwrap(), Some(now() + LOCKOUT));
        assert_eq!(locked(claim(&table, ADA, now() + Duration::minutes(14)).await), Some(now() + LOCKOUT));
        let after = claim(&table, ADA, now() + LOCKOUT).await.unwrap();
        assert_eq!((after.slot, after.outstanding), (1, 1), "a new round");
        assert!(after.round.is_some());
    }

    #[tokio::test]
    async fn the_key_holds_no_address() {
        let (_dir, table) = table();
        claim(&table, ADA, now()).await.unwrap();
        let item = table.get(&key(ADA)).await.unwrap().unwrap();
        assert!(!serde_json::to_string(&item).unwrap().contains("ada"), "{item:?}");
        assert_eq!(item[TTL], (now() + FORGET_AFTER).timestamp());
    }

    #[tokio::test]
    async fn a_success_clears_what_came_before_it_but_not_what_came_after() {
        let (_dir, table) = table();
        claim(&table, ADA, now()).await.unwrap();
        let right = claim(&table, ADA, now()).await.unwrap();
        success(&table, &right).await.unwrap();
        assert_eq!(claims(&table).await, 0, "nothing came after it");

        let right = claim(&table, ADA, now()).await.unwrap();
        for _ in 0..3 {
            claim(&table, ADA, now()).await.unwrap();
        }
        success(&table, &right).await.unwrap();
        assert_eq!(claims(&table).await, 3, "the three admitted after it still count");
    }

    #[tokio::test]
    async fn a_slot_cleared_by_a_later_success_is_not_given_back_again() {
        let (_dir, table) = table();
        let first = claim(&table, ADA, now()).await.unwrap();
        let second = claim(&table, ADA, now()).await.unwrap();
        success(&table, &second).await.unwrap();
        release(&table, &first).await.unwrap();
        success(&table, &first).await.unwrap();
        assert_eq!(claims(&table).await, 0, "never below zero");
    }

    #[tokio::test]
    async fn whichever_is_recorded_first_decides_between_a_success_and_a_locking_failure() {
        let (_dir, table) = table();
        let right = claim(&table, ADA, now()).await.unwrap();
        let mut wrong = Vec::new();
        for _ in 0..4 {
            wrong.push(claim(&table, ADA, now()).await.unwrap());
        }
        assert_eq!(failed(&table, &wrong[3], now()).await.unwrap(), Some(now() + LOCKOUT));
        assert_eq!(locked(success(&table, &right).await), Some(now() + LOCKOUT), "no success once locked");

        let (_dir, table) = self::table();
        let right = claim(&table, ADA, now()).await.unwrap();
        let mut wrong = Vec::new();
        for _ in 0..4 {
            wrong.push(claim(&table, ADA, now()).await.unwrap());
        }
        success(&table, &right).await.unwrap();
        assert_eq!(failed(&table, &wrong[3], now()).await.unwrap(), None, "only four failed after the success");
        assert_eq!(claims(&table).await, 4);
    }

    #[tokio::test]
    async fn nothing_is_given_back_while_locked() {
        let (_dir, table) = table();
        let mut all = Vec::new();
        for _ in 0..5 {
            all.push(claim(&table, ADA, now()).await.unwrap());
        }
        failed(&table, &all[4], now()).await.unwrap();
        release(&table, &all[0]).await.unwrap();
        assert_eq!(claims(&table).await, 5);
        locked(claim(&table, ADA, now()).await);
    }

    #[tokio::test]
    async fn clearing_lifts_a_lock_and_voids_attempts_in_flight() {
        let (_dir, table) = table();
        let mut all = Vec::new();
        for _ in 0..5 {
            all.push(claim(&table, ADA, now()).await.unwrap());
        }
        failed(&table, &all[4], now()).await.unwrap();
        table.transact_write(vec![clear_op(ADA, now())]).await.unwrap();
        release(&table, &all[0]).await.unwrap();
        assert_eq!(claims(&table).await, 0);
        assert_eq!(claim(&table, ADA, now()).await.unwrap().slot, 1);
    }

    #[tokio::test]
    async fn a_count_is_forgotten_a_day_after_the_last_attempt() {
        let (_dir, table) = table();
        for _ in 0..4 {
            claim(&table, ADA, now()).await.unwrap();
        }
        let later = claim(&table, ADA, now() + FORGET_AFTER).await.unwrap();
        assert_eq!(later.outstanding, 1);
        table.transact_write(vec![clear_op("bob@example.com", now())]).await.unwrap();
        assert_eq!(claim(&table, "bob@example.com", now()).await.unwrap().outstanding, 1, "a cleared counter counts");
    }

    #[tokio::test]
    async fn concurrent_claims_admit_exactly_five() {
        let (_dir, table) = table();
        let table = std::sync::Arc::new(table);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let table = table.clone();
            set.spawn(async move { claim(table.as_ref(), ADA, now()).await });
        }
        let mut admitted = Vec::new();
        while let Some(result) = set.join_next().await {
            if let Ok(claim) = result.unwrap() {
                admitted.push(claim.slot);
            }
        }
        admitted.sort_unstable();
        assert_eq!(admitted, [1, 2, 3, 4, 5]);
    }
}
