/* A C host of libheadroom: refuses bad calls with the documented statuses,
 * then levels a raw float32 interleaved stereo file (argv[1]) into argv[2]:
 * the first half in interleaved calls of varying length, the second half
 * planar. Prints what it found, one "name value" per line, and exits
 * non-zero if any check failed. Built and run by tests/c_host.rs. */
#include "headroom.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

static void expect(const char *what, headroom_status got, headroom_status want) {
    if (got != want) {
        fprintf(stderr, "%s: status %d (%s), expected %d\n", what, (int)got,
                headroom_status_message(got), (int)want);
        failures++;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: host IN.f32 OUT.f32\n");
        return 2;
    }
    headroom_chain *chain = NULL;
    expect("22050 Hz", headroom_chain_new(22050, 2, &chain), HEADROOM_ERR_SAMPLE_RATE);
    expect("0 channels", headroom_chain_new(48000, 0, &chain), HEADROOM_ERR_CHANNELS);
    expect("9 channels", headroom_chain_new(48000, 9, &chain), HEADROOM_ERR_CHANNELS);
    expect("NULL out", headroom_chain_new(48000, 2, NULL), HEADROOM_ERR_NULL);
    if (chain != NULL) {
        fprintf(stderr, "a refused headroom_chain_new wrote its out pointer\n");
        failures++;
    }

    headroom_chain *wide = NULL;
    expect("6 channels", headroom_chain_new(96000, 6, &wide), HEADROOM_OK);
    printf("latency_wide %u\n", headroom_chain_latency_frames(wide));
    headroom_chain_free(wide);
    headroom_chain_free(NULL);

    expect("48000 Hz stereo", headroom_chain_new(48000, 2, &chain), HEADROOM_OK);
    expect("unknown key", headroom_chain_set_number(chain, "no.such", 1.0), HEADROOM_ERR_UNKNOWN_KEY);
    expect("NaN", headroom_chain_set_number(chain, "limiter.ceiling_dbtp", NAN), HEADROOM_ERR_NOT_FINITE);
    expect("0.5 dBTP", headroom_chain_set_number(chain, "limiter.ceiling_dbtp", 0.5), HEADROOM_ERR_OUT_OF_RANGE);
    expect("bool for number", headroom_chain_set_bool(chain, "limiter.ceiling_dbtp", true), HEADROOM_ERR_WRONG_TYPE);
    expect("number for bool", headroom_chain_set_number(chain, "agc.enabled", 1.0), HEADROOM_ERR_WRONG_TYPE);
    expect("bad choice", headroom_chain_set_choice(chain, "compressor.detector", "loud"), HEADROOM_ERR_OUT_OF_RANGE);
    expect("choice for bool", headroom_chain_set_choice(chain, "agc.enabled", "on"), HEADROOM_ERR_WRONG_TYPE);
    expect("non-UTF-8 key", headroom_chain_set_number(chain, "\xff\xfe", 1.0), HEADROOM_ERR_NOT_UTF8);
    expect("NULL key", headroom_chain_set_number(chain, NULL, 1.0), HEADROOM_ERR_NULL);
    expect("NULL chain", headroom_chain_set_number(NULL, "limiter.ceiling_dbtp", -3.0), HEADROOM_ERR_NULL);
    expect("NULL meters", headroom_chain_take_meters(chain, NULL), HEADROOM_ERR_NULL);
    headroom_chain_process_interleaved(NULL, NULL, 64);
    headroom_chain_process_interleaved(chain, NULL, 64);
    headroom_chain_process_planar(chain, NULL, 64);
    if (strcmp(headroom_status_message(99), "unknown status") != 0) {
        fprintf(stderr, "status 99: %s\n", headroom_status_message(99));
        failures++;
    }

    /* The settings the test's reference uses. */
    expect("agc off", headroom_chain_set_bool(chain, "agc.enabled", false), HEADROOM_OK);
    expect("peak detector", headroom_chain_set_choice(chain, "compressor.detector", "peak"), HEADROOM_OK);
    expect("makeup", headroom_chain_set_number(chain, "compressor.makeup_db", 12.0), HEADROOM_OK);
    expect("ceiling", headroom_chain_set_number(chain, "limiter.ceiling_dbtp", -3.0), HEADROOM_OK);

    FILE *in = fopen(argv[1], "rb");
    if (in == NULL) {
        perror(argv[1]);
        return 2;
    }
    fseek(in, 0, SEEK_END);
    size_t samples = (size_t)ftell(in) / sizeof(float);
    fseek(in, 0, SEEK_SET);
    float *audio = malloc(samples * sizeof(float));
    if (audio == NULL || fread(audio, sizeof(float), samples, in) != samples) {
        fprintf(stderr, "reading %s failed\n", argv[1]);
        return 2;
    }
    fclose(in);

    size_t frames = samples / 2, half = frames / 2, done = 0, k = 0;
    static const size_t sizes[] = {1, 7, 64, 480, 33, 1024};
    while (done < half) {
        size_t n = sizes[k++ % 6];
        if (n > half - done) n = half - done;
        headroom_chain_process_interleaved(chain, audio + 2 * done, n);
        done += n;
    }
    size_t rest = frames - half;
    float *left = malloc(rest * sizeof(float)), *right = malloc(rest * sizeof(float));
    for (size_t i = 0; i < rest; i++) {
        left[i] = audio[2 * (half + i)];
        right[i] = audio[2 * (half + i) + 1];
    }
    for (size_t at = 0; at < rest; at += 1000) {
        size_t n = rest - at < 1000 ? rest - at : 1000;
        float *const planes[2] = {left + at, right + at};
        headroom_chain_process_planar(chain, planes, n);
    }
    for (size_t i = 0; i < rest; i++) {
        audio[2 * (half + i)] = left[i];
        audio[2 * (half + i) + 1] = right[i];
    }

    headroom_meters m;
    expect("meters", headroom_chain_take_meters(chain, &m), HEADROOM_OK);
    printf("version %s\n", headroom_version());
    printf("api %d\n", HEADROOM_API_VERSION);
    printf("latency %u\n", headroom_chain_latency_frames(chain));
    printf("limiter_reduction_db %.3f\n", m.limiter_reduction_db);
    printf("input_integrated_lufs %.3f\n", m.input_integrated_lufs);
    headroom_chain_free(chain);

    FILE *out = fopen(argv[2], "wb");
    if (out == NULL || fwrite(audio, sizeof(float), samples, out) != samples || fclose(out) != 0) {
        fprintf(stderr, "writing %s failed\n", argv[2]);
        return 2;
    }
    free(audio);
    free(left);
    free(right);
    printf("failures %d\n", failures);
    return failures == 0 ? 0 : 1;
}
