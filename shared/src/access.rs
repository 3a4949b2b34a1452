//! Access: what a caller may do. The authorization rules over a user's data
//! (`authz`) and over an organisation's (`authz_org`), and the
//! organisations' API keys.

pub mod api_keys;
pub mod authz;
pub mod authz_org;
