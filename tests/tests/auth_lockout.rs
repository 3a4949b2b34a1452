//! The lockout under concurrency, for unknown addresses and for
//! re-authentication, through HTTP, on both table adapters (issue 12):
//! attempts are claimed per address before any password is checked, so
//! however many requests race, at most five passwords are checked before
//! the address locks, and no right password gets in once it has.

mod auth_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use auth_support::{current_code, put};
use chrono::Duration;
use serde_json::{Value, json};
use shared::table::{Condition, Index, Item, Key, Page, Query, Table, TableError, Update, WriteOp};
use sundial_tests::identity::{PASSWORD, sign_in, signed_up_owner_as, superadmin, try_sign_in};
use sundial_tests::{Backend, ClockExt, TestApp, on_both_tables, problem, spawn_app_wrapping};
use uuid::Uuid;

const ADA: &str = "ada@example.com";
const NOBODY: &str = "nobody@example.com";
const WRONG: &str = "not the password";
/// The audit actions of a checked, wrong password (or second factor).
const FAILURES: [&str; 2] = ["auth.sign_in_failed", "user.locked_out"];

/// Signs Ada up, without signing her in.
async fn ada(app: &TestApp) -> Uuid {
    let body = app.sign_up("Sunrise Care", ADA).await;
    Uuid::parse_str(body["user"]["id"].as_str().unwrap()).unwrap()
}

/// Sends all these sign-ins (email, password) at once: each answer's
/// status and body, in the order given.
async fn race(app: &TestApp, attempts: &[(&str, &str)]) -> Vec<(u16, Value)> {
    let mut set = tokio::task::JoinSet::new();
    for (n, (email, password)) in attempts.iter().enumerate() {
        let request =
            app.client.post(format!("{}/v1/auth/token", app.base)).json(&json!({"email": email, "password": password}));
        set.spawn(async move {
            let response = request.send().await.expect("request");
            let status = response.status().as_u16();
            (n, status, response.json::<Value>().await.expect("json"))
        });
    }
    let mut answers: Vec<(usize, u16, Value)> = set.join_all().await;
    answers.sort_by_key(|(n, ..)| *n);
    answers.into_iter().map(|(_, status, body)| (status, body)).collect()
}

fn count(answers: &[(u16, Value)], status: u16) -> usize {
    answers.iter().filter(|(s, _)| *s == status).count()
}

/// The platform audit entries (sign-in is not an organisation's), in order.
async fn platform_audit(app: &TestApp) -> Vec<Item> {
    let query = Query::new(Index::Primary, shared::keys::audit_pk(None));
    app.state.table.query(&query).await.unwrap().items
}

/// How many wrong passwords (or codes) were checked for `target`
/// (`user/<id>`, or `user/unknown`): each leaves one audit entry.
async fn checked_failures(app: &TestApp, target: &str) -> usize {
    let entries = platform_audit(app).await;
    entries.iter().filter(|e| e["target"] == target && FAILURES.contains(&e["action"].as_str().unwrap())).count()
}

/// The stored attempt counter of an address (the key holds only a hash of it).
async fn counter(app: &TestApp, email: &str) -> Item {
    let pk = shared::keys::attempts_pk(&shared::crypto::sha256_hex(email.as_bytes()));
    app.state.table.get(&Key::new(pk, shared::keys::ATTEMPTS_SK)).await.unwrap().expect("an attempt counter")
}

fn locked_until(app: &TestApp) -> String {
    (app.clock.now_utc() + Duration::minutes(15)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn forty_parallel_wrong_sign_ins_check_at_most_five_passwords(app: TestApp) {
    let user = ada(&app).await;

    let answers = race(&app, &[(ADA, WRONG); 40]).await;

    assert_eq!(checked_failures(&app, &format!("user/{user}")).await, 5, "five passwords checked, no more");
    assert_eq!(counter(&app, ADA).await["claims"], 5);
    assert_eq!(count(&answers, 401), 4, "the first four failures: {answers:?}");
    assert_eq!(count(&answers, 423), 36, "the fifth locked, the rest were refused unchecked: {answers:?}");
    let locked: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 423).map(|(_, body)| body).collect();
    assert_eq!(locked[0]["code"], "account_locked");
    assert_eq!(locked[0]["lockedUntil"], locked_until(&app));
    assert!(locked.iter().all(|body| *body == locked[0]), "one lock, one answer");

    let right = try_sign_in(&app, ADA, PASSWORD, None).await;
    assert_eq!(right.status(), 423, "the right password waits for the lock too");
    assert_eq!(&problem(right).await, locked[0]);
    assert_eq!(checked_failures(&app, &format!("user/{user}")).await, 5, "a refused attempt checks nothing");

    app.clock.advance(Duration::minutes(15));
    sign_in(&app, ADA, PASSWORD).await;
}

async fn a_right_password_racing_wrong_ones_never_gets_in_once_locked(app: TestApp) {
    for round in 0..6 {
        let email = format!("racer{round}@example.com");
        let user = Uuid::parse_str(app.sign_up(&format!("Org {round}"), &email).await["user"]["id"].as_str().unwrap())
            .unwrap();
        let mut attempts = vec![(email.as_str(), WRONG); 10];
        attempts.insert(round % 11, (email.as_str(), PASSWORD));

        let answers = race(&app, &attempts).await;

        let (right, _) = &answers[round % 11];
        let wrong = [&answers[..round % 11], &answers[round % 11 + 1..]].concat();
        let failures = checked_failures(&app, &format!("user/{user}")).await;
        let entries = platform_audit(&app).await;
        let created = entries.iter().find(|e| e["action"] == "session.created" && e["actor"] == format!("user:{user}"));
        let lock = entries.iter().find(|e| e["action"] == "user.locked_out" && e["target"] == format!("user/{user}"));
        let later_right = try_sign_in(&app, &email, PASSWORD, None).await.status().as_u16();
        match right {
            200 => {
                // In with at most four failures before it, at most five after.
                assert!(failures <= 9, "round {round}: {failures} passwords checked");
                let created = created.expect("a session");
                if let Some(lock) = lock {
                    assert!(
                        lock["SK"].as_str() > created["SK"].as_str(),
                        "round {round}: a token was issued after a failure locked the account"
                    );
                }
                // Locked afterwards only by failures after it.
                assert_eq!(later_right == 423, lock.is_some(), "round {round}: {wrong:?}");
            }
            423 => {
                assert!(created.is_none(), "round {round}: refused, yet a session was created");
                assert!(failures <= 5, "round {round}: {failures} passwords checked");
                assert!(lock.is_some(), "round {round}: refused without a lock");
                assert_eq!(later_right, 423, "round {round}: still locked");
            }
            other => panic!("round {round}: the right password got {other}: {answers:?}"),
        }
        assert_eq!(count(&wrong, 200), 0);
        assert_eq!(count(&wrong, 401) + count(&wrong, 423), 10, "round {round}: {wrong:?}");
    }
}

async fn an_unknown_address_locks_exactly_like_a_known_one(app: TestApp) {
    ada(&app).await;
    for attempt in 1..=6 {
        let known = try_sign_in(&app, ADA, WRONG, None).await;
        let unknown = try_sign_in(&app, NOBODY, WRONG, None).await;
        let expected = if attempt < 5 { 401 } else { 423 };
        assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (expected, expected), "attempt {attempt}");
        assert_eq!(problem(known).await, problem(unknown).await, "attempt {attempt}: the same answer");
    }
    let known = try_sign_in(&app, ADA, PASSWORD, None).await;
    let unknown = try_sign_in(&app, NOBODY, PASSWORD, None).await;
    assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (423, 423));
    let (known, unknown) = (problem(known).await, problem(unknown).await);
    assert_eq!(known["lockedUntil"], locked_until(&app));
    assert_eq!(known, unknown, "the right password of a locked account is refused like any other");
    assert_eq!(checked_failures(&app, "user/unknown").await, 5, "an unknown address counts the same");
    assert_eq!(counter(&app, NOBODY).await["claims"], 5);

    app.clock.advance(Duration::minutes(15));
    let known = try_sign_in(&app, ADA, WRONG, None).await;
    let unknown = try_sign_in(&app, NOBODY, WRONG, None).await;
    assert_eq!((known.status().as_u16(), unknown.status().as_u16()), (401, 401), "both open again");
    assert_eq!(problem(known).await, problem(unknown).await);
    sign_in(&app, ADA, PASSWORD).await;
}

async fn wrong_current_passwords_count_towards_the_lockout(app: TestApp) {
    let (_, user, token) = signed_up_owner_as(&app, "Sunrise", ADA).await;
    let change = |current: &'static str| json!({"currentPassword": current, "newPassword": "a much better passphrase"});
    for _ in 0..4 {
        assert_eq!(put(&app, "/v1/auth/password", &change(WRONG), Some(&token)).await.status(), 403);
    }
    let fifth = put(&app, "/v1/auth/password", &change(WRONG), Some(&token)).await;
    assert_eq!(fifth.status(), 423);
    assert_eq!(problem(fifth).await["lockedUntil"], locked_until(&app));
    assert!(
        platform_audit(&app)
            .await
            .iter()
            .any(|e| e["action"] == "user.locked_out" && e["target"] == format!("user/{user}"))
    );

    let right = try_sign_in(&app, ADA, PASSWORD, None).await;
    assert_eq!(right.status(), 423, "sign-in is locked too");
    let change_now = put(&app, "/v1/auth/password", &change(PASSWORD), Some(&token)).await;
    assert_eq!(change_now.status(), 423, "and so is the right current password");

    app.clock.advance(Duration::minutes(15));
    let token = sign_in(&app, ADA, PASSWORD).await.access_token;
    assert_eq!(put(&app, "/v1/auth/password", &change(PASSWORD), Some(&token)).await.status(), 204);
}

async fn sign_in_and_re_authentication_share_one_count(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", ADA).await;
    let change = json!({"currentPassword": WRONG, "newPassword": "a much better passphrase"});
    for _ in 0..2 {
        assert_eq!(put(&app, "/v1/auth/password", &change, Some(&token)).await.status(), 403);
    }
    let email_change = json!({"newEmail": "ada.new@example.com", "password": WRONG});
    for _ in 0..2 {
        assert_eq!(app.post("/v1/auth/email-change", &email_change, Some(&token)).await.status(), 403);
    }
    assert_eq!(try_sign_in(&app, ADA, WRONG, None).await.status(), 423, "the fifth failure, wherever it came");
    let email_change = json!({"newEmail": "ada.new@example.com", "password": PASSWORD});
    assert_eq!(app.post("/v1/auth/email-change", &email_change, Some(&token)).await.status(), 423);
}

async fn wrong_codes_to_turn_mfa_off_count_towards_the_lockout(app: TestApp) {
    let (_, _, token) = signed_up_owner_as(&app, "Sunrise", ADA).await;
    let setup: Value = app.post("/v1/auth/mfa/totp", &json!({}), Some(&token)).await.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_string();
    let enable = json!({"code": current_code(&app, &secret)});
    assert_eq!(app.post("/v1/auth/mfa/totp/enable", &enable, Some(&token)).await.status(), 200);

    for _ in 0..4 {
        let wrong = app.post("/v1/auth/mfa/totp/disable", &json!({"code": "000000"}), Some(&token)).await;
        assert_eq!(wrong.status(), 400);
    }
    let fifth = app.post("/v1/auth/mfa/totp/disable", &json!({"code": "000000"}), Some(&token)).await;
    assert_eq!(fifth.status(), 423);
    app.clock.advance(Duration::seconds(30));
    let code = current_code(&app, &secret);
    let right = try_sign_in(&app, ADA, PASSWORD, Some(&code)).await;
    assert_eq!(right.status(), 423, "password and code are refused while locked");
}

async fn an_administrator_unlock_lifts_the_lockout(app: TestApp) {
    let user = ada(&app).await;
    for _ in 0..5 {
        try_sign_in(&app, ADA, WRONG, None).await;
    }
    assert_eq!(try_sign_in(&app, ADA, PASSWORD, None).await.status(), 423);
    let (_, root) = superadmin(&app).await;
    assert_eq!(app.post(&format!("/v1/users/{user}/unlock"), &json!({}), Some(&root)).await.status(), 200);
    sign_in(&app, ADA, PASSWORD).await;
}

on_both_tables!(
    forty_parallel_wrong_sign_ins_check_at_most_five_passwords,
    a_right_password_racing_wrong_ones_never_gets_in_once_locked,
    an_unknown_address_locks_exactly_like_a_known_one,
    wrong_current_passwords_count_towards_the_lockout,
    sign_in_and_re_authentication_share_one_count,
    wrong_codes_to_turn_mfa_off_count_towards_the_lockout,
    an_administrator_unlock_lifts_the_lockout,
);

// ---------------------------------------------------------------------------
// A right password that arrives while five wrong ones are being checked.
// ---------------------------------------------------------------------------

/// Holds back the writes that record a failed sign-in until opened, so a
/// test can send a request while failures are checked but not yet recorded.
struct HeldFailures {
    inner: Arc<dyn Table>,
    held: AtomicUsize,
    open: tokio::sync::watch::Sender<bool>,
}

impl HeldFailures {
    fn new(inner: Arc<dyn Table>) -> Self {
        Self { inner, held: AtomicUsize::new(0), open: tokio::sync::watch::Sender::new(false) }
    }

    fn records_a_failure(ops: &[WriteOp]) -> bool {
        ops.iter().any(|op| match op {
            WriteOp::Put { item, .. } => {
                item.get("action").and_then(Value::as_str).is_some_and(|a| FAILURES.contains(&a))
            }
            _ => false,
        })
    }

    /// Waits until `n` failures are held back (a minute at most).
    async fn holding(&self, n: usize) {
        for _ in 0..6000 {
            if self.held.load(Ordering::SeqCst) >= n {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("only {} failures were checked", self.held.load(Ordering::SeqCst));
    }
}

#[async_trait]
impl Table for HeldFailures {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.inner.get(key).await
    }
    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, TableError> {
        self.inner.batch_get(keys).await
    }
    async fn put(&self, item: Item, condition: Condition) -> Result<(), TableError> {
        self.inner.put(item, condition).await
    }
    async fn update(&self, update: Update) -> Result<Item, TableError> {
        self.inner.update(update).await
    }
    async fn delete(&self, key: &Key, condition: Condition) -> Result<Option<Item>, TableError> {
        self.inner.delete(key, condition).await
    }
    async fn query(&self, query: &Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }
    async fn transact_write(&self, ops: Vec<WriteOp>) -> Result<(), TableError> {
        if HeldFailures::records_a_failure(&ops) {
            self.held.fetch_add(1, Ordering::SeqCst);
            let mut open = self.open.subscribe();
            open.wait_for(|open| *open).await.expect("the gate stays");
        }
        self.inner.transact_write(ops).await
    }
}

async fn a_right_password_after_the_fifth_claim_is_refused(backend: Backend) {
    let gate: Arc<std::sync::OnceLock<Arc<HeldFailures>>> = Arc::default();
    let app = spawn_app_wrapping(backend, {
        let gate = gate.clone();
        move |table| {
            let held = Arc::new(HeldFailures::new(table));
            gate.set(held.clone()).ok().expect("one table");
            held as Arc<dyn Table>
        }
    })
    .await;
    let gate = gate.get().expect("the app's table").clone();
    let user = ada(&app).await;

    let wrong = {
        let (client, base) = (app.client.clone(), app.base.clone());
        tokio::spawn(async move {
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..10 {
                let request =
                    client.post(format!("{base}/v1/auth/token")).json(&json!({"email": ADA, "password": WRONG}));
                set.spawn(async move { request.send().await.expect("request").status().as_u16() });
            }
            set.join_all().await
        })
    };
    // Five wrong passwords were checked; their failures are not recorded yet.
    gate.holding(5).await;
    let right = tokio::time::timeout(std::time::Duration::from_secs(60), try_sign_in(&app, ADA, PASSWORD, None))
        .await
        .expect("the right password is answered while the failures are held");
    let status = right.status();
    gate.open.send_replace(true);
    let wrong = wrong.await.unwrap();

    assert_eq!(status, 423, "five attempts were outstanding: the right password is refused too");
    assert_eq!(problem(right).await["lockedUntil"], locked_until(&app));
    assert_eq!(gate.held.load(Ordering::SeqCst), 5, "five passwords checked");
    assert_eq!(checked_failures(&app, &format!("user/{user}")).await, 5);
    assert_eq!(wrong.iter().filter(|s| **s == 401).count(), 4, "{wrong:?}");
    assert_eq!(wrong.iter().filter(|s| **s == 423).count(), 6, "{wrong:?}");
    assert_eq!(try_sign_in(&app, ADA, PASSWORD, None).await.status(), 423);
    app.clock.advance(Duration::minutes(15));
    sign_in(&app, ADA, PASSWORD).await;
}

mod held {
    use super::*;

    #[tokio::test]
    async fn embedded_a_right_password_after_the_fifth_claim_is_refused() {
        a_right_password_after_the_fifth_claim_is_refused(Backend::Embedded).await;
    }

    #[tokio::test]
    async fn dynamodb_a_right_password_after_the_fifth_claim_is_refused() {
        a_right_password_after_the_fifth_claim_is_refused(Backend::DynamoDb).await;
    }
}
