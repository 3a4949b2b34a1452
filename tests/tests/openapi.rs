//! The OpenAPI document: generated from the routes (so no route can be
//! undocumented), checked in at `shared/openapi.json`, and served by every
//! function. Regenerate with `SUNDIAL_UPDATE_OPENAPI=1 cargo test -p sundial-tests --test openapi`.

use sundial_tests::spawn_app;

fn generated() -> String {
    let doc = devserver::openapi();
    let mut json = doc.to_pretty_json().expect("serialise OpenAPI");
    json.push('\n');
    json
}

#[test]
fn the_checked_in_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/openapi.json");
    let current = generated();
    if std::env::var_os("SUNDIAL_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &current).expect("write openapi.json");
        return;
    }
    let checked_in = std::fs::read_to_string(path).expect("read openapi.json");
    assert!(
        checked_in == current,
        "shared/openapi.json is stale: run SUNDIAL_UPDATE_OPENAPI=1 cargo test -p sundial-tests --test openapi"
    );
}

#[test]
fn every_contract_route_of_this_stage_is_documented() {
    let doc: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    for (path, method) in [
        ("/v1/health", "get"),
        ("/v1/openapi.json", "get"),
        ("/v1/public/organisations", "post"),
        ("/v1/organisations/{id}", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is not documented");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_served_document_is_the_checked_in_one() {
    let app = spawn_app().await;
    let response = app.get("/v1/openapi.json", None).await;
    assert_eq!(response.status(), 200);
    let served: serde_json::Value = response.json().await.unwrap();
    let checked_in: serde_json::Value = serde_json::from_str(shared::http::OPENAPI_JSON).unwrap();
    assert_eq!(served, checked_in);
    assert_eq!(served["info"]["title"], "Sundial API");
}

#[test]
fn every_schema_reference_resolves() {
    let doc: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 100, "the document references its schemas");
    let missing: Vec<&String> = all
        .iter()
        .filter(|r| {
            let name = r.trim_start_matches("#/components/schemas/");
            doc["components"]["schemas"][name].is_null()
        })
        .collect();
    assert!(missing.is_empty(), "unresolvable references: {missing:?}");
}

#[test]
fn every_page_size_parameter_states_the_range_the_server_enforces() {
    let doc: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let mut seen = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["name"] == "limit" || parameter["name"] == "$top" {
                    seen += 1;
                    let schema = &parameter["schema"];
                    assert_eq!(
                        (schema["minimum"].as_f64(), schema["maximum"].as_f64()),
                        (Some(1.0), Some(100.0)),
                        "{method} {path}"
                    );
                }
            }
        }
    }
    assert!(seen > 20, "the lists take a page size");
}

/// The `// METHODS /path` comments of a group's `lib.rs`, each checked to
/// sit right above its `.routes(...)` line.
fn listed_routes(source: &str) -> std::collections::BTreeSet<(String, String)> {
    let lines: Vec<&str> = source.lines().map(str::trim).collect();
    let mut listed = std::collections::BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with(".routes(") {
            let comment = lines[i - 1].strip_prefix("// ").unwrap_or_else(|| panic!("no path comment above {line}"));
            let (methods, path) = comment.rsplit_once(' ').expect("`// METHODS /path`");
            for method in methods.split(' ') {
                assert!(listed.insert((method.to_lowercase(), path.to_string())), "{method} {path} listed twice");
            }
        }
    }
    listed
}

#[test]
fn each_group_lists_its_routes_by_path_in_its_lib_rs() {
    let groups = [
        ("auth", auth::api(), include_str!("../../functions/auth/src/lib.rs")),
        ("users", users::api(), include_str!("../../functions/users/src/lib.rs")),
        ("organisations", organisations::api(), include_str!("../../functions/organisations/src/lib.rs")),
        ("calendar", calendar::api(), include_str!("../../functions/calendar/src/lib.rs")),
    ];
    for (name, api, source) in groups {
        let (_, doc) = api.split_for_parts();
        let served: std::collections::BTreeSet<(String, String)> = serde_json::to_value(&doc).unwrap()["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object().unwrap().keys().map(move |method| (method.clone(), path.clone())).collect::<Vec<_>>()
            })
            .filter(|(method, _)| ["get", "post", "put", "patch", "delete"].contains(&method.as_str()))
            .collect();
        assert_eq!(listed_routes(source), served, "the route comments of {name}/src/lib.rs");
    }
}
