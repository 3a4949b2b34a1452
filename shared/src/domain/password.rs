use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};

/// A candidate password: 8 to 128 characters. Wrapped so it cannot be
/// printed or logged by accident.
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Fewest characters accepted.
    pub const MIN_LEN: usize = 8;
    /// Most characters accepted.
    pub const MAX_LEN: usize = 128;

    /// Checks the length rules.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(format!("must be at least {} characters", Self::MIN_LEN));
        }
        if len > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        Ok(Self(SecretString::from(raw)))
    }

    /// The OpenAPI schema of a request field holding a new password
    /// (`#[schema(schema_with = Password::schema)]`).
    pub fn schema() -> utoipa::openapi::Object {
        let mut schema = super::string_schema(Self::MIN_LEN, Self::MAX_LEN, None);
        schema.format = Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Password));
        schema
    }

    /// Checks the shape of a current password before it is verified against
    /// the stored hash: what [`Self::current_schema`] states.
    pub fn check_current(raw: &str) -> Result<(), String> {
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        if raw.chars().count() > Self::MAX_LEN {
            return Err(format!("must be at most {} characters", Self::MAX_LEN));
        }
        Ok(())
    }

    /// The schema of a field holding the current password, checked against
    /// the stored hash: any non-empty string up to the longest password.
    pub fn current_schema() -> utoipa::openapi::Object {
        let mut schema = super::string_schema(1, Self::MAX_LEN, None);
        schema.format = Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Password));
        schema
    }

    /// `schema`, also allowing `null` (an optional password).
    pub fn nullable_schema() -> utoipa::openapi::Object {
        super::nullable(Self::schema())
    }

    /// Hashes with Argon2id (random salt, PHC string). CPU-heavy: call from
    /// `spawn_blocking` in request paths.
    pub fn hash(&self) -> anyhow::Result<PasswordHash> {
        let hash = Argon2::default()
            .hash_password(self.0.expose_secret().as_bytes())
            .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))?;
        Ok(PasswordHash(hash.to_string()))
    }
}

/// A stored Argon2id hash in PHC format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string.
    pub fn from_stored(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `candidate` matches (constant-time comparison inside argon2).
    pub fn verify(&self, candidate: &str) -> bool {
        Argon2::default().verify_password(candidate.as_bytes(), self.0.as_str()).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("correct horse").is_ok());
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let hash = Password::parse("correct horse").unwrap().hash().unwrap();
        assert!(hash.as_str().starts_with("$argon2id$"));
        assert!(hash.verify("correct horse"));
        assert!(!hash.verify("correct horsf"));
    }

    #[test]
    fn debug_hides_the_secret() {
        assert_eq!(format!("{:?}", Password::parse("correct horse").unwrap()), "Password(***)");
    }
}
