//! TOTP (RFC 6238) second factor and backup codes. (Owned by the MFA work
//! of the identity issue; `check_second_factor` is called by sign-in.)

use crate::error::ApiError;
use crate::repo::users::UserRecord;
use crate::state::AppState;

/// Checks the second factor at sign-in: `Ok` when MFA is off; `mfa_required`
/// when on and no code was given; `unauthenticated` for a wrong, replayed or
/// used-up code. A TOTP code or a backup code is accepted (each works once).
pub async fn check_second_factor(state: &AppState, user: &UserRecord, code: Option<&str>) -> Result<(), ApiError> {
    let _ = (state, code);
    if !user.mfa_enabled {
        return Ok(());
    }
    Err(ApiError::Internal(anyhow::anyhow!("mfa::check_second_factor is not implemented yet")))
}
