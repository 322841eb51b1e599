//! Pagination of the list methods (MCP: utilities, pagination): pages of a
//! configured size and opaque cursors that name the list and where the next
//! page starts. The lists are fixed when the server is built, so a cursor
//! stays valid as long as the server runs.

use std::num::NonZeroUsize;

use crate::jsonrpc::ErrorObject;

/// One page of `items` and the cursor of the next, if any. `list` is the
/// list method, so a cursor of one list is refused by another.
pub(crate) fn page<'a, T>(
    items: &'a [T],
    list: &str,
    size: Option<NonZeroUsize>,
    cursor: Option<&str>,
) -> Result<(&'a [T], Option<String>), ErrorObject> {
    let start = match cursor {
        None => 0,
        Some(cursor) => cursor
            .strip_prefix(list)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|offset| offset.parse::<usize>().ok())
            .filter(|&offset| offset > 0 && offset < items.len() && size.is_some())
            .ok_or_else(|| ErrorObject::invalid_params(format!("invalid cursor for {list}")))?,
    };
    let end = size.map_or(items.len(), |size| {
        start.saturating_add(size.get()).min(items.len())
    });
    let next = (end < items.len()).then(|| format!("{list}:{end}"));
    Ok((&items[start..end], next))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::jsonrpc::ErrorCode;

    #[test]
    fn pages_follow_their_cursors() {
        let items: Vec<u32> = (0..5).collect();
        let size = NonZeroUsize::new(2);
        let (first, next) = page(&items, "tools/list", size, None).unwrap();
        assert_eq!(first, [0, 1]);
        let (second, next) = page(&items, "tools/list", size, next.as_deref()).unwrap();
        assert_eq!(second, [2, 3]);
        let (last, next) = page(&items, "tools/list", size, next.as_deref()).unwrap();
        assert_eq!((last, next), (&[4][..], None));
    }

    #[test]
    fn without_a_size_everything_is_one_page() {
        let items = [1, 2, 3];
        assert_eq!(page(&items, "l", None, None).unwrap(), (&items[..], None));
        assert!(page(&items, "l", None, Some("l:1")).is_err());
    }

    #[test]
    fn bad_cursors_are_invalid_params() {
        let items = [1, 2, 3];
        let size = NonZeroUsize::new(1);
        for bad in ["", "l:0", "l:3", "l:x", "other:1", "l:-1", "l1"] {
            let error = page(&items, "l", size, Some(bad)).unwrap_err();
            assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{bad}");
        }
    }
}
