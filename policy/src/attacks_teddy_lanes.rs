//! The sixteen-byte lanes the literal gate's vector filter ([`crate::attacks_teddy`]) is
//! written over: wasm `simd128` vectors in the component, plain arrays in the native
//! tests.

/// Sixteen bytes, processed at once.
pub(crate) trait Lanes: Copy {
    /// The first 16 bytes of `bytes` (at least 16 long).
    fn load(bytes: &[u8]) -> Self;
    /// Every lane `b`.
    fn splat(b: u8) -> Self;
    /// `self[idx[i]]` per lane; every `idx[i]` is below 16.
    fn lookup(self, idx: Self) -> Self;
    /// Lane-wise and.
    fn and(self, other: Self) -> Self;
    /// Lane-wise or.
    fn or(self, other: Self) -> Self;
    /// Each lane's low nibble.
    fn low_nibbles(self) -> Self;
    /// Each lane's high nibble.
    fn high_nibbles(self) -> Self;
    /// `0xff` where the lanes are equal, else 0.
    fn eq(self, other: Self) -> Self;
    /// Bit `i` set where lane `i` is not zero.
    fn nonzero(self) -> u16;
    /// Lanes `k..16` moved down to `0..16 - k`, zeros after them (`k` below 4).
    fn shift_in_zeros(self, k: usize) -> Self;
}

/// [`Lanes`] as plain arrays: what the native tests run.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable([u8; 16]);

#[cfg(test)]
impl Portable {
    fn map(self, f: impl Fn(u8) -> u8) -> Self {
        Self(self.0.map(f))
    }

    fn zip(self, other: Self, f: impl Fn(u8, u8) -> u8) -> Self {
        let mut out = [0; 16];
        for (o, (a, b)) in out.iter_mut().zip(self.0.into_iter().zip(other.0)) {
            *o = f(a, b);
        }
        Self(out)
    }
}

#[cfg(test)]
impl Lanes for Portable {
    fn load(bytes: &[u8]) -> Self {
        let mut lanes = [0; 16];
        lanes.copy_from_slice(&bytes[..16]);
        Self(lanes)
    }

    fn splat(b: u8) -> Self {
        Self([b; 16])
    }

    fn lookup(self, idx: Self) -> Self {
        idx.map(|i| self.0[usize::from(i & 15)])
    }

    fn and(self, other: Self) -> Self {
        self.zip(other, |a, b| a & b)
    }

    fn or(self, other: Self) -> Self {
        self.zip(other, |a, b| a | b)
    }

    fn low_nibbles(self) -> Self {
        self.map(|b| b & 15)
    }

    fn high_nibbles(self) -> Self {
        self.map(|b| b >> 4)
    }

    fn eq(self, other: Self) -> Self {
        self.zip(other, |a, b| if a == b { 0xff } else { 0 })
    }

    fn nonzero(self) -> u16 {
        self.0
            .iter()
            .enumerate()
            .filter(|(_, b)| **b != 0)
            .fold(0, |m, (i, _)| m | 1 << i)
    }

    fn shift_in_zeros(self, k: usize) -> Self {
        let mut out = [0; 16];
        out[..16 - k].copy_from_slice(&self.0[k..]);
        Self(out)
    }
}

/// [`Lanes`] as wasm `simd128` vectors.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod simd128 {
    use core::arch::wasm32::{
        u8x16_bitmask, u8x16_eq, u8x16_shr, u8x16_shuffle, u8x16_splat, u8x16_swizzle, v128,
        v128_and, v128_or,
    };

    use super::Lanes;

    /// One `v128`.
    #[derive(Clone, Copy)]
    pub(crate) struct Simd(v128);

    impl Lanes for Simd {
        fn load(bytes: &[u8]) -> Self {
            Self(bytemuck::pod_read_unaligned(&bytes[..16]))
        }

        fn splat(b: u8) -> Self {
            Self(u8x16_splat(b))
        }

        fn lookup(self, idx: Self) -> Self {
            Self(u8x16_swizzle(self.0, idx.0))
        }

        fn and(self, other: Self) -> Self {
            Self(v128_and(self.0, other.0))
        }

        fn or(self, other: Self) -> Self {
            Self(v128_or(self.0, other.0))
        }

        fn low_nibbles(self) -> Self {
            Self(v128_and(self.0, u8x16_splat(15)))
        }

        fn high_nibbles(self) -> Self {
            Self(u8x16_shr(self.0, 4))
        }

        fn eq(self, other: Self) -> Self {
            Self(u8x16_eq(self.0, other.0))
        }

        fn nonzero(self) -> u16 {
            !u8x16_bitmask(u8x16_eq(self.0, u8x16_splat(0)))
        }

        fn shift_in_zeros(self, k: usize) -> Self {
            let z = u8x16_splat(0);
            Self(match k {
                0 => self.0,
                1 => u8x16_shuffle::<1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16>(
                    self.0, z,
                ),
                2 => u8x16_shuffle::<2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17>(
                    self.0, z,
                ),
                _ => u8x16_shuffle::<3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18>(
                    self.0, z,
                ),
            })
        }
    }
}
