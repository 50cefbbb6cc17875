/* A string -> int map (open addressing, FNV-1a), used to find values by name.
 * Keys are borrowed: the caller keeps the strings alive while they are in the map. */
#ifndef OT_NAME_INDEX_H
#define OT_NAME_INDEX_H

#include <stddef.h>

typedef struct ot_name_index ot_name_index;

ot_name_index *oti_name_index_new(void);
void oti_name_index_free(ot_name_index *index);
/* Returns 0 on allocation failure. Replaces the value of an existing key. */
int oti_name_index_put(ot_name_index *index, const char *key, int value);
/* The value, or -1. */
int oti_name_index_get(const ot_name_index *index, const char *key);
void oti_name_index_clear(ot_name_index *index);

#endif
