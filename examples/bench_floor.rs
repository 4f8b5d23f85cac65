//! The floor for `scripts/bench.sh`: the least a probe server can do per new
//! connection. One thread, blocking std I/O: accept, read one request (up to the blank
//! line), write a fixed `200 ok`, close. What it costs per connection is the kernel's
//! accept, read, write and close, nothing more; the sidecar's cost per probe is
//! reported as a ratio to it.
//!
//! Not part of the sidecar and not a server for anything else: it ignores the request
//! line, keeps no connection open, and stops only when killed.
//!
//! Usage: `bench_floor 127.0.0.1:PORT`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

const ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 3\r\nConnection: close\r\n\r\nok\n";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .ok_or("usage: bench_floor 127.0.0.1:PORT")?;
    let listener = TcpListener::bind(&address)?;
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                // A client that goes away mid-request is its problem, not the floor's.
                let _ = answer(stream);
            }
            Err(error) => eprintln!("bench_floor: accept failed: {error}"),
        }
    }
    Ok(())
}

fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buffer = [0u8; 4096];
    let mut filled = 0;
    // Read until the end of the headers (or the buffer is full: answer anyway).
    while filled < buffer.len() {
        let read = stream.read(&mut buffer[filled..])?;
        if read == 0 {
            return Ok(());
        }
        filled += read;
        if buffer[..filled]
            .windows(4)
            .any(|window| window == b"\r\n\r\n")
        {
            break;
        }
    }
    stream.write_all(ANSWER)?;
    Ok(())
}
