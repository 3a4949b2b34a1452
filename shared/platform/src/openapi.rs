//! The parts of the OpenAPI document no single group owns: info, security
//! schemes and shared components. Groups contribute their paths through
//! `utoipa_axum`, so a route cannot exist without being documented.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr};

use crate::error::{FieldError, Problem};

/// Name of the bearer-token security scheme (`security(("bearer" = []))`).
pub const BEARER: &str = "bearer";

/// Name of the browser session cookie (`__Host-`: browsers keep it only when
/// it is `Secure`, has `Path=/` and no `Domain`, so no sibling host or
/// plain-HTTP page can set or shadow it).
pub const SESSION_COOKIE: &str = "__Host-sundial_session";

/// The base document every group's paths are merged into.
pub fn base() -> OpenApi {
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.bearer_format = Some("JWT or sdl_pat_ personal access token".into());
    let components = ComponentsBuilder::new()
        .schema_from::<Problem>()
        .schema_from::<FieldError>()
        .security_scheme(BEARER, SecurityScheme::Http(bearer))
        .security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))))
        .security_scheme("cookie", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))))
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

/// A response link the path rule of [`add_links`] does not derive: from
/// operation `from`'s `status` response to operation `to`, with its path
/// parameters as runtime expressions.
pub struct ExtraLink {
    /// The operation whose response holds the link.
    pub from: &'static str,
    /// Its response status.
    pub status: &'static str,
    /// The linked operation.
    pub to: &'static str,
    /// Each path parameter of `to` and where its value comes from.
    pub parameters: &'static [(&'static str, &'static str)],
}

/// One operation of the document, as the links see it.
struct Op {
    path: String,
    method: &'static str,
    id: String,
    params: Vec<String>,
}

fn path_params(operation: &utoipa::openapi::path::Operation) -> Vec<String> {
    operation
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Path => Some(p.name.clone()),
            _ => None,
        })
        .collect()
}

fn operations_of(
    item: &mut utoipa::openapi::path::PathItem,
) -> [(&'static str, &mut Option<utoipa::openapi::path::Operation>); 5] {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
}

/// Whether `operation`'s `status` response is JSON whose schema (a
/// component) has an `id` property.
fn returns_id(doc: &OpenApi, operation: &utoipa::openapi::path::Operation, status: &str) -> bool {
    let Some(RefOr::T(response)) = operation.responses.responses.get(status) else { return false };
    let Some(RefOr::T(content)) = response.content.get("application/json") else { return false };
    content.schema.as_ref().is_some_and(|schema| has_property(doc, schema, "id", 0))
}

/// Whether `schema` (following references and `allOf`) has property `name`.
fn has_property(doc: &OpenApi, schema: &RefOr<utoipa::openapi::schema::Schema>, name: &str, depth: usize) -> bool {
    use utoipa::openapi::schema::Schema;
    if depth > 8 {
        return false;
    }
    match schema {
        RefOr::Ref(reference) => {
            let component = reference.ref_location.trim_start_matches("#/components/schemas/");
            doc.components
                .as_ref()
                .and_then(|c| c.schemas.get(component))
                .is_some_and(|s| has_property(doc, s, name, depth + 1))
        }
        RefOr::T(Schema::Object(object)) => object.properties.contains_key(name),
        RefOr::T(Schema::AllOf(all)) => all.items.iter().any(|s| has_property(doc, s, name, depth + 1)),
        RefOr::T(_) => false,
    }
}

/// Adds OpenAPI response links from each create to what can be done with
/// what it created, so a client (or a stateful fuzzer) learns where an id
/// goes:
///
/// - a `POST` to `P` answering 201 with an `id` links to every operation
///   under `P/{x}` whose other path parameters are `P`'s: `x` is the new
///   id (`$response.body#/id`), the others are the request's;
/// - a `PUT` to `P` (ending in a parameter) answering 201 links to the
///   other operations on `P` and under it with the same parameters;
/// - plus `extra`.
///
/// Panics on a link to an unknown operation or one that does not give each
/// path parameter of its target, so the tests catch a stale table.
pub fn add_links(doc: &mut OpenApi, extra: &[ExtraLink]) {
    let mut ops = Vec::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in operations_of(item) {
            if let Some(operation) = operation {
                let id = operation.operation_id.clone().unwrap_or_default();
                ops.push(Op { path: path.clone(), method, id, params: path_params(operation) });
            }
        }
    }
    // (from, status, to, parameters)
    type Parameters = Vec<(String, String)>;
    let mut links: Vec<(String, String, String, Parameters)> = Vec::new();
    for source in &ops {
        let Some(operation) = doc.paths.paths.get(&source.path).and_then(|item| match source.method {
            "post" => item.post.as_ref(),
            "put" => item.put.as_ref(),
            _ => None,
        }) else {
            continue;
        };
        if !operation.responses.responses.contains_key("201") {
            continue;
        }
        let from_request = |name: &String| (name.clone(), format!("$request.path.{name}"));
        if source.method == "post" && returns_id(doc, operation, "201") {
            let prefix = format!("{}/{{", source.path);
            for target in ops.iter().filter(|t| t.path.starts_with(&prefix)) {
                let rest = &target.path[prefix.len()..];
                let Some((new, below)) = rest.split_once('}') else { continue };
                if below.contains('{') || !target.params.iter().all(|p| p == new || source.params.contains(p)) {
                    continue;
                }
                let mut parameters: Vec<(String, String)> =
                    target.params.iter().filter(|p| *p != new).map(from_request).collect();
                parameters.push((new.to_string(), "$response.body#/id".to_string()));
                links.push((source.id.clone(), "201".into(), target.id.clone(), parameters));
            }
        }
        if source.method == "put" && source.path.ends_with('}') {
            for target in ops.iter().filter(|t| {
                t.id != source.id
                    && (t.path == source.path || t.path.starts_with(&format!("{}/", source.path)))
                    && t.params.iter().all(|p| source.params.contains(p))
            }) {
                let parameters = target.params.iter().map(from_request).collect();
                links.push((source.id.clone(), "201".into(), target.id.clone(), parameters));
            }
        }
    }
    for link in extra {
        let parameters = link.parameters.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        links.push((link.from.into(), link.status.into(), link.to.into(), parameters));
    }
    for (from, status, to, parameters) in links {
        let target =
            ops.iter().find(|o| o.id == to).unwrap_or_else(|| panic!("link {from} -> {to}: no such operation"));
        let mut given: Vec<&str> = parameters.iter().map(|(n, _)| n.as_str()).collect();
        given.sort_unstable();
        let mut wanted: Vec<&str> = target.params.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        assert_eq!(given, wanted, "link {from} -> {to} must give exactly the path parameters of {to}");
        let source =
            ops.iter().find(|o| o.id == from).unwrap_or_else(|| panic!("link {from} -> {to}: no such operation"));
        let item = doc.paths.paths.get_mut(&source.path).expect("listed path");
        let operation = operations_of(item)
            .into_iter()
            .find(|(method, _)| *method == source.method)
            .and_then(|(_, op)| op.as_mut())
            .expect("listed operation");
        let Some(RefOr::T(response)) = operation.responses.responses.get_mut(&status) else {
            panic!("link {from} -> {to}: {from} has no {status} response")
        };
        let mut link = utoipa::openapi::link::LinkBuilder::new().operation_id(to.clone());
        for (name, value) in parameters {
            link = link.parameter(name, value);
        }
        response.links.insert(to, RefOr::T(link.build()));
    }
}

/// Rules across the fields of a request body, which the schema derived
/// from its struct cannot state (one field or another, a field's format
/// depending on another's value). Written next to the code that enforces
/// them.
pub trait BodyRules: utoipa::ToSchema {
    /// Schemas every valid body also satisfies (each titled by its rule).
    fn rules() -> Vec<utoipa::openapi::schema::Schema>;
}

/// The schema of a `T` with its [`BodyRules`]: `allOf` the struct's own
/// schema (referenced) and the rules.
pub fn with_rules<T: BodyRules>() -> RefOr<utoipa::openapi::schema::Schema> {
    let mut all = utoipa::openapi::schema::AllOfBuilder::new().item(utoipa::openapi::Ref::from_schema_name(T::name()));
    for rule in T::rules() {
        all = all.item(rule);
    }
    all.into()
}

/// Declares `$name`, the documented request body of a `$body` with its
/// [`BodyRules`] (`request_body = $name`); the handler still parses a
/// `$body`.
#[macro_export]
macro_rules! body_with_rules {
    ($(#[$meta:meta])* $vis:vis $name:ident for $body:ty) => {
        $(#[$meta])*
        $vis struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::openapi::with_rules::<$body>()
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
                schemas.push((<$body as utoipa::ToSchema>::name().into(), <$body as utoipa::PartialSchema>::schema()));
                <$body as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

/// A schema of one JSON Schema keyword that utoipa's model lacks (`not`,
/// `const`, `if`/`then`), with a title. One keyword per schema keeps the
/// document's key order stable.
pub fn keyword(title: &str, key: &str, value: serde_json::Value) -> utoipa::openapi::schema::Schema {
    let mut schema = utoipa::openapi::ObjectBuilder::new().title(Some(title)).build();
    schema.extensions = Some(utoipa::openapi::extensions::Extensions::from_iter([(key, value)]));
    utoipa::openapi::schema::Schema::Object(schema)
}

/// A rule: at most one of `fields` is given (present and not `null`).
pub fn at_most_one_of(fields: &[&str]) -> utoipa::openapi::schema::Schema {
    let mut pairs = Vec::new();
    for (i, a) in fields.iter().enumerate() {
        for b in &fields[i + 1..] {
            let given = serde_json::json!({"not": {"type": "null"}});
            pairs.push(serde_json::json!({"required": [a, b], "properties": {*a: given, *b: given}}));
        }
    }
    keyword(&format!("At most one of {}", fields.join(", ")), "not", serde_json::json!({"anyOf": pairs}))
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
