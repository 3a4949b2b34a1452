use serde::{Deserialize, Serialize};

/// A membership role within one organisation, most powerful first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Owns the organisation; at least one always exists.
    Owner,
    /// Administers the organisation.
    Admin,
    /// Plans for the members they are linked to.
    Planner,
    /// A person the organisation plans for.
    Member,
    /// Limited, read-mostly access.
    Guest,
}

impl Role {
    /// The stored / wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Planner => "planner",
            Role::Member => "member",
            Role::Guest => "guest",
        }
    }

    /// Parses a stored / wire name.
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "planner" => Role::Planner,
            "member" => Role::Member,
            "guest" => Role::Guest,
            _ => return None,
        })
    }

    /// Owners and admins administer the organisation.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for role in [Role::Owner, Role::Admin, Role::Planner, Role::Member, Role::Guest] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert_eq!(Role::parse("root"), None);
    }
}
