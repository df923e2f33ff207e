//! A macro for the newtype-with-named-constants pattern used for opcodes and
//! status codes: unknown values stay representable (a device may send anything),
//! known ones have a `name()` and appear in `ALL`.

/// Defines associated constants, `name()` and `ALL` on a newtype `$ty($int)`.
macro_rules! named_values {
    ($ty:ident : $int:ty { $( $(#[$m:meta])* $name:ident = $val:expr ),+ $(,)? }) => {
        impl $ty {
            $( $(#[$m])* pub const $name: Self = Self($val); )+

            /// Every named value, in definition order.
            pub const ALL: &'static [Self] = &[ $( Self::$name ),+ ];

            /// The name from the kernel headers, or `None` for an undefined value.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $val => Some(stringify!($name)), )+
                    _ => None,
                }
            }
        }

        impl core::fmt::Display for $ty {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({:#x})", n, self.0),
                    None => write!(f, "unknown({:#x})", self.0),
                }
            }
        }
    };
}

pub(crate) use named_values;
