/* Open-addressing hash map from borrowed strings to ints; grows at 50% load. */
#include "name_index.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct ot_name_index {
    const char **keys;
    int *values;
    size_t capacity; /* power of two */
    size_t count;
};

static uint64_t hash_string(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

ot_name_index *oti_name_index_new(void) { return calloc(1, sizeof(ot_name_index)); }

void oti_name_index_free(ot_name_index *index) {
    if (!index) return;
    free(index->keys);
    free(index->values);
    free(index);
}

void oti_name_index_clear(ot_name_index *index) {
    if (index->keys) memset(index->keys, 0, index->capacity * sizeof *index->keys);
    index->count = 0;
}

static int grow(ot_name_index *index) {
    size_t capacity = index->capacity ? index->capacity * 2 : 64;
    const char **keys = calloc(capacity, sizeof *keys);
    int *values = calloc(capacity, sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return 0;
    }
    for (size_t i = 0; i < index->capacity; i++) {
        if (!index->keys[i]) continue;
        size_t slot = hash_string(index->keys[i]) & (capacity - 1);
        while (keys[slot]) slot = (slot + 1) & (capacity - 1);
        keys[slot] = index->keys[i];
        values[slot] = index->values[i];
    }
    free(index->keys);
    free(index->values);
    index->keys = keys;
    index->values = values;
    index->capacity = capacity;
    return 1;
}

int oti_name_index_put(ot_name_index *index, const char *key, int value) {
    if ((index->count + 1) * 2 > index->capacity && !grow(index)) return 0;
    size_t slot = hash_string(key) & (index->capacity - 1);
    while (index->keys[slot]) {
        if (strcmp(index->keys[slot], key) == 0) {
            index->values[slot] = value;
            return 1;
        }
        slot = (slot + 1) & (index->capacity - 1);
    }
    index->keys[slot] = key;
    index->values[slot] = value;
    index->count++;
    return 1;
}

int oti_name_index_get(const ot_name_index *index, const char *key) {
    if (!index->capacity) return -1;
    size_t slot = hash_string(key) & (index->capacity - 1);
    while (index->keys[slot]) {
        if (strcmp(index->keys[slot], key) == 0) return index->values[slot];
        slot = (slot + 1) & (index->capacity - 1);
    }
    return -1;
}
