//! Serving a router in AWS Lambda behind an API Gateway HTTP API. The client
//! IP and request id come from API Gateway's request context, which only it
//! can set, rather than from client-controlled headers.

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

use crate::audit::ClientIp;
use crate::state::{AppState, LambdaAdapters};

async fn from_request_context(mut req: Request, next: Next) -> Response {
    let context = req.request_context_ref().and_then(|ctx| match ctx {
        RequestContext::ApiGatewayV2(ctx) => Some((ctx.http.source_ip.clone(), ctx.request_id.clone())),
        _ => None,
    });
    if let Some((ip, request_id)) = context {
        if let Some(ip) = ip {
            req.extensions_mut().insert(ClientIp(ip));
        }
        if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
            req.headers_mut().insert("x-request-id", id);
        }
    }
    next.run(req).await
}

/// Adds API Gateway's source IP and request id to each request.
pub fn with_request_context(router: Router) -> Router {
    router.layer(middleware::from_fn(from_request_context))
}

/// The state a function runs on. Deployed: the AWS adapters configured
/// from the Lambda environment ([`AppState::from_lambda_env`]): the table,
/// the signing keys, and what `adapters` adds (`|aws| aws.with_mail()`), so
/// each binary links only the AWS clients it uses. Built with the `dev`
/// feature (as `cargo lambda watch` builds the functions): the devserver's
/// embedded adapters over its data directory ([`crate::dev::function_state`]),
/// all of them, no AWS account needed.
pub async fn state(adapters: impl FnOnce(LambdaAdapters) -> LambdaAdapters) -> anyhow::Result<AppState> {
    #[cfg(feature = "dev")]
    {
        let _ = adapters;
        crate::dev::function_state(&crate::config::DevConfig::from_env())
    }
    #[cfg(not(feature = "dev"))]
    {
        AppState::from_lambda_env(adapters).await
    }
}

/// Serves `router` as this Lambda function's handler.
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(with_request_context(router)).await
}
