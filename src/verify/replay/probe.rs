//! Does the target speak HTTP/2? For `http://`, the HTTP/2 connection preface is sent with
//! prior knowledge (h2c) and the answer's first frame is read: no request reaches the
//! application, so the probe leaves no trace behind. For `https://`, one `HEAD` request is sent
//! with ALPN offering `h2` and `http/1.1`, and the negotiated version is read.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::verify::model::Http2Support;

/// How long the probe waits for a connection and for the first answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The HTTP/2 connection preface followed by an empty SETTINGS frame (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

/// Whether the target speaks HTTP/2 (h2c with prior knowledge for `http://`, ALPN for
/// `https://`). `No` carries the reason, reported as a note.
pub async fn probe_http2(target: &str) -> Http2Support {
    let url = match reqwest::Url::parse(target) {
        Ok(url) => url,
        Err(e) => return Http2Support::No(format!("{target} is not a URL ({e})")),
    };
    match url.scheme() {
        "http" => probe_h2c(&url).await,
        "https" => probe_alpn(&url).await,
        other => Http2Support::No(format!("scheme {other} is neither http nor https")),
    }
}

async fn probe_h2c(url: &reqwest::Url) -> Http2Support {
    let Some(host) = url.host_str() else {
        return Http2Support::No(format!("{url} has no host"));
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let connect = tokio::net::TcpStream::connect((host, port));
    let mut stream = match tokio::time::timeout(PROBE_TIMEOUT, connect).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Http2Support::No(format!("cannot connect: {}", super::io_reason(&e))),
        Err(_) => return Http2Support::No(format!("no connection within {PROBE_TIMEOUT:?}")),
    };
    if let Err(e) = stream.write_all(PREFACE).await {
        return Http2Support::No(format!(
            "the HTTP/2 preface could not be sent: {}",
            super::io_reason(&e)
        ));
    }
    let mut head = [0u8; 9];
    let mut read = 0;
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        while read < head.len() {
            match stream.read(&mut head[read..]).await {
                Ok(0) => break,
                Ok(n) => read += n,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })
    .await;
    match answer {
        Err(_) if read == 0 => Http2Support::No(format!(
            "no answer to the HTTP/2 preface within {PROBE_TIMEOUT:?}"
        )),
        Ok(Err(e)) if read == 0 => Http2Support::No(format!(
            "the connection failed after the HTTP/2 preface: {}",
            super::io_reason(&e)
        )),
        _ => judge_first_frame(&head[..read]),
    }
}

/// A server speaking HTTP/2 answers the preface with a SETTINGS frame (type 4, stream 0).
fn judge_first_frame(bytes: &[u8]) -> Http2Support {
    if bytes.len() == 9 && bytes[3] == 0x04 && bytes[5..9] == [0, 0, 0, 0] {
        Http2Support::Yes
    } else if bytes.starts_with(b"HTTP/1") {
        Http2Support::No(
            "the target answered the HTTP/2 preface with HTTP/1.x (h2c not spoken)".to_owned(),
        )
    } else if bytes.is_empty() {
        Http2Support::No(
            "the target closed the connection on the HTTP/2 preface (h2c not spoken)".to_owned(),
        )
    } else {
        Http2Support::No(
            "the target did not answer the HTTP/2 preface with a SETTINGS frame (h2c not spoken)"
                .to_owned(),
        )
    }
}

async fn probe_alpn(url: &reqwest::Url) -> Http2Support {
    let client = match crate::propagation::export::tls::client_builder()
        .timeout(PROBE_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(e) => return Http2Support::No(format!("no HTTPS client: {e}")),
    };
    match client.head(url.clone()).send().await {
        Ok(response) if response.version() == reqwest::Version::HTTP_2 => Http2Support::Yes,
        Ok(response) => Http2Support::No(format!("ALPN chose {:?}, not h2", response.version())),
        Err(e) => Http2Support::No(format!(
            "the HTTPS probe failed: {}",
            super::error_reason(&e)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_frame_decides() {
        let settings = [0, 0, 6, 4, 0, 0, 0, 0, 0];
        assert_eq!(judge_first_frame(&settings), Http2Support::Yes);
        let on_stream_1 = [0, 0, 6, 4, 0, 0, 0, 0, 1];
        assert!(matches!(
            judge_first_frame(&on_stream_1),
            Http2Support::No(_)
        ));
        let goaway = [0, 0, 8, 7, 0, 0, 0, 0, 0];
        assert!(matches!(judge_first_frame(&goaway), Http2Support::No(_)));
        let Http2Support::No(reason) = judge_first_frame(b"HTTP/1.1 400") else {
            panic!("HTTP/1 is not HTTP/2")
        };
        assert!(reason.contains("HTTP/1"), "{reason}");
        assert!(matches!(judge_first_frame(b""), Http2Support::No(_)));
    }
}
