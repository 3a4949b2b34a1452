//! The audit writer. Every state change adds an audit entry to the same
//! transaction as the change itself, so there is never a change without its
//! entry (or an entry for a change that did not happen).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::new_id;
use crate::keys;
use crate::table::{Condition, Item, WriteOp};

/// Where a request came from, for audit entries and session lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    /// The request id (`x-request-id`).
    pub request_id: String,
    /// The client's IP address, if known.
    pub ip: Option<String>,
    /// The client's `User-Agent`.
    pub user_agent: Option<String>,
}

/// The client IP as the transport saw it, inserted as a request extension
/// by the devserver (socket address) or the Lambda adapter (API Gateway's
/// `sourceIp`). Headers such as `X-Forwarded-For` are not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(RequestMeta {
            request_id: header("x-request-id").unwrap_or_default(),
            ip: parts.extensions.get::<ClientIp>().map(|ip| ip.0.clone()).or_else(|| {
                // A plain socket server (devserver, tests) knows its peer directly.
                parts
                    .extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|info| info.0.ip().to_string())
            }),
            user_agent: header("user-agent").map(|ua| ua.chars().take(512).collect()),
        })
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    /// Entry id.
    pub id: Uuid,
    /// The organisation concerned (`None`: platform level).
    pub organisation_id: Option<Uuid>,
    /// Who acted: `user:<id>`, `apikey:<id>` or `anonymous`.
    pub actor: String,
    /// What happened: `organisation.created`, ...
    pub action: String,
    /// What it happened to: `organisation/<id>`, ...
    pub target: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Client IP.
    pub ip: Option<String>,
    /// Request id.
    pub request_id: String,
}

impl AuditEntry {
    /// A new entry.
    pub fn new(
        organisation_id: Option<Uuid>,
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
        at: DateTime<Utc>,
        meta: &RequestMeta,
    ) -> Self {
        Self {
            id: new_id(),
            organisation_id,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            at,
            ip: meta.ip.clone(),
            request_id: meta.request_id.clone(),
        }
    }

    /// The write that stores this entry, to add to the change's transaction.
    pub fn write(&self) -> WriteOp {
        let mut item: Item = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => Item::new(),
        };
        let sk = keys::audit_sk(self.at, self.id);
        item.insert("PK".into(), keys::audit_pk(self.organisation_id).into());
        item.insert("SK".into(), sk.clone().into());
        item.insert("GSI1PK".into(), keys::audit_by_gsi1pk(&self.actor).into());
        item.insert("GSI1SK".into(), sk.into());
        item.insert(keys::ENTITY_TYPE.into(), "AuditEntry".into());
        WriteOp::Put { item, condition: Condition::NotExists }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_keyed_by_scope_and_time() {
        let at = DateTime::parse_from_rfc3339("2026-03-29T06:30:00Z").unwrap().with_timezone(&Utc);
        let org = Uuid::now_v7();
        let entry = AuditEntry::new(
            Some(org),
            "anonymous",
            "organisation.created",
            "organisation/x",
            at,
            &RequestMeta::default(),
        );
        let WriteOp::Put { item, condition } = entry.write() else { panic!("expected a put") };
        assert_eq!(condition, Condition::NotExists);
        assert_eq!(item["PK"], format!("AUDIT#{org}"));
        assert!(item["SK"].as_str().unwrap().starts_with("2026-03-29T06:30:00.000Z#"));
        assert_eq!(item["GSI1PK"], "AUDITBY#anonymous");
        assert_eq!(item["action"], "organisation.created");
    }
}
