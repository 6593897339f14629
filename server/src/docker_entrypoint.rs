//! What the official `zookeeper` Docker image's `docker-entrypoint.sh` does before it
//! starts the server, for the FROM-scratch image, which has no shell
//! (`ferrokeeper --docker-entrypoint`): unless `$ZOO_CONF_DIR/zoo.cfg` exists, write it
//! from the `ZOO_*` environment variables, line for line as that script does; unless
//! `$ZOO_DATA_DIR/myid` exists, write `$ZOO_MY_ID` (default 1) there. A compose file
//! written for `zookeeper:3.8` then configures Ferrokeeper the same way.

use std::io;
use std::path::{Path, PathBuf};

/// The official image's `ENV` defaults (its Dockerfile), which the script relies on.
const DEFAULTS: &[(&str, &str)] = &[
    ("ZOO_CONF_DIR", "/conf"),
    ("ZOO_DATA_DIR", "/data"),
    ("ZOO_DATA_LOG_DIR", "/datalog"),
    ("ZOO_TICK_TIME", "2000"),
    ("ZOO_INIT_LIMIT", "5"),
    ("ZOO_SYNC_LIMIT", "2"),
    ("ZOO_AUTOPURGE_PURGEINTERVAL", "0"),
    ("ZOO_AUTOPURGE_SNAPRETAINCOUNT", "3"),
    ("ZOO_MAX_CLIENT_CNXNS", "60"),
    ("ZOO_STANDALONE_ENABLED", "true"),
    ("ZOO_ADMINSERVER_ENABLED", "true"),
];

/// The script's zoo.cfg lines taken straight from one variable each, in its order.
const LINES: &[(&str, &str)] = &[
    ("dataDir", "ZOO_DATA_DIR"),
    ("dataLogDir", "ZOO_DATA_LOG_DIR"),
    ("tickTime", "ZOO_TICK_TIME"),
    ("initLimit", "ZOO_INIT_LIMIT"),
    ("syncLimit", "ZOO_SYNC_LIMIT"),
    ("autopurge.snapRetainCount", "ZOO_AUTOPURGE_SNAPRETAINCOUNT"),
    ("autopurge.purgeInterval", "ZOO_AUTOPURGE_PURGEINTERVAL"),
    ("maxClientCnxns", "ZOO_MAX_CLIENT_CNXNS"),
    ("standaloneEnabled", "ZOO_STANDALONE_ENABLED"),
    ("admin.enableServer", "ZOO_ADMINSERVER_ENABLED"),
];

/// The script's ZOO_SERVERS when it is empty: a one-server ensemble.
const DEFAULT_SERVERS: &str = "server.1=localhost:2888:3888;2181";

/// The environment as the script sees it: the image's defaults under what is set.
pub struct ZooEnv<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> ZooEnv<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        ZooEnv { lookup }
    }

    /// `$NAME`: set (even to ""), else the image's default, else "".
    fn get(&self, name: &str) -> String {
        (self.lookup)(name).unwrap_or_else(|| {
            DEFAULTS
                .iter()
                .find(|(key, _)| *key == name)
                .map_or(String::new(), |(_, default)| (*default).to_owned())
        })
    }

    pub fn config_path(&self) -> PathBuf {
        Path::new(&self.get("ZOO_CONF_DIR")).join("zoo.cfg")
    }

    /// The zoo.cfg the script writes.
    pub fn zoo_cfg(&self) -> String {
        let mut cfg = String::new();
        for (key, var) in LINES {
            cfg.push_str(&format!("{key}={}\n", self.get(var)));
        }
        let servers = match self.get("ZOO_SERVERS") {
            s if s.is_empty() => DEFAULT_SERVERS.to_owned(),
            s => s,
        };
        // Unquoted `for x in $VAR`: split on whitespace.
        for server in servers.split_whitespace() {
            cfg.push_str(&format!("{server}\n"));
        }
        let whitelist = self.get("ZOO_4LW_COMMANDS_WHITELIST");
        if !whitelist.is_empty() {
            cfg.push_str(&format!("4lw.commands.whitelist={whitelist}\n"));
        }
        for entry in self.get("ZOO_CFG_EXTRA").split_whitespace() {
            cfg.push_str(&format!("{entry}\n"));
        }
        cfg
    }

    /// `${ZOO_MY_ID:-1}`.
    pub fn my_id(&self) -> String {
        match self.get("ZOO_MY_ID") {
            id if id.is_empty() => "1".to_owned(),
            id => id,
        }
    }

    /// Writes zoo.cfg and myid where they do not exist yet; returns zoo.cfg's path.
    pub fn prepare(&self) -> io::Result<PathBuf> {
        let config = self.config_path();
        write_new(&config, &self.zoo_cfg())?;
        let data_dir = PathBuf::from(self.get("ZOO_DATA_DIR"));
        // The official image has its dataDir already; a new one is created here (the
        // server would create it anyway) rather than failing as the script would.
        std::fs::create_dir_all(&data_dir).map_err(|e| in_file(&data_dir, e))?;
        write_new(&data_dir.join("myid"), &format!("{}\n", self.my_id()))?;
        Ok(config)
    }
}

/// Creates `path` with `text`, unless it exists (a mounted zoo.cfg, a volume from an
/// earlier run): the script's `[[ ! -f ... ]]`.
fn write_new(path: &Path, text: &str) -> io::Result<()> {
    if path.exists() {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| in_file(path, e))
}

fn in_file(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn with_nothing_set_writes_the_official_images_default_config() {
        let lookup = env_of(&[]);
        let env = ZooEnv::new(&lookup);
        assert_eq!(env.config_path(), Path::new("/conf/zoo.cfg"));
        assert_eq!(
            env.zoo_cfg(),
            "dataDir=/data\ndataLogDir=/datalog\ntickTime=2000\ninitLimit=5\nsyncLimit=2\n\
             autopurge.snapRetainCount=3\nautopurge.purgeInterval=0\nmaxClientCnxns=60\n\
             standaloneEnabled=true\nadmin.enableServer=true\n\
             server.1=localhost:2888:3888;2181\n"
        );
        assert_eq!(env.my_id(), "1");
    }

    #[test]
    fn every_variable_lands_where_the_official_script_puts_it() {
        let lookup = env_of(&[
            ("ZOO_CONF_DIR", "/etc/zk"),
            ("ZOO_DATA_DIR", "/var/zk"),
            ("ZOO_DATA_LOG_DIR", "/var/zk-log"),
            ("ZOO_TICK_TIME", "3000"),
            ("ZOO_INIT_LIMIT", "10"),
            ("ZOO_SYNC_LIMIT", "4"),
            ("ZOO_AUTOPURGE_SNAPRETAINCOUNT", "5"),
            ("ZOO_AUTOPURGE_PURGEINTERVAL", "1"),
            ("ZOO_MAX_CLIENT_CNXNS", "7"),
            ("ZOO_STANDALONE_ENABLED", "false"),
            ("ZOO_ADMINSERVER_ENABLED", "false"),
            (
                "ZOO_SERVERS",
                "server.1=zoo1:2888:3888;2181 server.2=zoo2:2888:3888;2181\n  server.3=zoo3:2888:3888;2181",
            ),
            ("ZOO_4LW_COMMANDS_WHITELIST", "srvr,ruok,conf"),
            ("ZOO_CFG_EXTRA", "snapCount=1000  fsync.warningthresholdms=50"),
            ("ZOO_MY_ID", "2"),
        ]);
        let env = ZooEnv::new(&lookup);
        assert_eq!(env.config_path(), Path::new("/etc/zk/zoo.cfg"));
        assert_eq!(
            env.zoo_cfg(),
            "dataDir=/var/zk\ndataLogDir=/var/zk-log\ntickTime=3000\ninitLimit=10\nsyncLimit=4\n\
             autopurge.snapRetainCount=5\nautopurge.purgeInterval=1\nmaxClientCnxns=7\n\
             standaloneEnabled=false\nadmin.enableServer=false\n\
             server.1=zoo1:2888:3888;2181\nserver.2=zoo2:2888:3888;2181\n\
             server.3=zoo3:2888:3888;2181\n\
             4lw.commands.whitelist=srvr,ruok,conf\n\
             snapCount=1000\nfsync.warningthresholdms=50\n"
        );
        assert_eq!(env.my_id(), "2");
    }

    #[test]
    fn existing_files_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("conf");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(&data).unwrap();
        let (conf_dir, data_dir) = (conf.display().to_string(), data.display().to_string());
        let lookup = env_of(&[
            ("ZOO_CONF_DIR", &conf_dir),
            ("ZOO_DATA_DIR", &data_dir),
            ("ZOO_MY_ID", "3"),
        ]);
        let env = ZooEnv::new(&lookup);
        assert_eq!(env.prepare().unwrap(), conf.join("zoo.cfg"));
        let written = std::fs::read_to_string(conf.join("zoo.cfg")).unwrap();
        assert_eq!(written, env.zoo_cfg());
        assert_eq!(std::fs::read_to_string(data.join("myid")).unwrap(), "3\n");

        std::fs::write(conf.join("zoo.cfg"), "clientPort=2999\n").unwrap();
        std::fs::write(data.join("myid"), "7\n").unwrap();
        env.prepare().unwrap();
        let kept = std::fs::read_to_string(conf.join("zoo.cfg")).unwrap();
        assert_eq!(kept, "clientPort=2999\n");
        assert_eq!(std::fs::read_to_string(data.join("myid")).unwrap(), "7\n");
    }
}
