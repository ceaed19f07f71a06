//! Sizes as a person writes them in a limit: `16 MiB`, `512 KiB`.

/// `16 MiB`, `1.5 MiB`, `512 KiB`, `1000 bytes`.
pub fn byte_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * KIB;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::byte_size;

    #[test]
    fn sizes_read_as_people_write_limits() {
        assert_eq!(byte_size(16 << 20), "16 MiB");
        assert_eq!(byte_size(3 * 512 * 1024), "1.5 MiB");
        assert_eq!(byte_size(512 * 1024), "512 KiB");
        assert_eq!(byte_size(1000), "1000 bytes");
    }
}
