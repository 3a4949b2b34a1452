//! The parts of the OpenAPI document no single group owns: info, security
//! schemes and shared components. Groups contribute their paths through
//! `utoipa_axum`, so a route cannot exist without being documented.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder};

use crate::error::{FieldError, Problem};

/// Name of the bearer-token security scheme (`security(("bearer" = []))`).
pub const BEARER: &str = "bearer";

/// The base document every group's paths are merged into.
pub fn base() -> OpenApi {
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT or sdl_pat_ personal access token".into());
    let components = ComponentsBuilder::new()
        .schema_from::<Problem>()
        .schema_from::<FieldError>()
        .security_scheme(BEARER, SecurityScheme::Http(bearer))
        .security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))))
        .security_scheme("cookie", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("sundial_session"))))
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Sundial API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Plan days for people: identity, organisations, calendars with reminders. \
                     Errors are RFC 9457 problem documents (application/problem+json).",
                ))
                .build(),
        )
        .components(Some(components))
        .build()
}
