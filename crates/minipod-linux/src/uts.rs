
#[cfg(test)]
mod tests {
    #[test]
    fn this_host_has_a_name() {
        assert!(super::host_name().is_some_and(|name| !name.is_empty()));
    }
}
