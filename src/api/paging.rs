//! `maxResults` / `nextToken` pagination, as ECS's List* operations do it.

use super::ApiError;

/// The largest page a List* operation returns (and its default).
pub const MAX_PAGE_SIZE: i32 = 100;

const TOKEN_PREFIX: &str = "stowplan-page-";

/// One page of `items`: at most `max_results` (1–100, default 100) from the position
/// `next_token` names, and the token of the next page when there is one.
///
/// Tokens are opaque to callers; a token this function did not issue is an
/// `InvalidParameterException`.
pub fn paginate<T>(
    items: Vec<T>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let size = max_results.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::new(
            "InvalidParameterException",
            format!("maxResults must be between 1 and {MAX_PAGE_SIZE}."),
        ));
    }
    let start = match next_token {
        None => 0,
        Some(token) => token
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|offset| *offset <= items.len())
            .ok_or_else(|| ApiError::new("InvalidParameterException", "Invalid nextToken."))?,
    };
    let end = (start + size as usize).min(items.len());
    let next = (end < items.len()).then(|| format!("{TOKEN_PREFIX}{end}"));
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (0..7).collect();
        let (first, token) = paginate(items.clone(), Some(3), None).unwrap();
        assert_eq!(first, [0, 1, 2]);
        let (second, token) = paginate(items.clone(), Some(3), token.as_deref()).unwrap();
        assert_eq!(second, [3, 4, 5]);
        let (third, token) = paginate(items.clone(), Some(3), token.as_deref()).unwrap();
        assert_eq!((third, token), (vec![6], None));
        assert!(paginate(items.clone(), Some(0), None).is_err());
        assert!(paginate(items.clone(), Some(101), None).is_err());
        assert!(paginate(items, None, Some("bogus")).is_err());
    }
}
