//! The whole stack in a Linux guest: QEMU (TCG, q35, VT-d with caching mode)
//! presents the cxu device model, served by `cxu-vfio-user` over vfio-user, as
//! a PCI function; the guest kernel binds it to vfio-pci; `cxu-guest` (a static
//! binary in the initramfs) opens it through the real VFIO and runs its checks.
//!
//! The guest tests are `#[ignore]`d, so a plain `cargo test` reports them as
//! ignored; `scripts/test` runs them (`--ignored`) unless `CXU_QEMU=0`. Run,
//! they fetch the QEMU/kernel/busybox cache of `qemu/guest/fetch.sh`
//! (`~/.cache/cxu/guest-root`) if it is not there, and never skip.
//!
//! Steps: build the server and the guest binary statically with an explicit
//! `--target` (so the host build is not invalidated), start the server on a
//! fresh socket, boot the guest with `qemu/guest/run.sh --socket`, decide from
//! the guest's own summary line. The server is killed when the test ends; a
//! guest that hangs is killed after a bound and its console printed.

#[path = "qemu_guest/cmd_latency.rs"]
mod cmd_latency;
#[path = "qemu_guest/cost.rs"]
mod cost;
#[path = "qemu_guest/harness.rs"]
mod harness;
#[path = "qemu_guest/mlx5_eth.rs"]
mod mlx5_eth;
#[path = "qemu_guest/mlx5_offload.rs"]
mod mlx5_offload;
#[path = "qemu_guest/mlx5_state.rs"]
mod mlx5_state;
#[path = "qemu_guest/model_state.rs"]
mod model_state;
#[path = "qemu_guest/rdma.rs"]
mod rdma;
#[path = "qemu_guest/server.rs"]
mod server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use harness::{executables, guest_ready, show, static_build, workspace};
use server::Server;

/// Bound of the QEMU run, enforced by run.sh (`timeout`) and again here.
const GUEST_TIMEOUT: Duration = Duration::from_secs(240);

/// The static binaries the run needs.
struct Binaries {
    /// `cxu-vfio-user`, on the host.
    server: PathBuf,
    /// `cxu-guest`, in the guest.
    guest: PathBuf,
    /// hal's `vfio_guest` test (ignored on the host), in the guest.
    hal_test: PathBuf,
    /// The `cxu` tool, in the guest (its `bench --pci` beside rdma-core).
    cxu: PathBuf,
}

/// The binaries, built once for every test of this file.
fn binaries() -> &'static Binaries {
    static BINS: OnceLock<Binaries> = OnceLock::new();
    BINS.get_or_init(build)
}

/// One guest at a time: two TCG guests on a loaded 2-core machine would
/// stretch each other's run towards their time bounds.
fn one_guest() -> std::sync::MutexGuard<'static, ()> {
    static GUEST: Mutex<()> = Mutex::new(());
    GUEST.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds the binaries statically in one cargo call.
fn build() -> Binaries {
    let find = static_build(
        "qemu_guest",
        &[
            "-p",
            "cxu-qemu",
            "--bin",
            "cxu-vfio-user",
            "-p",
            "cxu-tests",
            "--bin",
            "cxu-guest",
            "-p",
            "cxu-hal",
            "--test",
            "vfio_guest",
            "-p",
            "cxu-tool",
            "--bin",
            "cxu",
        ],
    );
    Binaries {
        server: find("cxu-vfio-user"),
        guest: find("cxu-guest"),
        hal_test: find("vfio_guest"),
        cxu: find("cxu"),
    }
}

/// A guest script running hal's ignored real-VFIO test on the 15b3 function.
fn hal_test_script(dir: &Path, hal_test: &Path) -> PathBuf {
    let name = hal_test
        .file_name()
        .expect("test binary name")
        .to_string_lossy();
    let script = [
        "#!/bin/sh".to_string(),
        "for d in /sys/bus/pci/devices/*; do".into(),
        r#"if [ "$(cat $d/vendor)" = 0x15b3 ]; then addr=$(basename $d); break; fi"#.into(),
        "done".into(),
        r#"echo "guest: hal vfio_guest test on $addr""#.into(),
        format!("CXU_VFIO_ADDR=$addr exec /data/{name} --ignored --test-threads 1"),
        String::new(),
    ]
    .join("\n");
    let path = dir.join("hal-vfio-guest.sh");
    std::fs::write(&path, script).expect("write the hal test script");
    let mut perms = std::fs::metadata(&path).expect("script").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&path, perms).expect("chmod the script");
    path
}

/// What a finished guest run left: run.sh's output, the guest console (when
/// the run kept one), and the server's log and state lines.
struct Finished {
    out: Output,
    stdout: String,
    console: Option<String>,
    server_log: String,
    server_states: String,
}

impl Finished {
    /// Waits for the server's last state line (it prints it when it sees
    /// QEMU's connection close), collects everything, stops the server, and
    /// prints the guest's stdout.
    fn collect(server: Server, out: Output, console: Option<&Path>) -> Finished {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        server.wait_closed();
        let server_log = server.log_text();
        let server_states = server.state_text();
        drop(server);
        let console = console.map(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .replace('\r', "")
        });
        println!("{stdout}");
        Finished {
            out,
            stdout,
            console,
            server_log,
            server_states,
        }
    }

    /// Everything a failure message shows.
    fn detail(&self) -> String {
        let console = self
            .console
            .as_deref()
            .map(|c| format!("\n--- guest console\n{c}"))
            .unwrap_or_default();
        format!(
            "{}{console}\n--- server log\n{}\n--- server state lines\n{}",
            show("qemu/guest/run.sh", &self.out),
            self.server_log,
            self.server_states
        )
    }
}

/// Runs `cmd`, killing it (and failing) after `bound`.
fn run_bounded(mut cmd: Command, bound: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start run.sh");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait run.sh") {
            break s;
        }
        if start.elapsed() > bound {
            let _ = child.kill();
            let s = child.wait().expect("reap run.sh");
            eprintln!("qemu_guest: run.sh killed after {bound:?}");
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// `(passed, failed)` from the guest's last `guest: N passed, M failed` line
/// (run.sh's own `guest: ...` lines are not summaries and are skipped).
fn summary(stdout: &str) -> Option<(u32, u32)> {
    stdout.lines().rev().find_map(|l| {
        let line = l.trim().strip_prefix("guest: ")?;
        let (p, rest) = line.split_once(" passed, ")?;
        let f = rest.strip_suffix(" failed")?;
        Some((p.trim().parse().ok()?, f.trim().parse().ok()?))
    })
}

/// Every check the guest binary runs, in its order: a check that disappears
/// (renamed, skipped, or never reached) fails the run, as a failed one does.
const REQUIRED_CHECKS: &[&str] = &[
    "vfio-open",
    "config-ids",
    "bus-master",
    "init-segment",
    "firmware-boot",
    "dma-map",
    "msix-enable",
    "cmd-enable-hca",
    "cmd-nop-polled",
    "iommu-unmap-blocks-dma",
    "bring-up",
    "create-eq",
    "cmd-eqe-msix",
    "destroy-eq",
    "page-request-while-commands",
    "msix-disable",
    "vfio-reset",
    "driver-fresh-function",
    "driver-queue-enable",
    "driver-bring-up-multi-block",
    "driver-threads",
    "driver-teardown",
    "driver-probe",
    "driver-completion-events",
    "driver-multi-block",
    "driver-page-request-during-commands",
    "devlink-register",
    "devlink-trap-action",
    "devlink-policer-rate-burst",
    "devlink-group-policer",
    "devlink-bad-values-refused",
    "rpc-query-adapter",
    "rpc-access-reg-debug-read-only",
    "rpc-out-of-scope-refused",
    "devlink-rpc-unregister",
    "driver-remove",
    "driver-second-probe",
    "cost-raw-polling-1",
    "cost-raw-polling-batch31",
    "cost-driver-polling-1",
    "cost-driver-polling-batch31",
    "cost-driver-polling-each31",
    "cost-raw-events-1",
    "cost-raw-events-batch31",
    "cost-driver-events-1",
    "cost-driver-events-batch31",
    "cost-final-reset",
];

/// The required checks with no `PASS name` line in the guest's output.
fn missing_checks<'a>(stdout: &str, required: &[&'a str]) -> Vec<&'a str> {
    let passed: std::collections::HashSet<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("PASS "))
        .map(|rest| rest.split(':').next().unwrap_or(rest).trim())
        .collect();
    required
        .iter()
        .copied()
        .filter(|name| !passed.contains(name))
        .collect()
}

#[test]
#[ignore = "boots a QEMU guest; scripts/test runs it (CXU_QEMU=0 skips)"]
fn linux_guest_drives_the_model_through_real_vfio() {
    if !guest_ready("qemu_guest") {
        return;
    }
    let total = Instant::now();
    let scripts = workspace().join("qemu/guest");
    let bins = binaries();
    let _guest = one_guest();
    let scratch = tempfile::Builder::new()
        .prefix("cxu-qemu-guest-")
        .tempdir()
        .expect("scratch dir");
    let hal_script = hal_test_script(scratch.path(), &bins.hal_test);
    let server = Server::start(
        &bins.server,
        &[
            // For the guest's "page request while commands run" check.
            "--page-request",
            "6",
            "--page-request-delay-ms",
            "300",
            // More than 62 init pages: MANAGE_PAGES needs a 2-block input mailbox.
            "--init-pages",
            "80",
        ],
    );
    let mut cmd = Command::new(scripts.join("run.sh"));
    cmd.arg("--socket")
        .arg(&server.socket)
        .arg("--timeout")
        .arg(GUEST_TIMEOUT.as_secs().to_string())
        .arg("--data")
        .arg(&bins.hal_test)
        .arg(&bins.guest)
        .arg(&hal_script);
    let out = run_bounded(cmd, GUEST_TIMEOUT + Duration::from_secs(30));
    let run = Finished::collect(server, out, None);
    drop(scratch);
    let (out, stdout, server_states) = (&run.out, &run.stdout, &run.server_states);
    let counts = summary(stdout);
    let detail = || run.detail();
    assert!(out.status.success(), "the guest run failed:\n{}", detail());
    match counts {
        Some((passed, 0)) if passed > 0 => {}
        other => panic!("guest summary {other:?}:\n{}", detail()),
    }
    let missing = missing_checks(stdout, REQUIRED_CHECKS);
    assert!(
        missing.is_empty(),
        "the guest did not pass these checks: {missing:?}\n{}",
        detail()
    );
    assert!(
        stdout.contains("test real_function_config_bars_msix_dma ... ok"),
        "hal's vfio_guest test did not pass in the guest:\n{}",
        detail()
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("guest: ")
            && l.contains("(0x15b3:")
            && l.contains("-> vfio-pci, iommu group")),
        "the guest kernel did not bind a 15b3 function to vfio-pci:\n{}",
        detail()
    );
    match model_state::check(stdout, server_states) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!(
            "the model does not show what the guest set: {e}\n{}",
            detail()
        ),
    }
    match cost::check(stdout, server_states) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!("the cost of a command through VFIO: {e}\n{}", detail()),
    }
    eprintln!("qemu_guest: whole run took {:?}", total.elapsed());
}

/// Bound of the mlx5_core guest run (it takes about 30 s alone).
const MLX5_TIMEOUT: Duration = Duration::from_secs(300);
/// Checks `mlx5_core.sh` prints when all pass.
const MLX5_CHECKS: u32 = 39;

/// `(passed, failed)` from the guest's `guest: mlx5 N passed, M failed` line.
fn mlx5_summary(stdout: &str) -> Option<(u32, u32)> {
    stdout.lines().rev().find_map(|l| {
        let line = l.trim().strip_prefix("guest: mlx5 ")?;
        let (p, rest) = line.split_once(" passed, ")?;
        let f = rest.strip_suffix(" failed")?;
        Some((p.trim().parse().ok()?, f.trim().parse().ok()?))
    })
}

/// The second, independent client: the guest kernel's own mlx5_core,
/// unmodified, probes the model (behind a PCIe root port, as on a real
/// machine), stays bound across health polls and is removed; the guest checks
/// what the kernel says, the host what the model saw (every command answered,
/// the command, page and async EQs, UARs, every page back).
#[test]
#[ignore = "boots a QEMU guest; scripts/test runs it (CXU_QEMU=0 skips)"]
fn linux_mlx5_core_probes_and_removes_the_model() {
    if !guest_ready("qemu_guest mlx5_core") {
        return;
    }
    let total = Instant::now();
    let bins = binaries();
    let _guest = one_guest();
    let mut server = Server::start(&bins.server, &[]);
    let console = tempfile::NamedTempFile::new().expect("console file");
    let mut cmd = Command::new(workspace().join("qemu/guest/run.sh"));
    cmd.env("CXU_GUEST_LOG", console.path())
        .arg("--socket")
        .arg(&server.socket)
        .arg("--timeout")
        .arg(MLX5_TIMEOUT.as_secs().to_string())
        .args(["--no-vfio-bind", "--root-port"])
        // mlx5_core's dyndbg dumps every command: keep the whole log.
        .args(["--append", "log_buf_len=16M"])
        .args(["--kmod", "drivers/net/ethernet/mellanox/mlxfw/mlxfw"])
        .args(["--kmod", "drivers/pci/controller/pci-hyperv-intf"])
        // 8021q and what it needs, for the VLAN device (in load order).
        .args(["--kmod", "net/llc/llc"])
        .args(["--kmod", "net/802/stp"])
        .args(["--kmod", "net/802/garp"])
        .args(["--kmod", "net/802/mrp"])
        .args(["--kmod", "net/8021q/8021q"])
        .args([
            "--kmod",
            "drivers/net/ethernet/mellanox/mlx5/core/mlx5_core",
        ])
        // The guest's own devlink and ip (Debian's iproute2) and ethtool, from the cache.
        .args(["--guest-bin", "usr/sbin/devlink"])
        .args(["--guest-bin", "usr/bin/ip"])
        .args(["--guest-bin", "usr/sbin/ethtool"])
        // Issue 17: the kernel's command statistics, then cxu's on the same function.
        .arg("--data")
        .arg(workspace().join("tests/tests/qemu_guest/mlx5_cmd_stats.sh"))
        .arg("--data")
        .arg(&bins.guest)
        .arg(workspace().join("tests/tests/qemu_guest/mlx5_core.sh"));
    let runner =
        std::thread::spawn(move || run_bounded(cmd, MLX5_TIMEOUT + Duration::from_secs(30)));
    // The guest asks for link changes (and a state line) on its console;
    // each cue is acted on once, in order.
    let mut cue = 0;
    let cues = mlx5_eth::cues();
    while !runner.is_finished() {
        let text = std::fs::read_to_string(console.path()).unwrap_or_default();
        match cues.get(cue) {
            Some((line, commands)) if text.contains(line) => {
                // A command that needs what the guest sent (the SYN-ACK)
                // waits until the server has printed it.
                let out = server.state_text();
                let resolved: Option<Vec<String>> = commands
                    .iter()
                    .map(|c| mlx5_offload::resolve(c, &out))
                    .collect();
                match resolved {
                    Some(resolved) => {
                        for c in &resolved {
                            server.control(c);
                        }
                        cue += 1;
                    }
                    None => std::thread::sleep(Duration::from_millis(100)),
                }
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let out = runner.join().expect("the run.sh thread");
    let run = Finished::collect(server, out, Some(console.path()));
    let (out, stdout, server_states) = (&run.out, &run.stdout, &run.server_states);
    let console = run.console.as_deref().unwrap_or_default();
    let detail = || run.detail();
    assert!(
        out.status.success(),
        "the mlx5_core guest run failed:\n{}",
        detail()
    );
    match mlx5_summary(stdout) {
        Some((MLX5_CHECKS, 0)) => {}
        other => panic!("mlx5 guest summary {other:?}:\n{}", detail()),
    }
    let klog: Vec<&str> = console
        .lines()
        .filter_map(|l| l.strip_prefix("KLOG "))
        .collect();
    assert!(
        klog.iter().any(|l| l.contains("mlx5_core")),
        "no kernel log came back from the guest:\n{}",
        detail()
    );
    let bad = [
        "WARNING:",
        "BUG:",
        "Oops",
        "Call Trace",
        "health compromised",
    ];
    if let Some(l) = klog.iter().find(|l| bad.iter().any(|b| l.contains(b))) {
        panic!("the guest kernel logged {l:?}:\n{}", detail());
    }
    // mlx5e's objects, from the model's side, up to cxu's run.
    let mac = mlx5_eth::guest_mac(stdout).unwrap_or("");
    match mlx5_eth::check(cmd_latency::before_cxu(server_states), mac) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!("the model's Ethernet state: {e}\n{}", detail()),
    }
    match mlx5_eth::check_echo(cmd_latency::before_cxu(server_states)) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!("packets through the model: {e}\n{}", detail()),
    }
    match mlx5_offload::check(cmd_latency::before_cxu(server_states)) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!("the send offloads through mlx5e: {e}\n{}", detail()),
    }
    // --- issue 17: Linux's command latencies beside cxu's (cmd_latency.rs) ---
    match cmd_latency::report(stdout) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!("the command latencies of both drivers: {e}\n{}", detail()),
    }
    // cxu's run came after mlx5_core's: check what the model saw up to it.
    let server_states = cmd_latency::before_cxu(server_states);
    // --- end issue 17 ---
    let p = cxu_qemu::Profile::default();
    match mlx5_state::check(server_states, u64::from(p.boot_pages + p.init_pages)) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!("the model's state after mlx5_core: {e}\n{}", detail()),
    }

    eprintln!("qemu_guest: mlx5_core run took {:?}", total.elapsed());
}

/// Bound of the rdma-core guest run (about 40 s alone).
const RDMA_TIMEOUT: Duration = Duration::from_secs(300);

/// A second independent client, rdma-core's userspace mlx5 over VFIO (the C
/// peer of this project, Debian's static libmlx5), opens the model through
/// the guest's vfio-pci, runs NOPs, QUERY_HCA_CAPs and a UMEM through
/// `mlx5dv_devx_general_cmd`, and closes it; then `cxu bench --pci` measures
/// the same function in the same guest, and one table puts the two side by
/// side (issue 17 part 6: figures, never a timed assert).
#[test]
#[ignore = "boots a QEMU guest; scripts/test runs it (CXU_QEMU=0 skips)"]
fn rdma_core_opens_the_model_beside_cxu_bench() {
    if !guest_ready("qemu_guest rdma-core") {
        return;
    }
    let total = Instant::now();
    let bins = binaries();
    let scratch = tempfile::Builder::new()
        .prefix("cxu-qemu-rdma-")
        .tempdir()
        .expect("scratch dir");
    let peer = rdma::build_peer(&harness::cache_root(), scratch.path());
    let script = rdma::script(scratch.path(), &peer, &bins.cxu);
    let _guest = one_guest();
    // Firmware asks for pages once the driver's EQ exists: rdma-core serves
    // the request from its EQ (and cxu from its own, later).
    let request = rdma::PAGE_REQUEST.to_string();
    let server = Server::start(
        &bins.server,
        &["--page-request", &request, "--page-request-delay-ms", "0"],
    );
    let console = tempfile::NamedTempFile::new().expect("console file");
    let mut cmd = Command::new(workspace().join("qemu/guest/run.sh"));
    cmd.env("CXU_GUEST_LOG", console.path())
        .arg("--socket")
        .arg(&server.socket)
        .arg("--timeout")
        .arg(RDMA_TIMEOUT.as_secs().to_string())
        .arg("--data")
        .arg(&peer)
        .arg("--data")
        .arg(&bins.cxu)
        .arg(&script);
    let out = run_bounded(cmd, RDMA_TIMEOUT + Duration::from_secs(30));
    let run = Finished::collect(server, out, Some(console.path()));
    let (out, stdout, server_states) = (&run.out, &run.stdout, &run.server_states);
    let console = run.console.as_deref().unwrap_or_default();
    let detail = || run.detail();
    assert!(
        out.status.success(),
        "the rdma-core guest run failed:\n{}",
        detail()
    );
    let missing = missing_checks(stdout, rdma::PEER_CHECKS);
    assert!(
        missing.is_empty(),
        "rdma-core did not pass these checks: {missing:?}\n{}",
        detail()
    );
    assert!(
        stdout.contains(&format!(
            "guest: rdma {} passed, 0 failed",
            rdma::PEER_CHECKS.len()
        )),
        "the peer's summary:\n{}",
        detail()
    );
    let states = model_state::states(server_states).unwrap_or_else(|e| panic!("{e}\n{}", detail()));
    let p = cxu_qemu::Profile::default();
    let pages = u64::from(p.boot_pages + p.init_pages + rdma::PAGE_REQUEST);
    match rdma::check_model(&states, pages) {
        Ok(report) => println!("{report}"),
        Err(e) => panic!("the model's state after rdma-core: {e}\n{}", detail()),
    }
    // The bench's JSON line is on the console (run.sh shows only marked lines).
    match rdma::figures(console) {
        Ok((_, table)) => println!("{table}"),
        Err(e) => panic!("the side-by-side figures: {e}\n{}", detail()),
    }
    eprintln!("qemu_guest: rdma-core run took {:?}", total.elapsed());
}

#[test]
fn cargo_artifacts_name_their_executables() {
    let json = concat!(
        r#"{"reason":"compiler-artifact","package_id":"x","target":{"kind":["bin"],"name":"cxu-guest","src_path":"/a"},"executable":"/t/release/cxu-guest","fresh":true}"#,
        "\n",
        r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"cxu_hal"},"executable":null}"#,
        "\n",
        r#"{"reason":"build-finished","success":true}"#,
    );
    assert_eq!(
        executables(json),
        [(
            "cxu-guest".to_string(),
            PathBuf::from("/t/release/cxu-guest")
        )]
    );
}

#[test]
fn the_summary_line_is_parsed_strictly() {
    assert_eq!(summary("x\nguest: 12 passed, 0 failed\n"), Some((12, 0)));
    assert_eq!(summary("guest: 3 passed, 2 failed"), Some((3, 2)));
    assert_eq!(summary("guest: 3 passed"), None);
    assert_eq!(summary("nothing"), None);
    assert_eq!(
        summary("guest: running 00-cxu-guest\nguest: 5 passed, 1 failed\n"),
        Some((5, 1))
    );
}

#[test]
fn a_required_check_that_is_missing_or_failed_is_named() {
    let out = "PASS driver-probe: 1 ms\nFAIL driver-remove: pages left\nPASS msix-disable\n";
    assert_eq!(
        missing_checks(
            out,
            &[
                "driver-probe",
                "msix-disable",
                "driver-remove",
                "vfio-reset"
            ]
        ),
        ["driver-remove", "vfio-reset"]
    );
    // A check whose name only starts like a required one does not stand in for it.
    assert_eq!(
        missing_checks("PASS driver-probe-fast: x\n", &["driver-probe"]),
        ["driver-probe"]
    );
    assert!(REQUIRED_CHECKS.len() >= 37);
}
