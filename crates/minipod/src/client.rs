//! A small, blocking HTTP/1.1 client for the daemon's API on its unix socket.
//!
//! The CLI sends one request per connection (`Connection: close`) and reads
//! the response, streaming it when the server streams (`watch`, `logs -f`:
//! chunked transfer encoding). It is written here rather than taken from a
//! crate because the CLI needs so little of HTTP, and a small CLI binary is
//! a small pod monitor (the monitor is this binary too).

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// The daemon's unix socket when nothing else is said.
pub const DEFAULT_SOCKET: &str = "/run/minipod/minipodd.sock";

/// Talks to the daemon.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
}

/// A response whose body has not been read yet.
pub struct Response {
    pub status: u16,
    body: Body,
}

enum Body {
    Length(std::io::Take<BufReader<UnixStream>>),
    Chunked(Chunked),
    UntilClose(BufReader<UnixStream>),
}

impl Client {
    pub fn new(socket: &Path) -> Self {
        Self {
            socket: socket.to_owned(),
        }
    }

    /// Sends `method path` with an optional JSON body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        content_type: &str,
    ) -> Result<Response> {
        let mut stream = self.connect()?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: minipod\r\nAccept: application/json\r\nConnection: close\r\n"
        );
        if let Some(body) = body {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        if let Some(body) = body {
            stream.write_all(body)?;
        }
        read_response(BufReader::new(stream))
    }

    /// A new connection to the daemon's socket (each request has its own;
    /// `exec` upgrades one to a websocket).
    pub fn connect(&self) -> Result<UnixStream> {
        UnixStream::connect(&self.socket).with_context(|| {
            format!(
                "cannot reach minipodd at {} (is it running? `minipodd` starts it)",
                self.socket.display()
            )
        })
    }

    pub fn get(&self, path: &str) -> Result<Response> {
        self.request("GET", path, None, "")
    }

    /// GET and parse JSON, turning a Kubernetes `Status` error into an error.
    pub fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.get(path)?.json()
    }
}

impl Response {
    /// The whole body.
    pub fn bytes(self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.into_reader().read_to_end(&mut out)?;
        Ok(out)
    }

    /// The body as JSON; a non-2xx answer is an error with the Status
    /// message, as kubectl prints it (`Error from server (NotFound): ...`).
    pub fn json(self) -> Result<serde_json::Value> {
        let status = self.status;
        let bytes = self.bytes()?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| {
            format!("the daemon answered {status} with a body that is not JSON")
        })?;
        if !(200..300).contains(&status) {
            bail!("{}", status_error(&value, status));
        }
        Ok(value)
    }

    /// The body as a reader (streams for as long as the server sends).
    pub fn into_reader(self) -> Box<dyn Read> {
        match self.body {
            Body::Length(r) => Box::new(r),
            Body::Chunked(c) => Box::new(c),
            Body::UntilClose(r) => Box::new(r),
        }
    }
}

/// `Error from server (Reason): message`, kubectl's line for a Status.
pub fn status_error(value: &serde_json::Value, code: u16) -> String {
    let reason = value["reason"].as_str().unwrap_or("");
    let message = value["message"].as_str().unwrap_or("");
    if reason.is_empty() {
        format!("Error from server ({code}): {message}")
    } else {
        format!("Error from server ({reason}): {message}")
    }
}

fn read_response(mut reader: BufReader<UnixStream>) -> Result<Response> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP response: {line:?}"))?;
    let (mut length, mut chunked) = (None, false);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<u64>().ok(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let body = if chunked {
        Body::Chunked(Chunked {
            reader,
            left: 0,
            done: false,
        })
    } else if let Some(length) = length {
        Body::Length(reader.take(length))
    } else {
        Body::UntilClose(reader)
    };
    Ok(Response { status, body })
}

/// A chunked transfer-encoded body, decoded as it arrives.
struct Chunked {
    reader: BufReader<UnixStream>,
    left: usize,
    done: bool,
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                self.done = true;
                return Ok(0);
            }
            if line.trim().is_empty() {
                // The CRLF after the previous chunk.
                line.clear();
                if self.reader.read_line(&mut line)? == 0 {
                    self.done = true;
                    return Ok(0);
                }
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = usize::from_str_radix(size, 16).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunk size")
            })?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let n = self.reader.read(&mut buf[..want])?;
        if n == 0 {
            self.done = true;
        }
        self.left -= n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    fn serve_once(response: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let response = response.to_vec();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let listener = UnixListener::bind(&path).unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            stream.write_all(&response).unwrap();
        });
        (dir, path)
    }

    #[test]
    fn a_sized_json_body_is_read() {
        let (_dir, path) = serve_once(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"a\": true}",
        );
        let value = Client::new(&path).get_json("/api").unwrap();
        assert_eq!(value["a"], true);
    }

    #[test]
    fn a_chunked_body_is_decoded() {
        let (_dir, path) =
            serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
        let body = Client::new(&path).get("/x").unwrap().bytes().unwrap();
        assert_eq!(body, b"hello world");
    }

    #[test]
    fn a_status_error_reads_as_kubectl_prints_it() {
        let body = r#"{"kind":"Status","reason":"NotFound","message":"pods \"web\" not found","code":404}"#;
        let response = format!(
            "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (_dir, path) = serve_once(response.as_bytes());
        let error = Client::new(&path).get_json("/api/v1/namespaces/default/pods/web");
        assert_eq!(
            error.unwrap_err().to_string(),
            "Error from server (NotFound): pods \"web\" not found"
        );
    }
}
