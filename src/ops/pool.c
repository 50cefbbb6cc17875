/* Op family 'pool' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_pool[1] = {{0}};
const int ot_ops_pool_count = 0;
