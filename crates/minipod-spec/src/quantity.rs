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

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Nano-units in one unit.
const NANOS_PER_UNIT: i128 = 1_000_000_000;
/// Nano-units in one milli-unit.
const NANOS_PER_MILLI: i128 = 1_000_000;
/// Kubernetes' `maxAllowed` (2^63 − 1 units) in nano-units: binary-suffixed
/// quantities are capped at this magnitude when parsed (`quantity.go`,
/// `ParseQuantity`, "The max is just a simple cap").
const BINARY_CAP_NANOS: u128 = (i64::MAX as u128) * 1_000_000_000;
/// Characters Kubernetes' scanner takes as the letters of a suffix.
const SUFFIX_LETTERS: &[u8] = b"eEinumkKMGTP";
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
    /// Parses the Kubernetes quantity grammar (Kubernetes' `ParseQuantity`).
    ///
    /// No white space is allowed; see the module documentation for the
    /// grammar, what Kubernetes accepts beyond it, and the rounding.
    pub fn parse(text: &str) -> Result<Self, QuantityError> {
        if text.is_empty() {
            return Err(QuantityError::Format);
        }
        if text == "0" {
            return Ok(Quantity {
                nanos: 0,
                format: Format::DecimalSI,
                as_written: Some(text.into()),
            });
        }
        let scanned = scan(text.as_bytes())?;
        let (format, exponent) = interpret_suffix(scanned.suffix).ok_or(QuantityError::Suffix)?;

        // Kubernetes first tries a fast path on int64 values; the result is the
        // same exact value as its slow path, but only the fast path can keep the
        // text as written, and only the slow path can fail on a digit-less
        // number. Its conditions are mirrored here (`ParseQuantity`, the
        // `precision` and `scale` computations).
        let int_len = usize_to_i64(scanned.int_digits.len().max(1)); // "0" when empty
        let frac_len = usize_to_i64(scanned.frac_digits.len());
        let exponent = i64::from(exponent);
        let (precision, scale) = match format {
            // Roughly the decimal digits left after the binary multiplier.
            Format::BinarySI if frac_len == 0 => (15 - int_len - exponent * 3 / 10 - 1, 0),
            Format::BinarySI => (-1, 0),
            Format::DecimalSI | Format::DecimalExponent => {
                (18 - (int_len + frac_len), exponent - frac_len)
            }
        };
        let fast = precision >= 0 && scale >= -9;
        if !fast && !scanned.any_digit {
            return Err(QuantityError::Numeric);
        }
        let keep_text = fast && keeps_text(&scanned, format, exponent);

        let magnitude = exact_magnitude(&scanned, format, exponent);
        let (magnitude, format) = match format {
            Format::BinarySI => {
                // Capped, and a binary value strictly between 0 and 1 becomes
                // decimal SI (`ParseQuantity`, after rounding).
                let capped = magnitude.map_or(BINARY_CAP_NANOS, |m| m.min(BINARY_CAP_NANOS));
                let format = if capped > 0 && capped < NANOS_PER_UNIT.unsigned_abs() {
                    Format::DecimalSI
                } else {
                    Format::BinarySI
                };
                (capped, format)
            }
            Format::DecimalSI | Format::DecimalExponent => {
                (magnitude.ok_or(QuantityError::TooLarge)?, format)
            }
        };
        let magnitude = i128::try_from(magnitude).map_err(|_| QuantityError::TooLarge)?;
        let nanos = if scanned.negative {
            -magnitude
        } else {
            magnitude
        };
        let as_written = keep_text.then(|| text.into());
        Ok(Quantity {
            nanos,
            format,
            as_written,
        })
    }

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

/// A quantity split by Kubernetes' scanner (`parseQuantityString`).
struct Scanned<'a> {
    negative: bool,
    /// Integer digits without leading zeros; empty when zero or absent.
    int_digits: &'a [u8],
    /// Digits after the decimal point, as written.
    frac_digits: &'a [u8],
    /// Whether the number part has any digit at all.
    any_digit: bool,
    /// Everything after the number: letters, then an optional sign and digits.
    suffix: &'a [u8],
}

/// Splits `text` into sign, number and suffix like `parseQuantityString`:
/// permissive about the number and suffix (they are checked later), strict
/// about anything else.
fn scan(text: &[u8]) -> Result<Scanned<'_>, QuantityError> {
    let end = text.len();
    let mut pos = 0;
    let mut negative = false;
    match text.first() {
        Some(b'-') => {
            negative = true;
            pos = 1;
        }
        Some(b'+') => pos = 1,
        _ => {}
    }
    let zeros_start = pos;
    while pos < end && text[pos] == b'0' {
        pos += 1;
    }
    if pos == end {
        // Only a sign and zeros (or just a sign): zero, no suffix.
        return Ok(Scanned {
            negative,
            int_digits: &[],
            frac_digits: &[],
            any_digit: true,
            suffix: &[],
        });
    }
    let had_zeros = pos > zeros_start;
    let int_start = pos;
    while pos < end && text[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_digits = &text[int_start..pos];
    let mut frac_digits: &[u8] = &[];
    if pos < end && text[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < end && text[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_digits = &text[frac_start..pos];
    }
    let suffix_start = pos;
    while pos < end && SUFFIX_LETTERS.contains(&text[pos]) {
        pos += 1;
    }
    if pos < end && matches!(text[pos], b'+' | b'-') {
        pos += 1;
    }
    while pos < end && text[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::Format);
    }
    Ok(Scanned {
        negative,
        int_digits,
        frac_digits,
        any_digit: had_zeros || !int_digits.is_empty() || !frac_digits.is_empty(),
        suffix: &text[suffix_start..],
    })
}

/// The format and exponent a suffix stands for (`suffix.go`): a power of ten
/// for the decimal formats, a power of two for binary SI. The fixed suffixes
/// win over exponents, so `E` is exa and `E3` an exponent.
fn interpret_suffix(suffix: &[u8]) -> Option<(Format, i32)> {
    use Format::{BinarySI, DecimalExponent, DecimalSI};
    Some(match suffix {
        b"" => (DecimalSI, 0),
        b"n" => (DecimalSI, -9),
        b"u" => (DecimalSI, -6),
        b"m" => (DecimalSI, -3),
        b"k" => (DecimalSI, 3),
        b"M" => (DecimalSI, 6),
        b"G" => (DecimalSI, 9),
        b"T" => (DecimalSI, 12),
        b"P" => (DecimalSI, 15),
        b"E" => (DecimalSI, 18),
        b"Ki" => (BinarySI, 10),
        b"Mi" => (BinarySI, 20),
        b"Gi" => (BinarySI, 30),
        b"Ti" => (BinarySI, 40),
        b"Pi" => (BinarySI, 50),
        b"Ei" => (BinarySI, 60),
        // Kubernetes reads the exponent as an int64 and then converts it to
        // int32, which keeps the low 32 bits; `as` does exactly that.
        [b'e' | b'E', rest @ ..] if !rest.is_empty() => {
            (DecimalExponent, parse_go_int64(rest)? as i32)
        }
        _ => return None,
    })
}

/// Go's `strconv.ParseInt(text, 10, 64)`: an optional sign, then one or more
/// ASCII digits, within the `i64` range.
fn parse_go_int64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude: u64 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(digit - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Whether Kubernetes' fast path keeps the text as written as the printed
/// form (`ParseQuantity`, "if the number is in canonical form, reuse the
/// string"). Only called for text that took the fast path.
fn keeps_text(scanned: &Scanned<'_>, format: Format, exponent: i64) -> bool {
    match format {
        // The integer digits (at most 11 on the fast path) have a low bit set
        // among their last three.
        Format::BinarySI => {
            let value = scanned.int_digits.iter().fold(0u64, |acc, &d| {
                acc.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
            });
            value & 0x07 != 0
        }
        // The scale is a multiple of three and the digits neither end in
        // `000` nor start with `0` (the integer part is never empty here).
        Format::DecimalSI | Format::DecimalExponent => {
            let scale = exponent - usize_to_i64(scanned.frac_digits.len());
            let shifted: Vec<u8> = [scanned.int_digits, scanned.frac_digits].concat();
            scale % 3 == 0 && !shifted.ends_with(b"000") && !scanned.int_digits.is_empty()
        }
    }
}

/// The magnitude in nano-units, rounded up to a whole nano-unit, or `None`
/// if it exceeds `i128::MAX` nano-units.
fn exact_magnitude(scanned: &Scanned<'_>, format: Format, exponent: i64) -> Option<u128> {
    let digits: Vec<u8> = [scanned.int_digits, scanned.frac_digits].concat();
    // Significant digits only: trailing zeros move into the exponent.
    let Some(first) = digits.iter().position(|&d| d != b'0') else {
        return Some(0);
    };
    let last = digits.iter().rposition(|&d| d != b'0').unwrap_or(first);
    let trailing_zeros = usize_to_i64(digits.len() - 1 - last);
    let frac_len = usize_to_i64(scanned.frac_digits.len());
    let (power_of_ten, power_of_two) = match format {
        Format::BinarySI => (trailing_zeros - frac_len, exponent),
        Format::DecimalSI | Format::DecimalExponent => (exponent + trailing_zeros - frac_len, 0),
    };
    let magnitude = nanos_rounded_up(&digits[first..=last], power_of_ten, power_of_two)?;
    (magnitude <= i128::MAX.unsigned_abs()).then_some(magnitude)
}

/// `ceil(digits × 2^power_of_two × 10^(power_of_ten + 9))` for a non-empty
/// decimal digit string without leading zeros, or `None` past `u128`.
fn nanos_rounded_up(digits: &[u8], power_of_ten: i64, power_of_two: i64) -> Option<u128> {
    let product: Cow<'_, [u8]> = match u32::try_from(power_of_two) {
        Ok(0) => Cow::Borrowed(digits),
        Ok(bits @ 1..=60) => Cow::Owned(times_power_of_two(digits, bits)),
        _ => return None,
    };
    let shift = power_of_ten.checked_add(9)?;
    if shift >= 0 {
        // A whole number of nano-units: append `shift` zeros.
        let total = usize_to_i64(product.len()).checked_add(shift)?;
        if total > 39 {
            return None;
        }
        let scale = 10u128.checked_pow(u32::try_from(shift).ok()?)?;
        digits_to_u128(&product)?.checked_mul(scale)
    } else {
        // Drop the digits below a nano-unit, rounding up if any is non-zero.
        let dropped = shift.unsigned_abs();
        let Some(kept) = u64::try_from(product.len())
            .ok()
            .and_then(|len| len.checked_sub(dropped))
            .filter(|&kept| kept > 0)
        else {
            // Non-zero but below one nano-unit.
            return Some(1);
        };
        let (head, tail) = product.split_at(usize::try_from(kept).ok()?);
        let whole = digits_to_u128(head)?;
        if tail.iter().any(|&d| d != b'0') {
            whole.checked_add(1)
        } else {
            Some(whole)
        }
    }
}

/// The decimal digits of `digits × 2^bits` (`bits` ≤ 60), computed on
/// base-10^18 limbs so input of any length is exact.
fn times_power_of_two(digits: &[u8], bits: u32) -> Vec<u8> {
    const LIMB: u128 = 1_000_000_000_000_000_000;
    let factor: u128 = 1 << bits;
    // Least significant limb first.
    let mut limbs: Vec<u128> = digits
        .rchunks(18)
        .map(|chunk| {
            chunk
                .iter()
                .fold(0u128, |acc, &d| acc * 10 + u128::from(d - b'0'))
        })
        .collect();
    let mut carry = 0u128;
    for limb in &mut limbs {
        // < 10^18 × 2^60 + carry, far below u128::MAX.
        let product = *limb * factor + carry;
        *limb = product % LIMB;
        carry = product / LIMB;
    }
    while carry > 0 {
        limbs.push(carry % LIMB);
        carry /= LIMB;
    }
    let mut text = String::with_capacity(limbs.len() * 18);
    for (index, limb) in limbs.iter().rev().enumerate() {
        // Writing to a String cannot fail.
        let _ = if index == 0 {
            write!(text, "{limb}")
        } else {
            write!(text, "{limb:018}")
        };
    }
    text.into_bytes()
}

/// A string of ASCII digits as a `u128`, or `None` if it does not fit.
fn digits_to_u128(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u128::from(d - b'0'))
    })
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

/// Lengths of text as `i64` (saturating; text cannot be that long).
fn usize_to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
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

/// As the string Kubernetes would write.
impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// From a string or a number; see the module documentation.
impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_option(NullOrQuantity)
        } else {
            // Compact formats hold what `Serialize` wrote: a string.
            deserializer.deserialize_str(QuantityVisitor)
        }
    }
}

/// Whether `D` is one of `yaml_serde`'s document deserializers (possibly
/// inside a wrapper such as `serde_ignored`'s), whose `deserialize_str` hands
/// over the source text of any scalar, unquoted numbers included. Its
/// `deserialize_any` would turn `0.1` into an `f64` first; other formats (such
/// as `serde_json`) reject a number asked for as a string, so they get
/// `deserialize_any`. Serde offers no way to ask a deserializer for the source
/// text of a number, hence the type-name test; the tests pin it down.
fn gives_scalar_source_text<D>() -> bool {
    std::any::type_name::<D>().contains("yaml_serde::de::")
}

/// `null` (Kubernetes' `UnmarshalJSON` makes it zero) or a quantity.
struct NullOrQuantity;

impl<'de> Visitor<'de> for NullOrQuantity {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quantity such as 500m, 0.5 or 64Mi")
    }

    fn visit_none<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Quantity, D::Error> {
        if gives_scalar_source_text::<D>() {
            deserializer.deserialize_str(QuantityVisitor)
        } else {
            deserializer.deserialize_any(QuantityVisitor)
        }
    }
}

/// A quantity from text or from a number's decimal text.
struct QuantityVisitor;

impl QuantityVisitor {
    fn parse<E: de::Error>(text: &str) -> Result<Quantity, E> {
        Quantity::parse(text).map_err(E::custom)
    }
}

impl Visitor<'_> for QuantityVisitor {
    type Value = Quantity;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a quantity such as 500m, 0.5 or 64Mi")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
        // `UnmarshalJSON` trims white space (Go's `strings.TrimSpace` and
        // Rust's `trim` both use Unicode's White_Space).
        Self::parse(v.trim())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Quantity, E> {
        // Kubernetes parses the JSON token itself and says why it failed.
        Self::parse(if v { "true" } else { "false" })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    /// Through the shortest decimal text that reads back as `v` (Rust's
    /// `Display` for floats), parsed exactly; no float arithmetic. NaN and
    /// infinities fail to parse.
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_f32<E: de::Error>(self, v: f32) -> Result<Quantity, E> {
        Self::parse(&v.to_string())
    }

    fn visit_none<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Quantity, E> {
        Ok(Quantity::zero())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn q(text: &str) -> Quantity {
        Quantity::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    /// `mantissa × 10^exponent` in nano-units.
    fn nanos(mantissa: i128, exponent: i32) -> i128 {
        let shift = exponent + 9;
        assert!(shift >= 0, "below a nano-unit");
        mantissa * 10i128.pow(shift.unsigned_abs())
    }

    /// A quantity built directly, as Kubernetes' tests build them.
    fn raw(mantissa: i128, exponent: i32, format: Format) -> Quantity {
        Quantity {
            nanos: nanos(mantissa, exponent),
            format,
            as_written: None,
        }
    }

    #[test]
    fn table_parse_milli_value_display() {
        // (input, milli_value, value, printed)
        let table: &[(&str, i64, i64, &str)] = &[
            ("100m", 100, 1, "100m"),
            ("0.5", 500, 1, "500m"),
            (".5", 500, 1, "500m"),
            ("5.", 5000, 5, "5."), // kept as written, like Kubernetes
            ("64Mi", 67_108_864_000, 67_108_864, "64Mi"),
            ("1G", 1_000_000_000_000, 1_000_000_000, "1G"),
            ("1e3", 1_000_000, 1000, "1e3"),
            ("1.5Gi", 1_610_612_736_000, 1_610_612_736, "1536Mi"),
            ("0.1m", 1, 1, "100u"), // 0.0001: exact to 1n, rounded up in milli_value
            ("12e-1", 1200, 2, "1200e-3"),
            ("1E", i64::MAX, 1_000_000_000_000_000_000, "1E"), // exa; milli saturates
            ("123Mi", 128_974_848_000, 128_974_848, "123Mi"),
            ("1000m", 1000, 1, "1"),
            ("1024Mi", 1_073_741_824_000, 1_073_741_824, "1Gi"),
            ("1000", 1_000_000, 1000, "1k"),
            ("0", 0, 0, "0"),
            ("1n", 1, 1, "1n"),
            ("3.001n", 1, 1, "4n"),
            ("1.1Ki", 1_126_400, 1127, "1126400m"),
            ("0.5Ki", 512_000, 512, "512"),
            ("9Ei", i64::MAX, i64::MAX, "9223372036854775807"),
            ("-1", -1000, -1, "-1"),
            ("-1.5", -1500, -2, "-1500m"),
            ("-100m", -100, -1, "-100m"),
            ("-0.1m", -1, -1, "-100u"),
            ("-1.5Gi", -1_610_612_736_000, -1_610_612_736, "-1536Mi"),
        ];
        for &(input, milli, value, printed) in table {
            let parsed = q(input);
            assert_eq!(parsed.milli_value(), milli, "{input} milli_value");
            assert_eq!(parsed.value(), value, "{input} value");
            assert_eq!(parsed.to_string(), printed, "{input} printed");
            assert_eq!(q(printed), parsed, "{input} reparsed");
        }
    }

    /// Kubernetes' `TestQuantityParse` table: the exact value and format.
    #[test]
    fn kubernetes_parse_table() {
        use Format::{BinarySI as B, DecimalExponent as X, DecimalSI as D};
        let ki: i128 = 1024;
        let table: &[(&str, i128, i32, Format)] = &[
            ("0", 0, 0, D),
            ("0n", 0, 0, D),
            ("0u", 0, 0, D),
            ("0m", 0, 0, D),
            ("0Ki", 0, 0, B),
            ("0k", 0, 0, D),
            ("0Mi", 0, 0, B),
            ("0M", 0, 0, D),
            ("0Gi", 0, 0, B),
            ("0G", 0, 0, D),
            ("0Ti", 0, 0, B),
            ("0T", 0, 0, D),
            ("1", 1, 0, D),
            ("1Ki", ki, 0, B),
            ("8Ki", 8 * ki, 0, B),
            ("7Mi", 7 * ki.pow(2), 0, B),
            ("6Gi", 6 * ki.pow(3), 0, B),
            ("5Ti", 5 * ki.pow(4), 0, B),
            ("4Pi", 4 * ki.pow(5), 0, B),
            ("3Ei", 3 * ki.pow(6), 0, B),
            ("10Ti", 10 * ki.pow(4), 0, B),
            ("100Ti", 100 * ki.pow(4), 0, B),
            ("5n", 5, -9, D),
            ("4u", 4, -6, D),
            ("3m", 3, -3, D),
            ("9", 9, 0, D),
            ("8k", 8, 3, D),
            ("50k", 5, 4, D),
            ("7M", 7, 6, D),
            ("6G", 6, 9, D),
            ("5T", 5, 12, D),
            ("40T", 4, 13, D),
            ("300T", 3, 14, D),
            ("2P", 2, 15, D),
            ("1E", 1, 18, D),
            ("1E-3", 1, -3, X),
            ("1e3", 1, 3, X),
            ("1E6", 1, 6, X),
            ("1e9", 1, 9, X),
            ("1E12", 1, 12, X),
            ("1e15", 1, 15, X),
            ("1E18", 1, 18, X),
            ("1e14", 1, 14, X),
            ("1e13", 1, 13, X),
            ("100.035k", 100_035, 0, D),
            ("0.001", 1, -3, D),
            ("0.0005k", 5, -1, D),
            ("0.005", 5, -3, D),
            ("0.05", 5, -2, D),
            ("0.5", 5, -1, D),
            ("0.00050k", 5, -1, D),
            ("0.00500", 5, -3, D),
            ("0.05000", 5, -2, D),
            ("0.50000", 5, -1, D),
            ("0.5e0", 5, -1, X),
            ("0.5e-1", 5, -2, X),
            ("0.5e-2", 5, -3, X),
            ("10.035M", 10_035, 3, D),
            ("1.2e3", 12, 2, X),
            ("1.3E+6", 13, 5, X),
            ("1.40e9", 14, 8, X),
            ("1.53E12", 153, 10, X),
            ("1.6e15", 16, 14, X),
            ("1.7E18", 17, 17, X),
            ("9.01", 901, -2, D),
            ("8.1k", 81, 2, D),
            ("7.123456M", 7_123_456, 0, D),
            ("6.987654321G", 6_987_654_321, 0, D),
            ("5.444T", 5444, 9, D),
            ("40.1T", 401, 11, D),
            ("300.2T", 3002, 11, D),
            ("2.5P", 25, 14, D),
            ("1.01E", 101, 16, D),
            // Rounded up to a nano-unit, or capped.
            ("3.001n", 4, -9, D),
            ("1.1E-9", 2, -9, X),
            ("0.0000000001", 1, -9, D),
            ("0.0000000005", 1, -9, D),
            ("0.00000000050", 1, -9, D),
            ("0.5e-9", 1, -9, X),
            ("0.9n", 1, -9, D),
            ("0.00000012345", 124, -9, D),
            ("0.00000012354", 124, -9, D),
            ("9Ei", i128::from(i64::MAX), 0, B),
            ("9223372036854775807Ki", i128::from(i64::MAX), 0, B),
            ("12E", 12, 18, D),
            // Fractional binary values.
            ("100.035Ki", 10_243_584, -2, B),
            ("0.5Mi", 512 * ki, 0, B),
            ("0.05Gi", 536_870_912, -1, B),
            ("0.025Ti", 274_877_906_944, -1, B),
            // Odd but accepted.
            ("0.000000000001Ki", 2, -9, D), // rounds up, becomes decimal
            (".001", 1, -3, D),
            (".0001k", 100, -3, D),
            ("1.", 1, 0, D),
            ("1.G", 1, 9, D),
        ];
        for &(input, mantissa, exponent, format) in table {
            let expected = nanos(mantissa, exponent);
            for (prefix, sign) in [("", 1), ("+", 1), ("-", -1)] {
                let text = format!("{prefix}{input}");
                let parsed = q(&text);
                assert_eq!(parsed.as_nanos(), sign * expected, "{text} value");
                assert_eq!(parsed.format(), format, "{text} format");
            }
        }
    }

    /// Kubernetes' `TestQuantityString`: the canonical form of a value, and an
    /// alternative spelling that prints the same.
    #[test]
    fn kubernetes_string_table() {
        use Format::{BinarySI as B, DecimalExponent as X, DecimalSI as D};
        let ki: i128 = 1024;
        let table: &[(i128, i32, Format, &str, &str)] = &[
            (ki.pow(3), 0, B, "1Gi", "1024Mi"),
            (300 * ki.pow(2), 0, B, "300Mi", "307200Ki"),
            (6 * ki, 0, B, "6Ki", ""),
            (1001 * ki.pow(3), 0, B, "1001Gi", "1025024Mi"),
            (ki.pow(4), 0, B, "1Ti", "1024Gi"),
            (5, 0, B, "5", "5000m"),
            (500, -3, B, "500m", "0.5"),
            (1, 9, D, "1G", "1000M"),
            (1000, 6, D, "1G", "0.001T"),
            (1_000_000, 3, D, "1G", ""),
            (1_000_000_000, 0, D, "1G", ""),
            (1, -3, D, "1m", "1000u"),
            (80, -3, D, "80m", ""),
            (1080, -3, D, "1080m", "1.08"),
            (108, -2, D, "1080m", "1080000000n"),
            (10800, -4, D, "1080m", ""),
            (300, 6, D, "300M", ""),
            (1, 12, D, "1T", ""),
            (1_234_567, 6, D, "1234567M", ""),
            (1_234_567, -3, B, "1234567m", ""),
            (3, 3, D, "3k", ""),
            (1025, 0, B, "1025", ""),
            (0, 0, D, "0", ""),
            (0, 0, B, "0", ""),
            (1, 9, X, "1e9", ".001e12"),
            (1, -3, X, "1e-3", "0.001e0"),
            (1, -9, X, "1e-9", "1000e-12"),
            (80, -3, X, "80e-3", ""),
            (300, 6, X, "300e6", ""),
            (1, 12, X, "1e12", ""),
            (1, 3, X, "1e3", ""),
            (3, 3, X, "3e3", ""),
            (3, 3, D, "3k", ""),
            (0, 0, X, "0", "00"),
            (1, -9, D, "1n", ""),
            (80, -9, D, "80n", ""),
            (1080, -9, D, "1080n", ""),
            (108, -8, D, "1080n", ""),
            (1, -6, D, "1u", ""),
            (80, -6, D, "80u", ""),
            (1080, -6, D, "1080u", ""),
        ];
        for &(mantissa, exponent, format, expected, alternate) in table {
            let quantity = raw(mantissa, exponent, format);
            assert_eq!(
                quantity.to_string(),
                expected,
                "{mantissa}e{exponent} {format:?}"
            );
            // The canonical text is kept as written when parsed back.
            let reparsed = q(expected);
            assert_eq!(reparsed, quantity, "{expected} reparsed");
            assert_eq!(reparsed.to_string(), expected, "{expected} reprinted");
            if !alternate.is_empty() {
                assert_eq!(q(alternate).to_string(), expected, "{alternate}");
                assert!(q(alternate).as_written.is_none(), "{alternate} kept");
            }
            if mantissa != 0 {
                let negative = raw(-mantissa, exponent, format);
                assert_eq!(negative.to_string(), format!("-{expected}"));
            }
        }
    }

    /// Kubernetes' `TestQuantityParseEmit`, also negated.
    #[test]
    fn kubernetes_parse_emit_table() {
        let table = [
            ("1Ki", "1Ki"),
            ("1Mi", "1Mi"),
            ("1Gi", "1Gi"),
            ("1024Mi", "1Gi"),
            ("1000M", "1G"),
            (".001Ki", "1024m"),
            (".000001Ki", "1024u"),
            (".000000001Ki", "1024n"),
            (".000000000001Ki", "2n"),
        ];
        for (input, expected) in table {
            assert_eq!(q(input).to_string(), expected, "{input}");
            assert_eq!(
                q(&format!("-{input}")).to_string(),
                format!("-{expected}"),
                "-{input}"
            );
        }
    }

    /// Kubernetes' `TestParseQuantity`: values around and beyond `i64`.
    #[test]
    fn kubernetes_large_values_table() {
        // (input, printed when not the input itself)
        let table = [
            ("999999999999999999", ""),
            ("999999999999999999.0", "999999999999999999"),
            ("999999999999999999.1", "999999999999999999100m"),
            ("9999999999999999999", ""),
            ("1E", ""),
            ("1000000000000000000", "1E"),
            ("9999999999999999999.0", "9999999999999999999"),
            ("1.0E", "1E"),
            ("1000000000000000000.0", "1E"),
            ("9999999999999999999000m", "9999999999999999999"),
            ("9999999999999999999.1", "9999999999999999999100m"),
            ("1.0000000000000000001E", "1000000000000000000100m"),
            ("1000000000000000000.1", "1000000000000000000100m"),
            ("1.000000000000000001E", "1000000000000000001"),
            ("1000000000000000001", ""),
            ("10E", ""),
            ("10000000000000000000", "10E"),
            ("10.0E", "10E"),
            ("10000000000000000000.0", "10E"),
            ("10000000000000000000000m", "10E"),
            ("10.0000000000000000001E", "10000000000000000000100m"),
            ("10000000000000000000.1", "10000000000000000000100m"),
            ("10.000000000000000001E", "10000000000000000001"),
            ("10000000000000000001", ""),
            ("9223372036854775806", ""),
            ("9223372036854775806.0", "9223372036854775806"),
            ("9223372036854775806000m", "9223372036854775806"),
            ("9223372036854775806.1", "9223372036854775806100m"),
            ("9223372036854775807", ""),
            ("9223372036854775807.0", "9223372036854775807"),
            ("9223372036854775807000m", "9223372036854775807"),
            ("9223372036854775807.1", "9223372036854775807100m"),
            ("9223372036854775808", ""),
            ("9223372036854775808.0", "9223372036854775808"),
            ("9223372036854775808000m", "9223372036854775808"),
            ("9223372036854775808.1", "9223372036854775808100m"),
        ];
        for (input, printed) in table {
            let printed = if printed.is_empty() { input } else { printed };
            assert_eq!(q(input).to_string(), printed, "{input}");
            assert_eq!(
                q(&format!("-{input}")).to_string(),
                format!("-{printed}"),
                "-{input}"
            );
            assert_eq!(q(printed), q(input), "{input} value");
        }
        assert_eq!(q("9223372036854775808").checked_value(), None);
        assert_eq!(q("9223372036854775808").value(), i64::MAX);
        assert_eq!(q("-9223372036854775809").value(), i64::MIN);
        assert_eq!(q("9223372036854775807").checked_value(), Some(i64::MAX));
        assert_eq!(q("9223372036854775807").checked_milli_value(), None);
    }

    #[test]
    fn rejected_with_kubernetes_errors() {
        use QuantityError::{Format as F, Numeric as N, Suffix as S};
        let table = [
            ("", F),
            ("1.2.3", F),
            ("1 Gi", F),
            (" 1", F),
            ("1 ", F),
            ("1iB", F),
            ("1gi", F),
            ("1Gb", F),
            ("1.1.M", F),
            ("1+1.0M", F),
            ("0.1am", F),
            ("aoeu", F),
            ("Non-Numeric", F),
            ("..5", F),
            ("1e-3m", F),
            ("1é", F),
            ("1e", S),
            ("1K", S),
            ("1mi", S),
            ("0.1mi", S),
            (".5i", S),
            ("1i", S),
            ("-3.01i", S),
            ("-3.01e-", S),
            ("1e+", S),
            ("1ee3", S),
            ("1Kii", S),
            ("1me3", S),
            ("1e99999999999999999999", S),
            ("e-10", N),
            (".e-10", N),
            ("-Ei", N),
        ];
        for (input, error) in table {
            assert_eq!(Quantity::parse(input).err(), Some(error), "{input:?}");
        }
        assert_eq!(
            QuantityError::Format.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }

    /// Kubernetes' scanner accepts some odd text; so does minipod.
    #[test]
    fn accepted_oddities_like_kubernetes() {
        let table = [
            ("Gi", "0"),
            (".", "0"),
            ("-.", "0"),
            ("+", "0"),
            ("-", "0"),
            ("m", "0"),
            ("e3", "0"),
            ("-0", "0"),
            ("00", "0"),
            ("007", "007"),
            ("+1", "+1"),
            ("01Ki", "01Ki"),
            ("1.Ki", "1.Ki"),
            ("1.500", "1.500"),
            ("1E3", "1E3"),
            ("1e+3", "1e+3"),
            ("1e0", "1e0"),
            ("1e2", "100"),
            ("1e007", "10e6"),
            ("1.0e3", "1e3"),
            ("5.0", "5"),
            ("1e4294967296", "1e4294967296"), // exponent truncated to 32 bits: 1
            ("1e-4294967297", "100e-3"),
            ("1e-100", "1e-9"),
            ("3072Mi", "3Gi"),
            ("1.5Ki", "1536"),
        ];
        for (input, printed) in table {
            assert_eq!(q(input).to_string(), printed, "{input}");
        }
        assert_eq!(q("1e4294967296"), q("1"));
        assert_eq!(q("007").canonical_string(), "7");
        assert_eq!(q("1E3").canonical_string(), "1e3");
    }

    #[test]
    fn binary_values_are_capped_and_decimal_ones_bounded() {
        for input in [
            "8Ei",
            "16Ei",
            "1000000000000000000000000000000000000000000Ei",
        ] {
            assert_eq!(
                q(input).as_nanos(),
                nanos(i128::from(i64::MAX), 0),
                "{input}"
            );
            assert_eq!(q(&format!("-{input}")).value(), -i64::MAX, "-{input}");
        }
        assert_eq!(
            q("170141183460.469231731687303715884105727E").as_nanos(),
            i128::MAX
        );
        assert_eq!(
            Quantity::parse("170141183460.469231731687303715884105728E"),
            Err(QuantityError::TooLarge)
        );
        assert_eq!(Quantity::parse("1e30"), Err(QuantityError::TooLarge));
        assert_eq!(
            Quantity::parse("1e2147483647"),
            Err(QuantityError::TooLarge)
        );
        assert_eq!(q("0e2147483647"), Quantity::zero());
        // Long digit strings are exact.
        assert_eq!(
            q("1.0000000000000000000000000000000000000000000000000001").to_string(),
            "1000000001n"
        );
        assert_eq!(
            q("1.0000000000000000000000000000000000000000000000000001Ki").to_string(),
            "1024000000001n"
        );
        assert_eq!(
            q("100000000000000000000000000000000000000000000e-40").to_string(),
            "10e3"
        );
    }

    #[test]
    fn ordering_and_equality_across_suffixes() {
        assert_eq!(q("1"), q("1000m"));
        assert_eq!(q("1Ki"), q("1024"));
        assert_eq!(q("1e3"), q("1k"));
        assert_eq!(q("0"), q("0Gi"));
        assert_eq!(q("-0"), Quantity::zero());
        assert!(q("100m") > q("50m"));
        assert!(q("10000T") > q("100Gi"));
        assert!(q("1G") < q("1Gi"));
        assert!(q("-1") < q("0"));
        assert!(q("1n") > q("0"));
        let mut list: Vec<Quantity> = ["1Gi", "1G", "100m", "-1", "0", "1e3", "1n"]
            .map(q)
            .to_vec();
        list.sort();
        let printed: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(printed, ["-1", "0", "1n", "100m", "1e3", "1G", "1Gi"]);
        let mut set = std::collections::HashSet::new();
        set.insert(q("1"));
        assert!(set.contains(&q("1000m")));
    }

    #[test]
    fn checked_add_and_sub_are_exact() {
        let sum = q("100m").checked_add(&q("0.9")).unwrap();
        assert_eq!(sum, q("1"));
        assert_eq!(sum.to_string(), "1");
        let sum = q("1Gi").checked_add(&q("1G")).unwrap();
        assert_eq!(sum.value(), 1_073_741_824 + 1_000_000_000);
        assert_eq!(sum.to_string(), "2073741824");
        assert_eq!(q("1Gi").checked_add(&q("1Gi")).unwrap().to_string(), "2Gi");
        assert_eq!(q("0.1").checked_add(&q("0.2")).unwrap(), q("0.3"));
        // A zero takes the other's format; otherwise the left one's.
        assert_eq!(
            Quantity::zero().checked_add(&q("1Gi")).unwrap().to_string(),
            "1Gi"
        );
        assert_eq!(
            q("100m")
                .checked_add(&Quantity::zero())
                .unwrap()
                .to_string(),
            "100m"
        );
        assert_eq!(q("10").checked_add(&q("1Ki")).unwrap().to_string(), "1034");
        assert_eq!(q("1Ki").checked_add(&q("1Ki")).unwrap().to_string(), "2Ki");
        assert_eq!(
            q("8Ei").checked_add(&q("8Ei")).unwrap().to_string(),
            "18446744073709551614"
        );
        assert_eq!(
            Quantity::new(1024, Format::BinarySI)
                .checked_add(&Quantity::new(1024 * 1023, Format::BinarySI))
                .unwrap()
                .to_string(),
            "1Mi"
        );
        assert_eq!(q("1Ki").checked_sub(&q("1Ki")).unwrap().to_string(), "0");
        assert_eq!(
            Quantity::zero()
                .checked_sub(&q("100m"))
                .unwrap()
                .to_string(),
            "-100m"
        );
        assert_eq!(q("10").checked_sub(&q("1Ki")).unwrap().to_string(), "-1014");
        let max = Quantity {
            nanos: i128::MAX,
            format: Format::DecimalSI,
            as_written: None,
        };
        assert!(max.checked_add(&q("1n")).is_none());
        assert!(max.checked_add(&q("-1n")).is_some());
        let min = Quantity {
            nanos: -i128::MAX,
            format: Format::DecimalSI,
            as_written: None,
        };
        assert!(min.checked_sub(&q("1n")).is_none());
        assert!(min.checked_add(&q("1n")).is_some());
    }

    /// Kubernetes' `TestNewSet`, `TestMilliNewSet`.
    #[test]
    fn constructors_print_like_kubernetes() {
        let table = [
            (Quantity::new(1, Format::DecimalSI), "1"),
            (Quantity::new(1000, Format::DecimalSI), "1k"),
            (Quantity::new(1_234_000, Format::DecimalSI), "1234k"),
            (Quantity::new(1024, Format::BinarySI), "1Ki"),
            (Quantity::new(1_000_000, Format::DecimalExponent), "1e6"),
            (Quantity::new(1024 * 1024, Format::BinarySI), "1Mi"),
            (Quantity::new_milli(1, Format::DecimalSI), "1m"),
            (Quantity::new_milli(1000, Format::DecimalSI), "1"),
            (Quantity::new_milli(1_234_000, Format::DecimalSI), "1234"),
            (Quantity::new_milli(1024, Format::BinarySI), "1024m"),
            (
                Quantity::new_milli(1_000_000, Format::DecimalExponent),
                "1e3",
            ),
            (
                Quantity::new_milli(1024 * 1024, Format::BinarySI),
                "1048576m",
            ),
            (
                Quantity::new(i64::MIN, Format::DecimalSI),
                "-9223372036854775808",
            ),
        ];
        for (quantity, printed) in table {
            assert_eq!(quantity.to_string(), printed);
            assert_eq!(q(printed), quantity);
        }
        assert_eq!(Quantity::default(), Quantity::zero());
        assert_eq!(format!("[{:>6}]", q("100m")), "[  100m]");
    }

    #[test]
    fn yaml_reads_the_source_text() {
        let yaml = "a: 0.1000000000000000000001\nb: 0.5\nc: 1\nd: 64Mi\ne: '500m'\nf: 1e3\ng: \" 2 \"\nh:\ni: ~\nj: 5.\n";
        let map: BTreeMap<String, Quantity> = yaml_serde::from_str(yaml).unwrap();
        let printed: Vec<String> = map.values().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "100000001n",
                "500m",
                "1",
                "64Mi",
                "500m",
                "1e3",
                "2",
                "0",
                "0",
                "5."
            ]
        );
        // JSON documents go through the YAML loader too.
        let map: BTreeMap<String, Quantity> =
            yaml_serde::from_str(r#"{"cpu": 0.1, "memory": "1Gi", "x": 1.0000000000000000001}"#)
                .unwrap();
        assert_eq!(map["cpu"].as_nanos(), 100_000_000);
        assert_eq!(map["x"].to_string(), "1000000001n");
        // Also through a wrapper, as the k8s-openapi agreement test does.
        let document = yaml_serde::Deserializer::from_str("cpu: 0.1000000000000000000001\n");
        let map: BTreeMap<String, Quantity> = serde_ignored::deserialize(document, |_| {}).unwrap();
        assert_eq!(map["cpu"].to_string(), "100000001n");
        let top: Quantity = yaml_serde::from_str("0.25").unwrap();
        assert_eq!(top.to_string(), "250m");
        let error = yaml_serde::from_str::<BTreeMap<String, Quantity>>("cpu: 1K\n").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unable to parse quantity's suffix"),
            "{error}"
        );
        let error = yaml_serde::from_str::<BTreeMap<String, Quantity>>("cpu: true\n").unwrap_err();
        assert!(
            error.to_string().contains("quantities must match"),
            "{error}"
        );
    }

    #[test]
    fn json_reads_strings_and_numbers() {
        let json = r#"{"a": 0.5, "b": 1, "c": "100m", "d": " 1 ", "e": null, "f": -1, "g": 18446744073709551615, "h": 0.1, "i": 1e3, "j": -0.0}"#;
        let map: BTreeMap<String, Quantity> = serde_json::from_str(json).unwrap();
        let printed: Vec<String> = map.values().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "500m",
                "1",
                "100m",
                "1",
                "0",
                "-1",
                "18446744073709551615",
                "100m",
                "1k",
                "0"
            ]
        );
        assert_eq!(map["h"], q("0.1"));
        for bad in [
            r#"{"a": "1K"}"#,
            r#"{"a": true}"#,
            r#"{"a": [1]}"#,
            r#"{"a": ""}"#,
        ] {
            assert!(
                serde_json::from_str::<BTreeMap<String, Quantity>>(bad).is_err(),
                "{bad}"
            );
        }
        let error = serde_json::from_str::<Quantity>(r#""1 Gi""#).unwrap_err();
        assert!(
            error.to_string().starts_with("quantities must match"),
            "{error}"
        );
        // From a JSON value, as another deserializer.
        let value = serde_json::json!({"cpu": 0.25, "memory": "1Gi"});
        let map: BTreeMap<String, Quantity> = serde_json::from_value(value).unwrap();
        assert_eq!(map["cpu"].to_string(), "250m");
    }

    #[test]
    fn serializes_as_the_printed_string() {
        let map: BTreeMap<&str, Quantity> =
            [("cpu", q("0.5")), ("memory", q("1024Mi")), ("x", q("1e3"))].into();
        assert_eq!(
            serde_json::to_string(&map).unwrap(),
            r#"{"cpu":"500m","memory":"1Gi","x":"1e3"}"#
        );
        assert_eq!(
            yaml_serde::to_string(&map).unwrap(),
            "cpu: 500m\nmemory: 1Gi\nx: '1e3'\n"
        );
        let back: BTreeMap<String, Quantity> =
            yaml_serde::from_str(&yaml_serde::to_string(&map).unwrap()).unwrap();
        assert_eq!(back["cpu"], q("0.5"));
        assert_eq!(back["x"].to_string(), "1e3");
    }

    /// Text in Kubernetes' quantity grammar, with every suffix.
    fn quantity_text() -> impl Strategy<Value = String> {
        let suffix = prop::sample::select(vec![
            "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
            "e0", "e3", "E6", "e-3", "e-9", "e-12", "e+2", "E1",
        ]);
        (
            prop::sample::select(vec!["", "+", "-"]),
            "[0-9]{0,10}",
            prop::option::of("[0-9]{0,12}"),
            suffix,
        )
            .prop_filter_map("needs a digit", |(sign, int, frac, suffix)| {
                let frac = frac.map(|f| format!(".{f}")).unwrap_or_default();
                (!int.is_empty() || frac.len() > 1).then(|| format!("{sign}{int}{frac}{suffix}"))
            })
    }

    proptest! {
        // Failures are reported, not saved beside the sources.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn prints_text_that_parses_back_to_itself(text in quantity_text()) {
            let parsed = q(&text);
            let printed = parsed.to_string();
            let reparsed = q(&printed);
            prop_assert_eq!(&reparsed, &parsed);
            prop_assert_eq!(reparsed.to_string(), printed.clone());
            let canonical = parsed.canonical_string();
            prop_assert_eq!(q(&canonical), parsed.clone());
            prop_assert_eq!(q(&canonical).canonical_string(), canonical);
        }

        #[test]
        fn rounding_is_monotone(a in quantity_text(), b in quantity_text()) {
            let (a, b) = (q(&a), q(&b));
            let (low, high) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(low.milli_value() <= high.milli_value());
            prop_assert!(low.value() <= high.value());
            // Rounded up, away from zero, by less than one step.
            let milli = i128::from(low.milli_value()) * NANOS_PER_MILLI;
            if low.checked_milli_value().is_some() {
                prop_assert!(milli.abs() >= low.as_nanos().abs());
                prop_assert!((milli - low.as_nanos()).abs() < NANOS_PER_MILLI);
            }
        }

        #[test]
        fn sums_are_exact(a in quantity_text(), b in quantity_text()) {
            let (a, b) = (q(&a), q(&b));
            let sum = a.checked_add(&b).unwrap();
            prop_assert_eq!(&sum, &b.checked_add(&a).unwrap());
            prop_assert_eq!(sum.checked_sub(&b).unwrap(), a.clone());
            prop_assert_eq!(sum.as_nanos(), a.as_nanos() + b.as_nanos());
            if !a.is_negative() && !b.is_negative() {
                prop_assert!(sum >= a.clone().max(b.clone()));
            }
            // Parsing caps binary values, sums are not capped (as in Kubernetes).
            if sum.format() != Format::BinarySI || sum.as_nanos().unsigned_abs() <= BINARY_CAP_NANOS {
                prop_assert_eq!(q(&sum.to_string()), sum);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,16}", grammar in "[-+0-9.eEinumkKMGTP ]{0,14}") {
            for input in [text, grammar] {
                if let Ok(parsed) = Quantity::parse(&input) {
                    prop_assert_eq!(q(&parsed.to_string()), parsed);
                }
            }
        }

        #[test]
        fn json_and_yaml_round_trip(text in quantity_text()) {
            let parsed = q(&text);
            let json = serde_json::to_string(&parsed).unwrap();
            prop_assert_eq!(serde_json::from_str::<Quantity>(&json).unwrap(), parsed.clone());
            let yaml = yaml_serde::to_string(&parsed).unwrap();
            let back: Quantity = yaml_serde::from_str(&yaml).unwrap();
            prop_assert_eq!(back.to_string(), parsed.to_string());
        }
    }
}
