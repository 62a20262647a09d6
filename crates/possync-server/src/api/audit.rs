//! The audit trail of manager actions (links, prices and the rest of the
//! catalog, stock adjustments, configs, users, session closes): who did what,
//! when. Handlers append to it after the change is stored; approvals given at a
//! till (`op.approve`) are written by the store in the op's own transaction.
//! `GET /api/v1/audit` reads it, newest first, a page at a time (managers only).

use super::paging::{page_limit, page_response, split_page};
use crate::auth::ManagerCaller;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::schemas;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use possync_core::User;
use possync_store::AuditNew;
use serde::Deserialize;
use serde_json::Value;

/// Appends one entry for a change already stored. A failure to append is
/// logged, not answered: the change itself happened, and saying it failed
/// would make the caller retry it.
pub async fn record(state: &AppState, by: &User, action: &str, target: String, details: Value) {
    let entry = AuditNew {
        at: state.clock.now(),
        user_id: by.id,
        action,
        target: &target,
        details: &details,
    };
    if let Err(error) = state.store.append_audit(&entry).await {
        tracing::error!(%error, action, %target, user_id = %by.id, "could not append to the audit trail");
    }
}

/// The query of `GET /audit`.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only entries with a lower id (from a next link).
    #[serde(default)]
    pub before: Option<i64>,
}

/// The audit trail of manager actions, newest first, paged (managers only).
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "audit",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000, description = "Entries per page (default 200)"),
        ("before" = Option<i64>, Query, description = "Only entries with a lower id, as given by the `Link` header of the previous page"),
    ),
    responses(
        (status = 200, description = "One page of the trail, newest first", body = Vec<schemas::AuditEntry>,
            headers(("Link" = String, description = "`<url>; rel=\"next\"` when more remain"))),
        (status = 400, description = "A limit out of range or a bad `before`", body = schemas::ErrorBody),
        (status = 401, description = "No or bad token", body = schemas::ErrorBody),
        (status = 403, description = "Not a manager", body = schemas::ErrorBody),
    )
)]
pub async fn list_audit(
    State(state): State<AppState>,
    _manager: ManagerCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Response> {
    let limit = page_limit(query.limit)?;
    let entries = state.store.list_audit_page(query.before, limit + 1).await?;
    let (entries, more) = split_page(entries, limit);
    let next = more
        .then(|| entries.last().map(|entry| entry.id))
        .flatten()
        .map(|id| {
            (
                "/api/v1/audit",
                vec![("limit", limit.to_string()), ("before", id.to_string())],
            )
        });
    Ok(page_response(entries, next))
}
