//! The global options, parsed as glibc's `getopt_long` does for `devlink`
//! (`"Vfb:njpvsN:ix"` plus the long forms): options anywhere on the line,
//! short flags combined (`-js`, `-jps`), a short option's value attached
//! (`-bFILE`) or in the next word, long options as `--name value`,
//! `--name=value` or any unambiguous prefix (`--js`), and `--` ending the
//! options. Words that are not options are the command, in order.
//!
//! `bench` has options of its own: from the first non-option word `bench`
//! on, every word goes to it untouched.

use super::CliError;

/// What an option sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opt {
    Json,
    Pretty,
    Stats,
    Verbose,
    Force,
    Version,
    NoNiceNames,
    Iec,
    Hex,
    Help,
    Batch,
    Netns,
    Pci,
    Sysfs,
}

/// (long name, short letter, takes a value, what it sets); the long names
/// are devlink's, then cxu's own.
const OPTIONS: &[(&str, Option<char>, bool, Opt)] = &[
    ("Version", Some('V'), false, Opt::Version),
    ("force", Some('f'), false, Opt::Force),
    ("batch", Some('b'), true, Opt::Batch),
    ("no-nice-names", Some('n'), false, Opt::NoNiceNames),
    ("json", Some('j'), false, Opt::Json),
    ("pretty", Some('p'), false, Opt::Pretty),
    ("verbose", Some('v'), false, Opt::Verbose),
    ("statistics", Some('s'), false, Opt::Stats),
    ("Netns", Some('N'), true, Opt::Netns),
    ("iec", Some('i'), false, Opt::Iec),
    ("hex", Some('x'), false, Opt::Hex),
    ("help", Some('h'), false, Opt::Help),
    ("pci", None, true, Opt::Pci),
    ("sysfs", None, true, Opt::Sysfs),
];

/// The options found (in order, with their values) and the command words.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub opts: Vec<(Opt, Option<String>)>,
    pub words: Vec<String>,
}

fn long(name: &str) -> Result<&'static (&'static str, Option<char>, bool, Opt), CliError> {
    if let Some(o) = OPTIONS.iter().find(|o| o.0 == name) {
        return Ok(o);
    }
    let hits: Vec<_> = OPTIONS.iter().filter(|o| o.0.starts_with(name)).collect();
    match hits.as_slice() {
        [one] => Ok(one),
        [] => Err(CliError::usage(format!("unrecognized option '--{name}'"))),
        many => Err(CliError::usage(format!(
            "option '--{name}' is ambiguous; possibilities: {}",
            many.iter()
                .map(|o| format!("'--{}'", o.0))
                .collect::<Vec<_>>()
                .join(" ")
        ))),
    }
}

/// Parses the command line (without the program name).
pub(crate) fn parse(args: &[String]) -> Result<Parsed, CliError> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if p.words.first().map(String::as_str) == Some("bench") {
            p.words.push(a.clone());
            continue;
        }
        if a == "--" {
            p.words.extend(args[i..].iter().cloned());
            break;
        }
        if let Some(body) = a.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let &(lname, _, takes, opt) = long(name)?;
            let val = match (takes, inline) {
                (true, Some(v)) => Some(v),
                (true, None) => {
                    i += 1;
                    Some(args.get(i - 1).cloned().ok_or_else(|| {
                        CliError::usage(format!("option '--{lname}' requires an argument"))
                    })?)
                }
                (false, Some(_)) => {
                    return Err(CliError::usage(format!(
                        "option '--{lname}' doesn't allow an argument"
                    )))
                }
                (false, None) => None,
            };
            p.opts.push((opt, val));
            continue;
        }
        let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) else {
            p.words.push(a.clone());
            continue;
        };
        for (at, c) in cluster.char_indices() {
            let &(_, _, takes, opt) = OPTIONS
                .iter()
                .find(|o| o.1 == Some(c))
                .ok_or_else(|| CliError::usage(format!("invalid option -- '{c}'")))?;
            if !takes {
                p.opts.push((opt, None));
                continue;
            }
            let rest = &cluster[at + c.len_utf8()..];
            let val = if rest.is_empty() {
                i += 1;
                args.get(i - 1).cloned().ok_or_else(|| {
                    CliError::usage(format!("option requires an argument -- '{c}'"))
                })?
            } else {
                rest.to_string()
            };
            p.opts.push((opt, Some(val)));
            break;
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn as_getopt_long_does() {
        let p = parse(&words(
            "dev -js show --pretty model/0 -bfile --pci=0000:03:00.0",
        ))
        .unwrap();
        assert_eq!(p.words, words("dev show model/0"));
        let o: Vec<Opt> = p.opts.iter().map(|(o, _)| *o).collect();
        assert_eq!(
            o,
            [Opt::Json, Opt::Stats, Opt::Pretty, Opt::Batch, Opt::Pci]
        );
        assert_eq!(p.opts[3].1.as_deref(), Some("file"));
        assert_eq!(p.opts[4].1.as_deref(), Some("0000:03:00.0"));
        let p = parse(&words("-jpb - --js --stat -- -j x")).unwrap();
        assert_eq!(p.opts[2].1.as_deref(), Some("-"));
        assert_eq!(p.opts.len(), 5);
        assert_eq!(p.words, words("-j x"));
        let p = parse(&words("--pci 0000:03:00.0 bench --depths 1 32 -j")).unwrap();
        assert_eq!(p.words, words("bench --depths 1 32 -j"));
        assert!(parse(&words("-jz"))
            .unwrap_err()
            .to_string()
            .contains("'z'"));
        assert!(parse(&words("--p x"))
            .unwrap_err()
            .to_string()
            .contains("ambiguous"));
        assert!(parse(&words("dev -b")).is_err());
        assert!(parse(&words("--json=1")).is_err());
    }
}
