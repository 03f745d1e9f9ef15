//! Channel roles and their ITU-R BS.1770-4 loudness weights.
//!
//! Default layouts follow the WAVE/SMPTE channel order (L R C LFE Ls Rs …),
//! which is also PipeWire's default positional order for these counts.

/// What a channel carries, as far as loudness weighting cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelRole {
    /// Front left.
    Left,
    /// Front right.
    Right,
    /// Front centre.
    Center,
    /// Low-frequency effects: excluded from loudness (weight 0).
    Lfe,
    /// Left surround (side or rear): weight 1.41 (+1.5 dB).
    LeftSurround,
    /// Right surround (side or rear): weight 1.41 (+1.5 dB).
    RightSurround,
    /// Mono or any other channel: weight 1.0.
    Other,
}

impl ChannelRole {
    /// BS.1770-4 Table 3 weighting coefficient G_i.
    pub const fn weight(self) -> f64 {
        match self {
            Self::Lfe => 0.0,
            Self::LeftSurround | Self::RightSurround => 1.41,
            _ => 1.0,
        }
    }
}

/// The default role of channel `index` in a stream of `channels` channels.
///
/// 1: mono; 2: L R; 3: L R C; 4: L R Ls Rs; 5: L R C Ls Rs; 6: 5.1
/// (L R C LFE Ls Rs); 7: 6.1 (… Cs as Other); 8: 7.1 (L R C LFE Ls Rs Lss Rss).
pub const fn default_role(channels: usize, index: usize) -> ChannelRole {
    use ChannelRole::*;
    const L3: [ChannelRole; 3] = [Left, Right, Center];
    const L4: [ChannelRole; 4] = [Left, Right, LeftSurround, RightSurround];
    const L5: [ChannelRole; 5] = [Left, Right, Center, LeftSurround, RightSurround];
    const L6: [ChannelRole; 6] = [Left, Right, Center, Lfe, LeftSurround, RightSurround];
    const L7: [ChannelRole; 7] = [Left, Right, Center, Lfe, Other, LeftSurround, RightSurround];
    const L8: [ChannelRole; 8] = [
        Left,
        Right,
        Center,
        Lfe,
        LeftSurround,
        RightSurround,
        LeftSurround,
        RightSurround,
    ];
    let table: &[ChannelRole] = match channels {
        2 => &[Left, Right],
        3 => &L3,
        4 => &L4,
        5 => &L5,
        6 => &L6,
        7 => &L7,
        8 => &L8,
        _ => &[],
    };
    if index < table.len() {
        table[index]
    } else {
        Other
    }
}
