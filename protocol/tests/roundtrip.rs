//! Property tests of the codec: every record, multi, request and handshake shape decodes
//! back to what was encoded (and re-encodes to the same bytes); framing survives any
//! split of the stream; and no input, however malformed, makes a decoder panic.

use std::fmt::Debug;

use bytes::{BufMut, Bytes, BytesMut};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use ferrokeeper_protocol::frame::{take_frame, write_frame, FrameError, DEFAULT_JUTE_MAXBUFFER};
use ferrokeeper_protocol::jute::{from_bytes, to_bytes, DecodeError, Jute};
use ferrokeeper_protocol::multi::{CreateOp, MultiOp, MultiRequest, MultiResponse, MultiResult};
use ferrokeeper_protocol::records::*;
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::OpCode;

/// Modest case counts so the suite stays fast; `PROPTEST_CASES=N` runs deeper.
fn cases(default: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    config
}

fn config() -> ProptestConfig {
    cases(48)
}

// ---------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------

/// Any valid UTF-8, empty included, plus path-looking strings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "\\PC{0,12}",
        "/[a-z0-9]{1,6}(/[a-z0-9-]{1,6}){0,3}",
    ]
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..5)
}

/// A `buffer`: null, empty or some bytes.
fn data() -> impl Strategy<Value = Option<Bytes>> {
    option::of(vec(any::<u8>(), 0..40).prop_map(Bytes::from))
}

fn id() -> impl Strategy<Value = Id> {
    (text(), text()).prop_map(|(scheme, id)| Id { scheme, id })
}

fn acl() -> impl Strategy<Value = Acl> {
    (any::<i32>(), id()).prop_map(|(perms, id)| Acl { perms, id })
}

fn acls() -> impl Strategy<Value = Vec<Acl>> {
    vec(acl(), 0..4)
}

fn stat() -> impl Strategy<Value = Stat> {
    (
        (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), any::<i32>()),
        any::<i64>(),
        (any::<i32>(), any::<i32>()),
        any::<i64>(),
    )
        .prop_map(
            |(
                (czxid, mzxid, ctime, mtime),
                (version, cversion, aversion),
                ephemeral_owner,
                (data_length, num_children),
                pzxid,
            )| Stat {
                czxid,
                mzxid,
                ctime,
                mtime,
                version,
                cversion,
                aversion,
                ephemeral_owner,
                data_length,
                num_children,
                pzxid,
            },
        )
}

fn client_info() -> impl Strategy<Value = ClientInfo> {
    (text(), text()).prop_map(|(auth_scheme, user)| ClientInfo { auth_scheme, user })
}

fn passwd() -> impl Strategy<Value = Option<Bytes>> {
    prop_oneof![
        Just(Some(Bytes::from_static(&[0; 16]))),
        vec(any::<u8>(), 16).prop_map(|v| Some(Bytes::from(v))),
        data(),
    ]
}

fn connect_request() -> impl Strategy<Value = ConnectRequest> {
    (
        any::<i32>(),
        any::<i64>(),
        any::<i32>(),
        any::<i64>(),
        passwd(),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(protocol_version, last_zxid_seen, timeout, session_id, passwd, read_only)| {
                ConnectRequest {
                    protocol_version,
                    last_zxid_seen,
                    timeout,
                    session_id,
                    passwd,
                    read_only,
                }
            },
        )
}

fn connect_response() -> impl Strategy<Value = ConnectResponse> {
    (
        any::<i32>(),
        any::<i32>(),
        any::<i64>(),
        passwd(),
        option::of(any::<bool>()),
    )
        .prop_map(
            |(protocol_version, timeout, session_id, passwd, read_only)| ConnectResponse {
                protocol_version,
                timeout,
                session_id,
                passwd,
                read_only,
            },
        )
}

fn create_request() -> impl Strategy<Value = CreateRequest> {
    (text(), data(), acls(), any::<i32>()).prop_map(|(path, data, acl, flags)| CreateRequest {
        path,
        data,
        acl,
        flags,
    })
}

fn create_ttl_request() -> impl Strategy<Value = CreateTtlRequest> {
    (text(), data(), acls(), any::<i32>(), any::<i64>()).prop_map(
        |(path, data, acl, flags, ttl)| CreateTtlRequest {
            path,
            data,
            acl,
            flags,
            ttl,
        },
    )
}

fn path_version() -> impl Strategy<Value = (String, i32)> {
    (text(), any::<i32>())
}

fn delete_request() -> impl Strategy<Value = DeleteRequest> {
    path_version().prop_map(|(path, version)| DeleteRequest { path, version })
}

fn check_request() -> impl Strategy<Value = CheckVersionRequest> {
    path_version().prop_map(|(path, version)| CheckVersionRequest { path, version })
}

fn set_data_request() -> impl Strategy<Value = SetDataRequest> {
    (text(), data(), any::<i32>()).prop_map(|(path, data, version)| SetDataRequest {
        path,
        data,
        version,
    })
}

fn path_watch() -> impl Strategy<Value = PathWatchRequest> {
    (text(), any::<bool>()).prop_map(|(path, watch)| PathWatchRequest { path, watch })
}

fn path_request() -> impl Strategy<Value = PathRequest> {
    text().prop_map(|path| PathRequest { path })
}

fn set_acl_request() -> impl Strategy<Value = SetAclRequest> {
    (text(), acls(), any::<i32>()).prop_map(|(path, acl, version)| SetAclRequest {
        path,
        acl,
        version,
    })
}

fn auth_packet() -> impl Strategy<Value = AuthPacket> {
    (any::<i32>(), text(), data()).prop_map(|(auth_type, scheme, auth)| AuthPacket {
        auth_type,
        scheme,
        auth,
    })
}

fn reconfig_request() -> impl Strategy<Value = ReconfigRequest> {
    (text(), text(), text(), any::<i64>()).prop_map(
        |(joining_servers, leaving_servers, new_members, cur_config_id)| ReconfigRequest {
            joining_servers,
            leaving_servers,
            new_members,
            cur_config_id,
        },
    )
}

fn set_watches() -> impl Strategy<Value = SetWatches> {
    (any::<i64>(), texts(), texts(), texts()).prop_map(
        |(relative_zxid, data_watches, exist_watches, child_watches)| SetWatches {
            relative_zxid,
            data_watches,
            exist_watches,
            child_watches,
        },
    )
}

fn set_watches2() -> impl Strategy<Value = SetWatches2> {
    (any::<i64>(), texts(), texts(), texts(), texts(), texts()).prop_map(
        |(
            relative_zxid,
            data_watches,
            exist_watches,
            child_watches,
            persistent_watches,
            persistent_recursive_watches,
        )| SetWatches2 {
            relative_zxid,
            data_watches,
            exist_watches,
            child_watches,
            persistent_watches,
            persistent_recursive_watches,
        },
    )
}

fn path_int() -> impl Strategy<Value = (String, i32)> {
    (text(), any::<i32>())
}

fn sasl_token() -> impl Strategy<Value = GetSaslRequest> {
    data().prop_map(|token| GetSaslRequest { token })
}

/// A create of any of the four create ops; `ttl` is -1 unless the op is createTTL, as
/// decoding produces. `flags` is a valid CreateMode.
fn create_op() -> impl Strategy<Value = CreateOp> {
    (
        prop_oneof![
            Just(OpCode::Create),
            Just(OpCode::Create2),
            Just(OpCode::CreateContainer),
            Just(OpCode::CreateTtl),
        ],
        text(),
        data(),
        acls(),
        0..=6i32,
        any::<i64>(),
    )
        .prop_map(|(op, path, data, acl, flags, ttl)| CreateOp {
            op,
            path,
            data,
            acl,
            flags,
            ttl: if op == OpCode::CreateTtl { ttl } else { -1 },
        })
}

fn write_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        create_op().prop_map(MultiOp::Create),
        delete_request().prop_map(MultiOp::Delete),
        set_data_request().prop_map(MultiOp::SetData),
        check_request().prop_map(MultiOp::Check),
    ]
}

fn read_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        path_watch().prop_map(MultiOp::GetData),
        path_watch().prop_map(MultiOp::GetChildren),
    ]
}

fn write_ops() -> impl Strategy<Value = Vec<MultiOp>> {
    vec(write_op(), 0..6)
}

fn read_ops() -> impl Strategy<Value = Vec<MultiOp>> {
    vec(read_op(), 0..6)
}

fn multi_request() -> impl Strategy<Value = MultiRequest> {
    prop_oneof![write_ops(), read_ops()].prop_map(|ops| MultiRequest { ops })
}

fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        text().prop_map(|path| MultiResult::Create { path }),
        (text(), stat()).prop_map(|(path, stat)| MultiResult::Create2 { path, stat }),
        Just(MultiResult::Delete),
        stat().prop_map(|stat| MultiResult::SetData { stat }),
        Just(MultiResult::Check),
        (data(), stat()).prop_map(|(data, stat)| MultiResult::GetData { data, stat }),
        texts().prop_map(|children| MultiResult::GetChildren { children }),
        any::<i32>().prop_map(|err| MultiResult::Error { err }),
    ]
}

fn multi_response() -> impl Strategy<Value = MultiResponse> {
    vec(multi_result(), 0..6).prop_map(|results| MultiResponse { results })
}

/// Every variant of [`Request`]; see `request_variant` for the exhaustiveness check.
fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        (create_op(), any::<i32>()).prop_map(|(mut c, flags)| {
            // Top-level creates carry any flags; the server validates them later.
            c.flags = flags;
            Request::Create(c)
        }),
        delete_request().prop_map(Request::Delete),
        path_request().prop_map(Request::DeleteContainer),
        path_watch().prop_map(Request::Exists),
        path_watch().prop_map(Request::GetData),
        set_data_request().prop_map(Request::SetData),
        path_request().prop_map(Request::GetAcl),
        set_acl_request().prop_map(Request::SetAcl),
        path_watch().prop_map(Request::GetChildren),
        path_watch().prop_map(Request::GetChildren2),
        proptest::option::of(text()).prop_map(|path| Request::Sync(SyncRequest { path })),
        Just(Request::Ping),
        check_request().prop_map(Request::Check),
        write_ops().prop_map(Request::Multi),
        read_ops().prop_map(Request::MultiRead),
        reconfig_request().prop_map(Request::Reconfig),
        path_int().prop_map(
            |(path, watcher_type)| Request::CheckWatches(CheckWatchesRequest {
                path,
                watcher_type
            })
        ),
        path_int().prop_map(
            |(path, watcher_type)| Request::RemoveWatches(RemoveWatchesRequest {
                path,
                watcher_type
            })
        ),
        auth_packet().prop_map(Request::Auth),
        set_watches2().prop_map(Request::SetWatches),
        sasl_token().prop_map(Request::Sasl),
        path_request().prop_map(Request::GetEphemerals),
        path_request().prop_map(Request::GetAllChildrenNumber),
        path_int().prop_map(|(path, mode)| Request::AddWatch(AddWatchRequest { path, mode })),
        Just(Request::WhoAmI),
        Just(Request::CloseSession),
    ]
}

/// Index of a request's variant. No wildcard arm: a new variant breaks the build here
/// until `request()` and `one_of_each_request()` generate it.
fn request_variant(r: &Request) -> usize {
    match r {
        Request::Create(_) => 0,
        Request::Delete(_) => 1,
        Request::DeleteContainer(_) => 2,
        Request::Exists(_) => 3,
        Request::GetData(_) => 4,
        Request::SetData(_) => 5,
        Request::GetAcl(_) => 6,
        Request::SetAcl(_) => 7,
        Request::GetChildren(_) => 8,
        Request::GetChildren2(_) => 9,
        Request::Sync(_) => 10,
        Request::Ping => 11,
        Request::Check(_) => 12,
        Request::Multi(_) => 13,
        Request::MultiRead(_) => 14,
        Request::Reconfig(_) => 15,
        Request::CheckWatches(_) => 16,
        Request::RemoveWatches(_) => 17,
        Request::Auth(_) => 18,
        Request::SetWatches(_) => 19,
        Request::Sasl(_) => 20,
        Request::GetEphemerals(_) => 21,
        Request::GetAllChildrenNumber(_) => 22,
        Request::AddWatch(_) => 23,
        Request::WhoAmI => 24,
        Request::CloseSession => 25,
    }
}
const REQUEST_VARIANTS: usize = 26;

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

/// encode -> decode gives the value back, decoding consumes exactly the encoding, and
/// encoding the decoded value gives the same bytes.
fn check_roundtrip<T: Jute + PartialEq + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = to_bytes(value);
    let back: T = from_bytes(bytes.clone())
        .map_err(|e| TestCaseError::fail(format!("{value:?} -> {bytes:?}: {e}")))?;
    prop_assert_eq!(&back, value);
    prop_assert_eq!(to_bytes(&back), bytes);
    Ok(())
}

/// Every strict prefix of an encoding fails to decode (records end in a required field).
fn check_prefixes_fail<T: Jute + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = to_bytes(value);
    for cut in 0..bytes.len() {
        let r = from_bytes::<T>(bytes.slice(..cut));
        prop_assert!(r.is_err(), "prefix {} of {:?} decoded: {:?}", cut, value, r);
    }
    Ok(())
}

macro_rules! record_roundtrips {
    ($($name:ident: $ty:ty = $strategy:expr;)*) => {
        proptest! {
            #![proptest_config(config())]
            $(
                #[test]
                fn $name(value in $strategy) {
                    let value: $ty = value;
                    check_roundtrip(&value)?;
                    check_prefixes_fail(&value)?;
                }
            )*
        }
    };
}

record_roundtrips! {
    id_roundtrip: Id = id();
    acl_roundtrip: Acl = acl();
    stat_roundtrip: Stat = stat();
    client_info_roundtrip: ClientInfo = client_info();
    request_header_roundtrip: RequestHeader =
        (any::<i32>(), any::<i32>()).prop_map(|(xid, op)| RequestHeader { xid, op });
    reply_header_roundtrip: ReplyHeader = (any::<i32>(), any::<i64>(), any::<i32>())
        .prop_map(|(xid, zxid, err)| ReplyHeader { xid, zxid, err });
    multi_header_roundtrip: MultiHeader = (any::<i32>(), any::<bool>(), any::<i32>())
        .prop_map(|(op, done, err)| MultiHeader { op, done, err });
    create_request_roundtrip: CreateRequest = create_request();
    create_ttl_request_roundtrip: CreateTtlRequest = create_ttl_request();
    create_response_roundtrip: CreateResponse = text().prop_map(|path| CreateResponse { path });
    create2_response_roundtrip: Create2Response =
        (text(), stat()).prop_map(|(path, stat)| Create2Response { path, stat });
    delete_request_roundtrip: DeleteRequest = delete_request();
    set_data_request_roundtrip: SetDataRequest = set_data_request();
    stat_response_roundtrip: StatResponse = stat().prop_map(|stat| StatResponse { stat });
    check_version_request_roundtrip: CheckVersionRequest = check_request();
    path_watch_request_roundtrip: PathWatchRequest = path_watch();
    path_request_roundtrip: PathRequest = path_request();
    get_data_response_roundtrip: GetDataResponse =
        (data(), stat()).prop_map(|(data, stat)| GetDataResponse { data, stat });
    get_children_response_roundtrip: GetChildrenResponse =
        texts().prop_map(|children| GetChildrenResponse { children });
    get_children2_response_roundtrip: GetChildren2Response =
        (texts(), stat()).prop_map(|(children, stat)| GetChildren2Response { children, stat });
    get_acl_response_roundtrip: GetAclResponse =
        (acls(), stat()).prop_map(|(acl, stat)| GetAclResponse { acl, stat });
    set_acl_request_roundtrip: SetAclRequest = set_acl_request();
    sync_response_roundtrip: SyncResponse =
        proptest::option::of(text()).prop_map(|path| SyncResponse { path });
    get_all_children_number_response_roundtrip: GetAllChildrenNumberResponse =
        any::<i32>().prop_map(|total_number| GetAllChildrenNumberResponse { total_number });
    get_ephemerals_response_roundtrip: GetEphemeralsResponse =
        texts().prop_map(|ephemerals| GetEphemeralsResponse { ephemerals });
    who_am_i_response_roundtrip: WhoAmIResponse =
        vec(client_info(), 0..4).prop_map(|client_info| WhoAmIResponse { client_info });
    auth_packet_roundtrip: AuthPacket = auth_packet();
    get_sasl_request_roundtrip: GetSaslRequest = sasl_token();
    set_sasl_response_roundtrip: SetSaslResponse = data().prop_map(|token| SetSaslResponse { token });
    reconfig_request_roundtrip: ReconfigRequest = reconfig_request();
    error_response_roundtrip: ErrorResponse = any::<i32>().prop_map(|err| ErrorResponse { err });
    set_watches_roundtrip: SetWatches = set_watches();
    set_watches2_roundtrip: SetWatches2 = set_watches2();
    add_watch_request_roundtrip: AddWatchRequest =
        path_int().prop_map(|(path, mode)| AddWatchRequest { path, mode });
    check_watches_request_roundtrip: CheckWatchesRequest = path_int()
        .prop_map(|(path, watcher_type)| CheckWatchesRequest { path, watcher_type });
    remove_watches_request_roundtrip: RemoveWatchesRequest = path_int()
        .prop_map(|(path, watcher_type)| RemoveWatchesRequest { path, watcher_type });
    watcher_event_roundtrip: WatcherEvent = (any::<i32>(), any::<i32>(), text())
        .prop_map(|(event_type, state, path)| WatcherEvent { event_type, state, path });
    multi_request_roundtrip: MultiRequest = multi_request();
    multi_response_roundtrip: MultiResponse = multi_response();
}

proptest! {
    #![proptest_config(config())]

    /// With and without the trailing readOnly byte (pre-3.4 clients omit it).
    #[test]
    fn connect_request_roundtrip(req in connect_request()) {
        check_roundtrip(&req)?;
        let bytes = to_bytes(&req);
        let passwd_len = req.passwd.as_ref().map_or(0, Bytes::len);
        let expected = 4 + 8 + 4 + 8 + 4 + passwd_len + usize::from(req.read_only.is_some());
        prop_assert_eq!(bytes.len(), expected);
        // Cutting the flag off yields the old-client shape, not an error.
        if req.read_only.is_some() {
            let old: ConnectRequest = from_bytes(bytes.slice(..bytes.len() - 1)).unwrap();
            prop_assert_eq!(old, ConnectRequest { read_only: None, ..req.clone() });
        }
        // Anything shorter than the required fields is an error.
        let required = bytes.len() - usize::from(req.read_only.is_some());
        for cut in 0..required {
            prop_assert!(from_bytes::<ConnectRequest>(bytes.slice(..cut)).is_err());
        }
    }

    #[test]
    fn connect_response_roundtrip(resp in connect_response()) {
        check_roundtrip(&resp)?;
        let bytes = to_bytes(&resp);
        let passwd_len = resp.passwd.as_ref().map_or(0, Bytes::len);
        let expected = 4 + 4 + 8 + 4 + passwd_len + usize::from(resp.read_only.is_some());
        prop_assert_eq!(bytes.len(), expected);
        if resp.read_only.is_some() {
            let old: ConnectResponse = from_bytes(bytes.slice(..bytes.len() - 1)).unwrap();
            prop_assert_eq!(old, ConnectResponse { read_only: None, ..resp.clone() });
        }
        let required = bytes.len() - usize::from(resp.read_only.is_some());
        for cut in 0..required {
            prop_assert!(from_bytes::<ConnectResponse>(bytes.slice(..cut)).is_err());
        }
    }

    /// encode_body, then decode under op_code(), gives the request back; and so does a
    /// whole frame (length prefix + RequestHeader + body) taken off a stream.
    #[test]
    fn request_roundtrip(req in request(), xid in any::<i32>()) {
        let op = req.op_code();
        let mut body = BytesMut::new();
        req.encode_body(&mut body);
        let body = body.freeze();
        let back = Request::decode(op, body.clone())
            .map_err(|e| TestCaseError::fail(format!("{req:?}: {e}")))?;
        prop_assert_eq!(&back, &req);
        let mut again = BytesMut::new();
        back.encode_body(&mut again);
        prop_assert_eq!(again.freeze(), body.clone());
        if matches!(req, Request::Ping | Request::WhoAmI | Request::CloseSession) {
            prop_assert!(body.is_empty());
        }

        let mut stream = BytesMut::new();
        write_frame(&mut stream, |out| {
            RequestHeader { xid, op: op.code() }.write(out);
            req.encode_body(out);
        });
        let mut payload = take_frame(&mut stream, DEFAULT_JUTE_MAXBUFFER).unwrap().unwrap();
        prop_assert!(stream.is_empty());
        let header = RequestHeader::read(&mut payload).unwrap();
        prop_assert_eq!(&header, &RequestHeader { xid, op: op.code() });
        prop_assert_eq!(Request::decode(OpCode::try_from(header.op).unwrap(), payload).unwrap(), req);
    }

    /// setWatches (101) is read into the setWatches2 shape with no persistent watches.
    #[test]
    fn set_watches_v1_request(w in set_watches()) {
        let req = Request::decode(OpCode::SetWatches, to_bytes(&w)).unwrap();
        prop_assert_eq!(req, Request::SetWatches(SetWatches2 {
            relative_zxid: w.relative_zxid,
            data_watches: w.data_watches.clone(),
            exist_watches: w.exist_watches.clone(),
            child_watches: w.child_watches.clone(),
            persistent_watches: vec![],
            persistent_recursive_watches: vec![],
        }));
    }

    /// The four create ops share one variant; the op decides whether a ttl travels.
    #[test]
    fn create_ops_carry_ttl_only_for_create_ttl(c in create_op()) {
        let mut body = BytesMut::new();
        Request::Create(c.clone()).encode_body(&mut body);
        let plain = to_bytes(&CreateRequest {
            path: c.path.clone(),
            data: c.data.clone(),
            acl: c.acl.clone(),
            flags: c.flags,
        });
        if c.op == OpCode::CreateTtl {
            prop_assert_eq!(body.len(), plain.len() + 8);
            prop_assert_eq!(&body[..plain.len()], &plain[..]);
        } else {
            prop_assert_eq!(body.freeze(), plain);
        }
    }

    /// Reads and writes cannot share a multi.
    #[test]
    fn mixed_multi_is_refused(
        writes in vec(write_op(), 1..4),
        reads in vec(read_op(), 1..4),
        reads_first in any::<bool>(),
        at in any::<prop::sample::Index>(),
    ) {
        let (mut ops, other) = if reads_first { (reads, writes) } else { (writes, reads) };
        let pos = 1 + at.index(ops.len());
        ops.splice(pos..pos, other);
        let bytes = to_bytes(&MultiRequest { ops });
        prop_assert_eq!(
            from_bytes::<MultiRequest>(bytes.clone()),
            Err(DecodeError::Malformed("mixing reads and writes in one multi"))
        );
        prop_assert!(Request::decode(OpCode::Multi, bytes.clone()).is_err());
        prop_assert!(Request::decode(OpCode::MultiRead, bytes).is_err());
    }

    /// Multi results: a success result's header has err 0, an error result's header the
    /// error's code; all end with {-1, true, -1}.
    #[test]
    fn multi_response_headers(resp in multi_response()) {
        let mut input = to_bytes(&resp);
        for result in &resp.results {
            let h = MultiHeader::read(&mut input).unwrap();
            prop_assert!(!h.done);
            match result {
                MultiResult::Error { err } => {
                    prop_assert_eq!((h.op, h.err), (-1, *err));
                    prop_assert_eq!(i32::read(&mut input).unwrap(), *err);
                }
                other => {
                    prop_assert_eq!(h.err, 0);
                    let expected = match other {
                        MultiResult::Create { path } => {
                            prop_assert_eq!(&String::read(&mut input).unwrap(), path);
                            1
                        }
                        MultiResult::Create2 { .. } => {
                            Create2Response::read(&mut input).unwrap();
                            15
                        }
                        MultiResult::Delete => 2,
                        MultiResult::SetData { .. } => {
                            Stat::read(&mut input).unwrap();
                            5
                        }
                        MultiResult::Check => 13,
                        MultiResult::GetData { .. } => {
                            GetDataResponse::read(&mut input).unwrap();
                            4
                        }
                        MultiResult::GetChildren { .. } => {
                            GetChildrenResponse::read(&mut input).unwrap();
                            8
                        }
                        MultiResult::Error { .. } => unreachable!(),
                    };
                    prop_assert_eq!(h.op, expected);
                }
            }
        }
        prop_assert_eq!(MultiHeader::read(&mut input).unwrap(), MultiHeader { op: -1, done: true, err: -1 });
        prop_assert!(input.is_empty());
    }
}

#[test]
fn every_request_variant_is_generated() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = request();
    let mut seen = [false; REQUEST_VARIANTS];
    for _ in 0..5000 {
        let r = strategy.new_tree(&mut runner).unwrap().current();
        seen[request_variant(&r)] = true;
        if seen.iter().all(|s| *s) {
            return;
        }
    }
    panic!("variants never generated: {seen:?}");
}

/// Every op code a client can send decodes to a request that travels under it again
/// (setWatches aside, which is kept in the setWatches2 shape).
#[test]
fn every_client_op_code_decodes() {
    let mut bodies: Vec<(OpCode, Bytes)> = Vec::new();
    let empty_path = to_bytes(&PathRequest::default());
    for &op in OpCode::ALL {
        let body = match op {
            OpCode::Notification | OpCode::CreateSession | OpCode::Error => {
                assert_eq!(
                    Request::decode(op, Bytes::new()),
                    Err(DecodeError::UnknownOpCode(op.code()))
                );
                continue;
            }
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => {
                to_bytes(&CreateRequest::default())
            }
            OpCode::CreateTtl => to_bytes(&CreateTtlRequest::default()),
            OpCode::Delete => to_bytes(&DeleteRequest::default()),
            OpCode::Exists | OpCode::GetData | OpCode::GetChildren | OpCode::GetChildren2 => {
                to_bytes(&PathWatchRequest::default())
            }
            OpCode::SetData => to_bytes(&SetDataRequest::default()),
            OpCode::SetAcl => to_bytes(&SetAclRequest::default()),
            OpCode::Check => to_bytes(&CheckVersionRequest::default()),
            OpCode::Multi | OpCode::MultiRead => to_bytes(&MultiRequest::default()),
            OpCode::Reconfig => to_bytes(&ReconfigRequest::default()),
            OpCode::CheckWatches | OpCode::RemoveWatches => {
                to_bytes(&CheckWatchesRequest::default())
            }
            OpCode::Auth => to_bytes(&AuthPacket::default()),
            OpCode::SetWatches => to_bytes(&SetWatches::default()),
            OpCode::SetWatches2 => to_bytes(&SetWatches2::default()),
            OpCode::Sasl => to_bytes(&GetSaslRequest::default()),
            OpCode::AddWatch => to_bytes(&AddWatchRequest::default()),
            OpCode::DeleteContainer
            | OpCode::GetAcl
            | OpCode::Sync
            | OpCode::GetEphemerals
            | OpCode::GetAllChildrenNumber => empty_path.clone(),
            OpCode::Ping | OpCode::WhoAmI | OpCode::CloseSession => Bytes::new(),
        };
        bodies.push((op, body));
    }
    let mut variants = [false; REQUEST_VARIANTS];
    for (op, body) in bodies {
        let req = Request::decode(op, body.clone()).unwrap_or_else(|e| panic!("{op:?}: {e}"));
        variants[request_variant(&req)] = true;
        let expected_op = if op == OpCode::SetWatches {
            OpCode::SetWatches2
        } else {
            op
        };
        assert_eq!(req.op_code(), expected_op);
        let mut again = BytesMut::new();
        req.encode_body(&mut again);
        if op != OpCode::SetWatches {
            assert_eq!(again.freeze(), body, "{op:?}");
        }
        // A truncated body is an error for every op that has one.
        if !body.is_empty() {
            assert!(
                Request::decode(op, body.slice(..body.len() - 1)).is_err(),
                "{op:?}"
            );
        }
    }
    assert!(variants.iter().all(|v| *v), "{variants:?}");
}

#[test]
fn null_strings_and_vectors_read_as_empty_null_buffers_stay_null() {
    let null = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff]);
    assert_eq!(from_bytes::<String>(null.clone()), Ok(String::new()));
    assert_eq!(from_bytes::<Vec<String>>(null.clone()), Ok(vec![]));
    assert_eq!(from_bytes::<Option<Bytes>>(null.clone()), Ok(None));
    assert_eq!(to_bytes(&None::<Bytes>), null);
    assert_eq!(to_bytes(&String::new()), Bytes::from_static(&[0; 4]));
    assert_eq!(to_bytes(&Vec::<Acl>::new()), Bytes::from_static(&[0; 4]));
    for bad in [-2, i32::MIN] {
        let b = Bytes::copy_from_slice(&bad.to_be_bytes());
        assert_eq!(
            from_bytes::<String>(b.clone()),
            Err(DecodeError::BadLength(bad))
        );
        assert_eq!(
            from_bytes::<Vec<Id>>(b.clone()),
            Err(DecodeError::BadLength(bad))
        );
        assert_eq!(
            from_bytes::<Option<Bytes>>(b),
            Err(DecodeError::BadLength(bad))
        );
    }
    // Booleans: any non-zero byte is true, written back as 1.
    let w: PathWatchRequest = from_bytes(Bytes::from_static(&[0, 0, 0, 0, 7])).unwrap();
    assert!(w.watch);
    assert_eq!(to_bytes(&w), Bytes::from_static(&[0, 0, 0, 0, 1]));
    // Stat is 68 bytes.
    assert_eq!(to_bytes(&Stat::default()).len(), 68);
}

// ---------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// Several frames, delivered in arbitrary pieces, come out whole and in order.
    #[test]
    fn frames_survive_any_split(
        payloads in vec(vec(any::<u8>(), 0..80), 1..6),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = BytesMut::new();
        for p in &payloads {
            write_frame(&mut stream, |out| out.put_slice(p));
        }
        let stream = stream.freeze();
        prop_assert_eq!(stream.len(), payloads.iter().map(|p| p.len() + 4).sum::<usize>());
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        points.dedup();

        let mut buf = BytesMut::new();
        let mut got: Vec<Vec<u8>> = Vec::new();
        for piece in points.windows(2) {
            buf.extend_from_slice(&stream[piece[0]..piece[1]]);
            while let Some(frame) = take_frame(&mut buf, 128).unwrap() {
                got.push(frame.to_vec());
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, payloads);
    }

    /// Lengths above the maximum or negative are refused as soon as the prefix is in.
    #[test]
    fn bad_frame_lengths_are_refused(len in any::<i32>(), max in 0usize..4096, extra in vec(any::<u8>(), 0..8)) {
        let mut buf = BytesMut::new();
        buf.put_i32(len);
        buf.put_slice(&extra);
        let r = take_frame(&mut buf, max);
        if len < 0 || len as usize > max {
            prop_assert_eq!(r, Err(FrameError::BadLength { len, max }));
        } else if extra.len() >= len as usize {
            let frame = r.unwrap().unwrap();
            prop_assert_eq!(&frame[..], &extra[..len as usize]);
            prop_assert_eq!(&buf[..], &extra[len as usize..]);
        } else {
            prop_assert_eq!(r, Ok(None));
            prop_assert_eq!(buf.len(), 4 + extra.len(), "an incomplete frame stays put");
        }
    }

    /// Arbitrary bytes: take_frame never panics, and whatever it yields is consistent.
    #[test]
    fn take_frame_never_panics(bytes in vec(any::<u8>(), 0..64), max in 0usize..64) {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut taken = 0;
        loop {
            match take_frame(&mut buf, max) {
                Ok(Some(frame)) => {
                    prop_assert!(frame.len() <= max);
                    taken += 4 + frame.len();
                }
                Ok(None) => {
                    let incomplete = buf.len() < 4 || {
                        let len = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
                        buf.len() < 4 + len as usize
                    };
                    prop_assert!(incomplete);
                    break;
                }
                Err(FrameError::BadLength { len, .. }) => {
                    prop_assert!(len < 0 || len as usize > max);
                    break;
                }
            }
        }
        prop_assert_eq!(taken + buf.len(), bytes.len());
    }
}

#[test]
fn frame_length_edges() {
    let max = DEFAULT_JUTE_MAXBUFFER;
    let mut buf = BytesMut::new();
    buf.put_i32(max as i32);
    buf.resize(4 + max, 7);
    assert_eq!(take_frame(&mut buf, max).unwrap().unwrap().len(), max);
    assert!(buf.is_empty());

    buf.put_i32(max as i32 + 1);
    assert_eq!(
        take_frame(&mut buf, max),
        Err(FrameError::BadLength {
            len: max as i32 + 1,
            max
        })
    );
    let mut buf = BytesMut::new();
    buf.put_i32(-1);
    assert_eq!(
        take_frame(&mut buf, max),
        Err(FrameError::BadLength { len: -1, max })
    );
    let mut buf = BytesMut::from(&[0u8, 0, 0][..]);
    assert_eq!(take_frame(&mut buf, max), Ok(None));
    buf.put_u8(0);
    assert_eq!(take_frame(&mut buf, max), Ok(Some(Bytes::new())));
    assert!(buf.is_empty());
}

// ---------------------------------------------------------------------------------------
// Malformed input never panics
// ---------------------------------------------------------------------------------------

/// Decoding arbitrary bytes must not panic; and whenever it succeeds, the value must
/// re-encode to something that decodes to the same value (decoding canonicalises: null
/// strings become empty, booleans 1, malformed UTF-8 U+FFFD).
fn fuzz_decode<T: Jute + PartialEq + Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
    let mut input = Bytes::copy_from_slice(bytes);
    let _ = T::read(&mut input);
    if let Ok(value) = from_bytes::<T>(Bytes::copy_from_slice(bytes)) {
        let again = from_bytes::<T>(to_bytes(&value));
        prop_assert_eq!(
            again.as_ref(),
            Ok(&value),
            "{} from {:?}",
            std::any::type_name::<T>(),
            bytes
        );
    }
    Ok(())
}

fn fuzz_all_decoders(bytes: &[u8]) -> Result<(), TestCaseError> {
    fuzz_decode::<ConnectRequest>(bytes)?;
    fuzz_decode::<ConnectResponse>(bytes)?;
    fuzz_decode::<Id>(bytes)?;
    fuzz_decode::<Acl>(bytes)?;
    fuzz_decode::<Stat>(bytes)?;
    fuzz_decode::<ClientInfo>(bytes)?;
    fuzz_decode::<RequestHeader>(bytes)?;
    fuzz_decode::<ReplyHeader>(bytes)?;
    fuzz_decode::<MultiHeader>(bytes)?;
    fuzz_decode::<CreateRequest>(bytes)?;
    fuzz_decode::<CreateTtlRequest>(bytes)?;
    fuzz_decode::<CreateResponse>(bytes)?;
    fuzz_decode::<Create2Response>(bytes)?;
    fuzz_decode::<DeleteRequest>(bytes)?;
    fuzz_decode::<SetDataRequest>(bytes)?;
    fuzz_decode::<StatResponse>(bytes)?;
    fuzz_decode::<CheckVersionRequest>(bytes)?;
    fuzz_decode::<PathWatchRequest>(bytes)?;
    fuzz_decode::<PathRequest>(bytes)?;
    fuzz_decode::<GetDataResponse>(bytes)?;
    fuzz_decode::<GetChildrenResponse>(bytes)?;
    fuzz_decode::<GetChildren2Response>(bytes)?;
    fuzz_decode::<GetAclResponse>(bytes)?;
    fuzz_decode::<SetAclRequest>(bytes)?;
    fuzz_decode::<SyncResponse>(bytes)?;
    fuzz_decode::<GetAllChildrenNumberResponse>(bytes)?;
    fuzz_decode::<GetEphemeralsResponse>(bytes)?;
    fuzz_decode::<WhoAmIResponse>(bytes)?;
    fuzz_decode::<AuthPacket>(bytes)?;
    fuzz_decode::<GetSaslRequest>(bytes)?;
    fuzz_decode::<SetSaslResponse>(bytes)?;
    fuzz_decode::<ReconfigRequest>(bytes)?;
    fuzz_decode::<ErrorResponse>(bytes)?;
    fuzz_decode::<SetWatches>(bytes)?;
    fuzz_decode::<SetWatches2>(bytes)?;
    fuzz_decode::<AddWatchRequest>(bytes)?;
    fuzz_decode::<CheckWatchesRequest>(bytes)?;
    fuzz_decode::<WatcherEvent>(bytes)?;
    fuzz_decode::<MultiRequest>(bytes)?;
    fuzz_decode::<MultiResponse>(bytes)?;
    for &op in OpCode::ALL {
        if let Ok(req) = Request::decode(op, Bytes::copy_from_slice(bytes)) {
            let mut body = BytesMut::new();
            req.encode_body(&mut body);
            let again = Request::decode(req.op_code(), body.freeze());
            prop_assert_eq!(again.as_ref(), Ok(&req), "{:?} from {:?}", op, bytes);
        }
    }
    Ok(())
}

/// Bytes that look a bit like Jute (small lengths and counts, -1, op codes, text), so
/// that decoders get past their first field more often than with uniform noise.
fn jute_ish() -> impl Strategy<Value = Vec<u8>> {
    let chunk = prop_oneof![
        (-3i32..8).prop_map(|n| n.to_be_bytes().to_vec()),
        prop::sample::select(vec![
            -1i32,
            1,
            2,
            4,
            5,
            8,
            13,
            14,
            15,
            19,
            21,
            22,
            0x7fff_ffff
        ])
        .prop_map(|n| n.to_be_bytes().to_vec()),
        any::<u8>().prop_map(|b| vec![b]),
        "[a-z/]{0,4}".prop_map(String::into_bytes),
    ];
    vec(chunk, 0..24).prop_map(|chunks| chunks.concat())
}

/// A valid encoding with a few bytes overwritten and maybe truncated.
fn mutated_encoding() -> impl Strategy<Value = Vec<u8>> {
    let encoding = prop_oneof![
        request().prop_map(|r| {
            let mut b = BytesMut::new();
            r.encode_body(&mut b);
            b.to_vec()
        }),
        multi_response().prop_map(|m| to_bytes(&m).to_vec()),
        connect_request().prop_map(|c| to_bytes(&c).to_vec()),
    ];
    (
        encoding,
        vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(mut bytes, edits, cut)| {
            if !bytes.is_empty() {
                for (at, b) in edits {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            bytes
        })
}

proptest! {
    #![proptest_config(cases(96))]

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..96)) {
        fuzz_all_decoders(&bytes)?;
    }

    #[test]
    fn jute_like_bytes_never_panic(bytes in jute_ish()) {
        fuzz_all_decoders(&bytes)?;
    }

    #[test]
    fn mutated_encodings_never_panic(bytes in mutated_encoding()) {
        fuzz_all_decoders(&bytes)?;
    }
}
