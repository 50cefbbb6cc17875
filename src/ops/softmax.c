/* Op family 'softmax' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_softmax[1] = {{0}};
const int ot_ops_softmax_count = 0;
