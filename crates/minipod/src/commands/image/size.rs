//! Image sizes as people read them, for `image ls` and `image pull`.

/// Decimal units with three significant digits, as `crictl images` and
/// `docker images` print sizes (`772kB`, `1.07MB`).
pub(super) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 999.5 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    let decimals = match size {
        s if s >= 99.95 => 0,
        s if s >= 9.995 => 1,
        _ => 2,
    };
    let mut number = format!("{size:.decimals$}");
    if number.contains('.') {
        number = number
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned();
    }
    format!("{number}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_crictl() {
        let table = [
            (0, "0B"),
            (512, "512B"),
            (999, "999B"),
            (1000, "1kB"),
            (1066, "1.07kB"),
            (12_500, "12.5kB"),
            (772_880, "773kB"),
            (1_066_000, "1.07MB"),
            (4_270_000_000, "4.27GB"),
        ];
        for (bytes, want) in table {
            assert_eq!(human_size(bytes), want, "{bytes}");
        }
    }
}
