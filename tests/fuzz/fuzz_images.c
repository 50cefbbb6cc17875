/* libFuzzer harness for image datasets (images:DIR through ot_dataset_load): the input is one
 * PNG or JPEG file in a class folder, resized to 3x7x5 or 1x4x9 and normalised. Decoding
 * legitimately expands a few bytes into many pixels, so it runs under the memory limit a user
 * would set (--max-memory), which the decoders check before they allocate. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "onnxtrain/dataset.h"

static ot_context *limited;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_init();
    ot_context_options options = {.threads = 1, .memory_limit = FUZZ_MEMORY_LIMIT};
    if (ot_context_create(&options, &limited) != OT_OK) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* The loader picks files by extension and decodes by content. */
    fuzz_write(0, "images/cat/x.png", data, size);
    char spec[800];
    snprintf(spec, sizeof spec, "images:%s/images", fuzz_dir());
    static const float mean[3] = {0.5f, 0.4f, 0.3f}, std[3] = {0.2f, 0.3f, 0.4f};
    int gray = size && data[size - 1] & 1;
    ot_data_options options = {.context = limited, .image_channels = gray ? 1 : 3, .image_height = gray ? 4 : 7,
                               .image_width = gray ? 9 : 5, .mean = mean, .std = std,
                               .n_mean = 3, .n_std = 3};
    ot_dataset *d = NULL;
    if (ot_dataset_load(spec, &options, &d) == OT_OK) ot_dataset_free(d);
    return 0;
}
