//! The parts of the OpenAPI document no single group owns: info, security
//! schemes and shared components. Groups contribute their paths through
//! `utoipa_axum`, so a route cannot exist without being documented.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr};

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

/// Gives every response that has no description its status's reason phrase
/// ("OK", "Created" ...): the Response Object requires one, and client
/// generators refuse a document without it (docs/api.md).
pub fn describe_responses(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.is_empty()
                {
                    let reason = status.parse().ok().and_then(|code| http::StatusCode::from_u16(code).ok());
                    response.description = reason.and_then(|code| code.canonical_reason()).unwrap_or("Response").into();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem, PathsBuilder};
    use utoipa::openapi::response::{ResponseBuilder, ResponsesBuilder};

    #[test]
    fn a_response_without_a_description_gets_its_reason_phrase() {
        let responses = ResponsesBuilder::new()
            .response("201", ResponseBuilder::new())
            .response("404", ResponseBuilder::new().description("No such thing"))
            .build();
        let operation = OperationBuilder::new().responses(responses).build();
        let mut doc = base();
        doc.paths = PathsBuilder::new().path("/x", PathItem::new(HttpMethod::Post, operation)).build();
        describe_responses(&mut doc);
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["paths"]["/x"]["post"]["responses"]["201"]["description"], "Created");
        assert_eq!(json["paths"]["/x"]["post"]["responses"]["404"]["description"], "No such thing");
    }
}
