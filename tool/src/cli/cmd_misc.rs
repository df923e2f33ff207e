//! `cxu rpc`, `cxu bind` / `cxu unbind`.

use std::io::Write;

use cxu_hal::ifc::header::OutHeader;
use cxu_hal::vfio::bind::{self, SystemWriter};
use cxu_hal::vfio::Sysfs;
use devlink_core::json::{ObjectSection, OrderedMap};

use super::session::{num, write_out, Session};
use super::CliError;
use cxu_driver::rpc::Scope;

/// Output capacity of `cxu rpc` for opcodes whose size `hal::ifc` does
/// not know.
const RPC_FALLBACK_OUTLEN: usize = 0x100;

/// Decodes hex, ignoring whitespace, `:` and a leading `0x`.
pub fn from_hex(s: &str) -> Result<Vec<u8>, CliError> {
    let s = s.strip_prefix("0x").unwrap_or(s);
    let digits: Vec<u8> = s
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b':')
        .collect();
    if digits.len() % 2 != 0 {
        return Err(CliError::usage("hex input has an odd number of digits"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let t = std::str::from_utf8(p).unwrap_or("zz");
            u8::from_str_radix(t, 16)
                .map_err(|_| CliError::usage(format!("{t:?} is not a hex byte")))
        })
        .collect()
}

/// Encodes as lowercase hex.
pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `cxu rpc [DEV] [scope S] [outlen N] HEX...`: the hex words are joined.
pub fn rpc(s: &mut Session, w: &[&str], out: &mut dyn Write) -> Result<(), CliError> {
    let (dev, rest) = match w.first() {
        Some(d) if d.contains('/') => (Some(*d), &w[1..]),
        _ => (None, w),
    };
    let key = s.check_dev(dev)?;
    let mut scope = Scope::Configuration;
    let mut outlen = None;
    let mut hex = String::new();
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            "scope" => {
                let v = rest
                    .get(i + 1)
                    .ok_or_else(|| CliError::usage("scope needs a value"))?;
                scope = Scope::parse(v).ok_or_else(|| {
                    CliError::usage(format!(
                        "scope {v:?}: configuration, debug_read_only, debug_write or debug_write_full"
                    ))
                })?;
                i += 2;
            }
            "outlen" => {
                let v = rest
                    .get(i + 1)
                    .ok_or_else(|| CliError::usage("outlen needs a value"))?;
                outlen = Some(num("outlen", v)?);
                i += 2;
            }
            h => {
                hex.push_str(h);
                i += 1;
            }
        }
    }
    if hex.is_empty() {
        return Err(CliError::usage("rpc needs the command as hex"));
    }
    let input = from_hex(&hex)?;
    // Without `outlen`, the command's own output size from `hal::ifc`.
    let outlen = match outlen {
        Some(n) => n,
        None => cxu_hal::ifc::InHeader::decode(&input)
            .ok()
            .and_then(|h| cxu_hal::ifc::commands::sizes(h.opcode))
            .map_or(RPC_FALLBACK_OUTLEN, |s| s.outlen),
    };
    let handle = s.device()?.rpc.open()?;
    let output = handle.rpc(scope, &input, outlen)?;
    let h =
        OutHeader::decode(&output).map_err(|e| CliError::usage(format!("output header: {e}")))?;
    let status = h
        .status
        .name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:#x}", h.status.0));
    if s.opts.json {
        #[derive(serde::Serialize)]
        struct R {
            status: String,
            syndrome: u32,
            output: String,
        }
        let r = R {
            status,
            syndrome: h.syndrome,
            output: to_hex(&output),
        };
        return s.emit(out, &ObjectSection::new("rpc", [(key, &r)]).to_json());
    }
    let mut text = format!("status {status} syndrome {:#x}\n", h.syndrome);
    for line in output.chunks(32) {
        text.push_str(&to_hex(line));
        text.push('\n');
    }
    write_out(out, &text)
}

/// `cxu bind ADDR` / `cxu unbind ADDR`.
pub fn bind(
    s: &mut Session,
    w: &[&str],
    out: &mut dyn Write,
    to_vfio: bool,
) -> Result<(), CliError> {
    let [addr] = w else {
        return Err(CliError::usage(format!(
            "usage: cxu {} DDDD:BB:DD.F",
            if to_vfio { "bind" } else { "unbind" }
        )));
    };
    let addr: cxu_hal::PciAddress = addr
        .parse()
        .map_err(|e: cxu_hal::Error| CliError::usage(e.to_string()))?;
    let sysfs = Sysfs::new(&s.sysfs_root);
    let o = if to_vfio {
        let opts = bind::BindOptions {
            force: s.opts.force,
        };
        bind::bind_with(&sysfs, addr, &SystemWriter, opts)?
    } else {
        bind::unbind(&sysfs, addr, &SystemWriter)?
    };
    let name = |d: &Option<String>| d.clone().unwrap_or_else(|| "none".into());
    if s.opts.json {
        let v = OrderedMap(vec![
            ("before".to_string(), name(&o.before)),
            ("after".to_string(), name(&o.after)),
        ]);
        return s.emit(
            out,
            &ObjectSection::new("bind", [(o.addr.to_string(), &v)]).to_json(),
        );
    }
    let text = if o.changed() {
        format!("{}: {} -> {}\n", o.addr, name(&o.before), name(&o.after))
    } else {
        format!("{}: already on {}\n", o.addr, name(&o.after))
    };
    write_out(out, &text)
}
