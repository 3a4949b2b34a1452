//! The `auth` resource group: sessions and credentials. This library holds
//! the router so the Lambda, the devserver and the tests mount exactly the
//! code that ships.

mod email;
mod mfa;
mod password;
mod sessions;
mod tokens;

use shared::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The group's routes, documented.
pub fn api() -> OpenApiRouter<AppState> {
    // Every route of the group, one line per path (grep a path to find its
    // handlers); the openapi test checks these comments against the document.
    OpenApiRouter::new()
        // POST /v1/auth/cookie
        .routes(routes!(sessions::create_cookie_session))
        // GET POST DELETE /v1/auth/email-change
        .routes(routes!(email::get_email_change, email::request_email_change, email::cancel_email_change))
        // POST /v1/auth/email-change/confirm
        .routes(routes!(email::confirm_email_change))
        // POST /v1/auth/logout
        .routes(routes!(sessions::end_current_session))
        // POST /v1/auth/logout-all
        .routes(routes!(sessions::end_all_sessions))
        // GET /v1/auth/mfa
        .routes(routes!(mfa::get_mfa))
        // POST /v1/auth/mfa/backup-codes
        .routes(routes!(mfa::create_backup_codes))
        // POST /v1/auth/mfa/totp
        .routes(routes!(mfa::create_totp))
        // POST /v1/auth/mfa/totp/disable
        .routes(routes!(mfa::disable_totp))
        // POST /v1/auth/mfa/totp/enable
        .routes(routes!(mfa::enable_totp))
        // PUT /v1/auth/password
        .routes(routes!(password::change_password))
        // POST PUT /v1/auth/password-reset
        .routes(routes!(password::request_password_reset, password::complete_password_reset))
        // GET /v1/auth/password-reset/{token}
        .routes(routes!(password::check_password_reset))
        // POST /v1/auth/refresh
        .routes(routes!(sessions::refresh_token))
        // GET /v1/auth/sessions
        .routes(routes!(sessions::list_sessions))
        // DELETE /v1/auth/sessions/{id}
        .routes(routes!(sessions::delete_session))
        // POST /v1/auth/token
        .routes(routes!(sessions::create_token))
        // GET POST /v1/auth/tokens
        .routes(routes!(tokens::list_personal_tokens, tokens::create_personal_token))
        // DELETE /v1/auth/tokens/{id}
        .routes(routes!(tokens::delete_personal_token))
        // POST /v1/auth/verify-email
        .routes(routes!(email::verify_email))
        // POST /v1/auth/verify-email/resend
        .routes(routes!(email::resend_verification))
}

/// The servable router of this group.
pub fn router(state: AppState) -> axum::Router {
    shared::http::app(api(), state)
}
