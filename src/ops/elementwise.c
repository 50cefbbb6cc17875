/* Op family 'elementwise' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_elementwise[1] = {{0}};
const int ot_ops_elementwise_count = 0;
