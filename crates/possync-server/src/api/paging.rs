//! Paged listings (PROTOCOL.md "Paging"): `limit` (default 200, at most 1000)
//! and, when more remain, a `Link: <url>; rel="next"` header (RFC 8288) whose
//! URL fetches the next page. Pages are keyset pages: the next link carries
//! where the page ended (`after=` or `before=`), so no page re-reads the ones
//! before it.

use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use possync_core::{OrderId, Timestamp};
use possync_store::{OrderCursor, PAGE_LIMIT_MAX};
use serde::Serialize;

/// Items per page when the request names no `limit`.
pub const PAGE_LIMIT_DEFAULT: u32 = 200;

/// The `limit` of a request: 1 to [`PAGE_LIMIT_MAX`], [`PAGE_LIMIT_DEFAULT`] when absent.
pub fn page_limit(limit: Option<u32>) -> ApiResult<u32> {
    match limit {
        None => Ok(PAGE_LIMIT_DEFAULT),
        Some(limit) if (1..=PAGE_LIMIT_MAX).contains(&limit) => Ok(limit),
        Some(_) => Err(ApiError::invalid(format!(
            "limit must be 1 to {PAGE_LIMIT_MAX}"
        ))),
    }
}

/// An orders cursor as it travels in a next link: `<created_at ms>.<order uuid>`.
pub fn encode_order_cursor(cursor: OrderCursor) -> String {
    format!("{}.{}", cursor.created_at.unix_millis(), cursor.order_id)
}

pub fn decode_order_cursor(text: &str) -> ApiResult<OrderCursor> {
    let refused = || ApiError::invalid("after: not a cursor from a next link");
    let (millis, order_id) = text.split_once('.').ok_or_else(refused)?;
    let millis: i64 = millis.parse().map_err(|_| refused())?;
    let order_id = uuid::Uuid::parse_str(order_id).map_err(|_| refused())?;
    if millis < 0 {
        return Err(refused());
    }
    Ok(OrderCursor {
        created_at: Timestamp::from_unix_millis(millis),
        order_id: OrderId(order_id),
    })
}

/// `items` fetched with one more than `limit` asked for: the page (at most
/// `limit`), and whether more remain.
pub fn split_page<T>(mut items: Vec<T>, limit: u32) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    (items, more)
}

/// The JSON array of a page, with a next link to `path?query` when there is one.
/// The query is built from plain values (numbers, ids, state names, cursors)
/// that need no escaping.
pub fn page_response<T: Serialize>(
    items: Vec<T>,
    next: Option<(&str, Vec<(&str, String)>)>,
) -> Response {
    let mut response = Json(items).into_response();
    if let Some((path, params)) = next {
        let query: Vec<String> = params
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        let link = format!("<{path}?{}>; rel=\"next\"", query.join("&"));
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded_and_cursors_round_trip() {
        assert_eq!(page_limit(None).unwrap(), 200);
        assert_eq!(page_limit(Some(1)).unwrap(), 1);
        assert_eq!(page_limit(Some(1000)).unwrap(), 1000);
        assert!(page_limit(Some(0)).is_err());
        assert!(page_limit(Some(1001)).is_err());
        let cursor = OrderCursor {
            created_at: Timestamp::from_unix_millis(1_800_000_000_123),
            order_id: OrderId(uuid::Uuid::now_v7()),
        };
        assert_eq!(
            decode_order_cursor(&encode_order_cursor(cursor)).unwrap(),
            cursor
        );
        for bad in [
            "",
            "1",
            "x.y",
            "-1.0190a0b0-0000-7000-8000-000000000000",
            "12.not-a-uuid",
        ] {
            assert!(decode_order_cursor(bad).is_err(), "{bad}");
        }
        assert_eq!(split_page(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(split_page(vec![1, 2], 2), (vec![1, 2], false));
    }
}
