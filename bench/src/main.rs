//! `ferrokeeper-bench`: drives any ZooKeeper-protocol server with pipelined requests
//! over several sessions and prints one line of results. Speaks the wire protocol
//! directly (no client library in the way) so the server is what gets measured.
//! `bench/compare.sh` runs it against Ferrokeeper and Apache ZooKeeper side by side.
//!
//! Two more modes serve `bench/restart.sh`: `--workload populate` creates `--znodes`
//! nodes (`/<prefix>-<session>/n<i>`, split over the sessions, deeply pipelined), and
//! `--first-read PATH` connects over and over until a getData of PATH succeeds and
//! prints the time since `--since-ns` (the moment the server process was started).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use clap::{Parser, ValueEnum};
use ferrokeeper_protocol::frame::{take_frame, write_frame};
use ferrokeeper_protocol::multi::CreateOp;
use ferrokeeper_protocol::records::{
    Acl, ConnectRequest, ConnectResponse, PathRequest, PathWatchRequest, ReplyHeader,
    RequestHeader, SetDataRequest,
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
    /// create `--znodes` nodes in all, `/<prefix>-<session>/n<i>`, split over the sessions
    Populate,
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
    /// populate: how many znodes to create in all (replaces --requests)
    #[arg(long, default_value_t = 1_000_000)]
    znodes: usize,
    /// Probe mode: instead of a workload, connect repeatedly until a getData of this
    /// path succeeds, then print the time since --since-ns.
    #[arg(long, value_name = "PATH")]
    first_read: Option<String>,
    /// probe: start of the clock, in nanoseconds since the Unix epoch (`date +%s%N`
    /// taken just before the server was started); default: when the probe starts
    #[arg(long)]
    since_ns: Option<u128>,
    /// probe: pause between attempts, in milliseconds
    #[arg(long, default_value_t = 5)]
    poll_ms: u64,
    /// probe: give up after this many seconds
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
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
        Self::connect_with_timeout(addr, 30_000).await
    }

    async fn connect_with_timeout(addr: &str, timeout_ms: i32) -> std::io::Result<Session> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut out = BytesMut::new();
        write_frame(&mut out, |o| {
            ConnectRequest {
                timeout: timeout_ms,
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
        Ok(self.reply_body().await?.0)
    }

    /// Next reply, skipping notifications; returns its error code and body.
    async fn reply_body(&mut self) -> std::io::Result<(i32, Bytes)> {
        loop {
            let mut frame = self.frame().await?;
            let header = ReplyHeader::read(&mut frame).map_err(std::io::Error::other)?;
            if header.xid != -1 {
                return Ok((header.err, frame));
            }
        }
    }

    /// Sends one request and waits for its reply.
    async fn call(&mut self, request: &Request) -> std::io::Result<(i32, Bytes)> {
        self.queue(request);
        self.flush().await?;
        self.reply_body().await
    }

    /// Ends the session, so it is not left to expire (or to be restored on restart).
    async fn close(mut self) -> std::io::Result<()> {
        self.call(&Request::CloseSession).await.map(|_| ())
    }
}

/// How many requests session `id` sends: populate splits --znodes over the sessions.
fn requests_for(args: &Args, id: usize) -> usize {
    match args.workload {
        Workload::Populate => {
            let sessions = args.sessions.max(1);
            args.znodes / sessions + usize::from(id < args.znodes % sessions)
        }
        _ => args.requests,
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
        Workload::Create | Workload::Populate => create(format!("{node}/n{i}"), data),
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
    let requests = requests_for(args, id);
    let mut latencies = Vec::with_capacity(requests);
    let mut sent_at = std::collections::VecDeque::with_capacity(args.depth);
    let mut errors = 0;
    let mut next = 0;
    while latencies.len() < requests {
        while next < requests && sent_at.len() < args.depth {
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
    s.close().await?;
    Ok((latencies, errors))
}

fn epoch_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos()
}

/// One probe attempt: a fresh session, a getData of `path`, then (untimed) the number of
/// znodes below the root. A server that accepts before it has loaded its data closes
/// the connection (ZooKeeper) or does not listen yet (Ferrokeeper): both are errors here.
async fn probe_once(addr: &str, path: &str) -> std::io::Result<(u128, i32)> {
    let mut s = Session::connect_with_timeout(addr, 10_000).await?;
    let (err, _) = s
        .call(&Request::GetData(PathWatchRequest {
            path: path.to_owned(),
            watch: false,
        }))
        .await?;
    let served_ns = epoch_ns();
    if err != 0 {
        return Err(std::io::Error::other(format!(
            "getData {path} failed with error {err}"
        )));
    }
    let (err, mut body) = s
        .call(&Request::GetAllChildrenNumber(PathRequest {
            path: "/".to_owned(),
        }))
        .await?;
    let nodes = if err == 0 && body.len() >= 4 {
        i32::from_be_bytes(body.split_to(4)[..].try_into().expect("4 bytes"))
    } else {
        -1
    };
    s.close().await?;
    Ok((served_ns, nodes))
}

/// Probe mode: prints `first_read_ms=… attempts=… nodes=…` once a read is served.
///
/// A new attempt starts every --poll-ms while none is in flight, and also while the
/// newest one has been stuck for `STALL` (ZooKeeper can leave a connection accepted in
/// the instant between binding its port and creating its database open and unanswered
/// until its 10 s sessionless-connection timeout): the first attempt to succeed wins,
/// so a hung connection does not count against the server.
async fn first_read(args: &Args, path: &str) -> std::process::ExitCode {
    const STALL: Duration = Duration::from_millis(50);
    const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
    const MAX_IN_FLIGHT: usize = 256;
    let since = args.since_ns.unwrap_or_else(epoch_ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout_secs);
    let poll = Duration::from_millis(args.poll_ms.max(1));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut attempts = 0u64;
    let mut last_launch: Option<tokio::time::Instant> = None;
    let mut last_end = tokio::time::Instant::now() - poll;
    let mut last_error = String::from("no attempt finished");
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            eprintln!(
                "{}: no read served after {}s and {attempts} attempts; last error: {last_error}",
                args.label, args.timeout_secs
            );
            return std::process::ExitCode::FAILURE;
        }
        let next_launch = if in_flight.is_empty() {
            last_end + poll
        } else {
            last_launch.map_or(now, |at| at + STALL.max(poll))
        };
        if now >= next_launch && in_flight.len() < MAX_IN_FLIGHT {
            attempts += 1;
            last_launch = Some(now);
            let (addr, path) = (args.server.clone(), path.to_owned());
            in_flight.spawn(async move {
                match tokio::time::timeout(ATTEMPT_TIMEOUT, probe_once(&addr, &path)).await {
                    Ok(result) => result,
                    Err(_) => Err(std::io::Error::other("attempt timed out")),
                }
            });
            continue;
        }
        let wake = next_launch
            .max(now + Duration::from_millis(1))
            .min(deadline);
        tokio::select! {
            Some(done) = in_flight.join_next() => {
                last_end = tokio::time::Instant::now();
                match done.map_err(std::io::Error::other).and_then(|r| r) {
                    Ok((served_ns, nodes)) => {
                        let ms = served_ns.saturating_sub(since) as f64 / 1e6;
                        println!(
                            "{} first_read_ms={ms:.1} attempts={attempts} nodes={nodes}",
                            args.label
                        );
                        // Let attempts still in flight finish and close their sessions,
                        // so none is left to be logged, snapshotted and restored.
                        let drain = async { while in_flight.join_next().await.is_some() {} };
                        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
                        return std::process::ExitCode::SUCCESS;
                    }
                    Err(e) => last_error = e.to_string(),
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = std::sync::Arc::new(Args::parse());
    if let Some(path) = &args.first_read {
        return first_read(&args, path).await;
    }
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
    std::process::ExitCode::SUCCESS
}
