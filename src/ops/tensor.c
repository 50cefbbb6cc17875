/* Op family 'tensor' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_tensor[1] = {{0}};
const int ot_ops_tensor_count = 0;
