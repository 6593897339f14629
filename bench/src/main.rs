//! `ferrokeeper-bench`: drives any ZooKeeper-protocol server with pipelined requests
//! over several sessions and prints one line of results. Speaks the wire protocol
//! directly (no client library in the way) so the server is what gets measured.
//! `bench/compare.sh` runs it against Ferrokeeper and Apache ZooKeeper side by side.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use clap::{Parser, ValueEnum};
use ferrokeeper_protocol::frame::{take_frame, write_frame};
use ferrokeeper_protocol::multi::CreateOp;
use ferrokeeper_protocol::records::{
    Acl, ConnectRequest, ConnectResponse, PathWatchRequest, ReplyHeader, RequestHeader,
    SetDataRequest,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{Jute, OpCode, Perms};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Workload {
    /// create a fresh node per request
    Create,
    /// setData on one node per session
    Set,
    /// getData on one node per session
    Get,
    /// 90% getData, 10% setData
    Mixed,
}

#[derive(Parser, Debug)]
struct Args {
    /// host:port of the server
    #[arg(long, default_value = "127.0.0.1:2181")]
    server: String,
    #[arg(long, value_enum, default_value = "get")]
    workload: Workload,
    /// concurrent sessions
    #[arg(long, default_value_t = 16)]
    sessions: usize,
    /// requests in flight per session
    #[arg(long, default_value_t = 32)]
    depth: usize,
    /// requests per session
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// znode data size in bytes
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// label printed with the results
    #[arg(long, default_value = "server")]
    label: String,
    /// each session works under /<prefix>-<session>; runs on one server need distinct
    /// prefixes for `create` not to collide
    #[arg(long, default_value = "bench")]
    prefix: String,
}

/// A persistent, world-writable create.
fn create(path: String, data: &Bytes) -> Request {
    Request::Create(CreateOp {
        op: OpCode::Create,
        path,
        data: Some(data.clone()),
        acl: vec![Acl::new(Perms::ALL, "world", "anyone")],
        flags: 0,
        ttl: -1,
    })
}

struct Session {
    stream: TcpStream,
    buf: BytesMut,
    out: BytesMut,
    xid: i32,
}

impl Session {
    async fn connect(addr: &str) -> std::io::Result<Session> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut out = BytesMut::new();
        write_frame(&mut out, |o| {
            ConnectRequest {
                timeout: 30_000,
                passwd: Some(Bytes::from_static(&[0; 16])),
                read_only: Some(false),
                ..Default::default()
            }
            .write(o)
        });
        stream.write_all(&out).await?;
        let mut session = Session {
            stream,
            buf: BytesMut::with_capacity(64 * 1024),
            out: BytesMut::new(),
            xid: 0,
        };
        let frame = session.frame().await?;
        ConnectResponse::read(&mut frame.clone()).map_err(std::io::Error::other)?;
        Ok(session)
    }

    async fn frame(&mut self) -> std::io::Result<Bytes> {
        loop {
            if let Some(frame) =
                take_frame(&mut self.buf, 64 << 20).map_err(std::io::Error::other)?
            {
                return Ok(frame);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    fn queue(&mut self, request: &Request) {
        self.xid += 1;
        let xid = self.xid;
        write_frame(&mut self.out, |o| {
            RequestHeader {
                xid,
                op: request.op_code().code(),
            }
            .write(o);
            request.encode_body(o);
        });
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        let out = self.out.split();
        self.stream.write_all(&out).await
    }

    /// Next reply, skipping notifications; returns its error code.
    async fn reply(&mut self) -> std::io::Result<i32> {
        loop {
            let mut frame = self.frame().await?;
            let header = ReplyHeader::read(&mut frame).map_err(std::io::Error::other)?;
            if header.xid != -1 {
                return Ok(header.err);
            }
        }
    }
}

fn request(workload: Workload, node: &str, i: usize, data: &Bytes) -> Request {
    let node = node.to_owned();
    let read = Request::GetData(PathWatchRequest {
        path: node.clone(),
        watch: false,
    });
    let write = Request::SetData(SetDataRequest {
        path: node.clone(),
        data: Some(data.clone()),
        version: -1,
    });
    match workload {
        Workload::Create => create(format!("{node}/n{i}"), data),
        Workload::Set => write,
        Workload::Get => read,
        Workload::Mixed if i.is_multiple_of(10) => write,
        Workload::Mixed => read,
    }
}

/// Connects, retrying for a few seconds: a JVM server accepts before it serves.
async fn connect_with_retry(addr: &str) -> std::io::Result<Session> {
    let mut attempts = 0;
    loop {
        match Session::connect(addr).await {
            Ok(session) => return Ok(session),
            Err(_) if attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn run_session(
    args: &Args,
    id: usize,
    data: Bytes,
) -> std::io::Result<(Vec<Duration>, usize)> {
    let mut s = connect_with_retry(&args.server).await?;
    // Each session works under its own node (left from an earlier run, or made now).
    let node = format!("/{}-{id}", args.prefix);
    s.queue(&create(node.clone(), &data));
    s.flush().await?;
    s.reply().await?;
    let mut latencies = Vec::with_capacity(args.requests);
    let mut sent_at = std::collections::VecDeque::with_capacity(args.depth);
    let mut errors = 0;
    let mut next = 0;
    while latencies.len() < args.requests {
        while next < args.requests && sent_at.len() < args.depth {
            s.queue(&request(args.workload, &node, next, &data));
            sent_at.push_back(Instant::now());
            next += 1;
        }
        s.flush().await?;
        if s.reply().await? != 0 {
            errors += 1;
        }
        latencies.push(sent_at.pop_front().expect("a request in flight").elapsed());
    }
    Ok((latencies, errors))
}

#[tokio::main]
async fn main() {
    let args = std::sync::Arc::new(Args::parse());
    let data = Bytes::from(vec![b'x'; args.value_size]);
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.sessions)
        .map(|id| {
            let (args, data) = (args.clone(), data.clone());
            tokio::spawn(async move { run_session(&args, id, data).await })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("session task").expect("session I/O");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize].as_micros();
    println!(
        "{} workload={:?} sessions={} depth={} requests={} errors={} ops_per_sec={:.0} p50_us={} p99_us={}",
        args.label,
        args.workload,
        args.sessions,
        args.depth,
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        pct(0.50),
        pct(0.99),
    );
}
