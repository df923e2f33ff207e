//! What `dev flash` prints while the device flashes, as devlink's
//! `cmd_dev_flash_status_cb` does: one line per status message, with
//! `[component] ` before it. The percentage and the elapsed time are for a
//! terminal only; there the line is redrawn in place (`\r`) with a bar.
//! Not a terminal, the output is plain lines a script can read. `-j` does
//! not change it (devlink prints the same text).

use std::time::{Duration, Instant};

use devlink_core::FlashStatusView;

/// Silence after which a terminal shows the elapsed time (devlink: more
/// than 2 s, or at once when the step announced a timeout).
const ELAPSED_AFTER: Duration = Duration::from_secs(3);
const BAR: usize = 30;

/// The progress printer's state.
pub(crate) struct FlashText {
    tty: bool,
    /// A status was printed (the next different one starts a new line).
    started: bool,
    last_msg: Option<String>,
    last_component: Option<String>,
    /// The last status had a percentage.
    last_pc: bool,
    /// When the message last changed, and the step's timeout.
    since: Instant,
    timeout: Option<u64>,
    /// `[component] message` of the current line.
    head: String,
    /// The terminal line as drawn (without the elapsed time).
    line: String,
    /// Width drawn last, to blank what a shorter redraw leaves.
    drawn: usize,
}

impl FlashText {
    pub(crate) fn new(tty: bool, now: Instant) -> Self {
        FlashText {
            tty,
            started: false,
            last_msg: None,
            last_component: None,
            last_pc: false,
            since: now,
            timeout: None,
            head: String::new(),
            line: String::new(),
            drawn: 0,
        }
    }

    /// Text for a `flash status` notification.
    pub(crate) fn status(&mut self, st: &FlashStatusView, now: Instant) -> String {
        let same = self.started
            && self.last_pc
            && st.msg == self.last_msg
            && st.component == self.last_component;
        let mut out = String::new();
        if !same {
            self.since = now;
            if self.started {
                out.push('\n');
                self.drawn = 0;
            }
            let mut head = String::new();
            if let Some(c) = &st.component {
                head.push_str(&format!("[{c}] "));
            }
            if let Some(m) = &st.msg {
                head.push_str(m);
            }
            self.last_msg = st.msg.clone();
            self.last_component = st.component.clone();
            if !self.tty {
                out.push_str(&head);
            }
            self.head = head;
        }
        self.timeout = st.timeout;
        let fraction = match (st.done, st.total) {
            (Some(d), Some(t)) if t > 0 => Some(d.min(t) as f64 / t as f64),
            _ => None,
        };
        self.last_pc = fraction.is_some();
        self.started = true;
        if self.tty {
            let mut line = self.head.clone();
            if let Some(f) = fraction {
                let filled = ((f * BAR as f64).round() as usize).min(BAR);
                line.push_str(&format!(
                    " [{}{}] {:3}%",
                    "#".repeat(filled),
                    " ".repeat(BAR - filled),
                    (f * 100.0).floor() as u64
                ));
            }
            out.push_str(&self.draw(&line));
            self.line = line;
            if self.timeout.is_some() {
                out.push_str(&self.tick(now));
            }
        }
        out
    }

    /// On a terminal, the elapsed time once the device has been silent a
    /// while (or from the start of a step with a timeout): ` ( 0m 5s )`,
    /// ` ( 0m 5s : 1m 0s )`, ` ( 1m 5s : timeout reached )`.
    pub(crate) fn tick(&mut self, now: Instant) -> String {
        let el = now.saturating_duration_since(self.since);
        if !self.tty || !self.started || (el < ELAPSED_AFTER && self.timeout.is_none()) {
            return String::new();
        }
        let s = el.as_secs();
        let msg = match self.timeout {
            None => format!(" ( {}m {}s )", s / 60, s % 60),
            Some(t) if s <= t => format!(" ( {}m {}s : {}m {}s )", s / 60, s % 60, t / 60, t % 60),
            Some(_) => format!(" ( {}m {}s : timeout reached )", s / 60, s % 60),
        };
        let line = format!("{}{msg}", self.line);
        self.draw(&line)
    }

    /// Text for `flash end`.
    pub(crate) fn end(&mut self) -> String {
        "\n".into()
    }

    fn draw(&mut self, line: &str) -> String {
        let w = line.chars().count();
        let pad = self.drawn.saturating_sub(w);
        self.drawn = w;
        format!("\r{line}{}", " ".repeat(pad))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(msg: &str, comp: Option<&str>, done: u64, total: u64) -> FlashStatusView {
        FlashStatusView {
            msg: Some(msg.into()),
            component: comp.map(str::to_string),
            done: Some(done),
            total: Some(total),
            timeout: None,
        }
    }

    #[test]
    fn plain_lines_off_a_terminal() {
        let t0 = Instant::now();
        let mut f = FlashText::new(false, t0);
        let mut s = String::new();
        s += &f.status(&st("Preparing to flash", None, 0, 0), t0);
        for d in [100, 200, 300] {
            s += &f.status(&st("Downloading", Some("fw.mgmt"), d, 300), t0);
        }
        s += &f.tick(t0 + Duration::from_secs(60));
        s += &f.status(&st("Flashing done", None, 0, 0), t0);
        s += &f.end();
        assert_eq!(
            s,
            "Preparing to flash\n[fw.mgmt] Downloading\nFlashing done\n"
        );
    }

    #[test]
    fn a_bar_redrawn_in_place_on_a_terminal() {
        let t0 = Instant::now();
        let mut f = FlashText::new(true, t0);
        let a = f.status(&st("Downloading", None, 150, 300), t0);
        assert_eq!(
            a,
            format!("\rDownloading [{}{}]  50%", "#".repeat(15), " ".repeat(15))
        );
        let b = f.status(&st("Downloading", None, 300, 300), t0);
        assert_eq!(b, format!("\rDownloading [{}] 100%", "#".repeat(30)));
        assert_eq!(f.tick(t0 + Duration::from_secs(1)), "");
        let c = f.tick(t0 + Duration::from_secs(65));
        assert!(c.ends_with("100% ( 1m 5s )"), "{c:?}");
        let d = f.status(&st("Verifying", None, 0, 0), t0 + Duration::from_secs(66));
        assert_eq!(d, "\n\rVerifying");
        let mut t = st("Erasing", Some("fw"), 0, 0);
        t.timeout = Some(60);
        let e = f.status(&t, t0 + Duration::from_secs(70));
        assert!(e.starts_with("\n\r[fw] Erasing"), "{e:?}");
        assert!(e.ends_with("[fw] Erasing ( 0m 0s : 1m 0s )"), "{e:?}");
        let g = f.tick(t0 + Duration::from_secs(200));
        assert!(g.ends_with(" ( 2m 10s : timeout reached )"), "{g:?}");
    }
}
