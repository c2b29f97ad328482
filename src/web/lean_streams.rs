//! Event streams served without hyper's per-connection buffers.
//!
//! An idle event stream served through poem's server cost the process about 20 KiB before the
//! stream's own state (measured with a raw client holding `/healthz` connections open): hyper
//! 1.x gives every HTTP/1 connection an 8 KiB read buffer and an 8 KiB header buffer, which it
//! does not let anyone make smaller, and poem adds its connection task around them. Every open
//! vendor page holds a stream, so that cost is paid per page, all day.
//!
//! So the listener looks at each new connection's first request before anyone reads it
//! (`peek`, which leaves the bytes where they are): a plain HTTP/1.1 `GET` of an event stream
//! is answered here, by the same endpoint (every middleware, the session, the security
//! headers), its body written to the socket one event at a time as a chunk, the connection
//! closed when the stream ends (`Connection: close`). Every other connection goes to poem's
//! server untouched, and a stream asked for later on a kept-alive connection is served there as
//! before. Anything this module does not fully understand (a body, an upgrade, a head that does
//! not parse or keeps coming) is left to hyper.
//!
//! What an idle stream keeps is small on purpose (profiled with `--features dhat-heap`, README):
//! the connection's task holds neither the request's handling (boxed, freed once the response
//! is there) nor the response's head once written, and the body ([`event_stream`]) is the events
//! themselves, without the 4 KiB read buffer poem's `SSE` puts between them and the socket.

use std::{
    io::{self, Write as _},
    net::SocketAddr,
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use poem::{
    Addr, Body, Endpoint, Request, RequestParts, Response,
    http::{self, HeaderName, HeaderValue, Method, Version, header, uri::Scheme},
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr, headers::HeaderMapExt as _, sse::Event},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

/// The event streams' routes: a vendor page's stream and a public tracking page's.
pub fn is_event_stream(path: &str) -> bool {
    path == "/partners/notifications/stream/"
        || path
            .strip_prefix("/t/")
            .and_then(|rest| rest.strip_suffix("/stream/"))
            .is_some_and(|token| !token.is_empty() && !token.contains('/'))
}

/// A server-sent-event response: each event written as it comes, and a comment line after
/// `keep_alive` of silence so that proxies and phones keep the connection. The bytes are poem's
/// `SSE`'s (same events, same headers), without its 4 KiB read buffer held for the stream's life.
pub fn event_stream(events: impl Stream<Item = Event> + Send + 'static, keep_alive: Duration) -> Response {
    let mut events = events.boxed();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + keep_alive, keep_alive);
    let body = futures_util::stream::poll_fn(move |cx| {
        if let std::task::Poll::Ready(event) = events.poll_next_unpin(cx) {
            return std::task::Poll::Ready(event.map(|e| Ok::<_, io::Error>(Bytes::from(e.to_string()))));
        }
        tick.poll_tick(cx).map(|_| Some(Ok(Bytes::from_static(b":\n\n"))))
    });
    Response::builder()
        .content_type("text/event-stream")
        .header("x-accel-buffering", "no")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_bytes_stream(body))
}

/// The largest request head looked at; a bigger one is hyper's to answer (or refuse).
const MAX_HEAD: usize = 8 * 1024;
/// What is looked at first: enough for most request lines, and for a stream's whole head.
const FIRST_LOOK: usize = 1024;
/// How long a request head that arrives in pieces is waited for before hyper is given it.
const HEAD_PATIENCE: Duration = Duration::from_secs(5);

/// poem's acceptor for the listener, serving first-request event streams itself.
pub struct StreamsFirst {
    handed_on: mpsc::Receiver<(TcpStream, SocketAddr)>,
    local: LocalAddr,
}

impl StreamsFirst {
    /// Accept on `listener`; event streams are answered by `ep`, the rest handed to poem.
    /// Accepting stops when the acceptor is dropped (poem drops it when it stops serving).
    pub fn new<E>(listener: TcpListener, ep: Arc<E>) -> io::Result<StreamsFirst>
    where
        E: Endpoint<Output = Response> + 'static,
    {
        let local_addr = listener.local_addr()?;
        let (hand_on, handed_on) = mpsc::channel(64);
        tokio::spawn(accept_loop(listener, local_addr, ep, hand_on));
        Ok(StreamsFirst { handed_on, local: LocalAddr(Addr::SocketAddr(local_addr)) })
    }
}

impl Acceptor for StreamsFirst {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        vec![self.local.clone()]
    }

    async fn accept(&mut self) -> io::Result<(TcpStream, LocalAddr, RemoteAddr, Scheme)> {
        match self.handed_on.recv().await {
            Some((socket, remote)) => Ok((socket, self.local.clone(), RemoteAddr(Addr::SocketAddr(remote)), Scheme::HTTP)),
            None => Err(io::Error::new(io::ErrorKind::NotConnected, "the listener stopped")),
        }
    }
}

async fn accept_loop<E>(listener: TcpListener, local: SocketAddr, ep: Arc<E>, hand_on: mpsc::Sender<(TcpStream, SocketAddr)>)
where
    E: Endpoint<Output = Response> + 'static,
{
    loop {
        let accepted = tokio::select! {
            _ = hand_on.closed() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, remote)) => {
                let (ep, hand_on) = (ep.clone(), hand_on.clone());
                tokio::spawn(async move {
                    if let Some(socket) = serve_if_stream(socket, local, remote, &*ep).await {
                        let _ = hand_on.send((socket, remote)).await;
                    }
                });
            }
            // Out of file descriptors, or a connection reset before it was accepted: the
            // listener is fine, wait a moment instead of spinning on the error.
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serve the connection here if its first request is an event stream; otherwise give it back,
/// nothing read from it.
async fn serve_if_stream<E>(socket: TcpStream, local: SocketAddr, remote: SocketAddr, ep: &E) -> Option<TcpStream>
where
    E: Endpoint<Output = Response>,
{
    // Boxed, here and below: what a future holds while it waits sizes the connection's task for
    // its whole life, and an idle stream's task waits only on its body.
    let (req, head_len) = match Box::pin(peek_stream_request(&socket, local, remote)).await {
        Some(found) => found,
        None => return Some(socket),
    };
    // The head is in the socket's buffer: take it off (the bytes just parsed).
    if discard(&socket, head_len).await.is_err() {
        return None;
    }
    let _ = socket.set_nodelay(true);
    let resp = Box::pin(ep.get_response(req)).await;
    let _ = respond(&socket, resp).await;
    None
}

/// Look at the connection's first request without reading it: the request (and its head's
/// length) when it is a plain HTTP/1.1 `GET` of an event stream, `None` for anything else.
async fn peek_stream_request(socket: &TcpStream, local: SocketAddr, remote: SocketAddr) -> Option<(Request, usize)> {
    // A connection opened ahead of its first request (browsers do) costs nothing until it speaks,
    // and most are decided on a request line that fits in a small look.
    socket.readable().await.ok()?;
    let mut buf = vec![0u8; FIRST_LOOK];
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        let n = socket.peek(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        let seen = &buf[..n];
        // Decided on the request line alone as soon as it is in: most connections are not streams.
        if let Some(line_end) = seen.iter().position(|&b| b == b'\n')
            && !stream_request_line(&seen[..line_end])
        {
            return None;
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(seen) {
            Ok(httparse::Status::Complete(len)) => return stream_request(&parsed, local, remote).map(|req| (req, len)),
            // A stream's head longer than the first look: look at all of what is there.
            Ok(httparse::Status::Partial) if n == buf.len() && buf.len() < MAX_HEAD => buf.resize(MAX_HEAD, 0),
            Ok(httparse::Status::Partial) if n < MAX_HEAD && started.elapsed() < HEAD_PATIENCE => {
                // More of the head is on its way (a slow network splits it): look again shortly.
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            _ => return None,
        }
    }
}

fn stream_request_line(line: &[u8]) -> bool {
    let mut parts = line.strip_suffix(b"\r").unwrap_or(line).split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let path = target.split(|&b| b == b'?').next().unwrap_or(target);
    method == b"GET" && version == b"HTTP/1.1" && std::str::from_utf8(path).is_ok_and(is_event_stream)
}

/// The poem request for a parsed head, if it is one to serve here: no body, no upgrade, no
/// `Expect`, every header well formed.
fn stream_request(parsed: &httparse::Request<'_, '_>, local: SocketAddr, remote: SocketAddr) -> Option<Request> {
    if parsed.method != Some("GET") || parsed.version != Some(1) {
        return None;
    }
    let mut head = http::Request::builder().method(Method::GET).version(Version::HTTP_11).uri(parsed.path?);
    let headers = head.headers_mut()?;
    for h in parsed.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(h.value).ok()?;
        let bodyless = match name {
            header::CONTENT_LENGTH => value == "0",
            header::TRANSFER_ENCODING | header::UPGRADE | header::EXPECT => false,
            _ => true,
        };
        if !bodyless {
            return None;
        }
        headers.append(name, value);
    }
    let (parts, ()) = head.body(()).ok()?.into_parts();
    let parts = RequestParts::from((parts, LocalAddr(Addr::SocketAddr(local)), RemoteAddr(Addr::SocketAddr(remote)), Scheme::HTTP));
    Some(Request::from_parts(parts, poem::Body::empty()))
}

/// Write `resp` to the socket: its head, then its body chunk by chunk as it comes, until the
/// body ends, fails, or the client goes away.
async fn respond(socket: &TcpStream, resp: Response) -> io::Result<()> {
    let (parts, body) = resp.into_parts();
    let status = parts.status;
    let has_body = !(status.is_informational() || status == http::StatusCode::NO_CONTENT || status == http::StatusCode::NOT_MODIFIED);
    let head = head(parts, has_body)?;
    send(socket, &head).await?;
    drop(head);
    if !has_body {
        return Ok(());
    }
    let mut chunks = body.into_bytes_stream();
    let gone = client_gone(socket);
    tokio::pin!(gone);
    loop {
        tokio::select! {
            biased;
            next = chunks.next() => match next {
                Some(Ok(bytes)) if bytes.is_empty() => {}
                Some(Ok(bytes)) => {
                    let mut chunk = Vec::with_capacity(bytes.len() + 12);
                    write!(chunk, "{:x}\r\n", bytes.len())?;
                    chunk.extend_from_slice(&bytes);
                    chunk.extend_from_slice(b"\r\n");
                    send(socket, &chunk).await?;
                }
                // A body that fails ends without its last chunk: the client sees it cut short.
                Some(Err(e)) => return Err(e),
                None => return send(socket, b"0\r\n\r\n").await,
            },
            () = &mut gone => return Ok(()),
        }
    }
}

/// The response's head, as bytes (the response's headers are not kept past it).
fn head(parts: poem::ResponseParts, has_body: bool) -> io::Result<Vec<u8>> {
    let status = parts.status;
    let mut head = Vec::with_capacity(512);
    write!(head, "HTTP/1.1 {} {}\r\n", status.as_str(), status.canonical_reason().unwrap_or(""))?;
    let mut headers = parts.headers;
    for hop in [header::CONNECTION, header::TRANSFER_ENCODING, header::CONTENT_LENGTH, HeaderName::from_static("keep-alive")] {
        headers.remove(hop);
    }
    if !headers.contains_key(header::DATE) {
        headers.typed_insert(poem::web::headers::Date::from(std::time::SystemTime::now()));
    }
    for (name, value) in &headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if has_body {
        head.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    Ok(head)
}

/// Resolves when the client closes its side of the connection (or it breaks). Anything it
/// sends after its request is read and ignored: this connection closes after the stream.
async fn client_gone(socket: &TcpStream) {
    let mut scratch = [0u8; 64];
    loop {
        if socket.readable().await.is_err() {
            return;
        }
        match socket.try_read(&mut scratch) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// Read and drop `n` bytes.
async fn discard(socket: &TcpStream, mut n: usize) -> io::Result<()> {
    let mut scratch = vec![0u8; n.min(MAX_HEAD)];
    while n > 0 {
        socket.readable().await?;
        match socket.try_read(&mut scratch[..n.min(MAX_HEAD)]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(read) => n -= read,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn send(socket: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        socket.writable().await?;
        match socket.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_stream_routes_only() {
        assert!(is_event_stream("/partners/notifications/stream/"));
        assert!(is_event_stream("/t/Ab3_x/stream/"));
        assert!(!is_event_stream("/t//stream/"));
        assert!(!is_event_stream("/t/a/b/stream/"));
        assert!(!is_event_stream("/partners/notifications/"));
        assert!(stream_request_line(b"GET /partners/notifications/stream/?x=1 HTTP/1.1\r"));
        assert!(!stream_request_line(b"GET /partners/notifications/stream/ HTTP/1.0\r"));
        assert!(!stream_request_line(b"POST /partners/notifications/stream/ HTTP/1.1\r"));
        assert!(!stream_request_line(b"GET /healthz HTTP/1.1\r"));
    }
}
