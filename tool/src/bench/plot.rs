//! The plot: throughput against depth, one panel per command, as SVG.
//!
//! Written by hand (a few dozen elements) rather than with a plotting crate:
//! no fonts or image libraries to build on a small machine, and the file is
//! text that diffs and renders anywhere.

use std::fmt::Write as _;

use super::report::{CommandKind, ModeKind, PolicyKind, Report};

const PANEL_W: f64 = 460.0;
const PANEL_H: f64 = 320.0;
const MARGIN_L: f64 = 64.0;
const MARGIN_T: f64 = 48.0;
const MARGIN_B: f64 = 48.0;
const LEGEND_W: f64 = 210.0;

fn color(mode: ModeKind, policy: PolicyKind) -> &'static str {
    match (mode, policy) {
        (ModeKind::Polling, PolicyKind::LockFree) => "#1f77b4",
        (ModeKind::Polling, PolicyKind::Mutex) => "#ff7f0e",
        (ModeKind::Events, PolicyKind::LockFree) => "#2ca02c",
        (ModeKind::Events, PolicyKind::Mutex) => "#d62728",
        (ModeKind::Polling, PolicyKind::Kernel) => "#9467bd",
        (ModeKind::Events, PolicyKind::Kernel) => "#8c564b",
    }
}

fn dash(threads: u32) -> &'static str {
    match threads {
        1 => "",
        2 => "8,4",
        _ => "2,3",
    }
}

/// A "nice" upper bound for an axis ending at `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * mag)
}

struct Series {
    label: String,
    color: &'static str,
    dash: &'static str,
    width: f64,
    points: Vec<(u32, f64)>,
}

fn series_of(r: &Report, (cmd, fw): (CommandKind, u64)) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for p in r
        .points
        .iter()
        .filter(|p| p.command == cmd && p.fw_latency_us == fw)
    {
        let label = format!("{} {} {}thr", p.policy.label(), p.mode.label(), p.threads);
        match out.iter_mut().find(|s| s.label == label) {
            Some(s) => s.points.push((p.depth, p.commands_per_sec / 1000.0)),
            None => out.push(Series {
                label,
                color: color(p.mode, p.policy),
                dash: dash(p.threads),
                width: 1.8,
                points: vec![(p.depth, p.commands_per_sec / 1000.0)],
            }),
        }
    }
    let alone: Vec<(u32, f64)> = r
        .alone
        .iter()
        .filter(|a| a.command == cmd && a.fw_latency_us == fw)
        .map(|a| (a.depth, a.commands_per_sec / 1000.0))
        .collect();
    if !alone.is_empty() {
        out.push(Series {
            label: "device alone".into(),
            color: "#000000",
            dash: "",
            width: 3.0,
            points: alone,
        });
    }
    out
}

/// The SVG document.
pub(crate) fn svg(r: &Report) -> String {
    // One panel per command and firmware latency.
    let mut cmds: Vec<(CommandKind, u64)> = Vec::new();
    for p in &r.points {
        if !cmds.contains(&(p.command, p.fw_latency_us)) {
            cmds.push((p.command, p.fw_latency_us));
        }
    }
    let mut depths: Vec<u32> = r.points.iter().map(|p| p.depth).collect();
    depths.extend(r.alone.iter().map(|a| a.depth));
    depths.sort_unstable();
    depths.dedup();
    let panels = cmds.len().max(1) as f64;
    let w = MARGIN_L + panels * (PANEL_W + MARGIN_L) + LEGEND_W;
    let h = MARGIN_T + PANEL_H + MARGIN_B + 20.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{MARGIN_L}" y="20" font-size="14" font-weight="bold">cxu bench: throughput against commands in flight — {}</text>"#,
        xml(&r.device)
    );
    let xpos = |d: u32, x0: f64| {
        let i = depths.iter().position(|x| *x == d).unwrap_or(0) as f64;
        let n = (depths.len().max(2) - 1) as f64;
        x0 + i / n * PANEL_W
    };
    let mut legend: Vec<(String, &'static str, &'static str, f64)> = Vec::new();
    for (k, cmd) in cmds.iter().enumerate() {
        let x0 = MARGIN_L + k as f64 * (PANEL_W + MARGIN_L);
        let y0 = MARGIN_T;
        let series = series_of(r, *cmd);
        let ymax = nice_max(
            series
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(0.0, f64::max),
        );
        let ypos = |v: f64| y0 + PANEL_H - (v / ymax) * PANEL_H;
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-weight="bold">{}</text>"#,
            x0,
            y0 - 8.0,
            xml(&format!("{}, firmware {} us", cmd.0.label(), cmd.1))
        );
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{y0:.1}" width="{PANEL_W}" height="{PANEL_H}" fill="none" stroke="#888"/>"##
        );
        for i in 0..=5 {
            let v = ymax * f64::from(i) / 5.0;
            let y = ypos(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v:.0}</text>"##,
                x0 + PANEL_W,
                x0 - 6.0,
                y + 4.0
            );
        }
        for d in &depths {
            let x = xpos(*d, x0);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{d}</text>"##,
                y0 + PANEL_H,
                y0 + PANEL_H + 16.0
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">commands in flight (depth)</text>"#,
            x0 + PANEL_W / 2.0,
            y0 + PANEL_H + 34.0
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle">thousand commands/s</text>"#,
            x0 - 46.0,
            y0 + PANEL_H / 2.0
        );
        for se in &series {
            let pts: Vec<String> = se
                .points
                .iter()
                .map(|(d, v)| format!("{:.1},{:.1}", xpos(*d, x0), ypos(*v)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline fill="none" stroke="{}" stroke-width="{}" stroke-dasharray="{}" points="{}"/>"#,
                se.color,
                se.width,
                se.dash,
                pts.join(" ")
            );
            if !legend.iter().any(|l| l.0 == se.label) {
                legend.push((se.label.clone(), se.color, se.dash, se.width));
            }
        }
    }
    let lx = MARGIN_L + panels * (PANEL_W + MARGIN_L) - 20.0;
    for (i, (label, color, dash, width)) in legend.iter().enumerate() {
        let y = MARGIN_T + 10.0 + i as f64 * 18.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{color}" stroke-width="{width}" stroke-dasharray="{dash}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 30.0,
            lx + 36.0,
            y + 4.0,
            xml(label)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn xml(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_axis_bounds() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(87.0), 100.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(nice_max(230.0), 250.0);
        assert_eq!(nice_max(2.0), 2.0);
    }

    #[test]
    fn escapes_text() {
        assert_eq!(xml("a<b>&c"), "a&lt;b&gt;&amp;c");
    }
}
