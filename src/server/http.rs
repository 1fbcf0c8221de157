//! HTTP/1.x over TCP for the wire server, written for hostile input.
//!
//! `httparse` parses the request head into a fixed-size header array; everything around it is
//! here: a byte cap on the head ([`Limits::max_head_bytes`]), a cap on the header count
//! ([`Limits::max_headers`]), a cap on the body ([`Limits::max_body_bytes`], the library's JSON
//! limit), one deadline for a whole request from its first byte ([`Limits::read_timeout`], so a
//! client that dribbles bytes is cut off however slowly it sends them), an idle timeout between
//! kept-alive requests, a write timeout, and a cap on open connections (one thread each).
//! Bodies are framed by `Content-Length` only; a request with `Transfer-Encoding` is answered
//! 411 and the connection closed. A malformed request is answered with a JSON error when one can
//! still be written, and its connection is closed; the server goes on serving everyone else.
//! Requests reach the [`Server`] one at a time, under its mutex.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{Request, Response, Server};

/// The limits every connection is held to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The request line and headers together, in bytes (default 64 KiB).
    pub max_head_bytes: usize,
    /// Headers per request (default 100).
    pub max_headers: usize,
    /// The body, in bytes (default [`crate::json::MAX_JSON_BYTES`], 16 MiB).
    pub max_body_bytes: usize,
    /// The time a whole request (head and body) may take from its first byte, and the write
    /// timeout of a response (default 10 s).
    pub read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request (default 60 s).
    pub idle_timeout: Duration,
    /// Connections open at once; one more is answered 503 and closed (default 64).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_body_bytes: crate::json::MAX_JSON_BYTES,
            read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 64,
        }
    }
}

/// A request that cannot be answered normally: its status, error type and message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Refusal {
    status: u16,
    error_type: &'static str,
    message: String,
}

fn refuse(status: u16, error_type: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error_type,
        message: message.into(),
    }
}

/// Accepts connections on `listener` forever, each on its own thread (at most
/// [`Limits::max_connections`] at once), applying requests to `server` one at a time.
pub fn serve(listener: TcpListener, server: Arc<Mutex<Server>>, limits: Limits) -> io::Result<()> {
    let open = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(stream) => stream,
            Err(_) => {
                // Out of descriptors or a connection reset before accept: breathe, go on.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if open.load(Ordering::SeqCst) >= limits.max_connections {
            let response = lock(&server).refusal_response(&refuse(
                503,
                "ServiceUnavailableException",
                format!(
                    "more than {} connections are open; retry later",
                    limits.max_connections
                ),
            ));
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let mut stream = stream;
            let _ = write_response(&mut stream, &response, false);
            // Briefly, so that the accept loop is not held up by the refused.
            linger_close(&mut stream, Duration::from_millis(200));
            continue;
        }
        open.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(Arc::clone(&open));
        let server = Arc::clone(&server);
        let limits = limits.clone();
        // If the thread cannot be spawned, the closure (and `slot` in it) is dropped, which
        // gives the slot back and closes the connection.
        let _ = std::thread::Builder::new()
            .name("stowplan-connection".to_string())
            .spawn(move || {
                let _slot = slot;
                connection(stream, &server, &limits);
            });
    }
    Ok(())
}

/// One open connection's place in the count; given back on drop.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn lock(server: &Mutex<Server>) -> std::sync::MutexGuard<'_, Server> {
    server.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Server {
    fn refusal_response(&mut self, refusal: &Refusal) -> Response {
        let id = self.next_request_id();
        Response::error(refusal.status, refusal.error_type, &refusal.message, &id)
    }
}

/// Serves one connection until it closes, times out or sends something malformed.
fn connection(mut stream: TcpStream, server: &Mutex<Server>, limits: &Limits) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(limits.read_timeout));
    let mut buffer = Vec::new();
    loop {
        match read_request(&mut stream, &mut buffer, limits) {
            Ok(None) => return,
            Ok(Some((request, keep_alive))) => {
                let response = {
                    let mut state = lock(server);
                    catch_unwind(AssertUnwindSafe(|| state.handle(&request))).unwrap_or_else(|_| {
                        state.refusal_response(&refuse(
                            500,
                            "ServerException",
                            "stowplan panicked on this request; please report it",
                        ))
                    })
                };
                if write_response(&mut stream, &response, keep_alive).is_err() || !keep_alive {
                    let _ = stream.shutdown(Shutdown::Write);
                    return;
                }
            }
            Err(refusal) => {
                let response = lock(server).refusal_response(&refusal);
                let _ = write_response(&mut stream, &response, false);
                linger_close(&mut stream, Duration::from_secs(1));
                return;
            }
        }
    }
}

/// Closes after an error, reading (and dropping) for up to `wait` what the client still sends,
/// so that the kernel does not reset the connection before the client reads the answer.
#[allow(clippy::disallowed_methods)] // socket timeouts, not logical time
fn linger_close(stream: &mut TcpStream, wait: Duration) {
    let _ = stream.shutdown(Shutdown::Write);
    let until = Instant::now() + wait;
    let mut sink = [0u8; 16 * 1024];
    let mut drained = 0usize;
    while drained < 32 * 1024 * 1024 {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(n) => drained += n,
        }
    }
}

/// What one read brought.
enum Got {
    Bytes,
    Closed,
    TimedOut,
}

/// Reads once into `buffer`, waiting at most `timeout`.
fn read_some(stream: &mut TcpStream, buffer: &mut Vec<u8>, timeout: Duration) -> Got {
    if timeout.is_zero() || stream.set_read_timeout(Some(timeout)).is_err() {
        return Got::TimedOut;
    }
    let mut chunk = [0u8; 64 * 1024];
    loop {
        return match stream.read(&mut chunk) {
            Ok(0) => Got::Closed,
            Ok(n) => {
                buffer.extend_from_slice(&chunk[..n]);
                Got::Bytes
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Got::TimedOut
            }
            Err(_) => Got::Closed,
        };
    }
}

/// Where the head ends (just past its blank line), searching from `from`.
fn head_end(buffer: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    let window = buffer.get(start..)?;
    window.windows(2).enumerate().find_map(|(i, pair)| {
        let at = start + i;
        if pair == b"\n\n" {
            Some(at + 2)
        } else if pair == b"\n\r" && buffer.get(at + 2) == Some(&b'\n') {
            Some(at + 3)
        } else {
            None
        }
    })
}

/// The head of a request, owned.
struct Head {
    method: String,
    path: String,
    minor_version: u8,
    headers: Vec<(String, Vec<u8>)>,
    length: usize,
}

/// Reads the next request from the connection: `Ok(None)` when the client closed or went idle
/// between requests, `Err` for a request to refuse (then the connection closes).
#[allow(clippy::disallowed_methods)] // socket deadlines, not logical time
fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    limits: &Limits,
) -> Result<Option<(Request, bool)>, Refusal> {
    // The deadline runs from the request's first byte (bytes already buffered count as now).
    let mut deadline = (!buffer.is_empty()).then(|| Instant::now() + limits.read_timeout);
    let mut scanned = 0;
    let (head, head_len) = loop {
        if let Some(end) = head_end(buffer, scanned) {
            match parse_head(&buffer[..end], limits)? {
                Some(head) => break (head, end),
                // Only blank lines so far (allowed before a request line): skip them.
                None => {
                    buffer.drain(..end);
                    scanned = 0;
                    continue;
                }
            }
        }
        scanned = buffer.len();
        if buffer.len() > limits.max_head_bytes {
            return Err(refuse(
                431,
                "RequestHeaderFieldsTooLargeException",
                format!(
                    "the request line and headers exceed {} bytes",
                    limits.max_head_bytes
                ),
            ));
        }
        let timeout = match deadline {
            None => limits.idle_timeout,
            Some(deadline) => deadline.saturating_duration_since(Instant::now()),
        };
        match read_some(stream, buffer, timeout) {
            Got::Bytes => {
                deadline.get_or_insert_with(|| Instant::now() + limits.read_timeout);
            }
            Got::Closed => return Ok(None),
            Got::TimedOut if deadline.is_none() => return Ok(None),
            Got::TimedOut => return Err(timed_out(limits)),
        }
    };
    if head_len > limits.max_head_bytes {
        return Err(refuse(
            431,
            "RequestHeaderFieldsTooLargeException",
            format!(
                "the request line and headers exceed {} bytes",
                limits.max_head_bytes
            ),
        ));
    }
    let total = head_len + head.length;
    if buffer.len() < total
        && head
            .headers
            .iter()
            .any(|(name, value)| name == "expect" && value.eq_ignore_ascii_case(b"100-continue"))
    {
        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let deadline = deadline.unwrap_or_else(|| Instant::now() + limits.read_timeout);
    buffer.reserve(total.saturating_sub(buffer.len()));
    while buffer.len() < total {
        match read_some(
            stream,
            buffer,
            deadline.saturating_duration_since(Instant::now()),
        ) {
            Got::Bytes => {}
            Got::Closed => return Ok(None),
            Got::TimedOut => return Err(timed_out(limits)),
        }
    }
    let body = buffer[head_len..total].to_vec();
    buffer.drain(..total);
    let keep_alive = keep_alive(&head);
    Ok(Some((
        Request {
            method: head.method,
            path: head.path,
            headers: head.headers,
            body,
        },
        keep_alive,
    )))
}

fn timed_out(limits: &Limits) -> Refusal {
    refuse(
        408,
        "RequestTimeoutException",
        format!(
            "the request did not arrive within {} s",
            limits.read_timeout.as_secs_f64()
        ),
    )
}

/// Parses a complete head (`bytes` ends with its blank line); `Ok(None)` when it is only blank
/// lines.
fn parse_head(bytes: &[u8], limits: &Limits) -> Result<Option<Head>, Refusal> {
    if bytes.iter().all(|b| matches!(b, b'\r' | b'\n')) {
        return Ok(None);
    }
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut parsed = httparse::Request::new(&mut slots);
    match parsed.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(refuse(
                400,
                "BadRequestException",
                "incomplete request head",
            ));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(refuse(
                431,
                "RequestHeaderFieldsTooLargeException",
                format!("more than {} headers", limits.max_headers),
            ));
        }
        Err(err) => {
            return Err(refuse(
                400,
                "BadRequestException",
                format!("malformed HTTP request: {err}"),
            ));
        }
    }
    let method = parsed.method.unwrap_or_default().to_string();
    let target = parsed.path.unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default().to_string();
    let minor_version = parsed.version.unwrap_or(1);
    let headers: Vec<(String, Vec<u8>)> = parsed
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    if headers.iter().any(|(name, _)| name == "transfer-encoding") {
        return Err(refuse(
            411,
            "LengthRequiredException",
            "Transfer-Encoding is not supported: send the body with Content-Length",
        ));
    }
    let mut length: Option<usize> = None;
    for (_, value) in headers.iter().filter(|(name, _)| name == "content-length") {
        let parsed = std::str::from_utf8(value)
            .ok()
            .map(str::trim)
            .filter(|text| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|text| text.parse::<u64>().ok());
        let Some(value) = parsed else {
            return Err(refuse(400, "BadRequestException", "invalid Content-Length"));
        };
        let value = usize::try_from(value).unwrap_or(usize::MAX);
        if length.is_some_and(|seen| seen != value) {
            return Err(refuse(
                400,
                "BadRequestException",
                "conflicting Content-Length headers",
            ));
        }
        length = Some(value);
    }
    let length = length.unwrap_or(0);
    if length > limits.max_body_bytes {
        return Err(refuse(
            413,
            "RequestEntityTooLargeException",
            format!(
                "the body is {length} bytes, more than the limit of {}",
                limits.max_body_bytes
            ),
        ));
    }
    Ok(Some(Head {
        method,
        path,
        minor_version,
        headers,
        length,
    }))
}

/// HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 closes it unless
/// `Connection: keep-alive`.
fn keep_alive(head: &Head) -> bool {
    let tokens: Vec<String> = head
        .headers
        .iter()
        .filter(|(name, _)| name == "connection")
        .flat_map(|(_, value)| {
            String::from_utf8_lossy(value)
                .split(',')
                .map(|token| token.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    if tokens.iter().any(|t| t == "close") {
        false
    } else {
        head.minor_version >= 1 || tokens.iter().any(|t| t == "keep-alive")
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// The bytes of a response: status line, headers, `Content-Length`, `Connection`, body.
pub fn encode_response(response: &Response, keep_alive: bool) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: {}\r\n",
        response.status,
        reason(response.status),
        response.body.len(),
        if keep_alive { "keep-alive" } else { "close" }
    );
    for (name, value) in &response.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&response.body);
    bytes
}

fn write_response(stream: &mut TcpStream, response: &Response, keep_alive: bool) -> io::Result<()> {
    stream.write_all(&encode_response(response, keep_alive))?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_finds_crlf_and_lf_blank_lines() {
        assert_eq!(
            head_end(b"POST / HTTP/1.1\r\nA: b\r\n\r\nbody", 0),
            Some(25)
        );
        assert_eq!(head_end(b"POST / HTTP/1.1\nA: b\n\nbody", 0), Some(22));
        assert_eq!(head_end(b"POST / HTTP/1.1\r\nA: b\r\n", 0), None);
        // Resuming a scan just past where the previous one stopped still finds a split CRLFCRLF.
        let whole = b"POST / HTTP/1.1\r\nA: b\r\n\r\n";
        assert_eq!(head_end(whole, 24), Some(25));
    }

    #[test]
    fn heads_are_checked_for_framing_and_limits() {
        let limits = Limits::default();
        let head = parse_head(b"POST /?x=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n", &limits)
            .unwrap()
            .unwrap();
        assert_eq!((head.path.as_str(), head.length), ("/", 2));
        assert!(keep_alive(&head));
        let status = |bytes: &[u8]| parse_head(bytes, &limits).err().map(|r| r.status);
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Some(411)
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            Some(400)
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Some(400)
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            Some(400)
        );
        assert_eq!(
            status(b"POST / HTTP/1.1\r\nContent-Length: 16777217\r\n\r\n"),
            Some(413)
        );
        assert_eq!(status(b"\x00\x01garbage\r\n\r\n"), Some(400));
        let many: String = (0..101).map(|i| format!("H{i}: v\r\n")).collect();
        assert_eq!(
            status(format!("POST / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Some(431)
        );
        assert!(parse_head(b"\r\n\r\n", &limits).unwrap().is_none());
        let old = parse_head(b"POST / HTTP/1.0\r\n\r\n", &limits)
            .unwrap()
            .unwrap();
        assert!(!keep_alive(&old));
        let closing = parse_head(b"POST / HTTP/1.1\r\nConnection: Close\r\n\r\n", &limits)
            .unwrap()
            .unwrap();
        assert!(!keep_alive(&closing));
    }

    #[test]
    fn responses_carry_length_and_connection() {
        let response = Response::json(200, &serde_json::json!({}), "id-1");
        let text = String::from_utf8(encode_response(&response, true)).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n")
        );
        assert!(text.contains("x-amzn-RequestId: id-1\r\n"));
        assert!(text.ends_with("\r\n\r\n{}"));
    }
}
