/* libFuzzer harness for IDX datasets (idx:IMAGES,LABELS through ot_dataset_load): the first
 * two bytes give the length of the images file, the rest is the labels file. Either may be
 * gzip-compressed (the loader reads both forms). */
#include <stdio.h>

#include "fuzz_common.h"
#include "onnxtrain/dataset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t split = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2;
    size -= 2;
    if (split > size) split = size;
    const char *images = fuzz_write(0, "images.idx", data, split);
    const char *labels = fuzz_write(1, "labels.idx", data + split, size - split);
    char spec[1600];
    snprintf(spec, sizeof spec, "idx:%s,%s", images, labels);
    ot_data_options options = {.per_class = 3};
    ot_dataset *d = NULL;
    if (ot_dataset_load(spec, &options, &d) == OT_OK) ot_dataset_free(d);
    return 0;
}
