//! Batch input (`-b FILE`, `shell`) read as iproute2's `do_batch` reads it:
//! `#` starts a comment anywhere on a line, a line ending in `\` goes on
//! on the next line, words are split on blanks and a word starting with
//! `'` or `"` runs to the matching quote (no escapes inside). Errors name
//! the file and the line the command ended on.

use std::io::BufRead;

use super::CliError;

/// One command of a batch: its words and the line it ended on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Line {
    pub words: Vec<String>,
    pub lineno: usize,
}

/// Reads commands one at a time.
pub(crate) struct Reader<'a> {
    input: &'a mut dyn BufRead,
    lineno: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a mut dyn BufRead) -> Self {
        Reader { input, lineno: 0 }
    }

    fn physical(&mut self) -> Result<Option<String>, std::io::Error> {
        let mut s = String::new();
        if self.input.read_line(&mut s)? == 0 {
            return Ok(None);
        }
        self.lineno += 1;
        if let Some(at) = s.find('#') {
            s.truncate(at);
            // `getcmdline` cuts the newline with the comment.
        }
        Ok(Some(s))
    }

    /// The next non-blank command; `Ok(None)` at the end of the input.
    /// A command that cannot be split (an unterminated quote, a missing
    /// continuation line) is an error for its line; reading goes on after it.
    pub(crate) fn next_command(&mut self) -> Option<Result<Line, (usize, CliError)>> {
        loop {
            let mut line = match self.physical() {
                Ok(Some(l)) => l,
                Ok(None) => return None,
                Err(e) => return Some(Err((self.lineno, io(e)))),
            };
            while let Some(head) = line.strip_suffix("\\\n").map(str::to_string) {
                match self.physical() {
                    Ok(Some(next)) => line = head + &next,
                    Ok(None) => {
                        return Some(Err((
                            self.lineno,
                            CliError::usage("Missing continuation line"),
                        )))
                    }
                    Err(e) => return Some(Err((self.lineno, io(e)))),
                }
            }
            match split(&line) {
                Ok(w) if w.is_empty() => continue,
                Ok(words) => {
                    return Some(Ok(Line {
                        words,
                        lineno: self.lineno,
                    }))
                }
                Err(e) => return Some(Err((self.lineno, e))),
            }
        }
    }
}

fn io(e: std::io::Error) -> CliError {
    CliError::Io {
        what: "reading the batch".into(),
        source: e,
    }
}

/// `makeargs`: blanks separate words; a word that starts with a quote ends
/// at the next same quote, which ends the word as a blank would (`'a'b` is
/// two words).
pub(crate) fn split(line: &str) -> Result<Vec<String>, CliError> {
    const WS: &[char] = &[' ', '\t', '\r', '\n'];
    let mut words = Vec::new();
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(WS);
        let Some(c) = rest.chars().next() else {
            return Ok(words);
        };
        if c == '\'' || c == '"' {
            let body = &rest[1..];
            let end = body
                .find(c)
                .ok_or_else(|| CliError::usage("Unterminated quoted string"))?;
            words.push(body[..end].to_string());
            // `*cp++ = 0` on the closing quote: the word ends there.
            rest = &body[end + 1..];
        } else {
            let end = rest.find(WS).unwrap_or(rest.len());
            words.push(rest[..end].to_string());
            rest = &rest[end..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Result<Line, String>> {
        let mut input = std::io::Cursor::new(text.as_bytes().to_vec());
        let mut r = Reader::new(&mut input);
        std::iter::from_fn(|| r.next_command())
            .map(|x| x.map_err(|(n, e)| format!("{n}: {e}")))
            .collect()
    }

    #[test]
    fn as_do_batch_reads() {
        let got = all("# only a comment\n\ndev show # trailing\ntrap set \\\n  trap 'a b' action \"trap\"\nx 'open\ny\n");
        let l = |w: &[&str], n| {
            Ok(Line {
                words: w.iter().map(|s| s.to_string()).collect(),
                lineno: n,
            })
        };
        assert_eq!(got[0], l(&["dev", "show"], 3));
        assert_eq!(
            got[1],
            l(&["trap", "set", "trap", "a b", "action", "trap"], 5)
        );
        assert_eq!(got[2], Err("6: Unterminated quoted string".into()));
        assert_eq!(got[3], l(&["y"], 7));
        assert_eq!(got.len(), 4);
        assert_eq!(
            all("dev \\\n"),
            vec![Err("1: Missing continuation line".into())]
        );
        assert_eq!(split("'a'b \"\"").unwrap(), ["a", "b", ""]);
    }
}
