//! The structure of an organisation — groups, departments, locations and
//! security groups — written once for every kind. A unit is one item in the
//! organisation's partition; its members (and a department's heads, a
//! group's staff) are relation items next to it, each also indexed under the
//! user (GSI2 `USERREL#<userId>`) so that removing someone from the
//! organisation finds every unit they are in with one Query.
//!
//! Each unit carries a counter per relation (`memberCount`, `headCount`,
//! `staffCount`), changed in the same transaction as the relation items, so
//! lists show sizes without counting and "a department keeps at least one
//! head" is a condition on the counter that concurrent writers cannot both
//! pass.

use crate::store::listing::query_all;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Role;
use crate::error::ApiError;
use crate::keys;
use crate::pagination::{CursorCodec, ListResponse, PageRequest};
use crate::store::from_item;
use crate::store::to_item;
use crate::table::{
    Cmp, Condition, Index, Item, Key, MAX_BATCH_GET, Query, SortKey, Table, TableError, Update, WriteOp,
};

/// A kind of organisational unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    /// A group of people planned for together, with staff.
    Group,
    /// A department, with at least one head.
    Department,
    /// A location, with an IANA time zone.
    Location,
    /// A security group.
    SecurityGroup,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 4] = [Kind::Group, Kind::Department, Kind::Location, Kind::SecurityGroup];

    /// The key segment of this kind (`GROUP`, `DEPT`, `LOC`, `SECGROUP`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Group => "GROUP",
            Kind::Department => "DEPT",
            Kind::Location => "LOC",
            Kind::SecurityGroup => "SECGROUP",
        }
    }

    /// The stored entity type.
    pub fn entity(self) -> &'static str {
        match self {
            Kind::Group => "Group",
            Kind::Department => "Department",
            Kind::Location => "Location",
            Kind::SecurityGroup => "SecurityGroup",
        }
    }

    /// The word used in audit actions and targets (`group`, `department`, ...).
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Department => "department",
            Kind::Location => "location",
            Kind::SecurityGroup => "security_group",
        }
    }

    /// The relations units of this kind have.
    pub fn relations(self) -> &'static [Relation] {
        match self {
            Kind::Group => &[Relation::Member, Relation::Staff],
            Kind::Department => &[Relation::Member, Relation::Head],
            Kind::Location | Kind::SecurityGroup => &[Relation::Member],
        }
    }

    /// Whether units of this kind have `relation`.
    pub fn has(self, relation: Relation) -> bool {
        self.relations().contains(&relation)
    }

    /// The kind whose key segment is `key`.
    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }
}

/// How a user relates to a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Relation {
    /// Belongs to the unit.
    Member,
    /// Heads a department.
    Head,
    /// Works with a group (planners, admins and owners only).
    Staff,
}

impl Relation {
    /// Every relation.
    pub const ALL: [Relation; 3] = [Relation::Member, Relation::Head, Relation::Staff];

    /// The key segment (`MEMBER`, `HEAD`, `STAFF`).
    pub fn key(self) -> &'static str {
        match self {
            Relation::Member => "MEMBER",
            Relation::Head => "HEAD",
            Relation::Staff => "STAFF",
        }
    }

    /// The counter attribute on the unit item.
    pub fn counter(self) -> &'static str {
        match self {
            Relation::Member => "memberCount",
            Relation::Head => "headCount",
            Relation::Staff => "staffCount",
        }
    }

    /// The fewest a unit may have once created (a department keeps a head).
    pub fn minimum(self) -> i64 {
        match self {
            Relation::Head => 1,
            Relation::Member | Relation::Staff => 0,
        }
    }

    /// Whether a member with `role` may hold this relation.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Relation::Staff => matches!(role, Role::Planner | Role::Admin | Role::Owner),
            Relation::Member | Relation::Head => true,
        }
    }

    /// The relation whose key segment is `key`.
    pub fn from_key(key: &str) -> Option<Relation> {
        Relation::ALL.into_iter().find(|r| r.key() == key)
    }
}

/// A stored unit (also its API view).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unit {
    /// Unit id (UUIDv7).
    pub id: Uuid,
    /// The organisation it belongs to.
    pub organisation_id: Uuid,
    /// Its kind.
    pub kind: Kind,
    /// Display name.
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// IANA time zone (locations only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// How many members it has.
    #[serde(default)]
    pub member_count: i64,
    /// How many heads (departments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_count: Option<i64>,
    /// How many staff (groups only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_count: Option<i64>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed (name, description, time zone).
    pub updated_at: DateTime<Utc>,
    /// Version (also the ETag); membership changes do not bump it.
    pub version: i64,
}

impl Unit {
    /// A new, empty unit.
    pub fn new(organisation_id: Uuid, kind: Kind, name: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: crate::domain::new_id(),
            organisation_id,
            kind,
            name: name.to_string(),
            description: None,
            time_zone: None,
            member_count: 0,
            head_count: kind.has(Relation::Head).then_some(0),
            staff_count: kind.has(Relation::Staff).then_some(0),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The current value of a relation counter.
    pub fn count(&self, relation: Relation) -> i64 {
        match relation {
            Relation::Member => self.member_count,
            Relation::Head => self.head_count.unwrap_or(0),
            Relation::Staff => self.staff_count.unwrap_or(0),
        }
    }

    /// The key of this unit's item.
    pub(crate) fn key(&self) -> Key {
        unit_key(self.organisation_id, self.kind, self.id)
    }
}

/// The key of a unit item.
pub(crate) fn unit_key(org: Uuid, kind: Kind, unit: Uuid) -> Key {
    Key::new(keys::org_pk(org), keys::unit_sk(kind.key(), unit))
}

/// A unit that is being deleted has this attribute; it reads as absent and
/// takes no new relations.
pub(crate) const DELETING: &str = "deleting";

/// The write that creates `unit` (counters as set on it).
pub fn create_op(unit: &Unit) -> anyhow::Result<WriteOp> {
    let item =
        to_item(unit, keys::org_pk(unit.organisation_id), keys::unit_sk(unit.kind.key(), unit.id), unit.kind.entity())?;
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// Reads a unit; one being deleted reads as absent unless `deleting_too`.
pub async fn get(
    table: &dyn Table,
    org: Uuid,
    kind: Kind,
    id: Uuid,
    deleting_too: bool,
) -> anyhow::Result<Option<Unit>> {
    match table.get(&unit_key(org, kind, id)).await? {
        Some(item) if deleting_too || !item.contains_key(DELETING) => Ok(Some(from_item(item)?)),
        _ => Ok(None),
    }
}

/// Parses a stored unit item (`None` for one being deleted).
pub(crate) fn from_unit_item(item: Item) -> anyhow::Result<Option<Unit>> {
    if item.contains_key(DELETING) { Ok(None) } else { Ok(Some(from_item(item)?)) }
}

/// The condition that a unit exists and is not being deleted.
pub(crate) fn live() -> Condition {
    Condition::All(vec![Condition::Exists, Condition::AttrNotExists(DELETING.into())])
}

/// A stored relation of a user to a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationRecord {
    /// The organisation.
    pub organisation_id: Uuid,
    /// The unit's kind.
    pub kind: Kind,
    /// The unit.
    pub unit_id: Uuid,
    /// The relation.
    pub relation: Relation,
    /// The user.
    pub user_id: Uuid,
    /// Since when.
    pub created_at: DateTime<Utc>,
}

/// The key of a relation item.
pub(crate) fn relation_key(org: Uuid, kind: Kind, unit: Uuid, relation: Relation, user: Uuid) -> Key {
    Key::new(keys::org_pk(org), keys::relation_sk(kind.key(), unit, relation.key(), user))
}

/// The write that creates a relation (fails if it exists).
pub fn add_relation_op(record: &RelationRecord) -> anyhow::Result<WriteOp> {
    let sk = keys::relation_sk(record.kind.key(), record.unit_id, record.relation.key(), record.user_id);
    let mut item = to_item(record, keys::org_pk(record.organisation_id), sk.clone(), "UnitRelation")?;
    item.insert("GSI2PK".into(), keys::user_relations_gsi2pk(record.user_id).into());
    item.insert("GSI2SK".into(), keys::user_relation_gsi2sk(record.organisation_id, &sk).into());
    Ok(WriteOp::Put { item, condition: Condition::NotExists })
}

/// The write that removes the `relation` of `user` to a unit (fails if it
/// is already gone).
pub fn remove_relation_op(org: Uuid, kind: Kind, unit: Uuid, relation: Relation, user: Uuid) -> WriteOp {
    WriteOp::Delete { key: relation_key(org, kind, unit, relation, user), condition: Condition::Exists }
}

/// The write that moves a unit's counters by `deltas`, guarded so the unit
/// is live and no counter drops below its relation's minimum.
pub fn counters_op(org: Uuid, kind: Kind, unit: Uuid, deltas: &[(Relation, i64)]) -> WriteOp {
    let mut update = Update::new(unit_key(org, kind, unit));
    let mut conditions = vec![live()];
    for (relation, delta) in deltas {
        update = update.add(relation.counter(), *delta);
        let floor = relation.minimum();
        if *delta < 0 && floor > 0 {
            // counter + delta >= floor  <=>  counter > floor - delta - 1
            conditions.push(Condition::Compare(
                relation.counter().into(),
                Cmp::Gt,
                serde_json::Value::from(floor - delta - 1),
            ));
        }
    }
    WriteOp::Update(update.when(Condition::All(conditions)))
}

/// Every relation of `user` in `org` (Query GSI2 `USERREL#<userId>`).
pub async fn relations_of_user(table: &dyn Table, org: Uuid, user: Uuid) -> anyhow::Result<Vec<RelationRecord>> {
    let query = crate::table::Query::new(crate::table::Index::Gsi2, keys::user_relations_gsi2pk(user))
        .sort_key(crate::table::SortKey::BeginsWith(format!("{}#", keys::org_pk(org))));
    let mut out = Vec::new();
    for item in query_all(table, query).await? {
        out.push(from_item(item)?);
    }
    Ok(out)
}

/// The query of the units of `kind` in `org`, oldest first.
fn units_query(org: Uuid, kind: Kind) -> Query {
    Query::new(Index::Primary, keys::org_pk(org)).sort_key(SortKey::BeginsWith(keys::unit_prefix(kind.key())))
}

/// One page of the units of `kind` in `org`, oldest first; units being
/// deleted are left out (so a page may come back short).
pub async fn list_units(
    table: &dyn Table,
    cursors: &CursorCodec,
    org: Uuid,
    kind: Kind,
    page: &PageRequest,
) -> Result<ListResponse<Unit>, ApiError> {
    let list = format!("units:{org}:{}", kind.key());
    let (items, next_cursor) =
        crate::pagination::query_page(table, cursors, &list, units_query(org, kind), page).await?;
    let mut units = Vec::with_capacity(items.len());
    for item in items {
        if let Some(unit) = from_unit_item(item)? {
            units.push(unit);
        }
    }
    Ok(ListResponse { items: units, next_cursor })
}

/// How many units of `kind` `org` has, not counting those being deleted.
pub async fn count_units(table: &dyn Table, org: Uuid, kind: Kind) -> anyhow::Result<u64> {
    let items = query_all(table, units_query(org, kind)).await?;
    Ok(items.iter().filter(|item| !item.contains_key(DELETING)).count() as u64)
}

/// The write that changes `current` (as read: live, at its version) into
/// `changed`: name, description and time zone; the counters are left alone.
pub fn update_op(current: &Unit, changed: &Unit) -> anyhow::Result<WriteOp> {
    let mut update = Update::new(current.key())
        .set("updatedAt", serde_json::to_value(changed.updated_at)?)
        .add("version", 1)
        .when(Condition::All(vec![live(), Condition::version_is(current.version)]));
    if changed.name != current.name {
        update = update.set("name", changed.name.as_str());
    }
    for (name, old, new) in [
        ("description", &current.description, &changed.description),
        ("timeZone", &current.time_zone, &changed.time_zone),
    ] {
        if old != new {
            update = match new {
                Some(value) => update.set(name, value.as_str()),
                None => update.remove(name),
            };
        }
    }
    Ok(WriteOp::Update(update))
}

/// A unit as stored: live, or with its deletion begun.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitState {
    /// Live.
    Live(Unit),
    /// Being deleted: it reads as absent and takes no new relations.
    Deleting,
}

/// Reads a unit whether or not its deletion began.
pub async fn get_state(table: &dyn Table, org: Uuid, kind: Kind, id: Uuid) -> anyhow::Result<Option<UnitState>> {
    Ok(match table.get(&unit_key(org, kind, id)).await? {
        None => None,
        Some(item) if item.contains_key(DELETING) => Some(UnitState::Deleting),
        Some(item) => Some(UnitState::Live(from_item(item)?)),
    })
}

/// The write that begins deleting `unit` (live, at the version read): from
/// then on it reads as absent and takes no new relations.
pub fn mark_deleting_op(unit: &Unit) -> WriteOp {
    WriteOp::Update(
        Update::new(unit.key())
            .set(DELETING, true)
            .when(Condition::All(vec![live(), Condition::version_is(unit.version)])),
    )
}

/// Deletes every relation of a unit, in bounded transactions (idempotent:
/// a repeat finishes an interrupted sweep).
pub async fn delete_relations(table: &dyn Table, org: Uuid, kind: Kind, unit: Uuid) -> Result<(), TableError> {
    let query = Query::new(Index::Primary, keys::org_pk(org))
        .sort_key(SortKey::BeginsWith(keys::unit_relations_prefix(kind.key(), unit)));
    delete_matching(table, query).await
}

/// The write that deletes a unit whose deletion began (fails if it is gone).
pub fn delete_marked_op(org: Uuid, kind: Kind, unit: Uuid) -> WriteOp {
    WriteOp::Delete { key: unit_key(org, kind, unit), condition: Condition::AttrExists(DELETING.into()) }
}

/// A check (no write) that `unit` still exists and is not being deleted.
pub fn live_check_op(unit: &Unit) -> WriteOp {
    WriteOp::Check { key: unit.key(), condition: live() }
}

/// A check (no write) that `user` is still a member of `org` whose role
/// allows `relation`.
pub fn relation_check_op(org: Uuid, user: Uuid, relation: Relation) -> WriteOp {
    match relation {
        Relation::Staff => WriteOp::Check {
            key: crate::organisations::membership_key(org, user),
            condition: Condition::Any(
                ["planner", "admin", "owner"].into_iter().map(|r| Condition::eq("role", r)).collect(),
            ),
        },
        Relation::Member | Relation::Head => crate::organisations::member_check_op(org, user),
    }
}

/// One page of the holders of `relation` to a unit, in user-id order.
pub async fn list_relation(
    table: &dyn Table,
    cursors: &CursorCodec,
    org: Uuid,
    kind: Kind,
    unit: Uuid,
    relation: Relation,
    page: &PageRequest,
) -> Result<ListResponse<RelationRecord>, ApiError> {
    let query = Query::new(Index::Primary, keys::org_pk(org)).sort_key(SortKey::BeginsWith(keys::relation_prefix(
        kind.key(),
        unit,
        relation.key(),
    )));
    let list = format!("rel:{org}:{}:{unit}:{}", kind.key(), relation.key());
    crate::store::listing::page(table, cursors, &list, query, page).await
}

/// Which of `users` hold `relation` to a unit (in the order given).
pub async fn holders(
    table: &dyn Table,
    org: Uuid,
    kind: Kind,
    unit: Uuid,
    relation: Relation,
    users: &[Uuid],
) -> anyhow::Result<Vec<Uuid>> {
    let wanted: Vec<Key> = users.iter().map(|u| relation_key(org, kind, unit, relation, *u)).collect();
    let mut existing: Vec<Key> = Vec::new();
    for chunk in wanted.chunks(MAX_BATCH_GET) {
        existing.extend(table.batch_get(chunk).await?.iter().filter_map(Key::of));
    }
    Ok(users.iter().zip(&wanted).filter(|(_, key)| existing.contains(key)).map(|(user, _)| *user).collect())
}

/// Most deletes in one transaction of a sweep.
pub const DELETE_BATCH: usize = 25;

/// Deletes every item `query` matches, [`DELETE_BATCH`] per transaction.
pub(crate) async fn delete_matching(table: &dyn Table, query: Query) -> Result<(), TableError> {
    let mut query = query.limit(DELETE_BATCH as u32);
    loop {
        let page = table.query(&query).await?;
        let keys: Vec<Key> = page.items.iter().filter_map(Key::of).collect();
        if !keys.is_empty() {
            let ops = keys.into_iter().map(|key| WriteOp::Delete { key, condition: Condition::Always }).collect();
            table.transact_write(ops).await?;
        }
        match (page.items.last(), page.last_key) {
            (Some(last), Some(_)) => query = query.start_after(last),
            _ => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_relations_round_trip_their_keys() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_key(kind.key()), Some(kind));
            assert!(kind.has(Relation::Member));
        }
        for relation in Relation::ALL {
            assert_eq!(Relation::from_key(relation.key()), Some(relation));
        }
        assert!(Kind::Department.has(Relation::Head) && !Kind::Group.has(Relation::Head));
        assert!(Kind::Group.has(Relation::Staff) && !Kind::Location.has(Relation::Staff));
        assert_eq!(serde_json::to_value(Kind::SecurityGroup).unwrap(), "securityGroup");
    }

    #[test]
    fn staff_must_plan_or_administer() {
        assert!(Relation::Staff.allows(Role::Planner) && Relation::Staff.allows(Role::Owner));
        assert!(!Relation::Staff.allows(Role::Member) && !Relation::Staff.allows(Role::Guest));
        assert!(Relation::Member.allows(Role::Guest));
    }

    #[test]
    fn removing_heads_is_guarded_by_the_counter() {
        let (org, unit) = (Uuid::now_v7(), Uuid::now_v7());
        let WriteOp::Update(update) = counters_op(org, Kind::Department, unit, &[(Relation::Head, -2)]) else {
            panic!("expected an update");
        };
        let Condition::All(conditions) = update.condition else { panic!("expected all") };
        // headCount - 2 >= 1  <=>  headCount > 2
        assert!(conditions.contains(&Condition::Compare("headCount".into(), Cmp::Gt, 2.into())));
        let WriteOp::Update(members) = counters_op(org, Kind::Group, unit, &[(Relation::Member, -5)]) else {
            panic!("expected an update");
        };
        assert_eq!(members.condition, Condition::All(vec![live()]));
    }
}
