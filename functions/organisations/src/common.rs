//! What the group's modules share beyond `shared::kit`: member lists joined
//! with user profiles, checking a list of users to add and remove, and
//! committing writes whose failed conditions all mean a lost race.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use shared::kit::{CHANGED_CONCURRENTLY, commit_with};
use shared::people::users::Person;
use shared::store::Writes;
use shared::{ApiError, AppState};

/// A user joined into a membership list.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserEntry {
    /// The user.
    pub user_id: Uuid,
    /// Since when they hold this place.
    pub created_at: DateTime<Utc>,
    /// As much of the user as the caller may see (absent if the account no
    /// longer exists).
    pub user: Option<Person>,
}

/// Reads a list of user ids from `add`/`remove`, rejecting duplicates and
/// ids in both lists, and bounding the size of one change.
pub fn check_change(add: &[Uuid], remove: &[Uuid], max: usize) -> Result<(), ApiError> {
    let mut v = shared::validation::Validator::new();
    if add.len() + remove.len() > max {
        v.error("add", format!("at most {max} users may be added and removed in one request"));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, id) in add.iter().enumerate() {
        if !seen.insert(*id) {
            v.error(&format!("add[{i}]"), "is listed twice");
        }
    }
    for (i, id) in remove.iter().enumerate() {
        if !seen.insert(*id) {
            v.error(&format!("remove[{i}]"), "is listed twice or also in add");
        }
    }
    v.finish()
}

/// Commits `ops` all or nothing; a failed condition or a transaction clash
/// is a lost race (409), anything else internal.
pub async fn commit(state: &AppState, ops: Writes) -> Result<(), ApiError> {
    commit_with(state.table.as_ref(), ops, |_| ApiError::Conflict(CHANGED_CONCURRENTLY.into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_lists_each_user_once() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(check_change(&[a], &[b], 10).is_ok());
        assert!(check_change(&[a, a], &[], 10).is_err());
        assert!(check_change(&[a], &[a], 10).is_err());
        assert!(check_change(&[a, b], &[], 1).is_err());
    }
}
