//! An answer's body, read chunk by chunk up to a limit: a longer body is
//! never held whole.

use bytes::Bytes;

/// The body of `response` in one buffer, or None when it is longer than
/// `limit` bytes: reading stops there.
pub(super) async fn read_at_most(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0;
    while let Some(chunk) = response.chunk().await? {
        len += chunk.len();
        if len > limit {
            return Ok(None);
        }
        chunks.push(chunk);
    }
    // Joined once the length is known: no copy as a buffer grows, and
    // each chunk is freed once copied.
    let mut body = Vec::with_capacity(len);
    for chunk in chunks {
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// At most the first `limit` bytes of the body of `response`.
pub(super) async fn read_start(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut start = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        start.extend_from_slice(&chunk[..chunk.len().min(limit - start.len())]);
        if start.len() == limit {
            break;
        }
    }
    Ok(start)
}
