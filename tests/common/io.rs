//! A writer the tests read back, and a scrape of a Prometheus endpoint.

use std::io::{Read as _, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, PoisonError};

/// A `Write` into shared memory: hand a clone to an exporter, read the text after.
#[derive(Clone, Default)]
pub struct Buffer(pub Arc<Mutex<Vec<u8>>>);

impl Buffer {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
        .expect("UTF-8 output")
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The whole HTTP response (status line, headers, body) of `GET /metrics` with `accept`.
pub fn scrape(addr: SocketAddr, accept: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("the endpoint accepts");
    write!(stream, "GET /metrics HTTP/1.0\r\nAccept: {accept}\r\n\r\n").unwrap();
    let mut page = String::new();
    stream.read_to_string(&mut page).unwrap();
    page
}

/// The body of [`scrape`].
pub fn scrape_body(addr: SocketAddr, accept: &str) -> String {
    let page = scrape(addr, accept);
    let (_, body) = page.split_once("\r\n\r\n").expect("an HTTP response");
    body.to_owned()
}
