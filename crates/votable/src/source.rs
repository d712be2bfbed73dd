//! A buffered input shared by the XML (metadata) reader and the row scanners.
//!
//! It keeps a growable window of unconsumed bytes, counts lines on consumption so
//! errors can report line and column, and can cap how many bytes one XML event may
//! take (an oversized attribute or text node fails instead of exhausting memory).

use std::io::{self, BufRead, Read};

const CHUNK: usize = 256 * 1024;

#[derive(Debug)]
pub(crate) struct Source<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// Lines are counted lazily: `line` is the 1-based line of `buf[mark]`, and
    /// `line_start` the absolute offset where that line starts. Bytes are counted
    /// in bulk when the buffer is recycled or a location is asked for.
    line: u64,
    mark: usize,
    /// Absolute offset of `pos`.
    offset: u64,
    line_start: u64,
    /// Bytes that may still be consumed before `fill_buf` fails (metadata mode).
    budget: Option<usize>,
    pub(crate) over_budget: bool,
}

fn count_newlines(s: &[u8]) -> usize {
    // Byte-wide sums over chunks of at most 255 bytes cannot overflow and vectorize well.
    s.chunks(255)
        .map(|c| usize::from(c.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>()))
        .sum()
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R) -> Self {
        Source {
            inner,
            buf: vec![0; CHUNK],
            pos: 0,
            end: 0,
            eof: false,
            line: 1,
            mark: 0,
            offset: 0,
            line_start: 0,
            budget: None,
            over_budget: false,
        }
    }

    /// Counts the lines of `buf[mark..pos]` and moves the mark to `pos`.
    fn settle(&mut self) {
        let s = &self.buf[self.mark..self.pos];
        let nl = count_newlines(s);
        if nl > 0 {
            self.line += nl as u64;
            if let Some(last) = memchr::memrchr(b'\n', s) {
                let abs_mark = self.offset - (self.pos - self.mark) as u64;
                self.line_start = abs_mark + last as u64 + 1;
            }
        }
        self.mark = self.pos;
    }

    /// The unconsumed bytes currently buffered.
    #[inline]
    pub(crate) fn window(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    /// Reads more input, keeping the unconsumed bytes; grows the buffer when it is
    /// full, up to `max` bytes of window. Returns `false` at end of input.
    pub(crate) fn more(&mut self, max: usize) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.settle();
            self.mark = 0;
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            if self.buf.len() >= max {
                return Ok(true); // caller checks the window size against its limit
            }
            let new_len = (self.buf.len() * 2).min(max.max(CHUNK));
            self.buf.resize(new_len, 0);
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Marks bytes as used, updating the line counter.
    #[inline]
    pub(crate) fn advance(&mut self, n: usize) {
        let n = n.min(self.end - self.pos);
        self.pos += n;
        self.offset += n as u64;
        if let Some(b) = self.budget.as_mut() {
            *b = b.saturating_sub(n);
        }
    }

    /// Line and column of the byte `rel` bytes into the window.
    pub(crate) fn location_at(&self, rel: usize) -> (u64, u64) {
        let rel = rel.min(self.end - self.pos);
        let s = &self.buf[self.mark..self.pos + rel];
        let nl = count_newlines(s) as u64;
        let abs = self.offset + rel as u64;
        if nl == 0 {
            (self.line, abs - self.line_start + 1)
        } else {
            let last = memchr::memrchr(b'\n', s).unwrap_or(0) as u64;
            let abs_mark = self.offset - (self.pos - self.mark) as u64;
            (self.line + nl, abs - (abs_mark + last + 1) + 1)
        }
    }

    /// Caps the bytes the next XML event may consume (`None`: no cap).
    pub(crate) fn set_budget(&mut self, budget: Option<usize>) {
        self.budget = budget;
        self.over_budget = false;
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.budget == Some(0) {
            self.over_budget = true;
            return Err(io::Error::other("element larger than the configured limit"));
        }
        if self.pos == self.end && !self.eof {
            self.settle();
            self.pos = 0;
            self.end = 0;
            self.mark = 0;
            self.more(CHUNK)?;
        }
        let mut w = &self.buf[self.pos..self.end];
        if let Some(b) = self.budget {
            w = &w[..w.len().min(b)];
        }
        Ok(w)
    }

    fn consume(&mut self, amt: usize) {
        self.advance(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_lines_and_columns() {
        let mut s = Source::new(&b"ab\ncd\nef"[..]);
        assert!(s.more(CHUNK).unwrap());
        assert_eq!(s.location_at(0), (1, 1));
        assert_eq!(s.location_at(4), (2, 2));
        s.advance(3);
        assert_eq!(s.location_at(0), (2, 1));
        assert_eq!(s.location_at(4), (3, 2));
    }

    #[test]
    fn budget_stops_reading() {
        let mut s = Source::new(&b"0123456789"[..]);
        s.set_budget(Some(4));
        let mut out = Vec::new();
        assert!(s.read_to_end(&mut out).is_err());
        assert_eq!(out, b"0123");
        assert!(s.over_budget);
    }
}
