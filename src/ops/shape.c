/* Op family 'shape' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_shape[1] = {{0}};
const int ot_ops_shape_count = 0;
