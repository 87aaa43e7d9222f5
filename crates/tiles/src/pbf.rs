//! The few protobuf wire-format primitives `vector_tile.proto` (v2.1) needs.

/// Wire type 0: varint.
pub(crate) const VARINT: u8 = 0;
/// Wire type 1: 64-bit little-endian.
pub(crate) const FIXED64: u8 = 1;
/// Wire type 2: length-delimited.
pub(crate) const LEN: u8 = 2;
/// Wire type 5: 32-bit little-endian.
pub(crate) const FIXED32: u8 = 5;

/// Appends `v` as a base-128 varint.
#[inline]
pub(crate) fn write_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Bytes `v` takes as a varint.
#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits, at least 1.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends a field key (`field << 3 | wire_type`).
#[inline]
pub(crate) fn write_key(buf: &mut Vec<u8>, field: u32, wire: u8) {
    write_varint(buf, u64::from((field << 3) | u32::from(wire)));
}

/// Appends a length-delimited field holding `bytes`.
#[inline]
pub(crate) fn write_bytes_field(buf: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    write_key(buf, field, LEN);
    write_varint(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// Appends a packed repeated `uint32` field; `payload_len` must be the summed varint length.
#[inline]
pub(crate) fn write_packed_u32(buf: &mut Vec<u8>, field: u32, values: &[u32], payload_len: usize) {
    write_key(buf, field, LEN);
    write_varint(buf, payload_len as u64);
    for &v in values {
        write_varint(buf, u64::from(v));
    }
}

/// Summed varint length of `values`.
#[inline]
pub(crate) fn packed_len(values: &[u32]) -> usize {
    values.iter().map(|&v| varint_len(u64::from(v))).sum()
}

/// `ZigZag` encoding of a signed 32-bit integer (`sint32`).
#[inline]
pub(crate) fn zigzag32(n: i32) -> u32 {
    ((n << 1) ^ (n >> 31)) as u32
}

/// `ZigZag` encoding of a signed 64-bit integer (`sint64`).
#[inline]
pub(crate) fn zigzag64(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_protobuf_documentation() {
        // https://protobuf.dev/programming-guides/encoding/#varints: 150 = 96 01.
        for (v, bytes) in [
            (0u64, vec![0x00]),
            (1, vec![0x01]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (150, vec![0x96, 0x01]),
            (300, vec![0xac, 0x02]),
            (
                u64::MAX,
                vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            ),
        ] {
            let mut buf = Vec::new();
            write_varint(&mut buf, v);
            assert_eq!(buf, bytes, "{v}");
            assert_eq!(varint_len(v), bytes.len(), "{v}");
        }
        for shift in 0..64 {
            let v = 1u64 << shift;
            let mut buf = Vec::new();
            write_varint(&mut buf, v);
            assert_eq!(varint_len(v), buf.len());
            write_varint(&mut buf, v - 1);
        }
    }

    #[test]
    fn zigzag_matches_the_protobuf_documentation() {
        for (n, z) in [
            (0, 0),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (i32::MAX, u32::MAX - 1),
            (i32::MIN, u32::MAX),
        ] {
            assert_eq!(zigzag32(n), z);
            assert_eq!(zigzag64(i64::from(n)), u64::from(z));
        }
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
    }
}
