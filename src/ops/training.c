/* Op family 'training' (placeholder table until its ops land). */
#include "op.h"

const ot_op ot_ops_training[1] = {{0}};
const int ot_ops_training_count = 0;
