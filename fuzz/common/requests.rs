//! The `state_machine` target's requests, built from the input a byte at a time over
//! a small namespace (names a, b, c, a- up to three levels), so that they collide.

use bytes::Bytes;
use ferrokeeper_protocol::multi::{CreateOp, MultiOp};
use ferrokeeper_protocol::records::{
    Acl, AddWatchRequest, CheckVersionRequest, CheckWatchesRequest, DeleteRequest, PathRequest,
    PathWatchRequest, SetAclRequest, SetDataRequest, SetWatches2,
};
use ferrokeeper_protocol::request::Request;
use ferrokeeper_protocol::{OpCode, Perms};

/// Reads the input a byte at a time (zeros once it runs out).
pub struct Input<'a>(pub &'a [u8]);

impl Input<'_> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A path up to three levels deep over names a, b, c — or, rarely, raw bytes.
    pub fn path(&mut self) -> String {
        let shape = self.byte();
        if shape == 0xff {
            let len = self.byte() % 8;
            return (0..len).map(|_| self.byte() as char).collect();
        }
        let depth = 1 + shape % 3;
        (0..depth)
            .map(|_| ["/a", "/b", "/c", "/a-"][(self.byte() % 4) as usize])
            .collect()
    }

    fn version(&mut self) -> i32 {
        match self.byte() % 4 {
            0 | 1 => -1,
            _ => (self.byte() % 4) as i32,
        }
    }

    fn data(&mut self) -> Option<Bytes> {
        match self.byte() % 4 {
            0 => None,
            n => Some(Bytes::from(vec![b'x'; n as usize])),
        }
    }

    fn create(&mut self) -> CreateOp {
        let op = [
            OpCode::Create,
            OpCode::Create2,
            OpCode::CreateContainer,
            OpCode::CreateTtl,
        ][(self.byte() % 4) as usize];
        CreateOp {
            op,
            path: self.path(),
            data: self.data(),
            acl: vec![Acl::new(Perms::ALL, "world", "anyone")],
            // All modes, and a few invalid ones.
            flags: (self.byte() % 8) as i32,
            ttl: [-1, 0, 1, 1000][(self.byte() % 4) as usize],
        }
    }

    fn multi_op(&mut self) -> MultiOp {
        match self.byte() % 4 {
            0 => MultiOp::Create(self.create()),
            1 => MultiOp::Delete(DeleteRequest {
                path: self.path(),
                version: self.version(),
            }),
            2 => MultiOp::SetData(SetDataRequest {
                path: self.path(),
                data: self.data(),
                version: self.version(),
            }),
            _ => MultiOp::Check(CheckVersionRequest {
                path: self.path(),
                version: self.version(),
            }),
        }
    }

    /// A write request.
    pub fn write(&mut self) -> Request {
        match self.byte() % 7 {
            0 | 1 => Request::Create(self.create()),
            2 => Request::Delete(DeleteRequest {
                path: self.path(),
                version: self.version(),
            }),
            3 => Request::SetData(SetDataRequest {
                path: self.path(),
                data: self.data(),
                version: self.version(),
            }),
            4 => Request::SetAcl(SetAclRequest {
                path: self.path(),
                acl: vec![Acl::new(Perms::ALL, "world", "anyone")],
                version: self.version(),
            }),
            5 => Request::DeleteContainer(PathRequest { path: self.path() }),
            _ => {
                let n = self.byte() % 5;
                Request::Multi((0..n).map(|_| self.multi_op()).collect())
            }
        }
    }

    /// A read that may register, check or remove watches (including invalid watch
    /// modes and types).
    pub fn read(&mut self) -> Request {
        let path_watch = |input: &mut Self| PathWatchRequest {
            path: input.path(),
            watch: !input.byte().is_multiple_of(4),
        };
        let watcher_type = |input: &mut Self| CheckWatchesRequest {
            path: input.path(),
            watcher_type: i32::from(input.byte() % 7),
        };
        match self.byte() % 8 {
            0 => Request::Exists(path_watch(self)),
            1 => Request::GetData(path_watch(self)),
            2 => Request::GetChildren(path_watch(self)),
            3 => Request::GetChildren2(path_watch(self)),
            4 => Request::AddWatch(AddWatchRequest {
                path: self.path(),
                mode: i32::from(self.byte() % 3),
            }),
            5 => Request::CheckWatches(watcher_type(self)),
            6 => Request::RemoveWatches(watcher_type(self)),
            _ => Request::SetWatches(SetWatches2 {
                relative_zxid: i64::from(self.byte()),
                data_watches: self.paths(),
                exist_watches: self.paths(),
                child_watches: self.paths(),
                persistent_watches: self.paths(),
                persistent_recursive_watches: self.paths(),
            }),
        }
    }

    /// Up to three paths.
    pub fn paths(&mut self) -> Vec<String> {
        (0..self.byte() % 4).map(|_| self.path()).collect()
    }
}
