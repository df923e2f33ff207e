//! Resident memory of this process, from `/proc/self/status` (Linux).

/// Resident bytes of this process: `VmRSS` plus `HugetlbPages` (huge pages
/// mapped with `MAP_HUGETLB`, which DMA buffers may use, are not in
/// `VmRSS`), or `None` where `/proc` does not say.
pub(crate) fn resident_bytes() -> Option<u64> {
    parse_status(&std::fs::read_to_string("/proc/self/status").ok()?)
}

fn field_kib(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(kib * 1024)
}

fn parse_status(status: &str) -> Option<u64> {
    let rss = field_kib(status, "VmRSS:")?;
    // Absent on kernels before 4.15: then there is nothing to add.
    Some(rss + field_kib(status, "HugetlbPages:").unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_hugetlb_pages_to_vm_rss_and_refuses_other_units() {
        let s = "Name:\tcxu\nVmHWM:\t  9000 kB\nVmRSS:\t   1234 kB\nHugetlbPages:\t  2048 kB\n";
        assert_eq!(parse_status(s), Some((1234 + 2048) * 1024));
        assert_eq!(parse_status("VmRSS:\t 12 kB\n"), Some(12 * 1024));
        assert_eq!(parse_status("VmRSS: 12 MB\n"), None);
        assert_eq!(parse_status("Name: x\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_bytes().is_some_and(|b| b > 0));
        }
    }
}
