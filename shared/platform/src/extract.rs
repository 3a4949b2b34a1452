//! Our own extractors: every malformed body or query string becomes a 400
//! problem document naming the offending field, never axum's plain-text
//! rejection and never a 500.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Largest JSON body a handler accepts (1 MiB); uploads go to the blob store.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// A JSON request body or response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

fn path_error<E: std::fmt::Display>(err: serde_path_to_error::Error<E>, root: &str) -> ApiError {
    let path = err.path().to_string();
    let field = if path == "." || path.is_empty() { root.to_string() } else { path };
    ApiError::invalid(field, err.inner().to_string())
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON document into `T`, naming the failing field. The
/// document is read as JSON Schema reads it (see [`strict`]): a number
/// with a zero fraction is an integer (`3.0` is `3`), a struct is an object
/// (never an array of its fields), and an object names each key once.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = strict::read(bytes).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    serde_path_to_error::deserialize(strict::Strict(value)).map_err(|e| path_error(e, "body"))
}

/// Reading JSON as the OpenAPI document's schemas (JSON Schema) read it.
/// serde on its own reads `3.0` as no integer, and a struct also from an
/// array of its fields' values (`[null, null]` for two optional fields),
/// so a request the schema calls invalid could be taken and a valid one
/// refused.
mod strict {
    use std::fmt;

    use serde::Deserialize;
    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
    use serde_json::{Map, Value};

    /// Reads a document: integral numbers become integers, a repeated key is an error.
    pub(super) fn read(bytes: &[u8]) -> Result<Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let ReadValue(value) = ReadValue::deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    struct ReadValue(Value);

    impl<'de> Deserialize<'de> for ReadValue {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ReadVisitor).map(ReadValue)
        }
    }

    struct ReadVisitor;

    /// 2^64, the first float past `u64`.
    const U64_END: f64 = 18_446_744_073_709_551_616.0;

    impl<'de> Visitor<'de> for ReadVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
            Ok(Value::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
            Ok(v.into())
        }
        fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
            Ok(v.into())
        }
        fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
            if v.fract() == 0.0 {
                if (0.0..U64_END).contains(&v) {
                    return Ok((v as u64).into());
                }
                if (i64::MIN as f64..0.0).contains(&v) {
                    return Ok((v as i64).into());
                }
            }
            Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
        }
        fn visit_str<E>(self, v: &str) -> Result<Value, E> {
            Ok(Value::String(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Value, E> {
            Ok(Value::String(v))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
            ReadValue::deserialize(deserializer).map(|v| v.0)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(ReadValue(item)) = seq.next_element()? {
                items.push(item);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut object = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if object.contains_key(&key) {
                    return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                }
                let ReadValue(value) = map.next_value()?;
                object.insert(key, value);
            }
            Ok(Value::Object(object))
        }
    }

    fn unexpected(value: &Value) -> Unexpected<'_> {
        match value {
            Value::Null => Unexpected::Unit,
            Value::Bool(b) => Unexpected::Bool(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => Unexpected::Unsigned(u),
                (_, Some(i), _) => Unexpected::Signed(i),
                (_, _, f) => Unexpected::Float(f.unwrap_or(f64::NAN)),
            },
            Value::String(s) => Unexpected::Str(s),
            Value::Array(_) => Unexpected::Seq,
            Value::Object(_) => Unexpected::Map,
        }
    }

    /// A value to deserialize from, handing out its parts as `Strict` too.
    pub(super) struct Strict(pub(super) Value);

    impl<'de> Deserializer<'de> for Strict {
        type Error = serde_json::Error;

        fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Array(items) => {
                    let len = items.len();
                    let mut seq = Seq(items.into_iter());
                    let value = visitor.visit_seq(&mut seq)?;
                    match seq.0.len() {
                        0 => Ok(value),
                        _ => Err(de::Error::invalid_length(len, &"fewer elements in the array")),
                    }
                }
                Value::Object(object) => visitor.visit_map(Object { entries: object.into_iter(), value: None }),
                other => other.deserialize_any(visitor),
            }
        }

        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Null => visitor.visit_none(),
                _ => visitor.visit_some(self),
            }
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            _fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            match self.0 {
                Value::Object(object) => visitor.visit_map(Object { entries: object.into_iter(), value: None }),
                other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
            }
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            // Request enums are names (unit variants), which need no strictness.
            self.0.deserialize_enum(name, variants, visitor)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            visitor.visit_unit()
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier
        }
    }

    struct Seq(std::vec::IntoIter<Value>);

    impl<'de> SeqAccess<'de> for Seq {
        type Error = serde_json::Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
            self.0.next().map(|item| seed.deserialize(Strict(item))).transpose()
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.0.len())
        }
    }

    struct Object {
        entries: serde_json::map::IntoIter,
        value: Option<Value>,
    }

    impl<'de> MapAccess<'de> for Object {
        type Error = serde_json::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
            let Some((key, value)) = self.entries.next() else { return Ok(None) };
            self.value = Some(value);
            seed.deserialize(de::value::StringDeserializer::<serde_json::Error>::new(key)).map(Some)
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
            seed.deserialize(Strict(self.value.take().unwrap_or(Value::Null)))
        }

        fn size_hint(&self) -> Option<usize> {
            Some(self.entries.len())
        }
    }
}

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::invalid("body", rejection.body_text())
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query-string parameters. Give `T` `#[serde(deny_unknown_fields)]` so an
/// unknown parameter is a 400, as the contract requires.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// Parses a query string into `T`, naming the failing parameter.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| path_error(e, "query"))
}

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// A path parameter that must be a UUID; anything else is a 404 (an ID that
/// cannot exist), never a 400 that would tell a prober about our ID format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub uuid::Uuid);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::NotFound)?;
        uuid::Uuid::parse_str(&raw).map(PathId).map_err(|_| ApiError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Body {
        #[allow(dead_code)]
        owner: Owner,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Owner {
        #[allow(dead_code)]
        first_name: String,
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let err = parse_json::<Body>(br#"{"owner": {"firstName": 3}}"#).unwrap_err();
        let problem = err.problem();
        assert_eq!(problem.errors.unwrap()[0].field, "owner.firstName");
    }

    #[test]
    fn malformed_json_is_a_validation_error() {
        let err = parse_json::<Body>(b"{nope").unwrap_err();
        assert_eq!(err.code(), "validation_failed");
    }

    #[test]
    fn integral_numbers_are_integers_as_in_json_schema() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Sized {
            size: u32,
            delta: i64,
        }
        let sized = parse_json::<Sized>(br#"{"size": 428.0, "delta": -2e2}"#).unwrap();
        assert_eq!((sized.size, sized.delta), (428, -200));
        let err = parse_json::<Sized>(br#"{"size": 1.5, "delta": 0}"#).unwrap_err();
        assert_eq!(err.problem().errors.unwrap()[0].field, "size");
    }

    #[test]
    fn a_struct_is_an_object_never_an_array() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Optional {
            #[allow(dead_code)]
            a: Option<u32>,
            #[allow(dead_code)]
            b: Option<u32>,
        }
        assert!(parse_json::<Optional>(b"[null, null]").is_err());
        assert!(parse_json::<Vec<Optional>>(br#"[{"a": 1}, [2, 3]]"#).is_err());
        assert!(parse_json::<Vec<Optional>>(br#"[{"a": 1}, {}]"#).is_ok());
    }

    #[test]
    fn an_unknown_field_is_named() {
        let err = parse_json::<Body>(br#"{"owner": {"firstName": "a", "colour": "red"}}"#).unwrap_err();
        assert_eq!(err.problem().errors.unwrap()[0].field, "owner.colour");
        let err = parse_json::<Owner>(br#"{"firstName": "a", "colour": "red"}"#).unwrap_err();
        assert_eq!(err.problem().errors.unwrap()[0].field, "colour");
    }

    #[test]
    fn a_repeated_key_is_rejected() {
        assert!(parse_json::<Body>(br#"{"owner": {"firstName": "a", "firstName": "b"}}"#).is_err());
    }

    #[test]
    fn trailing_garbage_is_rejected() {
        assert!(parse_json::<Body>(br#"{"owner": {"firstName": "a"}} x"#).is_err());
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Params {
        #[allow(dead_code)]
        limit: Option<u32>,
    }

    #[test]
    fn unknown_or_malformed_query_parameters_are_rejected() {
        assert!(parse_query::<Params>("limit=5").is_ok());
        let err = parse_query::<Params>("limit=five").unwrap_err();
        assert_eq!(err.problem().errors.unwrap()[0].field, "limit");
        assert!(parse_query::<Params>("limt=5").is_err());
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
    }
}
