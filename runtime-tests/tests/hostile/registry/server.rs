//! A hostile OCI distribution registry on loopback, written by hand: plain
//! std `TcpListener`, one thread per connection, `Connection: close` on
//! every answer. Each test gives it a handler that answers by the request
//! line; the helpers below stream huge bodies without ever holding them,
//! or trickle bytes. It counts what it managed to send, which bounds what
//! the client received.
//!
//! Dropping the server stops it: the accept loop and every connection
//! thread see the stop flag within a fraction of a second and are joined.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET /v2/ HTTP/1.1`.
    pub line: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The path, with its query.
    pub fn path(&self) -> &str {
        self.line.split(' ').nth(1).unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The connection a handler answers on: counts the bytes written, stops
/// when the server does.
pub struct Conn {
    stream: TcpStream,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

type Handler = dyn Fn(&Request, &mut Conn) -> io::Result<()> + Send + Sync;

pub struct HostileRegistry {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    requests: Arc<Mutex<Vec<Request>>>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: Option<JoinHandle<()>>,
}

impl HostileRegistry {
    pub fn start(
        handler: impl Fn(&Request, &mut Conn) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("its address");
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let threads: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let accept = {
            let (stop, sent, requests, threads) = (
                stop.clone(),
                sent.clone(),
                requests.clone(),
                threads.clone(),
            );
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (stop, sent, requests, handler) = (
                        stop.clone(),
                        sent.clone(),
                        requests.clone(),
                        handler.clone(),
                    );
                    let thread = std::thread::spawn(move || {
                        let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                        let Some(request) = read_request(&stream) else {
                            return;
                        };
                        requests.lock().expect("requests").push(request.clone());
                        let mut conn = Conn { stream, sent, stop };
                        let _ = handler(&request, &mut conn);
                    });
                    threads.lock().expect("threads").push(thread);
                }
            })
        };
        HostileRegistry {
            addr,
            stop,
            sent,
            requests,
            threads,
            accept: Some(accept),
        }
    }

    /// `127.0.0.1:<port>`, as an image name's registry.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Bytes written to clients so far (headers and bodies).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests").clone()
    }
}

impl Drop for HostileRegistry {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for thread in self.threads.lock().expect("threads").drain(..) {
            let _ = thread.join();
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    Some(Request {
        line: line.trim_end().to_owned(),
        headers,
    })
}

impl Conn {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(io::Error::other("the server stops"));
        }
        self.stream.write_all(bytes)?;
        self.sent.fetch_add(bytes.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    /// The status line and headers (`Connection: close` added).
    pub fn head(&mut self, status: &str, headers: &[(&str, String)]) -> io::Result<()> {
        let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        self.write(head.as_bytes())
    }

    /// A whole small answer.
    pub fn respond(&mut self, status: &str, content_type: &str, body: &[u8]) -> io::Result<()> {
        self.head(
            status,
            &[
                ("Content-Type", content_type.to_owned()),
                ("Content-Length", body.len().to_string()),
            ],
        )?;
        self.write(body)
    }

    /// `prefix`, then `total` bytes of `fill` in 64 KiB writes, with no
    /// `Content-Length` (the body ends when the connection does): the
    /// client cannot know the size in advance. Never held in memory.
    pub fn stream_huge(
        &mut self,
        content_type: &str,
        prefix: &[u8],
        fill: u8,
        total: u64,
    ) -> io::Result<()> {
        self.head("200 OK", &[("Content-Type", content_type.to_owned())])?;
        self.write(prefix)?;
        let chunk = vec![fill; 64 << 10];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            self.write(&chunk[..n])?;
            left -= n as u64;
        }
        Ok(())
    }

    /// A status line, then one byte of an endless header every `every`,
    /// for at most `limit`: the answer's headers never end.
    pub fn trickle_headers(&mut self, every: Duration, limit: Duration) -> io::Result<()> {
        self.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")?;
        let start = Instant::now();
        while start.elapsed() < limit {
            self.write(b"a")?;
            std::thread::sleep(every);
        }
        Ok(())
    }

    /// One byte of `body` every `every`, for at most `limit` (then the
    /// connection closes).
    pub fn trickle(
        &mut self,
        content_type: &str,
        body: &[u8],
        every: Duration,
        limit: Duration,
    ) -> io::Result<()> {
        self.head("200 OK", &[("Content-Type", content_type.to_owned())])?;
        let start = Instant::now();
        for byte in body.iter().cycle() {
            if start.elapsed() > limit {
                return Ok(());
            }
            self.write(&[*byte])?;
            std::thread::sleep(every);
        }
        Ok(())
    }
}
