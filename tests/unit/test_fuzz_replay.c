/* Replays the fuzz corpora (tests/fuzz/corpus/<target>) and every input a fuzzer once crashed
 * on (tests/fuzz/regressions/<target>) through the libFuzzer harnesses themselves, compiled
 * in here under other names: under the ASan+UBSan build any report fails this test. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/file_io.h"
#include "test_support.h"

/* Each harness, with its libFuzzer entry points renamed. */
#define LLVMFuzzerInitialize fuzz_onnx_init
#define LLVMFuzzerTestOneInput fuzz_onnx_one
#include "../fuzz/fuzz_onnx.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_npy_init
#define LLVMFuzzerTestOneInput fuzz_npy_one
#include "../fuzz/fuzz_npy.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_npz_init
#define LLVMFuzzerTestOneInput fuzz_npz_one
#include "../fuzz/fuzz_npz.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_safetensors_init
#define LLVMFuzzerTestOneInput fuzz_safetensors_one
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_torch_pt_init
#define LLVMFuzzerTestOneInput fuzz_torch_pt_one
#include "../fuzz/fuzz_torch_pt.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_keras_h5_init
#define LLVMFuzzerTestOneInput fuzz_keras_h5_one
#include "../fuzz/fuzz_keras_h5.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_idx_init
#define LLVMFuzzerTestOneInput fuzz_idx_one
#include "../fuzz/fuzz_idx.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_csv_init
#define LLVMFuzzerTestOneInput fuzz_csv_one
#include "../fuzz/fuzz_csv.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_images_init
#define LLVMFuzzerTestOneInput fuzz_images_one
#include "../fuzz/fuzz_images.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_prototxt_init
#define LLVMFuzzerTestOneInput fuzz_prototxt_one
#include "../fuzz/fuzz_prototxt.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fuzz_caffemodel_init
#define LLVMFuzzerTestOneInput fuzz_caffemodel_one
#include "../fuzz/fuzz_caffemodel.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_training_log_one
#include "../fuzz/fuzz_training_log.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_event_file_one
#include "../fuzz/fuzz_event_file.c"
#undef LLVMFuzzerTestOneInput
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#include "../fuzz/fuzz_common.c"

typedef struct harness {
    const char *name;
    int (*one)(const uint8_t *data, size_t size);
} harness;

static const harness harnesses[] = {
    {"onnx", fuzz_onnx_one},         {"npy", fuzz_npy_one},           {"npz", fuzz_npz_one},
    {"safetensors", fuzz_safetensors_one}, {"torch_pt", fuzz_torch_pt_one},
    {"keras_h5", fuzz_keras_h5_one}, {"idx", fuzz_idx_one},           {"csv", fuzz_csv_one},
    {"images", fuzz_images_one},     {"training_log", fuzz_training_log_one},
    {"event_file", fuzz_event_file_one}, {"prototxt", fuzz_prototxt_one}, {"caffemodel", fuzz_caffemodel_one},
};

/* Runs every file of dir through the harness; returns how many. */
static int replay_dir(const harness *h, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unsigned char *data;
        size_t size;
        if (oti_read_file(path, 0, &data, &size) != OT_OK) continue;
        h->one(data, size);
        free(data);
        count++;
    }
    closedir(d);
    return count;
}

static void test_replay(const char *kind, int need_files) {
    fuzz_init();
    int total = 0;
    for (size_t i = 0; i < sizeof harnesses / sizeof harnesses[0]; i++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/../fuzz/%s/%s", OT_FIXTURES, kind, harnesses[i].name);
        int n = replay_dir(&harnesses[i], dir);
        if (need_files && n == 0) fail_msg("no corpus files in %s", dir);
        total += n;
    }
    print_message("replayed %d %s inputs\n", total, kind);
}

static void test_corpus(void **state) {
    (void)state;
    test_replay("corpus", 1);
}

static void test_regressions(void **state) {
    (void)state;
    test_replay("regressions", 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
        cmocka_unit_test(test_regressions),
    };
    return ts_run_group_tests(tests, NULL, NULL);
}
