//! Reading a quantity: Kubernetes' scanner (`parseQuantityString`), its
//! suffixes and the exact, rounded-up conversion to nano-units
//! (`ParseQuantity` in `quantity.go`).

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{BINARY_CAP_NANOS, Format, NANOS_PER_UNIT, Quantity, QuantityError};

/// Characters Kubernetes' scanner takes as the letters of a suffix.
const SUFFIX_LETTERS: &[u8] = b"eEinumkKMGTP";

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

/// Lengths of text as `i64` (saturating; text cannot be that long).
fn usize_to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
