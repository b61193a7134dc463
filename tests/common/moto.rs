//! A local `moto_server` (PyPI `moto[server]`, installed into .venv-peers by
//! scripts/install-test-peers.sh): the AWS APIs of the peer tests (ElastiCache, CloudWatch, S3),
//! bound to 127.0.0.1 on a free port and killed when dropped.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, repo_root, KillOnDrop};

pub struct Moto {
    _child: KillOnDrop,
    pub url: String,
}

fn moto_server() -> PathBuf {
    let path = repo_root().join(".venv-peers/bin/moto_server");
    assert!(path.exists(), "{} is missing: run scripts/install-test-peers.sh", path.display());
    path
}

pub fn start_moto() -> Moto {
    let port = free_port();
    let child = Command::new(moto_server())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start moto_server");
    let moto = Moto { _child: KillOnDrop(child), url: format!("http://127.0.0.1:{port}") };
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "moto_server did not listen on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    moto
}

impl Moto {
    /// Run a boto3 snippet against this moto (moto's own client, not redisctl's): `aws` is a
    /// function giving a client of a service; what the snippet prints is returned.
    pub fn boto3(&self, snippet: &str) -> String {
        let python = repo_root().join(".venv-peers/bin/python");
        let script = format!(
            "import boto3, json, sys\n\
             def aws(service):\n    return boto3.client(service, endpoint_url=sys.argv[1], region_name='us-east-1', \
             aws_access_key_id='testing', aws_secret_access_key='testing')\n{snippet}"
        );
        let out = Command::new(python).args(["-c", &script, &self.url]).output().expect("run boto3");
        assert!(out.status.success(), "boto3: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
