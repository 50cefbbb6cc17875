/* 16-bit float conversions (IEEE 754 binary16 and bfloat16), exact on widening. */
#ifndef OT_HALF_H
#define OT_HALF_H

#include <stdint.h>

float oti_half_to_float(uint16_t h);
float oti_bfloat16_to_float(uint16_t h);
/* Round to nearest even; overflow gives infinity. */
uint16_t oti_float_to_half(float f);
uint16_t oti_float_to_bfloat16(float f);

#endif
