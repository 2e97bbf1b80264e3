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
        "", "n", "u", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "e0",
        "e3", "E6", "e-3", "e-9", "e-12", "e+2", "E1",
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
