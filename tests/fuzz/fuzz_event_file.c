/* libFuzzer harness for the TensorBoard event-file reader of `onnxtrain plot`
 * (oti_event_file_parse on the raw bytes: TFRecord framing, CRCs, Event protobufs). */
#include "formats/event_file.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    oti_training_log log;
    if (oti_event_file_parse("fuzz.tfevents", data, size, &log) == OT_OK) {
        /* Touch every value and column name: a wrong row or column count would read past them. */
        volatile double sum = 0;
        for (int64_t i = 0; i < log.n_rows * log.n_columns; i++) sum += log.values[i];
        for (int k = 0; k < log.n_columns; k++) sum += log.columns[k][0];
        (void)sum;
        oti_training_log_free(&log);
    }
    return 0;
}
