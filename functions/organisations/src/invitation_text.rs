//! The organisation's invitation text (seed 003 `invitation-config`): the
//! words invitation mails carry, one small versioned item per organisation.

use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use utoipa::ToSchema;

use shared::access::authz_org::org_context;
use shared::concurrency::{IfMatch, etag_headers};
use shared::context::Ctx;
use shared::extract::{Json, PathId};
use shared::identity::auth::Principal;
use shared::organisations::invitation_text;
use shared::organisations::invitation_text::InvitationText;
use shared::validation::Validator;
use shared::{AppState, Result};

use shared::kit::{BodyProblems, CHANGED_CONCURRENTLY, Failure, Problems, Tx, WriteProblems};

/// Longest invitation text.
pub const MAX_TEXT: usize = 5000;

/// A new invitation text.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutInvitationTextRequest {
    /// Up to 5000 characters; line breaks allowed.
    #[schema(schema_with = text_schema)]
    pub text: String,
}

/// The schema of exactly what `parse_text` accepts.
fn text_schema() -> utoipa::openapi::Object {
    shared::domain::multiline_schema(MAX_TEXT)
}

fn parse_text(raw: &str) -> std::result::Result<String, String> {
    if raw.chars().count() > MAX_TEXT {
        return Err(format!("must be at most {MAX_TEXT} characters"));
    }
    if raw.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err("must not contain control characters".into());
    }
    Ok(raw.to_string())
}

/// Reads the organisation's invitation text.
#[utoipa::path(
    get,
    path = "/v1/organisations/{id}/invitation-text",
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id")),
    security(("bearer" = [])),
    responses((status = 200, body = InvitationText, headers(("ETag" = String, description = "The version"))), Problems)
)]
#[tracing::instrument(skip_all)]
pub async fn get_invitation_text(
    State(state): State<AppState>,
    principal: Principal,
    PathId(org): PathId,
) -> Result<(HeaderMap, Json<InvitationText>)> {
    principal.require("organisations", false)?;
    org_context(state.table.as_ref(), &principal, org).await?;
    let text = invitation_text::get(state.table.as_ref(), org).await?;
    Ok((etag_headers(text.version), Json(text)))
}

/// Sets the organisation's invitation text (owners and admins).
#[utoipa::path(
    put,
    path = "/v1/organisations/{id}/invitation-text",
    tag = "organisations",
    request_body = PutInvitationTextRequest,
    params(
        ("id" = Uuid, Path, description = "Organisation id"),
        shared::concurrency::IfMatch,
    ),
    security(("bearer" = [])),
    responses(BodyProblems, (status = 200, body = InvitationText, headers(("ETag" = String, description = "The new version"))), Problems, WriteProblems)
)]
#[tracing::instrument(skip_all)]
pub async fn put_invitation_text(
    State(state): State<AppState>,
    ctx: Ctx,
    if_match: IfMatch,
    PathId(org): PathId,
    Json(body): Json<PutInvitationTextRequest>,
) -> Result<(HeaderMap, Json<InvitationText>)> {
    let principal = &ctx.principal;
    principal.require("organisations", true)?;
    org_context(state.table.as_ref(), principal, org).await?.require_admin()?;
    let mut v = Validator::new();
    let Some(text) = v.field("text", parse_text(&body.text)) else { return Err(v.into_error()) };
    let table = state.table.as_ref();
    let current = invitation_text::get(table, org).await?;
    if_match.check(current.version)?;

    let now = ctx.now;
    let next = InvitationText { text: Some(text), updated_at: Some(now), version: current.version + 1 };
    let mut tx = Tx::new();
    tx.push(invitation_text::put_op(org, &next, current.version)?, Failure::Precondition);
    tx.push(
        ctx.audit(Some(org), "invitation_text.updated", format!("organisation/{org}")).write(),
        Failure::Conflict(CHANGED_CONCURRENTLY),
    );
    tx.commit(table).await?;
    Ok((etag_headers(next.version), Json(next)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_keep_line_breaks_and_are_bounded() {
        assert_eq!(parse_text("Hello\nWelcome").unwrap(), "Hello\nWelcome");
        assert!(parse_text("bell\u{7}").is_err());
        assert!(parse_text(&"x".repeat(MAX_TEXT + 1)).is_err());
    }
}
