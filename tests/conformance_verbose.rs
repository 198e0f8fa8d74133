//! `tracegate conformance-service` is quiet on stderr by default; `--verbose` logs one line per
//! request (method, path, status, duration).
#![cfg(feature = "cli")]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the service with `extra`, sends two requests, stops it; returns its stderr.
fn stderr_of_two_requests(extra: &[&str]) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracegate"))
        .args(["conformance-service", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(TIMEOUT).unwrap();
    let addr = line
        .trim()
        .strip_prefix("conformance-service listening on http://")
        .unwrap()
        .to_owned();
    for (path, content_type) in [("/test", "application/json"), ("/form", "text/plain")] {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]"
        )
        .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 "), "{answer}");
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn quiet_by_default() {
    assert_eq!(stderr_of_two_requests(&[]), "");
}

#[test]
fn verbose_logs_one_line_per_request() {
    let stderr = stderr_of_two_requests(&["--verbose"]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("POST /test -> 200 in "), "{stderr}");
    assert!(lines[1].starts_with("POST /form -> 415 in "), "{stderr}");
    assert!(lines.iter().all(|l| l.ends_with(" ms")), "{stderr}");
}
