//! A webhook receiver on a loopback port the OS chooses: it keeps every
//! JSON body posted to it, and answers as told (200, 500, or never).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Ok,
    ServerError,
    /// Read the request and never answer.
    Hang,
}

pub struct Receiver {
    pub url: String,
    bodies: Arc<Mutex<Vec<serde_json::Value>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Receiver {
    pub fn start(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("its address").port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopping) = (bodies.clone(), stop.clone());
        std::thread::spawn(move || {
            // Hanging answers hold their connections open until the end.
            let mut held = Vec::new();
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if let Some(stream) = serve(stream, answer, &kept) {
                    held.push(stream);
                }
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook/s3cr3t-token"),
            bodies,
            stop,
            port,
        }
    }

    /// Every body received so far, in order.
    pub fn bodies(&self) -> Vec<serde_json::Value> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread so it sees the stop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Read one request; answer it, or give the stream back to be held.
fn serve(
    stream: TcpStream,
    answer: Answer,
    bodies: &Mutex<Vec<serde_json::Value>>,
) -> Option<TcpStream> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    if let Ok(value) = serde_json::from_slice(&body) {
        bodies.lock().unwrap().push(value);
    }
    let status = match answer {
        Answer::Hang => return Some(stream),
        Answer::Ok => "200 OK",
        Answer::ServerError => "500 Internal Server Error",
    };
    let mut stream = stream;
    let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(reply.as_bytes());
    None
}
