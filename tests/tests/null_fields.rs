//! Null (length -1) strings, buffers and vectors in every field of every request, sent
//! byte for byte to Apache ZooKeeper 3.8 (Debian's `zookeeper`, started beside us) and
//! to ferrokeeper, each on a fresh session: the answers must match — error code, body,
//! whether the request took a zxid, and whether the connection stays open.
//!
//! What ZooKeeper does (and these cases pin): a null field it uses without checking —
//! the path of create, delete, exists, getData, getACL, getChildren,
//! getAllChildrenNumber, checkWatches and of any op in a multi; the id of a world,
//! digest or ip ACL entry; setWatches' lists and their data/exist/child paths — fails
//! the request with MarshallingError (a failed transaction, with a zxid, for a write; a
//! multi with a null path fails before becoming one, answering an empty result list).
//! Elsewhere a null string reads as the empty string. Null data is stored as null and
//! read back as null. A null auth credential fails authentication; a SASL packet
//! without a token drops the connection.

use std::net::SocketAddr;

use bytes::Bytes;
use ferrokeeper_protocol::jute::from_bytes;
use ferrokeeper_protocol::records::{GetDataResponse, ReplyHeader};
use ferrokeeper_protocol::{CreateMode, Jute, OpCode};
use ferrokeeper_tests::wire::{new_session_request, req, request_frame, Wire, READ_TIMEOUT};
use ferrokeeper_tests::{Launch, ServerProcess};

/// A request body written field by field, so any field can be null.
#[derive(Clone, Default)]
struct Body(Vec<u8>);

/// A null string, buffer or vector.
const NULL: Option<&str> = None;

impl Body {
    fn int(mut self, v: i32) -> Body {
        self.0.extend(v.to_be_bytes());
        self
    }

    fn long(mut self, v: i64) -> Body {
        self.0.extend(v.to_be_bytes());
        self
    }

    fn flag(mut self, v: bool) -> Body {
        self.0.push(u8::from(v));
        self
    }

    fn raw(mut self, bytes: &[u8]) -> Body {
        self.0.extend_from_slice(bytes);
        self
    }

    /// A `ustring` or `buffer` (the same bytes).
    fn string(self, s: Option<&str>) -> Body {
        match s {
            None => self.int(-1),
            Some(s) => self.int(s.len() as i32).raw(s.as_bytes()),
        }
    }

    fn strings(self, items: Option<&[Option<&str>]>) -> Body {
        let Some(items) = items else {
            return self.int(-1);
        };
        let body = self.int(items.len() as i32);
        items.iter().fold(body, |body, item| body.string(*item))
    }

    /// ACL entries (all permissions) as (scheme, id).
    fn acls(self, entries: Option<&[(Option<&str>, Option<&str>)]>) -> Body {
        let Some(entries) = entries else {
            return self.int(-1);
        };
        let body = self.int(entries.len() as i32);
        entries.iter().fold(body, |body, (scheme, id)| {
            body.int(31).string(*scheme).string(*id)
        })
    }
}

const OPEN: &[(Option<&str>, Option<&str>)] = &[(Some("world"), Some("anyone"))];

fn create(
    path: Option<&str>,
    data: Option<&str>,
    acl: Option<&[(Option<&str>, Option<&str>)]>,
) -> Body {
    Body::default().string(path).string(data).acls(acl).int(0)
}

fn with_path(path: Option<&str>) -> Body {
    Body::default().string(path)
}

/// A multi (or multiRead) body: each op's header, its body, then the terminator.
fn multi(ops: &[(OpCode, Body)]) -> Body {
    let body = ops.iter().fold(Body::default(), |body, (op, op_body)| {
        body.int(op.code()).flag(false).int(-1).raw(&op_body.0)
    });
    body.int(-1).flag(true).int(-1)
}

/// setWatches (five lists of which the last two only in setWatches2).
fn set_watches(lists: &[Option<&[Option<&str>]>]) -> Body {
    lists
        .iter()
        .fold(Body::default().long(0), |body, list| body.strings(*list))
}

/// How a reply's body is compared.
#[derive(Clone, Copy)]
enum View {
    /// Byte for byte.
    Bytes,
    /// A getData answer: its data only (the stat's times differ between servers).
    Data,
    /// The error code only: the reply's stat has times, which differ between servers
    /// (a getData afterwards shows what was stored).
    ErrOnly,
}

struct Case {
    name: String,
    op: OpCode,
    body: Body,
    view: View,
}

fn case(name: impl Into<String>, op: OpCode, body: Body) -> Case {
    Case {
        name: name.into(),
        op,
        body,
        view: View::Bytes,
    }
}

fn get_data(path: &'static str) -> Case {
    Case {
        name: format!("getData {path}"),
        op: OpCode::GetData,
        body: Body::default().string(Some(path)).flag(false),
        view: View::Data,
    }
}

fn cases() -> Vec<Case> {
    use OpCode::*;
    let empty: &[Option<&str>] = &[];
    let one_null: &[Option<&str>] = &[NULL];
    let mut cases = vec![
        // Paths.
        case(
            "create, null path",
            Create,
            create(NULL, Some("d"), Some(OPEN)),
        ),
        case(
            "create2, null path",
            Create2,
            create(NULL, Some("d"), Some(OPEN)),
        ),
        case(
            "createContainer, null path",
            CreateContainer,
            with_path(NULL).string(Some("d")).acls(Some(OPEN)).int(4),
        ),
        case(
            "createTTL, null path",
            CreateTtl,
            with_path(NULL)
                .string(Some("d"))
                .acls(Some(OPEN))
                .int(5)
                .long(10_000),
        ),
        case("delete, null path", Delete, with_path(NULL).int(-1)),
        case("exists, null path", Exists, with_path(NULL).flag(false)),
        case(
            "exists, null path, watch",
            Exists,
            with_path(NULL).flag(true),
        ),
        case("getData, null path", GetData, with_path(NULL).flag(false)),
        case(
            "setData, null path",
            SetData,
            with_path(NULL).string(Some("x")).int(-1),
        ),
        case("getACL, null path", GetAcl, with_path(NULL)),
        case(
            "setACL, null path",
            SetAcl,
            with_path(NULL).acls(Some(OPEN)).int(-1),
        ),
        case(
            "getChildren, null path",
            GetChildren,
            with_path(NULL).flag(false),
        ),
        case(
            "getChildren2, null path",
            GetChildren2,
            with_path(NULL).flag(true),
        ),
        case("sync, null path", Sync, with_path(NULL)),
        case("sync, empty path", Sync, with_path(Some(""))),
        case(
            "checkWatches, null path",
            CheckWatches,
            with_path(NULL).int(1),
        ),
        case(
            "removeWatches, null path",
            RemoveWatches,
            with_path(NULL).int(1),
        ),
        case(
            "deleteContainer, null path",
            DeleteContainer,
            with_path(NULL),
        ),
        case("getEphemerals, null prefix", GetEphemerals, with_path(NULL)),
        case(
            "getAllChildrenNumber, null path",
            GetAllChildrenNumber,
            with_path(NULL),
        ),
        case("addWatch, null path", AddWatch, with_path(NULL).int(0)),
        // Data: stored as null, read back as null (not as empty).
        case(
            "create, null data",
            Create,
            create(Some("/nd"), NULL, Some(OPEN)),
        ),
        get_data("/nd"),
        case(
            "create, empty data",
            Create,
            create(Some("/ed"), Some(""), Some(OPEN)),
        ),
        get_data("/ed"),
        Case {
            view: View::ErrOnly,
            ..case(
                "setData, null data",
                SetData,
                with_path(Some("/n")).string(NULL).int(-1),
            )
        },
        get_data("/n"),
        // ACLs.
        case(
            "create, null ACL list",
            Create,
            create(Some("/a1"), Some("d"), None),
        ),
        case(
            "create, null ACL scheme",
            Create,
            create(Some("/a2"), Some("d"), Some(&[(NULL, Some("anyone"))])),
        ),
        case(
            "setACL, null ACL list",
            SetAcl,
            with_path(Some("/n")).acls(None).int(-1),
        ),
        case(
            "setACL, null ACL scheme",
            SetAcl,
            with_path(Some("/n"))
                .acls(Some(&[(NULL, Some("anyone"))]))
                .int(-1),
        ),
    ];
    for scheme in ["world", "digest", "ip", "auth", "unknown"] {
        let acl = [(Some(scheme), NULL)];
        cases.push(case(
            format!("create, null ACL id, scheme {scheme}"),
            Create,
            create(Some("/a3"), Some("d"), Some(&acl)),
        ));
        cases.push(case(
            format!("setACL, null ACL id, scheme {scheme}"),
            SetAcl,
            with_path(Some("/n")).acls(Some(&acl)).int(-1),
        ));
    }
    let null_acl_id = [(Some("world"), NULL)];
    cases.extend([
        // Multi: a null path in any op, a null ACL id, null data.
        case(
            "multi, create with a null path",
            Multi,
            multi(&[(Create, create(NULL, Some("d"), Some(OPEN)))]),
        ),
        case(
            "multi, delete with a null path",
            Multi,
            multi(&[(Delete, with_path(NULL).int(-1))]),
        ),
        case(
            "multi, setData with a null path",
            Multi,
            multi(&[(SetData, with_path(NULL).string(Some("x")).int(-1))]),
        ),
        case(
            "multi, check with a null path",
            Multi,
            multi(&[(Check, with_path(NULL).int(-1))]),
        ),
        case(
            "multi, a null path in the second op",
            Multi,
            multi(&[
                (Create, create(Some("/m1"), Some("d"), Some(OPEN))),
                (Delete, with_path(NULL).int(-1)),
            ]),
        ),
        get_data("/m1"),
        case(
            "multi, create with a null ACL id",
            Multi,
            multi(&[(Create, create(Some("/m2"), Some("d"), Some(&null_acl_id)))]),
        ),
        Case {
            view: View::ErrOnly,
            ..case(
                "multi, setData with null data",
                Multi,
                multi(&[(SetData, with_path(Some("/n")).string(NULL).int(-1))]),
            )
        },
        get_data("/n"),
        case(
            "multiRead, getData with a null path",
            MultiRead,
            multi(&[(GetData, with_path(NULL).flag(false))]),
        ),
        case(
            "multiRead, getChildren with a null path",
            MultiRead,
            multi(&[(GetChildren, with_path(NULL).flag(false))]),
        ),
        // setWatches (101) and setWatches2 (105).
        case(
            "setWatches, null data path",
            SetWatches,
            set_watches(&[Some(one_null), Some(empty), Some(empty)]),
        ),
        case(
            "setWatches, null exist path",
            SetWatches,
            set_watches(&[Some(empty), Some(one_null), Some(empty)]),
        ),
        case(
            "setWatches, null child path",
            SetWatches,
            set_watches(&[Some(empty), Some(empty), Some(one_null)]),
        ),
        case(
            "setWatches, null lists",
            SetWatches,
            set_watches(&[None, None, None]),
        ),
    ]);
    let lists = ["data", "exist", "child", "persistent", "recursive"];
    for (i, list) in lists.into_iter().enumerate() {
        let mut null_path = [Some(empty); 5];
        null_path[i] = Some(one_null);
        cases.push(case(
            format!("setWatches2, a null {list} path"),
            SetWatches2,
            set_watches(&null_path),
        ));
        let mut null_list = [Some(empty); 5];
        null_list[i] = None;
        cases.push(case(
            format!("setWatches2, a null {list} list"),
            SetWatches2,
            set_watches(&null_list),
        ));
    }
    cases.extend([
        // The rest.
        case(
            "reconfig, null strings",
            Reconfig,
            with_path(NULL).string(NULL).string(NULL).long(-1),
        ),
        case(
            "auth, null scheme",
            Auth,
            Body::default().int(0).string(NULL).string(Some("u:p")),
        ),
        case(
            "auth, digest with a null credential",
            Auth,
            Body::default().int(0).string(Some("digest")).string(NULL),
        ),
        case(
            "auth, world with a null credential",
            Auth,
            Body::default().int(0).string(Some("world")).string(NULL),
        ),
        case("sasl, null token", Sasl, with_path(NULL)),
        case("sasl, a token", Sasl, with_path(Some("token"))),
    ]);
    cases
}

/// One server's answer to a case, on a fresh session: the reply (or the close), how
/// the zxid moved, and whether the connection is still usable.
fn outcome(addr: SocketAddr, case: &Case) -> String {
    let mut w = Wire::connect(addr);
    let before = w.call(1, &req::exists("/", false)).header.zxid;
    w.write_raw_lossy(&request_frame(2, case.op.code(), &case.body.0));
    let reply = loop {
        match w.recv_frame_within(READ_TIMEOUT) {
            None => return "no answer".into(),
            Some(None) => return "closed without an answer".into(),
            Some(Some(mut payload)) => {
                let header = ReplyHeader::read(&mut payload).expect("reply header");
                // Not a notification.
                if header.xid != -1 {
                    break (header, payload);
                }
            }
        }
    };
    let (header, body) = reply;
    let body = match case.view {
        View::Data if header.err == 0 => {
            let data = from_bytes::<GetDataResponse>(body)
                .expect("getData answer")
                .data;
            match data {
                None => "data null".to_owned(),
                Some(d) => format!("data {:?}", String::from_utf8_lossy(&d)),
            }
        }
        View::ErrOnly => String::new(),
        _ => format!("body {}", hex(&body)),
    };
    // A read afterwards: is the connection still open, and did the request take a zxid?
    w.write_raw_lossy(&request_frame(
        3,
        OpCode::Exists.code(),
        &with_path(Some("/")).flag(false).0,
    ));
    let after = match w.recv_frame_within(READ_TIMEOUT).flatten() {
        Some(mut payload) => {
            let after = ReplyHeader::read(&mut payload).expect("reply header").zxid;
            format!("took {} zxid", after - before)
        }
        None => "then closed".into(),
    };
    let reply_zxid = if header.zxid == 0 {
        "0".to_owned()
    } else {
        format!("{:+}", header.zxid - before)
    };
    format!(
        "xid {} err {} zxid {reply_zxid} {body}; {after}",
        header.xid, header.err
    )
}

fn hex(bytes: &Bytes) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// /n with data, and /n/c under it, on both servers.
fn setup(addr: SocketAddr) {
    let mut w = Wire::connect(addr);
    for (xid, path) in [(1, "/n"), (2, "/n/c")] {
        let reply = w.call(xid, &req::create(path, b"d", CreateMode::Persistent));
        assert_eq!(reply.err(), 0, "setup {path}");
    }
}

#[test]
fn null_fields_are_answered_as_zookeeper_answers_them() {
    let args = ["--extended-types"];
    let zk = ServerProcess::start_zookeeper(&[&args[..], &["--set", "forceSync=no"]].concat());
    let fk: ServerProcess = Launch::in_memory().args(&args).start();
    setup(zk.addr);
    setup(fk.addr);
    let mut differences = Vec::new();
    let mut marshalling = 0;
    for case in cases() {
        let theirs = outcome(zk.addr, &case);
        let ours = outcome(fk.addr, &case);
        eprintln!("{:?} {}: {theirs}", case.op, case.name);
        marshalling += usize::from(theirs.contains("err -5 "));
        if theirs != ours {
            differences.push(format!(
                "{:?} {}:\n  ZooKeeper:   {theirs}\n  ferrokeeper: {ours}",
                case.op, case.name
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "{} answers differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // The cases reach what they are about: ZooKeeper refused many null fields.
    assert!(marshalling >= 20, "only {marshalling} MarshallingErrors");
}

#[test]
fn a_null_password_in_a_connect_request_starts_a_new_session() {
    let zk = ServerProcess::start_zookeeper(&["--set", "forceSync=no"]);
    let fk: ServerProcess = Launch::in_memory().start();
    for server in [&zk, &fk] {
        let request = ferrokeeper_protocol::records::ConnectRequest {
            passwd: None,
            ..new_session_request(10_000)
        };
        let (mut w, response) = Wire::connect_with(server.addr, &request);
        assert_ne!(response.session_id, 0, "{:?}", server.addr);
        assert_eq!(response.passwd.map(|p| p.len()), Some(16));
        assert_eq!(w.ping().err(), 0);
    }
}
