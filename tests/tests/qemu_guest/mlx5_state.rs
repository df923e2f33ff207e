//! What Linux's own mlx5_core did to the model, from the model's side: the
//! server's last state line (`cxu-vfio-user: state {...}`, with the device's
//! history) after the guest loaded mlx5_core, kept it bound across health
//! polls, and removed it, and the commands of all the lines up to it.

use cxu_hal::ifc::eqe::EventType;
use cxu_hal::ifc::{CmdStatus, Opcode};
use serde_json::Value;

fn uint(v: &Value, key: &str) -> Result<u64, String> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("the model's state has no number {key}"))
}

fn array<'a>(v: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    v.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("the model's state has no list {key}"))
}

/// One command from the state's `commands` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cmd {
    pub opcode: Opcode,
    pub op_mod: u16,
    pub status: CmdStatus,
    pub syndrome: u32,
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.opcode)?;
        if self.op_mod != 0 {
            write!(f, "({:#x})", self.op_mod)?;
        }
        if self.status != CmdStatus::OK {
            write!(f, "={}/{:#x}", self.status, self.syndrome)?;
        }
        Ok(())
    }
}

/// The commands of one state line (those since the previous line), in order.
pub fn commands(state: &Value) -> Result<Vec<Cmd>, String> {
    array(state, "commands")?
        .iter()
        .map(|c| {
            let n = |i: usize| c.get(i).and_then(Value::as_u64);
            match (n(0), n(1), n(2), n(3)) {
                (Some(op), Some(m), Some(s), Some(y)) => Ok(Cmd {
                    opcode: Opcode(op as u16),
                    op_mod: m as u16,
                    status: CmdStatus(s as u8),
                    syndrome: y as u32,
                }),
                _ => Err(format!("command entry {c}")),
            }
        })
        .collect()
}

/// The model's command log up to the last of `states` (all the server's
/// state lines up to one): each line lists the commands answered since the
/// previous line, the first of them at log index `commands_from`.
pub fn log(states: &[Value]) -> Result<Vec<Cmd>, String> {
    let mut all = Vec::new();
    for s in states {
        let from = uint(s, "commands_from")?;
        if from != all.len() as u64 {
            return Err(format!(
                "a state line's commands start at log index {from}, after {} commands",
                all.len()
            ));
        }
        all.extend(commands(s)?);
    }
    Ok(all)
}

/// The commands as one line, runs of the same command folded (`X x3`).
pub fn sequence(cmds: &[Cmd]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cmds.len() {
        let n = cmds[i..].iter().take_while(|c| **c == cmds[i]).count();
        out.push(if n > 1 {
            format!("{} x{n}", cmds[i])
        } else {
            cmds[i].to_string()
        });
        i += n;
    }
    out.join(", ")
}

fn subscribes(eq: &Value, t: EventType) -> bool {
    let word = usize::from(t.0 / 64);
    eq.get("events")
        .and_then(|e| e.get(word))
        .and_then(Value::as_u64)
        .is_some_and(|w| w & (1u64 << (t.0 % 64)) != 0)
}

/// Checks the model's last state after mlx5_core was loaded and removed;
/// `min_pages` is what the model asks for at boot and init together.
pub fn check(server_stdout: &str, min_pages: u64) -> Result<String, String> {
    let all = super::model_state::states(server_stdout)?;
    let state = all.last().ok_or("the server printed no state line")?;
    let cmds = log(&all)?;
    let mut report = vec![format!(
        "qemu_guest: mlx5_core sent {} commands: {}",
        cmds.len(),
        sequence(&cmds)
    )];
    if uint(state, "commands_dropped")? != 0 {
        return Err("the model's command log overflowed".into());
    }
    let failed: Vec<String> = cmds
        .iter()
        .filter(|c| c.status != CmdStatus::OK)
        .map(Cmd::to_string)
        .collect();
    if !failed.is_empty() {
        return Err(format!(
            "the model refused commands of mlx5_core: {}",
            failed.join(", ")
        ));
    }
    let first = cmds.first().map(|c| c.opcode);
    let last = cmds.last().map(|c| c.opcode);
    if first != Some(Opcode::ENABLE_HCA) || last != Some(Opcode::DISABLE_HCA) {
        return Err(format!(
            "the kernel's commands run from {first:?} to {last:?}, not ENABLE_HCA to DISABLE_HCA"
        ));
    }
    for op in [Opcode::INIT_HCA, Opcode::TEARDOWN_HCA, Opcode::SET_HCA_CAP] {
        if !cmds.iter().any(|c| c.opcode == op) {
            return Err(format!("mlx5_core sent no {op}"));
        }
    }
    let given = uint(state, "pages_given")?;
    let taken = uint(state, "pages_taken")?;
    let held = uint(state, "pages_held")?;
    if given < min_pages {
        return Err(format!(
            "mlx5_core gave {given} pages, the model asks for {min_pages} at boot and init"
        ));
    }
    if held != 0 || taken != given {
        return Err(format!(
            "after rmmod the model holds {held} pages ({given} given, {taken} taken back)"
        ));
    }
    report.push(format!(
        "qemu_guest: mlx5_core gave {given} pages and took back {taken}; the model holds {held}"
    ));
    let eqs = array(state, "eqs_created")?;
    let find = |t: EventType| eqs.iter().find(|e| subscribes(e, t));
    let (cmd_eq, page_eq, async_eq) = (
        find(EventType::CMD).ok_or("no EQ takes command completions")?,
        find(EventType::PAGE_REQUEST).ok_or("no EQ takes page requests")?,
        find(EventType::PORT_CHANGE).ok_or("no EQ takes port changes (the async EQ)")?,
    );
    let eqn = |e: &Value| uint(e, "eqn");
    let mut ns = [eqn(cmd_eq)?, eqn(page_eq)?, eqn(async_eq)?];
    ns.sort_unstable();
    if ns[0] == ns[1] || ns[1] == ns[2] {
        return Err(format!(
            "the command, page and async EQs share numbers: {ns:?}"
        ));
    }
    let uars: Vec<u64> = array(state, "uars_allocated")?
        .iter()
        .map(|u| u.as_u64().ok_or_else(|| format!("UAR index {u}")))
        .collect::<Result<_, _>>()?;
    if uars.is_empty() || uars.iter().any(|&u| u < 1) {
        return Err(format!(
            "UARs allocated: {uars:?}, want indexes of at least 1"
        ));
    }
    for e in eqs {
        if !uars
            .iter()
            .any(|&u| Some(u) == e.get("uar").and_then(Value::as_u64))
        {
            return Err(format!("EQ {e} rings through a UAR never allocated"));
        }
    }
    let (live_eqs, live_uars) = (uint(state, "eqs_live")?, uint(state, "uars_live")?);
    let destroyed = uint(state, "eqs_destroyed")?;
    let freed = uint(state, "uars_freed")?;
    if live_eqs != 0
        || live_uars != 0
        || destroyed != eqs.len() as u64
        || freed != uars.len() as u64
    {
        return Err(format!(
            "after rmmod: {live_eqs} EQs and {live_uars} UARs live; {destroyed} of {} EQs destroyed, {freed} of {} UARs freed",
            eqs.len(),
            uars.len()
        ));
    }
    if state.get("hca").and_then(Value::as_str) != Some("Disabled") {
        return Err(format!(
            "the HCA ended {:?}, not Disabled",
            state.get("hca")
        ));
    }
    report.push(format!(
        "qemu_guest: mlx5_core created {} EQs (command {}, pages {}, async {}) on UARs {uars:?}, and destroyed them all",
        eqs.len(),
        eqn(cmd_eq)?,
        eqn(page_eq)?,
        eqn(async_eq)?
    ));
    Ok(report.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state line after a clean probe and removal (ops trimmed to the ends).
    fn state(held: u64, last_op: u16, cmd_eq_mask: u64) -> String {
        format!(
            concat!(
                r#"cxu-vfio-user: state {{"reason":"connection closed","hca":"Disabled","#,
                r#""pages_held":{held},"pages_given":24,"pages_taken":{taken},"eqs_live":0,"#,
                r#""uars_live":0,"eqs_destroyed":3,"uars_freed":1,"eqs_created":["#,
                r#"{{"eqn":0,"vector":0,"uar":4,"log_size":8,"events":[{cmd},0,0,0]}},"#,
                r#"{{"eqn":1,"vector":0,"uar":4,"log_size":13,"events":[512,0,0,0]}},"#,
                r#"{{"eqn":2,"vector":0,"uar":4,"log_size":8,"events":[2048,0,0,0]}}],"#,
                r#""uars_allocated":[4],"commands_dropped":0,"commands_from":0,"commands":["#,
                r#"[260,0,0,0],[265,0,0,0],[258,0,0,0],[264,1,0,0],[264,1,0,0],[259,0,0,0],"#,
                r#"[{last},0,0,0]]}}"#
            ),
            held = held,
            taken = 24 - held,
            cmd = cmd_eq_mask,
            last = last_op
        )
    }

    #[test]
    fn a_clean_run_passes_and_folds_repeats() {
        let r = check(&state(0, 0x105, 1 << 10), 24).unwrap();
        assert!(r.contains("MANAGE_PAGES(0x108)(0x1) x2"), "{r}");
        assert!(r.contains("command 0, pages 2, async 1"), "{r}");
    }

    #[test]
    fn the_log_joins_the_lines_and_a_lost_line_fails() {
        let whole = state(0, 0x105, 1 << 10);
        // The same run as two lines: its first three commands at a reset, the
        // rest when the connection closed (`from` is where they start).
        let split = |from: u32| {
            let first = concat!(
                r#"cxu-vfio-user: state {"reason":"reset","commands_from":0,"#,
                r#""commands":[[260,0,0,0],[265,0,0,0],[258,0,0,0]]}"#
            );
            let rest = whole.replace(
                r#""commands_from":0,"commands":[[260,0,0,0],[265,0,0,0],[258,0,0,0],"#,
                &format!(r#""commands_from":{from},"commands":["#),
            );
            format!("{first}\n{rest}\n")
        };
        assert_eq!(check(&split(3), 24), check(&whole, 24));
        assert!(check(&whole, 24).is_ok());
        let e = check(&split(4), 24).unwrap_err();
        assert!(e.contains("log index 4, after 3"), "{e}");
    }

    #[test]
    fn pages_left_a_missing_eq_or_a_wrong_order_fail() {
        assert!(check(&state(2, 0x105, 1 << 10), 24)
            .unwrap_err()
            .contains("holds 2 pages"));
        assert!(check(&state(0, 0x105, 0), 24)
            .unwrap_err()
            .contains("command completions"));
        assert!(check(&state(0, 0x103, 1 << 10), 24)
            .unwrap_err()
            .contains("not ENABLE_HCA to DISABLE_HCA"));
        assert!(check(&state(0, 0x105, 1 << 10), 30)
            .unwrap_err()
            .contains("asks for 30"));
    }
}
