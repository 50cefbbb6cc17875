/* Gathering a batch from the dataset in the epoch's order. */
#include <string.h>

#include "trainer_internal.h"

void ot_gather_batch(trainer *t, const int64_t *order, int64_t size) {
    const ot_dataset *d = t->train;
    for (int64_t i = 0; i < size; i++) {
        int64_t s = order[i];
        memcpy(t->batch_x + i * d->sample_size, d->x + s * d->sample_size, sizeof(float) * (size_t)d->sample_size);
        if (t->batch_labels) t->batch_labels[i] = d->labels[s];
        if (t->batch_targets)
            memcpy(t->batch_targets + i * d->target_size, d->targets + s * d->target_size,
                   sizeof(float) * (size_t)d->target_size);
    }
}
