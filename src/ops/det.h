/* Det (det.c), a row of the matmul family. */
#ifndef OT_DET_H
#define OT_DET_H

#include "op.h"

ot_status oti_det_infer(ot_node_ctx *c);
ot_status oti_det_forward(ot_node_ctx *c);
ot_status oti_det_backward(ot_node_ctx *c);

#endif
