/*
 * headroom.h: the C API of Headroom's leveling chain (ITU-R BS.1770-4 meter,
 * slow AGC, compressor, lookahead true-peak limiter), the same code the
 * Headroom daemon runs. Link with -lheadroom (libheadroom.so or .a, built
 * by `cargo build --release -p headroom-capi`).
 *
 * Contract:
 * - headroom_chain_new allocates; nothing else does. Processing, setting a
 *   value and taking meters allocate nothing, take no lock, make no system
 *   call and never fail or abort: they are safe in a realtime callback.
 * - A chain is used by one thread at a time (it may move between threads).
 * - Values are validated when set and rejected with a status; on an error
 *   nothing changes. Values set before the first processing call apply
 *   from the first sample; later changes glide in without clicks.
 * - Non-finite samples in give finite samples out.
 * - Strings are NUL-terminated UTF-8; keys are the dotted setting keys of
 *   Headroom's README ("limiter.ceiling_dbtp", "agc.target_lufs", ...).
 */
#ifndef HEADROOM_H
#define HEADROOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a declaration here changes incompatibly. */
#define HEADROOM_API_VERSION 1

/* A status: HEADROOM_OK or why a call was refused. */
typedef int32_t headroom_status;

#define HEADROOM_OK 0
/* A required pointer argument was NULL. */
#define HEADROOM_ERR_NULL 1
/* The sample rate is not 44100, 48000, 88200, 96000 or 192000 Hz. */
#define HEADROOM_ERR_SAMPLE_RATE 2
/* The channel count is not 1 to 8. */
#define HEADROOM_ERR_CHANNELS 3
/* No setting has this key. */
#define HEADROOM_ERR_UNKNOWN_KEY 4
/* The setting is not of this type (number, switch or choice). */
#define HEADROOM_ERR_WRONG_TYPE 5
/* The number is NaN or infinite. */
#define HEADROOM_ERR_NOT_FINITE 6
/* The number is outside the setting's range, or not one of its choices. */
#define HEADROOM_ERR_OUT_OF_RANGE 7
/* A string is not valid UTF-8. */
#define HEADROOM_ERR_NOT_UTF8 8
/* The values contradict each other. */
#define HEADROOM_ERR_INCONSISTENT 9

/* One chain for a fixed sample rate and channel count. */
typedef struct headroom_chain headroom_chain;

/* What the chain did recently. Loudness in LUFS (-INFINITY when unknown),
 * peaks in dBTP, gains and reductions in dB (reductions <= 0). Peaks and
 * reductions cover the time since the previous headroom_chain_take_meters. */
typedef struct headroom_meters {
    double input_momentary_lufs;
    double input_shortterm_lufs;
    double input_integrated_lufs;
    float input_true_peak_dbtp;
    float agc_gain_db;
    float compressor_reduction_db;
    float limiter_reduction_db;
} headroom_meters;

/* Builds a chain with Headroom's default settings into *out.
 * HEADROOM_ERR_NULL, _SAMPLE_RATE or _CHANNELS on failure (*out untouched). */
headroom_status headroom_chain_new(uint32_t sample_rate_hz, uint32_t channels,
                                   headroom_chain **out);

/* Frees a chain; NULL is ignored. */
void headroom_chain_free(headroom_chain *chain);

/* Frames from input to output, constant for the chain's life (0 for NULL). */
uint32_t headroom_chain_latency_frames(const headroom_chain *chain);

/* Sets a number, a switch or a choice ("compressor.detector": "peak" or
 * "rms"). HEADROOM_ERR_* on refusal, with nothing changed. */
headroom_status headroom_chain_set_number(headroom_chain *chain, const char *key, double value);
headroom_status headroom_chain_set_bool(headroom_chain *chain, const char *key, bool value);
headroom_status headroom_chain_set_choice(headroom_chain *chain, const char *key,
                                          const char *value);

/* Processes `frames` frames in place: interleaved (frames * channels
 * samples), or planar (`channels` distinct, non-overlapping buffers of
 * `frames` samples). Any frame count. NULL pointers do nothing. */
void headroom_chain_process_interleaved(headroom_chain *chain, float *samples, size_t frames);
void headroom_chain_process_planar(headroom_chain *chain, float *const *channels, size_t frames);

/* Reads the meters into *out and starts new peak windows. */
headroom_status headroom_chain_take_meters(headroom_chain *chain, headroom_meters *out);

/* A static English sentence for a status ("unknown status" for others). */
const char *headroom_status_message(headroom_status status);

/* The library's version, e.g. "0.1.0". */
const char *headroom_version(void);

#ifdef __cplusplus
}
#endif

#endif /* HEADROOM_H */
