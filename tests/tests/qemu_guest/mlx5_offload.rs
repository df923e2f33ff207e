//! The send offloads through Linux's mlx5e (`mlx5_core.sh`): a UDP
//! datagram (busybox nslookup's DNS query) and a TCP connection (busybox nc)
//! whose checksums the kernel leaves to the NIC (CHECKSUM_PARTIAL: cs_flags
//! L3 | L4), and the connection's data, which the kernel hands mlx5e as GSO
//! packets (LSO WQEs). The host answers the guest's SYN with a SYN-ACK
//! offering MSS [`MSS`] ([`resolve`]) and never acknowledges the data, so
//! the guest sends one initial window; every frame the model put on the
//! wire must then carry right checksums, and every TCP data frame at most
//! [`MSS`] bytes, the frames covering the byte stream without a gap.

use super::mlx5_eth::{inet_csum, tx_frames, GUEST_IP, GUEST_MAC, PEER_IP, PEER_MAC};

/// The cue command the host resolves into `rx 1 <SYN-ACK>`.
pub const SYN_ACK: &str = "syn-ack";
/// The peer's TCP port (the guest connects to it) and the MSS it offers.
const PEER_PORT: u16 = 5001;
pub const MSS: usize = 500;
/// The peer's initial sequence number.
const PEER_ISN: u32 = 0x4358_5500;
const DNS_PORT: u16 = 53;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// A cue's command as the server takes it: [`SYN_ACK`] becomes the SYN-ACK
/// to the guest's SYN among the server's `tx` lines (None until it is
/// there); any other command is taken as it is.
pub fn resolve(command: &str, server_stdout: &str) -> Option<String> {
    if command != SYN_ACK {
        return Some(command.to_string());
    }
    let frames = tx_frames(server_stdout).ok()?;
    let syn = frames
        .iter()
        .filter_map(|f| Tcp::parse(f))
        .find(|t| t.dport == PEER_PORT && t.flags & (TCP_SYN | TCP_ACK) == TCP_SYN)?;
    let f = syn_ack(syn.sport, syn.seq.wrapping_add(1));
    let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("rx 1 {hex}"))
}

/// The ones' complement sum of `b`, not complemented (test-side).
fn sum(b: &[u8], init: u32) -> u32 {
    b.chunks(2).fold(init, |s, c| {
        s + ((u32::from(c[0]) << 8) | u32::from(c.get(1).copied().unwrap_or(0)))
    })
}

/// An Ethernet + IPv4 frame from the peer to the guest carrying `l4` of
/// protocol `proto`, its IPv4 and TCP/UDP checksums right.
fn to_guest(proto: u8, mut l4: Vec<u8>, check_at: usize) -> Vec<u8> {
    let pseudo = sum(&PEER_IP, sum(&GUEST_IP, u32::from(proto) + l4.len() as u32));
    let mut s = sum(&l4, pseudo);
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    l4[check_at..check_at + 2].copy_from_slice(&(!(s as u16)).to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 0, 0x43, 0x58, 0x40, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    ip.extend_from_slice(&PEER_IP);
    ip.extend_from_slice(&GUEST_IP);
    let c = inet_csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut f = GUEST_MAC.to_vec();
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&ip);
    f.extend_from_slice(&l4);
    f
}

/// The peer's SYN-ACK to port `dport` acknowledging `ack`: window 65535,
/// no window scaling, timestamps or SACK, MSS [`MSS`].
fn syn_ack(dport: u16, ack: u32) -> Vec<u8> {
    let mut t = PEER_PORT.to_be_bytes().to_vec();
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&PEER_ISN.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x60, TCP_SYN | TCP_ACK, 0xFF, 0xFF, 0, 0, 0, 0]);
    t.extend_from_slice(&[2, 4]);
    t.extend_from_slice(&(MSS as u16).to_be_bytes());
    to_guest(6, t, 16)
}

/// Why the IPv4 TCP/UDP frame `f` from the guest to the peer has a wrong
/// checksum, if it does; None for any other frame.
fn bad_checksum(f: &[u8]) -> Option<Option<String>> {
    let ip = ipv4_to_peer(f)?;
    let ihl = usize::from(ip[0] & 0xF) * 4;
    if inet_csum(&ip[..ihl]) != 0 {
        return Some(Some("a wrong IPv4 header checksum".into()));
    }
    let (proto, l4) = (ip[9], &ip[ihl..]);
    let (name, at) = match proto {
        6 if l4.len() >= 20 => ("TCP", 16),
        17 if l4.len() >= 8 => ("UDP", 6),
        _ => return None,
    };
    let pseudo = sum(&ip[12..20], u32::from(proto) + l4.len() as u32);
    let mut s = sum(l4, pseudo);
    while s > 0xFFFF {
        s = (s & 0xFFFF) + (s >> 16);
    }
    let field = u16::from_be_bytes([l4[at], l4[at + 1]]);
    // A UDP sum of 0 means "none" (a computed 0 goes out as 0xFFFF); for
    // TCP 0 is a sum like any other.
    Some(if s != 0xFFFF || (field == 0 && proto == 17) {
        Some(format!("a wrong {name} checksum 0x{field:04x}"))
    } else {
        None
    })
}

/// The IPv4 packet of `f` (to its total length) if it goes from the guest
/// to the peer.
fn ipv4_to_peer(f: &[u8]) -> Option<&[u8]> {
    if f.len() < 34 || f[..6] != PEER_MAC || f[6..12] != GUEST_MAC || f[12..14] != [8, 0] {
        return None;
    }
    let ip = &f[14..];
    let len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let ihl = usize::from(ip[0] & 0xF) * 4;
    (ip[0] >> 4 == 4
        && ihl >= 20
        && len >= ihl
        && len <= ip.len()
        && ip[12..20] == [GUEST_IP, PEER_IP].concat())
    .then(|| &ip[..len])
}

/// A TCP segment from the guest to the peer.
struct Tcp {
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
    payload: usize,
}

impl Tcp {
    fn parse(f: &[u8]) -> Option<Tcp> {
        let ip = ipv4_to_peer(f)?;
        let ihl = usize::from(ip[0] & 0xF) * 4;
        let t = ip.get(ihl..).filter(|t| ip[9] == 6 && t.len() >= 20)?;
        let doff = usize::from(t[12] >> 4) * 4;
        Some(Tcp {
            sport: u16::from_be_bytes([t[0], t[1]]),
            dport: u16::from_be_bytes([t[2], t[3]]),
            seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
            flags: t[13],
            payload: t.len().checked_sub(doff)?,
        })
    }
}

/// Checks the frames the guest sent: every TCP/UDP frame to the peer has
/// right checksums; a DNS query went out; the connection's data frames are
/// at most [`MSS`] bytes each, several of them full, and cover the stream
/// from the SYN's sequence number on without a gap.
pub fn check(server_stdout: &str) -> Result<String, String> {
    let frames = tx_frames(server_stdout)?;
    let mut summed = 0;
    for f in &frames {
        match bad_checksum(f) {
            Some(Some(why)) => return Err(format!("a {}-byte frame with {why}", f.len())),
            Some(None) => summed += 1,
            None => {}
        }
    }
    let udp = |f: &&Vec<u8>| {
        ipv4_to_peer(f).is_some_and(|ip| {
            let ihl = usize::from(ip[0] & 0xF) * 4;
            ip[9] == 17 && ip.get(ihl + 2..ihl + 4) == Some(&DNS_PORT.to_be_bytes()[..])
        })
    };
    let dns = frames.iter().filter(udp).count();
    if dns == 0 {
        return Err("no UDP datagram to the peer's port 53 (nslookup's query)".into());
    }
    let tcp: Vec<Tcp> = frames
        .iter()
        .filter_map(|f| Tcp::parse(f))
        .filter(|t| t.dport == PEER_PORT)
        .collect();
    let syn = tcp
        .iter()
        .find(|t| t.flags & (TCP_SYN | TCP_ACK) == TCP_SYN)
        .ok_or("no SYN to the peer's port 5001")?;
    let mut data: Vec<(u32, usize)> = tcp
        .iter()
        .filter(|t| t.sport == syn.sport && t.payload > 0)
        .map(|t| (t.seq.wrapping_sub(syn.seq), t.payload))
        .collect();
    if let Some(&(_, len)) = data.iter().find(|&&(_, len)| len > MSS) {
        return Err(format!(
            "a TCP data frame of {len} bytes, above the MSS {MSS}: an LSO left uncut"
        ));
    }
    let full = data.iter().filter(|&&(_, len)| len == MSS).count();
    if full < 2 {
        return Err(format!(
            "{full} full-MSS TCP data frames (of {}): no segmented burst",
            data.len()
        ));
    }
    data.sort_unstable();
    let mut next = 1u64;
    for &(off, len) in &data {
        if u64::from(off) > next {
            return Err(format!(
                "the TCP data frames skip bytes {next}..{off} of the stream"
            ));
        }
        next = next.max(u64::from(off) + len as u64);
    }
    Ok(format!(
        "qemu_guest: the model wrote right checksums on {summed} TCP/UDP frames from mlx5e ({dns} DNS queries); {} TCP data frames of at most {MSS} bytes ({full} full) carried bytes 1..{next} of the stream",
        data.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx_line(f: &[u8]) -> String {
        let hex: String = f.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            r#"cxu-vfio-user: tx {{"port":1,"len":{},"hex":"{hex}"}}"#,
            f.len()
        )
    }

    /// A frame from the guest to the peer: `to_guest`'s with the addresses
    /// swapped and the checksums redone.
    fn from_guest(proto: u8, l4: Vec<u8>, at: usize) -> Vec<u8> {
        let mut f = to_guest(proto, l4.clone(), at);
        let (mac, ip) = (f[..6].to_vec(), f[26..30].to_vec());
        f.copy_within(6..12, 0);
        f[6..12].copy_from_slice(&mac);
        f.copy_within(30..34, 26);
        f[30..34].copy_from_slice(&ip);
        // The sums are symmetric in the addresses: still right.
        f
    }

    fn tcp(seq: u32, flags: u8, payload: usize) -> Vec<u8> {
        let mut t = 40000u16.to_be_bytes().to_vec();
        t.extend_from_slice(&PEER_PORT.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 1, 0x50, flags, 1, 0, 0, 0, 0, 0]);
        t.extend((0..payload).map(|i| i as u8));
        from_guest(6, t, 16)
    }

    fn dns() -> Vec<u8> {
        let mut u = 33333u16.to_be_bytes().to_vec();
        u.extend_from_slice(&DNS_PORT.to_be_bytes());
        u.extend_from_slice(&[0, 20, 0, 0]);
        u.extend_from_slice(b"cxu.test");
        u.extend_from_slice(&[0; 4]);
        from_guest(17, u, 6)
    }

    #[test]
    fn the_syn_ack_answers_the_guests_syn() {
        let out = tx_line(&tcp(1000, TCP_SYN, 0));
        assert_eq!(resolve("link 1 down", "").as_deref(), Some("link 1 down"));
        assert_eq!(resolve(SYN_ACK, ""), None);
        let rx = resolve(SYN_ACK, &out).unwrap();
        let hex = rx.strip_prefix("rx 1 ").unwrap();
        let f: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        assert_eq!(f[..6], GUEST_MAC);
        let t = &f[34..];
        assert_eq!(u16::from_be_bytes([t[2], t[3]]), 40000);
        assert_eq!(u32::from_be_bytes([t[8], t[9], t[10], t[11]]), 1001);
        assert_eq!(t[13], TCP_SYN | TCP_ACK);
        assert_eq!(inet_csum(&f[14..34]), 0);
    }

    #[test]
    fn segmented_data_passes_and_an_uncut_lso_or_a_bad_sum_fails() {
        let good = [
            tx_line(&dns()),
            tx_line(&tcp(1000, TCP_SYN, 0)),
            tx_line(&tcp(1001, TCP_ACK, MSS)),
            tx_line(&tcp(1501, TCP_ACK, MSS)),
            tx_line(&tcp(2001, TCP_ACK | 0x08, 24)),
        ];
        let r = check(&good.join("\n")).unwrap();
        assert!(r.contains("3 TCP data frames"), "{r}");
        let uncut = [
            good[0].clone(),
            good[1].clone(),
            tx_line(&tcp(1001, TCP_ACK, 1024)),
        ];
        assert!(check(&uncut.join("\n")).unwrap_err().contains("uncut"));
        let mut bad = tcp(1001, TCP_ACK, MSS);
        bad[60] ^= 1;
        let out = [good.join("\n"), tx_line(&bad)].join("\n");
        assert!(check(&out).unwrap_err().contains("TCP checksum"));
        // Two full frames with a hole between them: only the gap check
        // can refuse it.
        let gap = [
            good[0].clone(),
            good[1].clone(),
            good[2].clone(),
            tx_line(&tcp(2001, TCP_ACK, MSS)),
        ];
        let e = check(&gap.join("\n")).unwrap_err();
        assert!(e.contains("skip"), "{e}");
        assert!(check(&good[1..].join("\n"))
            .unwrap_err()
            .contains("port 53"));
    }
}
