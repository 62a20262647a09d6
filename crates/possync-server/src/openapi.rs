//! The OpenAPI document's frame: title, security schemes and tags.
//!
//! Paths are not listed here: every handler carries its own `#[utoipa::path]`
//! and is registered with `utoipa_axum::routes!` in [`crate::api::routes`], which
//! adds it to the router and to this document together.

use crate::auth::TOKEN_COOKIE_NAME;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

/// Names of the security schemes, as operations refer to them.
pub const SECURITY_BEARER: &str = "bearer";
pub const SECURITY_QUERY_TOKEN: &str = "token_query";
pub const SECURITY_COOKIE_TOKEN: &str = "token_cookie";

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "possync",
        description = "Shared draft orders between point-of-sale counters. Every error answer is \
            `{\"error\":{\"code\",\"message\"}}`. Money is in minor units; quantities, discounts and \
            tax rates are decimal strings. Authenticate with a user token (from /api/v1/login) or a \
            terminal token (from POST /api/v1/sessions).",
        license(name = "MIT OR Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Logging in and who the caller is"),
        (name = "configs", description = "POS configurations (counters) and their two-way sync links"),
        (name = "catalog", description = "Products, categories, taxes, customers and payment methods"),
        (name = "users", description = "Staff logins (managers only)"),
        (name = "sessions", description = "Opening, joining and closing a counter's session"),
        (name = "orders", description = "Reading orders visible to a terminal"),
        (name = "reports", description = "The day's numbers: sums of paid orders for the dashboard (managers only)"),
        (name = "stock", description = "A product's stock moves and adjustments by hand (managers only)"),
        (name = "system", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

/// Declares the three ways to send a token and requires one of them by default;
/// public operations (login, health, this document) override it with `security(())`.
#[derive(Debug)]
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("A user token (login) or a terminal token (session)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            SECURITY_QUERY_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("token"))),
        );
        components.add_security_scheme(
            SECURITY_COOKIE_TOKEN,
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(TOKEN_COOKIE_NAME))),
        );
        let no_scopes: [&str; 0] = [];
        openapi.security = Some(vec![
            SecurityRequirement::new(SECURITY_BEARER, no_scopes),
            SecurityRequirement::new(SECURITY_QUERY_TOKEN, no_scopes),
            SecurityRequirement::new(SECURITY_COOKIE_TOKEN, no_scopes),
        ]);
    }
}

/// Operations whose body may be left out: every field of it is optional, and
/// `utoipa` has no attribute to say so (an `Option` body would admit `null`).
pub const OPTIONAL_BODIES: &[(&str, &str)] = &[("post", "/api/v1/sessions/{id}/close")];

/// Marks the bodies of [`OPTIONAL_BODIES`] as not required, once every path is in.
pub fn mark_optional_bodies(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::Required;
    for (method, path) in OPTIONAL_BODIES {
        let Some(item) = document.paths.paths.get_mut(*path) else {
            continue;
        };
        let operation = match *method {
            "post" => item.post.as_mut(),
            "put" => item.put.as_mut(),
            "patch" => item.patch.as_mut(),
            _ => None,
        };
        if let Some(body) = operation.and_then(|operation| operation.request_body.as_mut()) {
            body.required = Some(Required::False);
        }
    }
}
