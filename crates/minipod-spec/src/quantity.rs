//! Kubernetes resource quantities (`100m`, `0.5`, `64Mi`, `1G`, `1e3`), exactly.
//!
//! A *quantity* is how Kubernetes writes amounts of CPU, memory, storage and
//! extended resources. This module reads, compares, adds and prints them the
//! way the API server does, with integer arithmetic only (no floating point
//! anywhere). The behaviour follows Kubernetes' `resource` package:
//! <https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go>
//! (with `suffix.go`, `amount.go` and `math.go` beside it).
//!
//! # Grammar
//!
//! ```text
//! quantity  = [sign] number suffix
//! sign      = "+" | "-"
//! number    = digits | digits "." | digits "." digits | "." digits
//! suffix    = ""                                  plain number
//!           | "n" | "u" | "m"                     10^-9, 10^-6, 10^-3
//!           | "k" | "M" | "G" | "T" | "P" | "E"   10^3 ... 10^18 (decimal SI)
//!           | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"   2^10 ... 2^60 (binary SI)
//!           | ("e" | "E") [sign] digits           10^exponent
//! ```
//!
//! So `500m` = 0.5, `64Mi` = 64 × 2^20, `1e3` = 1000, `1E` = 10^18 (the exa
//! suffix, not an exponent), `1.5Gi` = 1610612736. Note `1K` and `1gi` are not
//! quantities (the suffixes are case-sensitive), and no whitespace is allowed.
//!
//! Kubernetes scans this grammar with a hand-written scanner that is more
//! permissive than the grammar above, and minipod accepts exactly what it
//! accepts: a number with no digits is zero (`.`, `+`, `-`, and even `Gi` or
//! `m` alone parse as 0), `1.` and `1.G` are fine, leading zeros are fine
//! (`007`), and an exponent is read as a 64-bit integer and then truncated to
//! 32 bits (so `1e4294967296` is 1). The three Kubernetes error messages are
//! kept: [`QuantityError::Format`] for text the scanner cannot split into a
//! number and a suffix, [`QuantityError::Suffix`] for an unknown suffix (`1K`,
//! `1e`), [`QuantityError::Numeric`] for a digit-less number that reaches
//! Kubernetes' slow path (`e-10`).
//!
//! # Value, precision and rounding
//!
//! Every quantity is stored exactly as a whole number of nano-units (10^-9) in
//! an `i128`. This is Kubernetes' own precision limit: `ParseQuantity` rounds
//! anything finer *up* (away from zero) to the next nano-unit, "so that you get
//! some resources if you asked for some": `0.1n` is `1n`, `3.001n` is `4n`,
//! `-1e-12` is `-1n`. (Kubernetes' type documentation speaks of 3 decimal
//! places, but its code rounds at 9; minipod follows the code.) Decimal values
//! are otherwise exact and unbounded in Kubernetes; minipod holds them up to
//! about ±1.7 × 10^29 (`i128::MAX` nano-units) and refuses larger ones with
//! [`QuantityError::TooLarge`] rather than lose precision. Binary-suffixed
//! values are capped at 2^63 − 1 in magnitude, as Kubernetes caps them
//! (`9Ei` is 9223372036854775807).
//!
//! [`Quantity::milli_value`] and [`Quantity::value`] round up like Kubernetes'
//! `MilliValue()`/`Value()`: `100m` has value 1, `0.1m` has milli-value 1. For
//! negative quantities they round away from zero (`-1.5` has value −2), as
//! Kubernetes documents and does for ordinary values. Results that do not fit
//! an `i64` saturate at `i64::MAX`/`i64::MIN` (Kubernetes silently overflows
//! there); [`Quantity::checked_value`] and [`Quantity::checked_milli_value`]
//! return `None` instead.
//!
//! # Printing
//!
//! [`Display`](fmt::Display) (and serialization) prints what Kubernetes'
//! `Quantity.String()` prints. A quantity remembers which family of suffixes it
//! was written with ([`Format`]) and prints its canonical form in that family:
//! no fractional digits, the largest suffix that keeps the number whole
//! (`0.5` → `500m`, `1000m` → `1`, `1024Mi` → `1Gi`, `1.5Gi` → `1536Mi`,
//! `12e-1` → `1200e-3`), and `0` for zero. A binary quantity whose value is
//! under 1024 in magnitude, or not a whole number, is printed in decimal SI
//! (`0.5Ki` → `512`, `1.1Ki` → `1126400m`).
//!
//! One Kubernetes quirk is kept on purpose: when `ParseQuantity` decides the
//! text is already canonical it keeps the text as written and prints that, and
//! its test is loose, so `5.` prints `5.`, `007` prints `007`, `1.500` prints
//! `1.500` and `1E3` prints `1E3`. Those are the strings the API server returns
//! for such manifests, so minipod prints them too. [`Quantity::canonical_string`]
//! gives the recomputed canonical form without this quirk.
//!
//! # Reading from YAML and JSON
//!
//! Manifests write quantities as strings or bare numbers (`cpu: 0.5`,
//! `memory: "64Mi"`). With `yaml_serde` (minipod's loader, for JSON files too)
//! the quantity is read from the scalar's source text, so `cpu: 0.1` is exactly
//! 0.1 and `memory: 1e3` keeps its exponent form. Other deserializers (e.g.
//! `serde_json`) deliver numbers as integers (read exactly) or as `f64`, which
//! is read through its shortest round-trip decimal text (`0.5` → `"0.5"`) with
//! no float arithmetic: exact for numbers written with at most 15 significant
//! digits, while longer ones are already rounded by the JSON parser. As in
//! Kubernetes' `UnmarshalJSON`, a string is trimmed of surrounding white space
//! and `null` reads as zero.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// Nano-units in one unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Nano-units in one milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;
/// Kubernetes' `maxAllowed` (2^63 − 1 units) in nano-units: binary-suffixed
/// quantities are capped at this magnitude when parsed (`quantity.go`,
/// `ParseQuantity`, "The max is just a simple cap").
const BINARY_CAP_NANOS: u128 = (i64::MAX as u128) * 1_000_000_000;
/// Binary suffixes by power of 1024.
const BINARY_SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];

/// A parsed quantity: an exact decimal value plus the suffix style it was
/// written in (which decides how it is printed back).
///
/// Equality, ordering and hashing are by value only: `1 == 1000m`,
/// `1Ki == 1024`, whatever the suffix or the kept text.
#[derive(Debug, Clone)]
pub struct Quantity {
    /// The exact value in units of 10^-9; never `i128::MIN`, so negation and
    /// magnitudes cannot overflow.
    nanos: i128,
    /// The suffix family used when printing.
    format: Format,
    /// The text as written, when Kubernetes would keep it as the printed form.
    as_written: Option<Box<str>>,
}

/// The suffix family a quantity is printed in (Kubernetes' `Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `e`/`E` exponents: `12e6`, `1e-3`.
    DecimalExponent,
    /// Powers of 1024: `12Mi` (12 × 2^20).
    BinarySI,
    /// Powers of 1000 and plain numbers: `12M` (12 × 10^6), `500m`, `3`.
    DecimalSI,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The Kubernetes wording for any syntax error (`ErrFormatWrong`).
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    Format,
    /// An unknown suffix such as `K`, `mi` or a bare `e` (Kubernetes `ErrSuffix`).
    #[error("unable to parse quantity's suffix")]
    Suffix,
    /// A number without digits where Kubernetes needs one, e.g. `e-10`
    /// (Kubernetes `ErrNumeric`).
    #[error("unable to parse numeric part of quantity")]
    Numeric,
    /// The value is too large for minipod's exact arithmetic (beyond about
    /// ±1.7 × 10^29; Kubernetes itself has no bound for decimal values).
    #[error("quantity is too large")]
    TooLarge,
}

impl Quantity {
    /// Zero, as written `0` (decimal SI).
    pub fn zero() -> Self {
        Quantity {
            nanos: 0,
            format: Format::DecimalSI,
            as_written: None,
        }
    }

    /// `value` units, printed in `format` (Kubernetes' `NewQuantity`).
    pub fn new(value: i64, format: Format) -> Self {
        Quantity {
            nanos: i128::from(value) * NANOS_PER_UNIT,
            format,
            as_written: None,
        }
    }

    /// `milli` thousandths, printed in `format` (Kubernetes'
    /// `NewMilliQuantity`; binary values under 1024 print in decimal SI).
    pub fn new_milli(milli: i64, format: Format) -> Self {
        Quantity {
            nanos: i128::from(milli) * NANOS_PER_MILLI,
            format,
            as_written: None,
        }
    }

    /// The suffix family this quantity prints in.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The exact value in nano-units (10^-9); every quantity is a whole number
    /// of them.
    pub fn as_nanos(&self) -> i128 {
        self.nanos
    }

    /// The value in thousandths, rounded up (Kubernetes `MilliValue()`):
    /// `0.1m` → 1, `-1.5m` → −2 (away from zero). Saturates at the `i64`
    /// bounds; see [`Quantity::checked_milli_value`].
    pub fn milli_value(&self) -> i64 {
        self.checked_milli_value().unwrap_or(self.saturated())
    }

    /// The value rounded up to an integer (Kubernetes `Value()`): `100m` → 1,
    /// `-1.5` → −2 (away from zero). Saturates at the `i64` bounds; see
    /// [`Quantity::checked_value`].
    pub fn value(&self) -> i64 {
        self.checked_value().unwrap_or(self.saturated())
    }

    /// Like [`Quantity::milli_value`], but `None` when the result does not fit
    /// an `i64` (Kubernetes would overflow silently).
    pub fn checked_milli_value(&self) -> Option<i64> {
        i64::try_from(div_away_from_zero(self.nanos, NANOS_PER_MILLI)).ok()
    }

    /// Like [`Quantity::value`], but `None` when the result does not fit an
    /// `i64` (Kubernetes would overflow silently).
    pub fn checked_value(&self) -> Option<i64> {
        i64::try_from(div_away_from_zero(self.nanos, NANOS_PER_UNIT)).ok()
    }

    /// True if the value is exactly zero.
    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// True if the value is below zero.
    pub fn is_negative(&self) -> bool {
        self.nanos < 0
    }

    /// Exact sum; `None` if it would not fit. Like Kubernetes' `Add`, the
    /// result prints in `self`'s format, or in `other`'s when `self` is zero
    /// (so a sum started from [`Quantity::zero`] takes its first addend's
    /// style).
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let nanos = self.nanos.checked_add(other.nanos)?;
        self.with_result(nanos, other)
    }

    /// Exact difference; `None` if it would not fit. Formats like
    /// [`Quantity::checked_add`] (Kubernetes' `Sub`).
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        let nanos = self.nanos.checked_sub(other.nanos)?;
        self.with_result(nanos, other)
    }

    /// The canonical form in this quantity's format, recomputed from the value
    /// (Kubernetes' `CanonicalizeBytes`); unlike [`Display`](fmt::Display) it
    /// never reuses the text as written (`5.` → `5`, `1E3` → `1e3`).
    pub fn canonical_string(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_canonical(&mut out);
        out
    }

    fn with_result(&self, nanos: i128, other: &Quantity) -> Option<Quantity> {
        if nanos == i128::MIN {
            return None;
        }
        let format = if self.is_zero() {
            other.format
        } else {
            self.format
        };
        Some(Quantity {
            nanos,
            format,
            as_written: None,
        })
    }

    fn saturated(&self) -> i64 {
        if self.nanos < 0 { i64::MIN } else { i64::MAX }
    }

    /// Kubernetes' `CanonicalizeBytes` followed by the suffix lookup.
    fn write_canonical(&self, out: &mut impl fmt::Write) -> fmt::Result {
        if self.nanos == 0 {
            return out.write_str("0");
        }
        if self.nanos < 0 {
            out.write_char('-')?;
        }
        let magnitude = self.nanos.unsigned_abs();
        let unit = NANOS_PER_UNIT.unsigned_abs();
        let mut format = self.format;
        if format == Format::BinarySI {
            // Under 1024 in magnitude, or not whole: decimal SI instead, so
            // nothing is rounded.
            if magnitude < 1024 * unit || !magnitude.is_multiple_of(unit) {
                format = Format::DecimalSI;
            } else {
                let mut mantissa = magnitude / unit;
                let mut power = 0;
                // Kubernetes has no suffix past Ei and would print the bare
                // mantissa (changing the value); stay at Ei instead. Only sums
                // get there, as parsing caps binary values below 8Ei.
                while power < BINARY_SUFFIXES.len() - 1 && mantissa.is_multiple_of(1024) {
                    mantissa /= 1024;
                    power += 1;
                }
                return write!(out, "{mantissa}{}", BINARY_SUFFIXES[power]);
            }
        }
        // Move factors of ten into the exponent, then lower the exponent to a
        // multiple of three (`AsCanonicalBytes`). Both steps at most undo the
        // first, so the mantissa never exceeds the magnitude.
        let mut mantissa = magnitude;
        let mut exponent: i32 = -9;
        while mantissa.is_multiple_of(10) {
            mantissa /= 10;
            exponent += 1;
        }
        while exponent % 3 != 0 {
            mantissa *= 10;
            exponent -= 1;
        }
        match format {
            Format::DecimalExponent if exponent == 0 => write!(out, "{mantissa}"),
            Format::DecimalExponent => write!(out, "{mantissa}e{exponent}"),
            Format::DecimalSI | Format::BinarySI => {
                // Kubernetes has no suffix past E and would print the bare
                // mantissa (changing the value); use E with a larger mantissa.
                while exponent > 18 {
                    mantissa *= 1000;
                    exponent -= 3;
                }
                write!(out, "{mantissa}{}", decimal_suffix(exponent))
            }
        }
    }
}

impl Default for Quantity {
    /// Zero, like a Kubernetes `Quantity{}`.
    fn default() -> Self {
        Quantity::zero()
    }
}

/// `value / divisor` rounded away from zero (Kubernetes' `ScaledValue`).
fn div_away_from_zero(value: i128, divisor: i128) -> i128 {
    let quotient = value / divisor;
    match (value % divisor).cmp(&0) {
        Ordering::Equal => quotient,
        Ordering::Greater => quotient + 1,
        Ordering::Less => quotient - 1,
    }
}

/// The decimal SI suffix for a power of ten that is a multiple of three
/// between −9 and 18.
fn decimal_suffix(exponent: i32) -> &'static str {
    match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        _ => "",
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    /// By value (Kubernetes `Cmp`).
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}
impl Hash for Quantity {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.nanos.hash(state);
    }
}

/// What Kubernetes prints (`Quantity.String()`): the canonical form (`0.5` →
/// `500m`), or the text as written when Kubernetes keeps it (`1e3`).
impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.as_written {
            Some(text) => f.pad(text),
            None => f.pad(&self.canonical_string()),
        }
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

mod parse;
mod serde_impl;

#[cfg(test)]
mod tests;
