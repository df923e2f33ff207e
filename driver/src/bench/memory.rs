//! Resident memory of this process, from `/proc/self/status` (Linux).

/// `VmRSS` of this process in bytes, or `None` where `/proc` does not say.
pub(crate) fn resident_bytes() -> Option<u64> {
    parse_vm_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss_and_refuses_other_units() {
        let s = "Name:\tcxu\nVmHWM:\t  9000 kB\nVmRSS:\t   1234 kB\nThreads: 3\n";
        assert_eq!(parse_vm_rss(s), Some(1234 * 1024));
        assert_eq!(parse_vm_rss("VmRSS: 12 MB\n"), None);
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
        }
    }
}
