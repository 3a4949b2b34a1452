//! The physical layout of the single table, defined once: the adapter
//! creates tables from it (locally and against the emulator), and a test
//! holds `template.yaml` to it.

use super::{Index, PK, SK, TTL};

/// Every key attribute of the table and its indexes (all strings).
pub fn key_attribute_names() -> Vec<&'static str> {
    let mut names = Vec::new();
    for index in Index::ALL {
        let (p, s) = index.key_attributes();
        names.push(p);
        names.push(s);
    }
    names
}

/// The global secondary indexes: (name, partition attribute, sort attribute).
/// Each projects all attributes.
pub fn global_secondary_indexes() -> Vec<(&'static str, &'static str, &'static str)> {
    Index::ALL
        .iter()
        .filter_map(|i| {
            let (p, s) = i.key_attributes();
            i.name().map(|n| (n, p, s))
        })
        .collect()
}

/// Base table key attributes.
pub const PRIMARY_KEY: (&str, &str) = (PK, SK);
/// The TTL attribute (Unix seconds).
pub const TTL_ATTRIBUTE: &str = TTL;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_names_are_pinned() {
        assert_eq!(key_attribute_names(), ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"]);
        assert_eq!(global_secondary_indexes(), [("GSI1", "GSI1PK", "GSI1SK"), ("GSI2", "GSI2PK", "GSI2SK")]);
        assert_eq!(TTL_ATTRIBUTE, "ttl");
    }
}
