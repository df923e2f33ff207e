//! One line per check, in the form the CI log reader counts.

/// A check's outcome: `Ok(detail)` passes, `Err(why)` fails.
pub type Check = Result<String, String>;

/// `.ctx("what")?` on any error that displays, inside a [`Check`].
pub trait Ctx<T> {
    /// Turns the error into `"what: error"`.
    fn ctx(self, what: &str) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// Tally of the checks run so far.
#[derive(Default)]
pub struct Report {
    passed: u32,
    failed: u32,
}

impl Report {
    /// Prints `PASS name: detail` or `FAIL name: why` and counts it. Returns
    /// whether it passed, so a caller can skip checks that depend on it.
    pub fn check(&mut self, name: &str, outcome: Check) -> bool {
        match outcome {
            Ok(detail) if detail.is_empty() => {
                println!("PASS {name}");
                self.passed += 1;
                true
            }
            Ok(detail) => {
                println!("PASS {name}: {detail}");
                self.passed += 1;
                true
            }
            Err(why) => {
                println!("FAIL {name}: {why}");
                self.failed += 1;
                false
            }
        }
    }

    /// A measurement or a fact, not a check.
    pub fn info(&self, name: &str, detail: &str) {
        println!("INFO {name}: {detail}");
    }

    /// Prints the summary line; true when nothing failed.
    pub fn finish(&self, who: &str) -> bool {
        println!("{who}: {} passed, {} failed", self.passed, self.failed);
        self.failed == 0
    }
}
