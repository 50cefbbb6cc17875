/* Op family 'normalization' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_normalization[1] = {{0}};
const int ot_ops_normalization_count = 0;
