//! Deleting a user and everything they own, so that it is never half-done:
//! the user item is first marked `deleting` (with the audit entry, in one
//! transaction; from then on the user is gone for every other route), then
//! the owned items go in bounded transactions, the user item LAST. If any
//! step fails, repeating the `DELETE` resumes from what is left.

use std::collections::BTreeSet;

use uuid::Uuid;

use shared::audit::{AuditEntry, RequestMeta};
use shared::auth::Principal;
use shared::authz::{Relation, UserAccess, user_access_to};
use shared::concurrency::IfMatch;
use shared::domain::Role;
use shared::repo::attachments;
use shared::repo::organisations::{self, Membership};
use shared::repo::users;
use shared::table::{Condition, Index, Item, Key, MAX_TRANSACTION_ITEMS, Query, SortKey, TableError, Update, WriteOp};
use shared::{ApiError, AppState, Result, keys};

/// Checks the caller may delete the user: themself, a superadmin, or an
/// owner/admin of EVERY organisation the user belongs to (an admin of one
/// organisation cannot delete a person another organisation also has); only
/// owners delete owners; and no organisation may lose its last owner.
async fn check_allowed(state: &AppState, principal: &Principal, access: &UserAccess) -> Result<()> {
    principal.require("users", true)?;
    let table = state.table.as_ref();
    match access.relation {
        Relation::Itself | Relation::Superadmin => {}
        Relation::Planner(_) => {
            return Err(ApiError::Forbidden("Planners cannot delete the users they plan for.".into()));
        }
        Relation::Colleague(_) => return Err(ApiError::NotFound),
        Relation::OrgAdmin { .. } => {
            access.require_may_act_on()?;
            for membership in &access.memberships {
                let mine = organisations::membership(table, membership.organisation_id, principal.user_id).await?;
                match mine.map(|m| m.role) {
                    Some(Role::Owner) => {}
                    Some(Role::Admin) if membership.role != Role::Owner => {}
                    Some(Role::Admin) => {
                        return Err(ApiError::Forbidden("Only an owner may delete an owner.".into()));
                    }
                    _ => {
                        return Err(ApiError::Forbidden(
                            "The user also belongs to an organisation you do not administer.".into(),
                        ));
                    }
                }
            }
        }
    }
    if access.target.deleting {
        return Ok(());
    }
    for membership in access.memberships.iter().filter(|m| m.role == Role::Owner) {
        let members = all(
            state,
            Query::new(Index::Primary, keys::org_pk(membership.organisation_id))
                .sort_key(SortKey::BeginsWith(keys::MEMBER_PREFIX.into())),
        )
        .await?;
        let other_owner = members.into_iter().any(|item| {
            shared::repo::from_item::<Membership>(item)
                .is_ok_and(|m| m.role == Role::Owner && m.user_id != access.target.id)
        });
        if !other_owner {
            return Err(ApiError::Conflict(format!(
                "The user is the only owner of organisation {}; make someone else owner first.",
                membership.organisation_id
            )));
        }
    }
    Ok(())
}

/// Every item of a query, page by page.
async fn all(state: &AppState, mut query: Query) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    loop {
        let page = state.table.query(&query).await?;
        items.extend(page.items);
        match page.last_key {
            Some(last) => query.start_after = Some(last),
            None => return Ok(items),
        }
    }
}

/// Deletes user `id` for `principal` (see the module documentation).
pub async fn delete(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    if_match: &IfMatch,
    id: Uuid,
) -> Result<()> {
    let table = state.table.as_ref();
    let record = users::get(table, id).await?.ok_or(ApiError::NotFound)?;
    let access = user_access_to(state.table.as_ref(), principal, record).await?;
    check_allowed(state, principal, &access).await?;
    let user = &access.target;

    if !user.deleting {
        if_match.check(user.version)?;
        let now = state.clock.now();
        let mark = Update::new(Key::new(keys::user_pk(id), keys::USER_SK))
            .set("deleting", true)
            .set("updatedAt", serde_json::to_value(now).map_err(anyhow::Error::from)?)
            .add("version", 1)
            .when(Condition::version_is(user.version));
        let audit = AuditEntry::new(
            access.audit_organisation(),
            principal.actor(),
            "user.deleted",
            format!("user/{id}"),
            now,
            meta,
        );
        match table.transact_write(vec![WriteOp::Update(mark), audit.write()]).await {
            Ok(()) => {}
            Err(TableError::ConditionFailed { .. }) => return Err(ApiError::PreconditionFailed),
            Err(err) => return Err(err.into()),
        }
    }

    // Sessions end first, so that nothing acts as the user while the rest goes.
    shared::repo::sessions::revoke_all(table, id, None).await?;

    let mut doomed: BTreeSet<Key> = BTreeSet::new();
    let user_key = Key::new(keys::user_pk(id), keys::USER_SK);
    // Everything under the user's own partition: preferences, followers,
    // planners, contacts, attachments, sessions, credentials ...
    for item in all(state, Query::new(Index::Primary, keys::user_pk(id))).await? {
        if item.get("entityType").and_then(|v| v.as_str()) == Some("Attachment")
            && let Some(attachment) = item.get("id").and_then(|v| v.as_str()).and_then(|v| Uuid::parse_str(v).ok())
        {
            state.blobs.delete(&attachments::blob_key(id, attachment)).await?;
        }
        if let Some(key) = Key::of(&item) {
            doomed.insert(key);
        }
    }
    // Memberships, the users this user follows, the members they plan for.
    for query in [
        Query::new(Index::Gsi1, keys::user_pk(id)).sort_key(SortKey::BeginsWith("ORG#".into())),
        Query::new(Index::Gsi1, keys::follows_gsi1pk("user", id)),
        Query::new(Index::Gsi1, keys::plans_gsi1pk(id)),
    ] {
        for item in all(state, query).await? {
            if let Some(key) = Key::of(&item) {
                doomed.insert(key);
            }
        }
    }
    doomed.remove(&user_key);

    let mut ops: Vec<WriteOp> =
        doomed.into_iter().map(|key| WriteOp::Delete { key, condition: Condition::Always }).collect();
    ops.push(users::delete_email_guard_op(&user.email, id));
    for chunk in ops.chunks(MAX_TRANSACTION_ITEMS) {
        table.transact_write(chunk.to_vec()).await?;
    }
    // Last: the user item itself (only while it is still marked deleting).
    match table.delete(&user_key, Condition::AttrExists("deleting".into())).await {
        Ok(_) | Err(TableError::ConditionFailed { .. }) => {}
        Err(err) => return Err(err.into()),
    }
    tracing::info!(user_id = %id, "user deleted");
    Ok(())
}
