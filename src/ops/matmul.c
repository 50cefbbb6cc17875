/* Op family 'matmul' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_matmul[1] = {{0}};
const int ot_ops_matmul_count = 0;
