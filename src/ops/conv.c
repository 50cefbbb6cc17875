/* Op family 'conv' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_conv[1] = {{0}};
const int ot_ops_conv_count = 0;
