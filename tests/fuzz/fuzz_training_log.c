/* libFuzzer harness for the CSV training-log reader of `onnxtrain plot`
 * (oti_training_log_parse on the raw bytes). */
#include "fuzz_common.h"
#include "formats/training_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    oti_training_log log;
    if (oti_training_log_parse("fuzz.csv", (const char *)data, size, &log) == OT_OK) {
        /* Touch every value: a wrong row count would read past the table. */
        volatile double sum = 0;
        for (int64_t i = 0; i < log.n_rows * log.n_columns; i++) sum += log.values[i];
        (void)sum;
        oti_training_log_free(&log);
    }
    return 0;
}
