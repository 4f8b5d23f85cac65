//! The probe client for `scripts/bench.sh`: sends COUNT `GET`s one after another, each
//! on a new connection with `Connection: close`, as the kubelet's HTTP probe does, and
//! prints one JSON line with the statuses, its own CPU time (nanoseconds, from
//! `/proc/self/schedstat`; one thread) and the latency percentiles.
//!
//! Blocking std I/O and nothing else, so that the client's own cost per probe stays
//! small and the same for every server it is pointed at. Not a load tool: one request
//! at a time, bounded by COUNT.
//!
//! Usage: `bench_client 127.0.0.1:PORT PATH COUNT`

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: bench_client 127.0.0.1:PORT PATH COUNT";
    let mut args = std::env::args().skip(1);
    let address = args.next().ok_or(usage)?;
    let path = args.next().ok_or(usage)?;
    let count: usize = args.next().ok_or(usage)?.parse()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nUser-Agent: kube-probe/1.33\r\n\
         Accept: */*\r\nConnection: close\r\n\r\n"
    );
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut latencies: Vec<Duration> = Vec::with_capacity(count);
    let mut answer = Vec::with_capacity(64 * 1024);
    let cpu_before = own_cpu_ns()?;
    let started = Instant::now();
    for _ in 0..count {
        let sent = Instant::now();
        let status = match probe(&address, request.as_bytes(), &mut answer) {
            Ok(status) => status,
            Err(error) => format!("error: {}", error.kind()),
        };
        latencies.push(sent.elapsed());
        *statuses.entry(status).or_default() += 1;
    }
    let wall = started.elapsed();
    let cpu = own_cpu_ns()? - cpu_before;
    latencies.sort_unstable();
    let statuses: Vec<String> = statuses
        .iter()
        .map(|(status, n)| format!("\"{status}\":{n}"))
        .collect();
    println!(
        "{{\"count\":{count},\"statuses\":{{{}}},\"cpu_ns\":{cpu},\"wall_ns\":{},\
         \"p50_us\":{:.1},\"p99_us\":{:.1},\"p999_us\":{:.1},\"max_us\":{:.1}}}",
        statuses.join(","),
        wall.as_nanos(),
        percentile_us(&latencies, 0.50),
        percentile_us(&latencies, 0.99),
        percentile_us(&latencies, 0.999),
        percentile_us(&latencies, 1.0),
    );
    Ok(())
}

/// One probe on a new connection: the status code as text ("200"), after reading the
/// whole answer (the server closes the connection).
fn probe(address: &str, request: &[u8], answer: &mut Vec<u8>) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request)?;
    answer.clear();
    stream.read_to_end(answer)?;
    let status = answer
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .unwrap_or("none");
    Ok(status.to_string())
}

/// CPU time this (single-threaded) process has used, in nanoseconds.
fn own_cpu_ns() -> Result<u64, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string("/proc/self/schedstat")?;
    let first = text.split_whitespace().next().ok_or("empty schedstat")?;
    Ok(first.parse()?)
}

fn percentile_us(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 * fraction).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1e6
}
