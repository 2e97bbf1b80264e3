//! An HTTP/1.1 response as read from the connection, parsed
//! (docs/decisions/0004-probe-http-client.md).

/// How much of a response body is read (the kubelet's `maxRespBodyLength`).
pub const MAX_BODY: usize = 10 * 1024;
/// The largest status line and header block accepted.
pub const MAX_HEADERS: usize = 64 * 1024;

/// Why the bytes read are not an HTTP/1.1 response, in the words of Go's
/// `net/http`, which the kubelet's probe messages carry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("EOF: the server closed the connection without a response")]
    Empty,
    #[error("unexpected EOF in the response headers")]
    EndInHeaders,
    #[error("the response headers exceed {MAX_HEADERS} bytes")]
    HeadersTooLarge,
    #[error("malformed HTTP response {0:?}")]
    Malformed(String),
    #[error("malformed HTTP status code in {0:?}")]
    MalformedStatus(String),
    #[error("malformed MIME header line: {0}")]
    MalformedHeader(String),
}

/// A parsed response: status, headers, and the first [`MAX_BODY`] bytes of
/// the (de-chunked) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Where the header block ends (the index just past its blank line).
fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// True once enough of a response was read: the body is complete by its
/// `Content-Length` or its last chunk, or [`MAX_BODY`] bytes of it are
/// there. An error when the headers grow past [`MAX_HEADERS`].
pub(super) fn response_complete(raw: &[u8]) -> Result<bool, ResponseError> {
    let Some(end) = header_end(raw) else {
        return if raw.len() > MAX_HEADERS {
            Err(ResponseError::HeadersTooLarge)
        } else {
            Ok(false)
        };
    };
    let body = &raw[end..];
    if body.len() >= MAX_BODY + 512 {
        return Ok(true);
    }
    let head = parse_head(&raw[..end])?;
    if head.status == 204 || head.status == 304 || (100..200).contains(&head.status) {
        return Ok(true);
    }
    if is_chunked(&head.headers) {
        return Ok(body.windows(5).any(|w| w == b"0\r\n\r\n"));
    }
    match content_length(&head.headers) {
        Some(length) => Ok(body.len() >= length),
        None => Ok(false), // until the server closes
    }
}

struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

fn parse_head(head: &[u8]) -> Result<Head, ResponseError> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(ResponseError::Malformed(status_line.to_owned()));
    }
    let status = parts
        .next()
        .filter(|code| code.len() == 3)
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..1000).contains(code))
        .ok_or_else(|| ResponseError::MalformedStatus(status_line.to_owned()))?;
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ResponseError::MalformedHeader(line.to_owned()))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(Head { status, headers })
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    })
}

fn content_length(headers: &[(String, String)]) -> Option<usize> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
}

/// Parses the bytes of a response as read from the connection (possibly
/// cut after [`MAX_BODY`] bytes of body).
pub fn parse_response(raw: &[u8]) -> Result<Response, ResponseError> {
    if raw.is_empty() {
        return Err(ResponseError::Empty);
    }
    let end = header_end(raw).ok_or(if raw.len() > MAX_HEADERS {
        ResponseError::HeadersTooLarge
    } else {
        ResponseError::EndInHeaders
    })?;
    let head = parse_head(&raw[..end])?;
    let raw_body = &raw[end..];
    let mut body = if is_chunked(&head.headers) {
        dechunk(raw_body)
    } else {
        match content_length(&head.headers) {
            Some(length) => raw_body[..length.min(raw_body.len())].to_vec(),
            None => raw_body.to_vec(),
        }
    };
    body.truncate(MAX_BODY);
    Ok(Response {
        status: head.status,
        headers: head.headers,
        body,
    })
}

/// The data of a chunked body, as far as it goes.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            return body;
        };
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return body;
        };
        if size == 0 {
            return body;
        }
        let data = &raw[eol + 2..];
        let take = size.min(data.len());
        body.extend_from_slice(&data[..take]);
        if take < size || data.len() < size + 2 {
            return body;
        }
        raw = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_with_a_content_length_gives_its_status_headers_and_body() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";
        assert!(response_complete(raw).unwrap());
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("text/html"));
        assert_eq!(response.body, b"hello");
    }

    #[test]
    fn a_response_is_incomplete_until_its_content_length_or_the_close() {
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap());
        assert!(!response_complete(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel").unwrap());
        assert!(!response_complete(b"HTTP/1.0 200 OK\r\n\r\nno length").unwrap());
        assert!(response_complete(b"HTTP/1.1 204 No Content\r\n\r\n").unwrap());
    }

    #[test]
    fn a_chunked_body_is_decoded_and_complete_at_its_last_chunk() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n";
        assert!(response_complete(raw).unwrap());
        assert_eq!(parse_response(raw).unwrap().body, b"hello, world");
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
        assert!(!response_complete(cut).unwrap());
        assert_eq!(parse_response(cut).unwrap().body, b"hel");
    }

    #[test]
    fn a_body_is_cut_at_ten_kib_and_reading_stops_there() {
        let mut raw = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        raw.extend(std::iter::repeat_n(b'x', MAX_BODY + 600));
        assert!(response_complete(&raw).unwrap());
        assert_eq!(parse_response(&raw).unwrap().body.len(), MAX_BODY);
    }

    #[test]
    fn malformed_responses_are_errors() {
        assert!(parse_response(b"").unwrap_err().to_string().contains("EOF"));
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        let huge = vec![b'a'; MAX_HEADERS + 1];
        assert!(response_complete(&huge).is_err());
    }
}
