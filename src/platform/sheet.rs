//! CSV for people: every table the server hands to staff or the public to open in a
//! spreadsheet (exports, reports, payment advice, open-data pages). The `csv` crate quotes; each
//! cell goes through [`spreadsheet_safe`], so that none runs as a formula. One writer, so that a
//! new download cannot forget either.

use super::text::spreadsheet_safe;

/// `format` of a table that is JSON unless `csv` is asked for: is CSV asked? Anything else is
/// an error, not JSON.
pub fn wants_csv(format: Option<&str>) -> crate::platform::error::Result<bool> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(crate::platform::error::Error::BadRequest(format!(
            "format {other:?}: json or csv"
        ))),
    }
}

pub struct Sheet {
    w: csv::Writer<Vec<u8>>,
}

impl Default for Sheet {
    fn default() -> Self {
        Self::new()
    }
}

impl Sheet {
    pub fn new() -> Sheet {
        Sheet {
            // Rows may differ in length (a total line); the reader's spreadsheet does not mind.
            w: csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new()),
        }
    }

    /// One row. Writing to memory cannot fail, and a flexible writer takes any length.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let _ = self.w.write_record(
            cells
                .into_iter()
                .map(|c| spreadsheet_safe(c.as_ref()).into_owned()),
        );
    }

    /// The text so far (UTF-8, as every cell was).
    pub fn finish(self) -> String {
        let bytes = self.w.into_inner().unwrap_or_default();
        String::from_utf8(bytes).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_never_formulas() {
        let mut s = Sheet::new();
        s.row([
            "=HYPERLINK(\"x\")",
            "بجلی چوری, پشاور",
            "-12.5",
            "two\nlines",
        ]);
        s.row(["TOTAL"]);
        assert_eq!(
            s.finish(),
            "\"'=HYPERLINK(\"\"x\"\")\",\"بجلی چوری, پشاور\",-12.5,\"two\nlines\"\nTOTAL\n"
        );
    }
}
