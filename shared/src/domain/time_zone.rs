use std::borrow::Cow;

/// An IANA time zone name such as `Europe/Stockholm`: one `chrono_tz`
/// knows (names are case-sensitive). Request fields that hold one point at
/// this schema (`#[schema(value_type = TimeZoneName)]`), whose `enum` lists
/// exactly the names [`TimeZoneName::parse`] accepts.
pub struct TimeZoneName;

impl TimeZoneName {
    /// Parses a zone name.
    pub fn parse(raw: &str) -> Result<chrono_tz::Tz, String> {
        raw.parse::<chrono_tz::Tz>().map_err(|_| format!("`{raw}` is not an IANA time zone such as Europe/Stockholm"))
    }

    /// Every accepted name.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }
}

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some("An IANA time zone name such as `Europe/Stockholm` (case-sensitive)."))
            .enum_values(Some(Self::names()))
            .into()
    }
}

impl utoipa::ToSchema for TimeZoneName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TimeZoneName")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_name_parses_and_nothing_else() {
        assert!(TimeZoneName::names().all(|name| TimeZoneName::parse(name).is_ok()));
        assert!(TimeZoneName::names().any(|name| name == "Europe/Stockholm"));
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
        assert!(TimeZoneName::parse("europe/stockholm").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }
}
