/* libFuzzer harness for CSV datasets (csv:FILE through ot_dataset_load, with a class filter
 * and a per-class limit). */
#include <stdio.h>

#include "fuzz_common.h"
#include "onnxtrain/dataset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_write(0, "table.csv", data, size);
    char spec[800];
    snprintf(spec, sizeof spec, "csv:%s", path);
    static const int64_t classes[] = {1, 0, 3};
    ot_data_options options = {.per_class = 2};
    if (size && data[0] & 1) {
        options.classes = classes;
        options.n_classes = 3;
    }
    ot_dataset *d = NULL;
    if (ot_dataset_load(spec, &options, &d) == OT_OK) ot_dataset_free(d);
    return 0;
}
