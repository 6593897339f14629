//! What a fixture server is started with: ZooKeeper's settings by zoo.cfg key.

use std::path::PathBuf;

use ferrokeeper::Config;

use crate::server::{FixtureError, TestServer};

/// Settings for a [`TestServer`]. By default: in memory, a free loopback port, no
/// AdminServer, ZooKeeper's defaults for everything else.
pub struct Builder {
    pub(crate) settings: Vec<(String, String)>,
    pub(crate) storage: Storage,
}

/// Where the server keeps its data.
pub(crate) enum Storage {
    InMemory,
    /// A directory created for the server and deleted with it.
    Temporary,
    Dir(PathBuf),
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            settings: vec![
                ("clientPortAddress".into(), "127.0.0.1".into()),
                ("clientPort".into(), "0".into()),
                ("admin.enableServer".into(), "false".into()),
                ("ferrokeeper.testing.faults".into(), "true".into()),
            ],
            storage: Storage::InMemory,
        }
    }
}

impl Builder {
    /// Any zoo.cfg key (`tickTime`, `maxSessionTimeout`, `4lw.commands.whitelist`,
    /// `extendedTypesEnabled`, …); a bad key or value fails [`Builder::start`].
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_owned(), value.to_owned()));
        self
    }

    /// `tickTime`: session timeouts are negotiated between 2 and 20 ticks, and
    /// expired sessions are found within half a tick.
    pub fn tick_time_ms(self, ms: u32) -> Self {
        self.set("tickTime", &ms.to_string())
    }

    /// `minSessionTimeout` and `maxSessionTimeout`.
    pub fn session_timeouts_ms(self, min: u32, max: u32) -> Self {
        self.set("minSessionTimeout", &min.to_string())
            .set("maxSessionTimeout", &max.to_string())
    }

    /// Keep data in a temporary directory, deleted when the server is dropped: writes
    /// go through the real log and snapshots and survive [`TestServer::restart`].
    pub fn temp_data_dir(mut self) -> Self {
        self.storage = Storage::Temporary;
        self
    }

    /// Keep data in `dir` (not deleted).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.storage = Storage::Dir(dir.into());
        self
    }

    /// Serve the AdminServer too, on a free loopback port
    /// ([`TestServer::admin_addr`]).
    pub fn admin_server(self) -> Self {
        self.set("admin.enableServer", "true")
            .set("admin.serverAddress", "127.0.0.1")
            .set("admin.serverPort", "0")
    }

    pub fn start(self) -> Result<TestServer, FixtureError> {
        TestServer::start_with(self)
    }

    /// The server's configuration for a data directory (`None`: in memory).
    pub(crate) fn config(
        &self,
        data_dir: Option<&std::path::Path>,
    ) -> Result<Config, FixtureError> {
        let mut config = Config::default();
        for (key, value) in &self.settings {
            config.set(key, value)?;
        }
        config.data_dir = data_dir.map(PathBuf::from);
        config.resolve_ensemble()?;
        Ok(config)
    }
}
