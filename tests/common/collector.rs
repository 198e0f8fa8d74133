//! `tracegate collect` run as a user runs it, for the web UI tests (`collect_ui.rs`,
//! `collect_ui_chromium.rs`): started on a free loopback port, the fixture traces posted over
//! OTLP/HTTP, plain HTTP/1.1 requests with a timeout. Included with `#[path]`.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;

/// Real traces of the Python platform (`tests/peers/pyplatform/captured`), as OTLP JSON.
pub const FIXTURES: [&str; 5] = [
    "all-instrumented.json",
    "flaky-pricing-retried.json",
    "incoming-traceparent.json",
    "uninstrumented-catalog-gateway.json",
    "uninstrumented-catalog-stock.json",
];
/// Their trace IDs, in the same order.
pub const IDS: [&str; 5] = [
    "36749bbcbfb100a3a99cd41323b12882",
    "9cb2eeca4a752d9c885d0b2aa1a7a2fe",
    "4bf92f3577b34da6a3ce929d0e0e4736",
    "807a63bb2a88a4c36ff6fddf9a69c3c9",
    "1afdcbcb305b1e808a4802b018f77179",
];

/// A running `tracegate collect`, killed when dropped.
pub struct Collect {
    child: Child,
    /// `127.0.0.1:PORT` of OTLP/HTTP (and the UI).
    pub addr: String,
    /// Every line printed up to the last address line.
    pub startup: Vec<String>,
}

impl Drop for Collect {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Collect {
    /// `collect --otlp-http 127.0.0.1:0 --no-grpc` plus `extra`, once it listens.
    pub fn start(extra: &[&str]) -> Collect {
        let mut child = Command::cargo_bin("tracegate")
            .unwrap()
            .args(["collect", "--otlp-http", "127.0.0.1:0", "--no-grpc"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // read to the end: collect stops once its output cannot be written
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut collect = Collect {
            child,
            addr: String::new(),
            startup: Vec::new(),
        };
        let ui = !extra.windows(2).any(|w| w == ["--ui", "false"]);
        loop {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("collect printed where it listens");
            if let Some(rest) = line.strip_prefix("OTLP/HTTP listening on http://") {
                collect.addr = rest.split_whitespace().next().unwrap().to_owned();
            }
            let done = if ui {
                line.starts_with("web UI: ")
            } else {
                !collect.addr.is_empty()
            };
            collect.startup.push(line);
            if done {
                break;
            }
        }
        collect
    }

    /// Post every fixture over OTLP/HTTP (JSON); each must be accepted.
    pub fn post_fixtures(&self) {
        for name in FIXTURES {
            let body = std::fs::read(format!(
                "{}/tests/peers/pyplatform/captured/{name}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let answer = self.request("POST", "/v1/traces", Some(("application/json", &body)));
            assert_eq!(answer.status, 200, "{name}: {}", answer.body);
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, None)
    }

    /// One HTTP/1.1 request on a new connection, 10 s timeouts.
    pub fn request(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Answer {
        self.request_to(&self.addr, method, path, body)
    }

    /// [`Collect::request`] with this `Host` header, as a browser sends after DNS rebinding.
    pub fn request_to(
        &self,
        host: &str,
        method: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> Answer {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
        if let Some((content_type, bytes)) = body {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                bytes.len()
            ));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        if let Some((_, bytes)) = body {
            stream.write_all(bytes).unwrap();
        }
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        let raw = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap();
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let chunked = raw
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked");
        Answer {
            status,
            headers,
            body: if chunked {
                dechunk(body)
            } else {
                body.to_owned()
            },
        }
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
