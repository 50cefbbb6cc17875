/* Op family 'reduce' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_reduce[1] = {{0}};
const int ot_ops_reduce_count = 0;
